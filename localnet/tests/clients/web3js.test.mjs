// @solana/web3.js 1.x, unchanged, against deu localnet: what a wallet or dashboard does.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  AddressLookupTableProgram,
  Connection,
  Keypair,
  LAMPORTS_PER_SOL,
  PublicKey,
  SystemProgram,
  Transaction,
  TransactionInstruction,
  TransactionMessage,
  VersionedTransaction,
  sendAndConfirmTransaction,
} from '@solana/web3.js';
import { createPrivateKey, sign } from 'node:crypto';
import { CALL_LIMIT_MS, Stopwatch, cluster, sleep, within } from './support.mjs';

const stopwatch = new Stopwatch();
let connection;
let payer;

/// `keypair`'s Ed25519 signature of `message`, by Node's own crypto.
function ed25519Sign(keypair, message) {
  const pkcs8 = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), keypair.secretKey.subarray(0, 32)]);
  return sign(null, message, createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' }));
}

async function airdrop(to, lamports) {
  const signature = await connection.requestAirdrop(to, lamports);
  const { blockhash, lastValidBlockHeight } = await connection.getLatestBlockhash();
  const confirmed = await within(
    CALL_LIMIT_MS,
    'confirmTransaction of an airdrop',
    connection.confirmTransaction({ signature, blockhash, lastValidBlockHeight }, 'confirmed'),
  );
  assert.equal(confirmed.value.err, null);
  return signature;
}

before(async () => {
  connection = new Connection(cluster.rpcUrl, {
    commitment: 'confirmed',
    wsEndpoint: cluster.wsUrl,
    fetch: stopwatch.fetch(),
  });
  payer = Keypair.generate();
  await airdrop(payer.publicKey, 10 * LAMPORTS_PER_SOL);
});

after(async () => {
  stopwatch.check();
  // Close the websocket (web3.js keeps it for new subscriptions; a normal close, 1000, is
  // not retried) so that node can exit.
  connection._rpcWebSocket.close(1000);
});

test('the cluster describes itself', async () => {
  const version = await connection.getVersion();
  assert.match(version['solana-core'], /^\d+\.\d+\.\d+/);
  assert.equal(typeof version['feature-set'], 'number');
  const info = await connection.getEpochInfo();
  assert.ok(info.absoluteSlot > 0 && info.blockHeight > 0);
  const height = await connection.getBlockHeight();
  assert.ok(height >= info.blockHeight);
  assert.equal(await connection.getGenesisHash().then((h) => typeof h), 'string');
  const schedule = await connection.getEpochSchedule();
  assert.ok(schedule.slotsPerEpoch > 0);
});

test('airdrop, then confirmTransaction: the balance is there', async () => {
  const wallet = Keypair.generate();
  await airdrop(wallet.publicKey, LAMPORTS_PER_SOL / 2);
  assert.equal(await connection.getBalance(wallet.publicKey), LAMPORTS_PER_SOL / 2);
});

test('sendAndConfirmTransaction moves lamports and is told back by getTransaction', async () => {
  const to = Keypair.generate().publicKey;
  const before = await connection.getBalance(payer.publicKey);
  const tx = new Transaction().add(
    SystemProgram.transfer({ fromPubkey: payer.publicKey, toPubkey: to, lamports: 1_012_345 }),
  );
  const signature = await within(
    CALL_LIMIT_MS,
    'sendAndConfirmTransaction',
    sendAndConfirmTransaction(connection, tx, [payer], { commitment: 'confirmed' }),
  );
  assert.equal(await connection.getBalance(to), 1_012_345);
  const told = await connection.getTransaction(signature, {
    commitment: 'confirmed',
    maxSupportedTransactionVersion: 0,
  });
  assert.equal(told.meta.err, null);
  assert.equal(told.meta.fee, 5000);
  assert.equal(told.meta.preBalances[0], before);
  assert.equal(told.meta.postBalances[0], before - 1_012_345 - 5000);
  assert.deepEqual(told.meta.logMessages, [
    'Program 11111111111111111111111111111111 invoke [1]',
    'Program 11111111111111111111111111111111 success',
  ]);
  const history = await connection.getSignaturesForAddress(to);
  assert.deepEqual(history.map((h) => h.signature), [signature]);
  const statuses = await connection.getSignatureStatuses([signature], { searchTransactionHistory: true });
  assert.equal(statuses.value[0].err, null);
});

