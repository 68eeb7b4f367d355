// Decimal amounts at the edges, integers inside, as the Rust SDK (`sdk/src/amounts.rs`) does:
// coins `k` have 6 decimals (1 k = 1,000,000 units), energy is counted in watt-hours and shown
// in kWh with 3 decimals, dollars in cents. Parsing never goes through floating point.

export const K_DECIMALS = 6;
export const KWH_DECIMALS = 3;
export const USD_DECIMALS = 2;

/** A decimal text that cannot be an amount, and why. */
export class AmountError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AmountError';
  }
}

const U64_MAX = (1n << 64n) - 1n;

/**
 * Parses a non-negative decimal such as "12", "0.5" or "3.000001" into an integer count of
 * `10^-decimals` units; refuses negative, malformed, too precise or too large amounts.
 */
export function parseDecimal(text: string, decimals: number): bigint {
  const trimmed = text.trim();
  if (trimmed === '') throw new AmountError('the amount is empty');
  if (trimmed.startsWith('-')) throw new AmountError('the amount must not be negative');
  const unsigned = trimmed.startsWith('+') ? trimmed.slice(1) : trimmed;
  const [whole, fraction = '', extra] = unsigned.split('.');
  if (extra !== undefined || (whole === '' && fraction === '') || !/^\d*$/.test(whole) || !/^\d*$/.test(fraction)) {
    throw new AmountError(`'${unsigned}' is not a decimal number`);
  }
  const significant = fraction.replace(/0+$/, '');
  if (significant.length > decimals) throw new AmountError(`the amount has more than ${decimals} decimals`);
  const value = BigInt(whole || '0') * 10n ** BigInt(decimals) + BigInt(significant.padEnd(decimals, '0') || '0');
  if (value > U64_MAX) throw new AmountError('the amount is too large');
  return value;
}

/** `units` of `10^-decimals` as a decimal text with exactly `decimals` decimals. */
export function formatDecimal(units: bigint, decimals: number): string {
  if (units < 0n) throw new AmountError('the amount must not be negative');
  const scale = 10n ** BigInt(decimals);
  const whole = units / scale;
  if (decimals === 0) return whole.toString();
  return `${whole}.${(units % scale).toString().padStart(decimals, '0')}`;
}

/** "2.5" k → 2,500,000 units. */
export const parseK = (text: string): bigint => parseDecimal(text, K_DECIMALS);
/** 2,721,818 units → "2.721818" k. */
export const formatK = (units: bigint): string => formatDecimal(units, K_DECIMALS);
/** "3" kWh → 3,000 Wh. */
export const parseKwh = (text: string): bigint => parseDecimal(text, KWH_DECIMALS);
/** 3,000 Wh → "3.000" kWh. */
export const formatKwh = (wh: bigint): string => formatDecimal(wh, KWH_DECIMALS);
/** "5" dollars → 500 cents. */
export const parseUsd = (text: string): bigint => parseDecimal(text, USD_DECIMALS);
/** 500 cents → "5.00". */
export const formatUsd = (cents: bigint): string => formatDecimal(cents, USD_DECIMALS);
