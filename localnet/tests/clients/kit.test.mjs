// @solana/kit, unchanged, against deu localnet: its airdrop and send-and-confirm helpers
// (which confirm through signature and slot subscriptions), v0 messages, history, filters,
// account notifications and a forged signature.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  address,
  airdropFactory,
  appendTransactionMessageInstructions,
  createDefaultRpcTransport,
  createSolanaRpcFromTransport,
  createSolanaRpcSubscriptions,
  createTransactionMessage,
  generateKeyPairSigner,
  getBase64EncodedWireTransaction,
  getSignatureFromTransaction,
  lamports,
  pipe,
  sendAndConfirmTransactionFactory,
  setTransactionMessageFeePayerSigner,
  setTransactionMessageLifetimeUsingBlockhash,
  signTransactionMessageWithSigners,
} from '@solana/kit';
import { getTransferSolInstruction } from '@solana-program/system';
import { CALL_LIMIT_MS, Stopwatch, cluster, within } from './support.mjs';

const stopwatch = new Stopwatch();
const SOL = 1_000_000_000n;
let rpc;
let rpcSubscriptions;
let payer;
let sendAndConfirm;

before(async () => {
  const http = createDefaultRpcTransport({ url: cluster.rpcUrl });
  rpc = createSolanaRpcFromTransport(async (config) => {
    const started = performance.now();
    try {
      return await http(config);
    } finally {
      stopwatch.record(config.payload?.method ?? '?', performance.now() - started);
    }
  });
  rpcSubscriptions = createSolanaRpcSubscriptions(cluster.wsUrl);
  sendAndConfirm = sendAndConfirmTransactionFactory({ rpc, rpcSubscriptions });
  payer = await generateKeyPairSigner();
  await within(
    CALL_LIMIT_MS,
    'airdrop',
    airdropFactory({ rpc, rpcSubscriptions })({
      recipientAddress: payer.address,
      lamports: lamports(10n * SOL),
      commitment: 'confirmed',
    }),
  );
});

after(() => stopwatch.check());

async function transferMessage(to, amount) {
  const { value: blockhash } = await rpc.getLatestBlockhash({ commitment: 'confirmed' }).send();
  return pipe(
    createTransactionMessage({ version: 0 }),
    (m) => setTransactionMessageFeePayerSigner(payer, m),
    (m) => setTransactionMessageLifetimeUsingBlockhash(blockhash, m),
    (m) => appendTransactionMessageInstructions([getTransferSolInstruction({ source: payer, destination: to, amount })], m),
  );
}

test('the airdrop landed and the cluster answers its queries', async () => {
  const { value: balance } = await rpc.getBalance(payer.address, { commitment: 'confirmed' }).send();
  assert.equal(balance, 10n * SOL);
  const version = await rpc.getVersion().send();
  assert.equal(typeof version['feature-set'], 'number');
  const epoch = await rpc.getEpochInfo().send();
  const height = await rpc.getBlockHeight().send();
  assert.ok(height >= epoch.blockHeight);
  // Commitments trail the tip: processed is the newest slot.
  const processed = await rpc.getSlot({ commitment: 'processed' }).send();
  const finalized = await rpc.getSlot({ commitment: 'finalized' }).send();
  assert.ok(processed >= epoch.absoluteSlot && finalized < processed, `${finalized} < ${processed}`);
  assert.equal(await rpc.getHealth().send(), 'ok');
});

test('a v0 transfer, sent and confirmed, then told back', async () => {
  const recipient = await generateKeyPairSigner();
  const signed = await signTransactionMessageWithSigners(await transferMessage(recipient.address, 1_250_000n));
  await within(CALL_LIMIT_MS, 'sendAndConfirmTransaction', sendAndConfirm(signed, { commitment: 'confirmed' }));
  const signature = getSignatureFromTransaction(signed);
  const { value: balance } = await rpc.getBalance(recipient.address, { commitment: 'confirmed' }).send();
  assert.equal(balance, 1_250_000n);
  const told = await rpc
    .getTransaction(signature, { commitment: 'confirmed', encoding: 'json', maxSupportedTransactionVersion: 0 })
    .send();
  assert.equal(told.version, 0);
  assert.equal(told.meta.err, null);
  assert.equal(told.meta.fee, 5000n);
  const history = await rpc.getSignaturesForAddress(recipient.address).send();
  assert.deepEqual(history.map((h) => h.signature), [signature]);
});

test("the program's transaction: its logs, its history, its accounts by filter", async () => {
  const told = await rpc
    .getTransaction(cluster.programSignature, { encoding: 'json', maxSupportedTransactionVersion: 0 })
    .send();
  assert.ok(told.meta.logMessages.includes('Program log: Instruction: InitializeGrid'), told.meta.logMessages.join('\n'));
  assert.equal(told.meta.logMessages.at(-1), `Program ${cluster.programId} success`);
  const history = await rpc.getSignaturesForAddress(address(cluster.grid)).send();
  assert.ok(history.some((h) => h.signature === cluster.programSignature));
  const grids = await rpc
    .getProgramAccounts(address(cluster.programId), {
      encoding: 'base64',
      filters: [
        { dataSize: BigInt(cluster.gridSize) },
        { memcmp: { offset: 0n, bytes: cluster.gridDiscriminator, encoding: 'base58' } },
      ],
    })
    .send();
  assert.ok(grids.some((g) => g.pubkey === cluster.grid));
  for (const { account } of grids) assert.equal(Buffer.from(account.data[0], 'base64').length, cluster.gridSize);
});

test('accountNotifications tell of a transfer', async () => {
  const watched = await generateKeyPairSigner();
  const abort = new AbortController();
  const notifications = await rpcSubscriptions
    .accountNotifications(watched.address, { commitment: 'confirmed', encoding: 'base64' })
    .subscribe({ abortSignal: abort.signal });
  const first = (async () => {
    for await (const notification of notifications) return notification;
  })();
  const signed = await signTransactionMessageWithSigners(await transferMessage(watched.address, 1_031_337n));
  await sendAndConfirm(signed, { commitment: 'confirmed' });
  const notification = await within(CALL_LIMIT_MS, 'accountNotifications', first);
  assert.equal(notification.value.lamports, 1_031_337n);
  abort.abort();
});

test('a forged signature is refused and nothing moves', async () => {
  const recipient = await generateKeyPairSigner();
  const { value: before } = await rpc.getBalance(payer.address, { commitment: 'confirmed' }).send();
  const signed = await signTransactionMessageWithSigners(await transferMessage(recipient.address, SOL));
  const wire = Buffer.from(getBase64EncodedWireTransaction(signed), 'base64');
  wire[20] ^= 0x01;
  for (const skipPreflight of [false, true]) {
    await assert.rejects(
      rpc.sendTransaction(wire.toString('base64'), { encoding: 'base64', skipPreflight }).send(),
      (e) => {
        assert.match(String(e.message) + JSON.stringify(e.context ?? {}), /signature verification|-32003/i);
        return true;
      },
    );
  }
  const { value: after } = await rpc.getBalance(payer.address, { commitment: 'confirmed' }).send();
  assert.equal(after, before);
  const { value: nothing } = await rpc.getBalance(recipient.address, { commitment: 'confirmed' }).send();
  assert.equal(nothing, 0n);
});
