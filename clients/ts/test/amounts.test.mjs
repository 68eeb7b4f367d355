// Decimal amounts: exact in both directions, refusals named.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AmountError, formatK, formatKwh, formatUsd, parseK, parseKwh, parseUsd } from '../dist/index.js';

test('the worked example reads and prints exactly', () => {
  assert.equal(parseK('2.721818'), 2_721_818n);
  assert.equal(formatK(2_721_818n), '2.721818');
  assert.equal(parseKwh('2.5'), 2_500n);
  assert.equal(formatKwh(3_000n), '3.000');
  assert.equal(parseUsd('5'), 500n);
  assert.equal(formatUsd(5n), '0.05');
  assert.equal(parseK('+0.10'), 100_000n);
  assert.equal(parseK('.5'), 500_000n);
  assert.equal(parseK('7.'), 7_000_000n);
  assert.equal(parseK(' 1.000000000 '), 1_000_000n, 'trailing zeros beyond the decimals are fine');
  assert.equal(parseK('18446744073709.551615'), 18_446_744_073_709_551_615n);
});

test('bad amounts are refused with a reason', () => {
  for (const [text, reason] of [
    ['', /empty/],
    ['-1', /negative/],
    ['1.0000001', /more than 6 decimals/],
    ['1e3', /not a decimal/],
    ['1.2.3', /not a decimal/],
    ['.', /not a decimal/],
    ['abc', /not a decimal/],
    ['18446744073709.551616', /too large/],
  ]) {
    assert.throws(() => parseK(text), (e) => e instanceof AmountError && reason.test(e.message), text);
  }
  assert.throws(() => formatK(-1n), AmountError);
});
