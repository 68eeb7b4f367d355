// The client against a real `deu localnet` (started by cli/tests/ts_client.rs, which sets
// DEU_RPC_URL and DEU_WS_URL): a grid created with an hour's notice, two residents
// registered, coins bought through the oracle, meters registered (the roof earning once the
// notice has passed), a house funded, an hour reported and settled, earnings collected, a
// change the admin proposed alone vetoed by the owner, the community listed, a meter followed,
// and a refusal decoded. Amounts are exact: the house uses 3 kWh at 1 k/kWh, the fee is
// 0.01 k, the roof earns 2.99 k.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import {
  airdropFactory,
  appendTransactionMessageInstructions,
  createSolanaRpc,
  createSolanaRpcSubscriptions,
  createTransactionMessage,
  generateKeyPairSigner,
  isSolanaError,
  lamports,
  pipe,
  sendAndConfirmTransactionFactory,
  setTransactionMessageFeePayerSigner,
  setTransactionMessageLifetimeUsingBlockhash,
  signTransactionMessageWithSigners,
  getSignatureFromTransaction,
  address,
  isNone,
  isSome,
} from '@solana/kit';
import {
  ENERGY_UTILITY_ERROR__INSUFFICIENT_COINS,
  ENERGY_UTILITY_ERROR__NO_EMERGENCY_CREDIT,
  ENERGY_UTILITY_ERROR__REPORT_BOTH_REGISTERS,
  getPairMetersInstruction,
  getReportProsumerInstruction,
  MeterKind,
  EpochStatus,
  fetchCommunity,
  fetchEpoch,
  fetchGrid,
  fetchMeter,
  findCoinsPda,
  findEpochAccountPda,
  findEscrowPda,
  findGridPda,
  findMeterEntryPda,
  findMeterPda,
  findMintPda,
  findPoolPda,
  findReceiptPda,
  findResidentEntryPda,
  findResidentPda,
  findTreasuryPda,
  findVaultPda,
  formatK,
  getAddFiatInstruction,
  getChangeMeterInstruction,
  getCollectEarningsInstruction,
  getVetoMeterChangeInstruction,
  DEFAULT_CALENDAR,
  friendlyHoursMask,
  getTakeEmergencyCreditInstruction,
  isMeterAct,
  meterAct,
  getEnergyUtilityErrorMessage,
  getFundInstruction,
  getInitializeGridInstruction,
  getMeterDecoder,
  getRegisterMeterInstruction,
  getRegisterResidentInstruction,
  getReportInstruction,
  getSettleMetersInstruction,
  isEnergyUtilityError,
  listMeters,
  parseK,
  parseKwh,
  planSettleBatches,
} from '../dist/index.js';

const rpcUrl = process.env.DEU_RPC_URL;
const wsUrl = process.env.DEU_WS_URL;
assert.ok(rpcUrl && wsUrl, 'DEU_RPC_URL and DEU_WS_URL name the cluster: run these through `cargo test -p deu --test ts_client`');
const rpc = createSolanaRpc(rpcUrl);
const rpcSubscriptions = createSolanaRpcSubscriptions(wsUrl);
const sendAndConfirm = sendAndConfirmTransactionFactory({ rpc, rpcSubscriptions });
const SOL = 1_000_000_000n;
const HOUR = 3600;

async function send(payer, instructions) {
  const { value: blockhash } = await rpc.getLatestBlockhash({ commitment: 'confirmed' }).send();
  const message = pipe(
    createTransactionMessage({ version: 0 }),
    (m) => setTransactionMessageFeePayerSigner(payer, m),
    (m) => setTransactionMessageLifetimeUsingBlockhash(blockhash, m),
    (m) => appendTransactionMessageInstructions(instructions, m),
  );
  const signed = await signTransactionMessageWithSigners(message);
  await sendAndConfirm(signed, { commitment: 'confirmed' });
  return getSignatureFromTransaction(signed);
}

async function funded() {
  const signer = await generateKeyPairSigner();
  await airdropFactory({ rpc, rpcSubscriptions })({ recipientAddress: signer.address, lamports: lamports(10n * SOL), commitment: 'confirmed' });
  return signer;
}