test("getTransaction carries the program's own logs", async () => {
  const told = await connection.getTransaction(cluster.programSignature, {
    commitment: 'confirmed',
    maxSupportedTransactionVersion: 0,
  });
  const logs = told.meta.logMessages;
  assert.equal(logs[0], `Program ${cluster.programId} invoke [1]`);
  assert.equal(logs.filter((l) => l === 'Program log: Instruction: InitializeGrid').length, 1);
  assert.ok(logs.some((l) => l.startsWith('Program data: ')), logs.join('\n'));
  assert.equal(logs.at(-1), `Program ${cluster.programId} success`);
  // Parsed, as explorers ask for it.
  const parsed = await connection.getParsedTransaction(cluster.programSignature, {
    commitment: 'confirmed',
    maxSupportedTransactionVersion: 0,
  });
  assert.deepEqual(parsed.meta.logMessages, logs);
  assert.ok(
    parsed.transaction.message.instructions.some((ix) => ix.programId.toBase58() === cluster.programId),
  );
});

test('getSignaturesForAddress and getProgramAccounts with filters', async () => {
  const history = await connection.getSignaturesForAddress(new PublicKey(cluster.grid));
  assert.ok(history.some((h) => h.signature === cluster.programSignature));
  const program = new PublicKey(cluster.programId);
  const grids = await connection.getProgramAccounts(program, {
    filters: [{ dataSize: cluster.gridSize }, { memcmp: { offset: 0, bytes: cluster.gridDiscriminator } }],
  });
  assert.ok(grids.some((g) => g.pubkey.toBase58() === cluster.grid));
  for (const { account } of grids) assert.equal(account.data.length, cluster.gridSize);
  const none = await connection.getProgramAccounts(program, { filters: [{ dataSize: 1 }] });
  assert.deepEqual(none, []);
});

test('a v0 transaction through an address lookup table (create, extend, use)', async () => {
  const recipients = [Keypair.generate().publicKey, Keypair.generate().publicKey];
  // As the web3.js guide does it: the current slot, at once.
  const recentSlot = await connection.getSlot();
  const [create, table] = AddressLookupTableProgram.createLookupTable({
    authority: payer.publicKey,
    payer: payer.publicKey,
    recentSlot,
  });
  const extend = AddressLookupTableProgram.extendLookupTable({
    lookupTable: table,
    authority: payer.publicKey,
    payer: payer.publicKey,
    addresses: recipients,
  });
  await sendAndConfirmTransaction(connection, new Transaction().add(create, extend), [payer]);
  // Addresses added in a slot can be used after it.
  const extendedAt = await connection.getSlot();
  while ((await connection.getSlot()) <= extendedAt) await sleep(100);
  const lookup = (await connection.getAddressLookupTable(table)).value;
  assert.deepEqual(lookup.state.addresses.map((a) => a.toBase58()), recipients.map((a) => a.toBase58()));

  const { blockhash, lastValidBlockHeight } = await connection.getLatestBlockhash();
  const message = new TransactionMessage({
    payerKey: payer.publicKey,
    recentBlockhash: blockhash,
    instructions: recipients.map((to, i) =>
      SystemProgram.transfer({ fromPubkey: payer.publicKey, toPubkey: to, lamports: 1_000_000 * (i + 1) }),
    ),
  }).compileToV0Message([lookup]);
  assert.equal(message.addressTableLookups.length, 1);
  const tx = new VersionedTransaction(message);
  tx.sign([payer]);
  const signature = await connection.sendTransaction(tx);
  const confirmed = await within(
    CALL_LIMIT_MS,
    'confirmTransaction of a v0 transaction',
    connection.confirmTransaction({ signature, blockhash, lastValidBlockHeight }, 'confirmed'),
  );
  assert.equal(confirmed.value.err, null);
  assert.equal(await connection.getBalance(recipients[0]), 1_000_000);
  assert.equal(await connection.getBalance(recipients[1]), 2_000_000);
  const told = await connection.getTransaction(signature, { maxSupportedTransactionVersion: 0 });
  assert.equal(told.version, 0);
  assert.deepEqual(told.meta.loadedAddresses.writable.map((a) => a.toBase58()), recipients.map((a) => a.toBase58()));
});

