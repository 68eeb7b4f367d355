// The crank's compute budget: the Rust SDK's estimate (`settlement::settle_compute_units`).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SETTLE_COMPUTE_UNITS, settleComputeUnits } from '../dist/index.js';

test('the compute-unit limit follows the batch and stops at the maximum', () => {
  assert.equal(settleComputeUnits(0), 50_000);
  assert.equal(settleComputeUnits(24), 434_000);
  assert.equal(settleComputeUnits(55), 930_000);
  assert.equal(settleComputeUnits(1_000), SETTLE_COMPUTE_UNITS);
});