/** The cluster's time: the Clock sysvar's unix_timestamp (slot, epoch start, epoch, leader-schedule epoch, then it, at byte 32). */
async function clusterTime() {
  const { value } = await rpc
    .getAccountInfo(address('SysvarC1ock11111111111111111111111111111111'), { encoding: 'base64', commitment: 'confirmed' })
    .send();
  return Buffer.from(value.data[0], 'base64').readBigInt64LE(32);
}

/** The local cluster's clock, moved forward (`deuAdvanceClock` exists only there). */
async function advanceClock(seconds) {
  const answer = await fetch(rpcUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'deuAdvanceClock', params: [seconds] }),
  }).then((r) => r.json());
  assert.ok(answer.result, JSON.stringify(answer));
}

async function coinBalance(resident) {
  const [coins] = await findCoinsPda({ resident });
  const { value } = await rpc.getTokenAccountBalance(coins, { commitment: 'confirmed' }).send();
  return BigInt(value.amount);
}

// The community, built in `before` through the client's builders.
const c = {};

before(async () => {
  c.admin = await funded();
  c.name = `ts-${Date.now() % 1_000_000}`;
  [c.grid] = await findGridPda({ name: c.name });
  const [[mint], [vault], [pool], [treasury], [escrow]] = await Promise.all([
    findMintPda({ grid: c.grid }),
    findVaultPda({ grid: c.grid }),
    findPoolPda({ grid: c.grid }),
    findTreasuryPda({ grid: c.grid }),
    findEscrowPda({ grid: c.grid }),
  ]);
  Object.assign(c, { mint, vault, pool, treasury });
  await send(c.admin, [
    getInitializeGridInstruction({
      admin: c.admin,
      grid: c.grid,
      mint,
      vault,
      pool,
      treasury,
      escrow,
      name: c.name,
      oracle: c.admin.address,
      params: {
        feeUnits: parseK('0.01'),
        tariffUnitsPerKwh: parseK('1'),
        maxWhPerEpoch: parseKwh('1000'),
        graceSeconds: 600,
        maxSilentEpochs: 2,
        lossBandMinPermille: 1000,
        lossBandMaxPermille: 1300,
        ...DEFAULT_CALENDAR,
      },
      coinPriceCents: 10n,
      epochSeconds: HOUR,
      maxFeeUnits: parseK('0.1'),
      oracleLimits: { mintLimitUnits: parseK('100000'), mintWindowSeconds: 86_400, receiptRetentionSeconds: 35 * 86_400 },
      noticeSeconds: HOUR,
      paymentRules: { cardHoldSeconds: 0, payoutNoticeSeconds: HOUR },
    }),
  ]);

  // Two residents register themselves; the oracle sells Carol 10 k for $1.00.
  for (const id of ['carol', 'angel']) {
    const wallet = await funded();
    const { data: grid } = await fetchGrid(rpc, c.grid);
    const [resident] = await findResidentPda({ grid: c.grid, residentId: id });
    const [residentEntry] = await findResidentEntryPda({ grid: c.grid, index: grid.residentCount });
    const [coins] = await findCoinsPda({ resident });
    await send(wallet, [getRegisterResidentInstruction({ authority: wallet, payer: wallet, grid: c.grid, resident, residentEntry, mint, coins, residentId: id })]);
    c[id] = { wallet, resident, coins };
  }
  const [receipt] = await findReceiptPda({ grid: c.grid, paymentId: 'cs_ts_1' });
  await send(c.admin, [
    getAddFiatInstruction({
      oracle: c.admin,
      grid: c.grid,
      resident: c.carol.resident,
      coins: c.carol.coins,
      mint,
      receipt,
      amountCents: 100n,
      paymentId: 'cs_ts_1',
      eventTs: await clusterTime(),
    }),
  ]);

  // The admin registers Carol's house and Angel's roof, each with its gateway's key.
  for (const [meterId, owner, kind] of [
    ['carol-house', c.carol, MeterKind.Household],
    ['angel-roof', c.angel, MeterKind.Producer],
  ]) {
    const gateway = await funded();
    const { data: grid } = await fetchGrid(rpc, c.grid);
    const [meter] = await findMeterPda({ grid: c.grid, meterId });
    const [meterEntry] = await findMeterEntryPda({ grid: c.grid, index: grid.meterCount });
    await send(c.admin, [
      getRegisterMeterInstruction({
        admin: c.admin,
        grid: c.grid,
        owner: owner.resident,
        meter,
        meterEntry,
        meterId,
        kind,
        gateway: gateway.address,
        label: meterId,
        latitudeMicro: 0,
        longitudeMicro: 0,
        capacityW: 20_000n,
        registerWh: 0n,
      }),
    ]);
    c[meterId] = { meter, gateway };
  }

  // The new roof shares the pool once the grid's notice has passed: move the clock there.
  const roof = (await fetchMeter(rpc, c['angel-roof'].meter)).data;
  const { data: grid } = await fetchGrid(rpc, c.grid);
  const earnsAt = grid.genesisTs + roof.earnsFromEpoch * BigInt(grid.epochSeconds);
  const now = await clusterTime();
  assert.ok(earnsAt > now, `the roof earns from epoch ${roof.earnsFromEpoch}, after the notice`);
  await advanceClock(Number(earnsAt - now) + 1);
});

