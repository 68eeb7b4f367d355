// A grid's calendar: its local time, time-of-use tariffs and what protects a consumer who runs
// out of coins (friendly hours, holidays, emergency credit, debt recovery). These are the
// program's defaults (a flat tariff in UTC, no friendly hours, every funding repaying debt
// first), to spread into `EpochParams` when creating or updating a grid.
import type { CreditRulesArgs, TimeOfUseArgs } from './generated';

/** Holidays a grid lists (the program's `MAX_HOLIDAYS`). */
export const MAX_HOLIDAYS = 16;

/** Every hour at the base tariff. */
export const FLAT_TIME_OF_USE: TimeOfUseArgs = {
  weekdayPermille: Array(24).fill(1000),
  weekendPermille: Array(24).fill(1000),
};

export const DEFAULT_CREDIT_RULES: CreditRulesArgs = {
  friendlyHours: 0n,
  holidays: Array(MAX_HOLIDAYS).fill(0),
  emergencyCreditUnits: 0n,
  debtRecoveryPermille: 1000,
};

/** The calendar fields of `EpochParams` at the program's defaults. */
export const DEFAULT_CALENDAR = {
  utcOffsetSeconds: 0,
  timeOfUse: FLAT_TIME_OF_USE,
  credit: DEFAULT_CREDIT_RULES,
};

/**
 * Friendly hours as the program's 48-bit mask: `weekday` and `weekend` list local hours
 * (0..23) when nobody is disconnected for lack of coins.
 */
export function friendlyHoursMask(weekday: number[], weekend: number[]): bigint {
  let mask = 0n;
  for (const h of weekday) mask |= 1n << BigInt(h);
  for (const h of weekend) mask |= 1n << BigInt(24 + h);
  return mask;
}