test('subscriptions: account, slot, logs, program and signature', async () => {
  const watched = Keypair.generate().publicKey;
  let accountSeen;
  const accountChanged = new Promise((resolve) => {
    accountSeen = resolve;
  });
  const accountId = connection.onAccountChange(watched, (info) => accountSeen(info), { commitment: 'confirmed' });
  const slot = new Promise((resolve) => {
    const id = connection.onSlotChange((info) => {
      connection.removeSlotChangeListener(id);
      resolve(info);
    });
  });
  const logs = [];
  const logsId = connection.onLogs(SystemProgram.programId, (entry) => logs.push(entry), 'confirmed');
  const changed = [];
  const programId = connection.onProgramAccountChange(
    SystemProgram.programId,
    (entry) => changed.push(entry.accountId.toBase58()),
    { commitment: 'confirmed' },
  );
  // Subscriptions are set up over the socket: give them a moment to be acknowledged.
  await sleep(300);

  const tx = new Transaction().add(
    SystemProgram.transfer({ fromPubkey: payer.publicKey, toPubkey: watched, lamports: 1_777_777 }),
  );
  const signature = await sendAndConfirmTransaction(connection, tx, [payer]);
  const info = await within(CALL_LIMIT_MS, 'onAccountChange', accountChanged);
  assert.equal(info.lamports, 1_777_777);
  const slotInfo = await within(CALL_LIMIT_MS, 'onSlotChange', slot);
  assert.ok(slotInfo.slot > 0);
  const deadline = Date.now() + CALL_LIMIT_MS;
  while (Date.now() < deadline && !(logs.some((l) => l.signature === signature) && changed.includes(watched.toBase58()))) {
    await sleep(20);
  }
  const entry = logs.find((l) => l.signature === signature);
  assert.ok(entry, 'onLogs never told of the transfer');
  assert.equal(entry.err, null);
  assert.ok(entry.logs.includes('Program 11111111111111111111111111111111 success'));
  assert.ok(changed.includes(watched.toBase58()), 'onProgramAccountChange never told of the account');
  await connection.removeAccountChangeListener(accountId);
  await connection.removeOnLogsListener(logsId);
  await connection.removeProgramAccountChangeListener(programId);
});

test("a failing program instruction is told with the program's logs", async () => {
  // Eight bytes no instruction of the program starts with: Anchor refuses it, and says so.
  const tx = new Transaction().add(
    new TransactionInstruction({
      programId: new PublicKey(cluster.programId),
      keys: [],
      data: Buffer.alloc(8, 0xee),
    }),
  );
  tx.feePayer = payer.publicKey;
  tx.recentBlockhash = (await connection.getLatestBlockhash()).blockhash;
  tx.sign(payer);
  // Preflight tells the failure with the logs...
  await assert.rejects(connection.sendRawTransaction(tx.serialize()), (e) => {
    assert.ok(e.logs?.some((l) => l.includes('InstructionFallbackNotFound')), String(e));
    return true;
  });
  // ...and without preflight it lands, failed, fee charged, logs recorded.
  const signature = await connection.sendRawTransaction(tx.serialize(), { skipPreflight: true });
  const { blockhash, lastValidBlockHeight } = await connection.getLatestBlockhash();
  // web3.js resolves with the error when the signature notification tells it first, and
  // rejects with it when its status poll does.
  const outcome = await connection.confirmTransaction({ signature, blockhash, lastValidBlockHeight }).then(
    (result) => result.value.err,
    (err) => err,
  );
  // Anchor's InstructionFallbackNotFound.
  assert.deepEqual(outcome, { InstructionError: [0, { Custom: 101 }] });
  const told = await connection.getTransaction(signature, { maxSupportedTransactionVersion: 0 });
  assert.ok(told.meta.logMessages.some((l) => l.includes('InstructionFallbackNotFound')), told.meta.logMessages.join('\n'));
  assert.ok(told.meta.logMessages.at(-1).startsWith(`Program ${cluster.programId} failed`));
});

test('a forged signature is refused and nothing moves', async () => {
  const to = Keypair.generate().publicKey;
  const before = await connection.getBalance(payer.publicKey);
  const tx = new Transaction().add(
    SystemProgram.transfer({ fromPubkey: payer.publicKey, toPubkey: to, lamports: LAMPORTS_PER_SOL }),
  );
  tx.feePayer = payer.publicKey;
  tx.recentBlockhash = (await connection.getLatestBlockhash()).blockhash;
  tx.sign(payer);
  const wire = tx.serialize();
  // The signature is the 64 bytes after the one-byte count: flip one.
  wire[10] ^= 0xff;
  for (const skipPreflight of [false, true]) {
    await assert.rejects(connection.sendRawTransaction(wire, { skipPreflight }), /signature verification/i);
  }
  // Signed by someone else than its fee payer (a valid Ed25519 signature, by the wrong key):
  // refused too.
  const mallory = Keypair.generate();
  const stolen = new Transaction().add(
    SystemProgram.transfer({ fromPubkey: payer.publicKey, toPubkey: mallory.publicKey, lamports: LAMPORTS_PER_SOL }),
  );
  stolen.feePayer = payer.publicKey;
  stolen.recentBlockhash = (await connection.getLatestBlockhash()).blockhash;
  stolen.addSignature(payer.publicKey, ed25519Sign(mallory, stolen.serializeMessage()));
  await assert.rejects(
    connection.sendRawTransaction(stolen.serialize({ verifySignatures: false }), { skipPreflight: true }),
    /signature verification/i,
  );
  assert.equal(await connection.getBalance(payer.publicKey), before);
  assert.equal(await connection.getBalance(to), 0);
  assert.equal(await connection.getBalance(mallory.publicKey), 0);
});