test('coins bought through the oracle are in Carol’s account', async () => {
  assert.equal(await coinBalance(c.carol.resident), parseK('10'));
  assert.equal(await coinBalance(c.angel.resident), 0n);
});

test('funding a meter is followed live, and an overdraft is refused with its name', async () => {
  const house = c['carol-house'].meter;
  const abort = new AbortController();
  const changes = await rpcSubscriptions
    .accountNotifications(house, { commitment: 'confirmed', encoding: 'base64' })
    .subscribe({ abortSignal: abort.signal });
  const next = (async () => {
    for await (const change of changes) return getMeterDecoder().decode(Buffer.from(change.value.data[0], 'base64'));
  })();
  await send(c.carol.wallet, [
    getFundInstruction({
      authority: c.carol.wallet,
      grid: c.grid,
      resident: c.carol.resident,
      coins: c.carol.coins,
      meter: house,
      vault: c.vault,
      pool: c.pool,
      amountUnits: parseK('5'),
    }),
  ]);
  const seen = await next;
  abort.abort();
  assert.equal(seen.balanceUnits, parseK('5'));
  assert.equal(seen.connected, true);
  assert.equal(await coinBalance(c.carol.resident), parseK('5'));

  // 6 k more than she has: the program refuses, the client names it, nothing moves.
  await assert.rejects(
    send(c.carol.wallet, [
      getFundInstruction({
        authority: c.carol.wallet,
        grid: c.grid,
        resident: c.carol.resident,
        coins: c.carol.coins,
        meter: house,
        vault: c.vault,
        pool: c.pool,
        amountUnits: parseK('6'),
      }),
    ]),
    (e) => {
      assert.ok(isSolanaError(e), String(e));
      const code = e.cause?.context?.code;
      assert.equal(code, ENERGY_UTILITY_ERROR__INSUFFICIENT_COINS, JSON.stringify(e.cause?.context));
      assert.match(getEnergyUtilityErrorMessage(code), /coin/i);
      return true;
    },
  );
  assert.equal(await coinBalance(c.carol.resident), parseK('5'));
  assert.equal((await fetchMeter(rpc, house)).data.balanceUnits, parseK('5'));
});

