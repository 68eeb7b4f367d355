// What the client tests share: the cluster under test (from the environment the Rust runner
// sets, localnet/tests/clients.rs) and a stopwatch that holds every call to 2 s.
import assert from 'node:assert/strict';

function required(name) {
  const value = process.env[name];
  assert.ok(value, `${name} is not set: run these tests through \`cargo test -p energy-utility-localnet --test clients\``);
  return value;
}

export const cluster = {
  rpcUrl: required('DEU_RPC_URL'),
  wsUrl: required('DEU_WS_URL'),
  programId: required('DEU_PROGRAM_ID'),
  // A transaction of the program (initialize_grid), its grid and the Grid account's
  // discriminator (base58) and size, for the history and filter checks.
  programSignature: required('DEU_PROGRAM_SIGNATURE'),
  grid: required('DEU_GRID'),
  gridDiscriminator: required('DEU_GRID_DISCRIMINATOR'),
  gridSize: Number(required('DEU_GRID_SIZE')),
};

/// Every call must be answered within this.
export const CALL_LIMIT_MS = 2000;

/// Records how long each JSON-RPC call took; `check()` fails on any slower than the limit.
export class Stopwatch {
  constructor() {
    this.calls = [];
  }

  record(method, ms) {
    this.calls.push({ method, ms });
  }

  /// A `fetch` that times each request (web3.js's `Connection` accepts one).
  fetch() {
    return async (input, init) => {
      const started = performance.now();
      try {
        return await fetch(input, init);
      } finally {
        this.record(methodOf(init?.body), performance.now() - started);
      }
    };
  }

  check() {
    assert.ok(this.calls.length > 0, 'no call was timed');
    const slow = this.calls.filter((c) => c.ms > CALL_LIMIT_MS);
    assert.deepEqual(slow, [], `calls slower than ${CALL_LIMIT_MS} ms`);
    const slowest = this.calls.reduce((a, b) => (b.ms > a.ms ? b : a));
    console.log(`${this.calls.length} calls, slowest ${slowest.method} ${slowest.ms.toFixed(0)} ms`);
  }
}

function methodOf(body) {
  try {
    const parsed = JSON.parse(typeof body === 'string' ? body : new TextDecoder().decode(body));
    return Array.isArray(parsed) ? parsed.map((p) => p.method).join(',') : parsed.method;
  } catch {
    return '?';
  }
}

/// `promise`, or a failure naming `what` after `ms`.
export async function within(ms, what, promise) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