test('an hour reported, settled and paid out, to the unit', async () => {
  const { data: grid } = await fetchGrid(rpc, c.grid);
  const now = await clusterTime();
  const epoch = BigInt(Math.floor(Number(now - grid.genesisTs) / grid.epochSeconds));
  const [epochAccount] = await findEpochAccountPda({ grid: c.grid, epoch });
  for (const [meterId, kwh] of [['carol-house', '3'], ['angel-roof', '3.3']]) {
    const { meter, gateway } = c[meterId];
    await send(gateway, [getReportInstruction({ gateway, payer: gateway, grid: c.grid, meter, epochAccount, epoch, registerWh: parseKwh(kwh) })]);
  }
  // The hour and its grace pass; anyone may crank.
  await advanceClock(HOUR + 601);
  const meters = await listMeters(rpc, c.grid, grid.meterCount);
  const batches = planSettleBatches(meters, epoch);
  assert.deepEqual(batches, [[c['carol-house'].meter, c['angel-roof'].meter]], 'consumer first, then producer');
  const crank = await funded();
  for (const batch of batches) await send(crank, [await getSettleMetersInstruction({ grid: c.grid, epoch, meters: batch })]);

  const { data: settled } = await fetchEpoch(rpc, epochAccount);
  assert.equal(settled.status, EpochStatus.Settled);
  const house = (await fetchMeter(rpc, c['carol-house'].meter)).data;
  const roof = (await fetchMeter(rpc, c['angel-roof'].meter)).data;
  assert.equal(formatK(house.balanceUnits), '2.000000', '5 k less 3 kWh at 1 k/kWh');
  assert.equal(formatK(roof.balanceUnits), '2.990000', 'what the house paid, less the 0.01 k fee');
  assert.equal(house.lifetimeWh, 3_000n);
  assert.equal(roof.lifetimeWh, 3_300n);

  // Angel collects the roof's earnings into her coin account.
  await send(crank, [
    getCollectEarningsInstruction({ grid: c.grid, meter: c['angel-roof'].meter, owner: c.angel.resident, coins: c.angel.coins, vault: c.vault, mint: c.mint }),
  ]);
  assert.equal(await coinBalance(c.angel.resident), parseK('2.99'));
  assert.equal((await fetchMeter(rpc, c['angel-roof'].meter)).data.balanceUnits, 0n);
});

test('a change the admin proposes alone waits for the notice, and the owner vetoes it', async () => {
  const house = c['carol-house'].meter;
  await send(c.admin, [
    getChangeMeterInstruction({
      admin: c.admin,
      grid: c.grid,
      meter: house,
      owner: c.carol.resident,
      coins: c.carol.coins,
      vault: c.vault,
      act: meterAct('SetCapacity', { capacityW: 1_000n }),
    }),
  ]);
  const proposed = (await fetchMeter(rpc, house)).data;
  assert.equal(proposed.capacityW, 20_000n, 'nothing changes before the notice ends');
  assert.ok(isSome(proposed.pendingChange), 'the proposal is on the meter');
  const change = proposed.pendingChange.value;
  assert.ok(isMeterAct('SetCapacity', change.act) && change.act.capacityW === 1_000n);
  const now = await clusterTime();
  assert.ok(change.effectiveTs > now && change.effectiveTs <= now + BigInt(HOUR), `effective at ${change.effectiveTs}, now ${now}`);
  await send(c.carol.wallet, [
    getVetoMeterChangeInstruction({ authority: c.carol.wallet, grid: c.grid, meter: house, owner: c.carol.resident }),
  ]);
  const vetoed = (await fetchMeter(rpc, house)).data;
  assert.ok(isNone(vetoed.pendingChange));
  assert.equal(vetoed.capacityW, 20_000n);
});

test('the grid’s calendar decodes, and an emergency credit it does not offer is refused by name', async () => {
  const { data: grid } = await fetchGrid(rpc, c.grid);
  // A flat tariff, no friendly hours, every funding repaying debt first: the defaults.
  assert.deepEqual(grid.params.timeOfUse.weekdayPermille, Array(24).fill(1000));
  assert.equal(grid.params.credit.friendlyHours, 0n);
  assert.equal(grid.params.credit.debtRecoveryPermille, 1000);
  assert.equal(grid.params.credit.emergencyCreditUnits, 0n);
  // Weekday nights 18:00-08:00 and all weekend, as the Rust SDK parses "weekdays 18-8, weekends".
  const nights = [...Array(24).keys()].filter((h) => h >= 18 || h < 8);
  assert.equal(friendlyHoursMask(nights, [...Array(24).keys()]), 0xffffff_fc00ffn);
  const house = c['carol-house'].meter;
  const before = (await fetchMeter(rpc, house)).data;
  await assert.rejects(
    send(c.carol.wallet, [
      getTakeEmergencyCreditInstruction({ authority: c.carol.wallet, grid: c.grid, meter: house, owner: c.carol.resident }),
    ]),
    (e) => {
      assert.ok(isSolanaError(e), String(e));
      assert.equal(e.cause?.context?.code, ENERGY_UTILITY_ERROR__NO_EMERGENCY_CREDIT, JSON.stringify(e.cause?.context));
      return true;
    },
  );
  const after = (await fetchMeter(rpc, house)).data;
  assert.equal(after.emergencyUnits, 0n);
  assert.equal(after.balanceUnits, before.balanceUnits);
});

test('the community is listed through its directory, in registration order', async () => {
  const community = await fetchCommunity(rpc, c.grid);
  assert.equal(community.grid.name, c.name);
  assert.deepEqual(community.residents.map((r) => r.data.id), ['carol', 'angel']);
  assert.deepEqual(community.meters.map((m) => m.data.id), ['carol-house', 'angel-roof']);
  assert.deepEqual(community.meters.map((m) => m.address), [c['carol-house'].meter, c['angel-roof'].meter]);
});

test('a prosumer’s import and export are one meter: reported together, one alone refused', async () => {
  // Carol's home draws and feeds behind one gateway: a household meter and a producer meter
  // with the same key, paired by the admin.
  const gateway = await funded();
  const sides = {};
  for (const [meterId, kind] of [['carol-home', MeterKind.Household], ['carol-home-export', MeterKind.Producer]]) {
    const { data: grid } = await fetchGrid(rpc, c.grid);
    const [meter] = await findMeterPda({ grid: c.grid, meterId });
    const [meterEntry] = await findMeterEntryPda({ grid: c.grid, index: grid.meterCount });
    await send(c.admin, [
      getRegisterMeterInstruction({ admin: c.admin, grid: c.grid, owner: c.carol.resident, meter, meterEntry, meterId, kind, gateway: gateway.address, label: meterId, latitudeMicro: 0, longitudeMicro: 0, capacityW: 20_000n, registerWh: 0n }),
    ]);
    sides[meterId] = meter;
  }
  const importMeter = sides['carol-home'];
  const exportMeter = sides['carol-home-export'];
  await send(c.admin, [getPairMetersInstruction({ admin: c.admin, grid: c.grid, importMeter, exportMeter })]);
  assert.equal((await fetchMeter(rpc, importMeter)).data.partner, exportMeter);
  assert.equal((await fetchMeter(rpc, exportMeter)).data.partner, importMeter);

  const { data: grid } = await fetchGrid(rpc, c.grid);
  const epoch = BigInt(Math.floor(Number((await clusterTime()) - grid.genesisTs) / grid.epochSeconds));
  const [epochAccount] = await findEpochAccountPda({ grid: c.grid, epoch });
  // One register alone is refused by name.
  await assert.rejects(
    send(gateway, [getReportInstruction({ gateway, payer: gateway, grid: c.grid, meter: importMeter, epochAccount, epoch, registerWh: parseKwh('1') })]),
    (e) => {
      assert.equal(e.cause?.context?.code, ENERGY_UTILITY_ERROR__REPORT_BOTH_REGISTERS, JSON.stringify(e.cause?.context));
      return true;
    },
  );
  // Both together are taken.
  await send(gateway, [
    getReportProsumerInstruction({ gateway, payer: gateway, grid: c.grid, importMeter, exportMeter, epochAccount, epoch, importWh: parseKwh('1.25'), exportWh: parseKwh('0.5') }),
  ]);
  assert.equal((await fetchMeter(rpc, importMeter)).data.lastRegisterWh, 1_250n);
  assert.equal((await fetchMeter(rpc, exportMeter)).data.lastRegisterWh, 500n);
});
