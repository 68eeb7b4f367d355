//! The grid's calendar in words: its local time, time-of-use tariffs, friendly hours and
//! holidays, parsed from what an admin types and said back the way residents read it. The
//! rules themselves live in the program (`energy_utility::state::calendar`); this is their
//! text.

use energy_utility::constants::MAX_HOLIDAYS;
use energy_utility::state::{EpochParams, Grid, LocalTime, TimeOfUse};

use crate::amounts::{format_decimal, parse_ratio_permille};

/// A decimal without trailing zeros: `0.5`, `2`.
fn trimmed(value: u64, decimals: u32) -> String {
    let text = format_decimal(value, decimals);
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

/// `+02:00`, `-5`, `UTC+5:30`, `0` → seconds east of UTC.
pub fn parse_utc_offset(text: &str) -> Result<i32, String> {
    let t = text.trim();
    let t = t
        .strip_prefix("UTC")
        .or_else(|| t.strip_prefix("utc"))
        .unwrap_or(t);
    if t.is_empty() || t == "0" || t == "Z" {
        return Ok(0);
    }
    let (sign, rest) = match t.as_bytes()[0] {
        b'+' => (1, &t[1..]),
        b'-' => (-1, &t[1..]),
        _ => (1, t),
    };
    let (h, m) = rest.split_once(':').unwrap_or((rest, "0"));
    let bad = || format!("'{text}' is not a UTC offset (e.g. +02:00, -5, UTC+5:30)");
    let h: i32 = h.parse().map_err(|_| bad())?;
    let m: i32 = m.parse().map_err(|_| bad())?;
    if !(0..=14).contains(&h) || !(0..60).contains(&m) || (h == 14 && m > 0) {
        return Err(format!("'{text}': a UTC offset is at most 14 hours"));
    }
    Ok(sign * (h * 3_600 + m * 60))
}

/// `UTC+02:00`, `UTC-05:00`, `UTC`.
pub fn format_utc_offset(seconds: i32) -> String {
    if seconds == 0 {
        return "UTC".into();
    }
    let sign = if seconds < 0 { '-' } else { '+' };
    let s = seconds.unsigned_abs();
    format!("UTC{sign}{:02}:{:02}", s / 3_600, s % 3_600 / 60)
}

/// An hour range `H-H` (0..=24; wraps past midnight when the start is later: `18-8`).
fn parse_hours(text: &str) -> Result<Vec<usize>, String> {
    let (a, b) = text
        .split_once('-')
        .ok_or_else(|| format!("'{text}' is not an hour range like 18-8"))?;
    let hour = |s: &str| -> Result<usize, String> {
        let s = s.trim().trim_end_matches(":00");
        s.parse::<usize>()
            .ok()
            .filter(|h| *h <= 24)
            .ok_or_else(|| format!("'{s}' is not an hour from 0 to 24"))
    };
    let (a, b) = (hour(a)?, hour(b)?);
    if a == b {
        return Err(format!("'{text}' is an empty range"));
    }
    Ok(if a < b {
        (a..b).collect()
    } else {
        (a..24).chain(0..b.min(24)).collect()
    })
}

/// A day's tariffs as multiples of the base: `17-21=2, 0-6=0.5` (other hours 1).
pub fn parse_time_of_use_day(text: &str) -> Result<[u16; 24], String> {
    let mut day = [1_000u16; 24];
    for item in text.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        if item == "flat" {
            continue;
        }
        let (hours, factor) = item
            .split_once('=')
            .ok_or_else(|| format!("'{item}' is not HOURS=FACTOR, e.g. 17-21=2"))?;
        let permille = parse_ratio_permille(factor.trim().trim_start_matches(['x', '×']))
            .map_err(|e| format!("'{item}': {e}"))?;
        let permille = u16::try_from(permille)
            .ok()
            .filter(|p| (1..=energy_utility::state::MAX_TOU_PERMILLE).contains(p))
            .ok_or_else(|| format!("'{item}': a factor is from 0.001 to 10"))?;
        for h in parse_hours(hours)? {
            day[h] = permille;
        }
    }
    Ok(day)
}

/// Runs of equal values over a day: `(start, end, value)` with `end` exclusive.
fn runs<T: Copy + PartialEq>(day: &[T; 24]) -> Vec<(usize, usize, T)> {
    let mut out: Vec<(usize, usize, T)> = Vec::new();
    for (h, v) in day.iter().enumerate() {
        match out.last_mut() {
            Some(last) if last.2 == *v => last.1 = h + 1,
            _ => out.push((h, h + 1, *v)),
        }
    }
    out
}

/// `17:00-21:00 ×2, 00:00-06:00 ×0.5`, or `flat`.
pub fn format_time_of_use_day(day: &[u16; 24]) -> String {
    let parts: Vec<String> = runs(day)
        .into_iter()
        .filter(|(_, _, p)| *p != 1_000)
        .map(|(a, b, p)| format!("{a:02}:00-{b:02}:00 ×{}", trimmed(p as u64, 3)))
        .collect();
    if parts.is_empty() {
        "flat".into()
    } else {
        parts.join(", ")
    }
}

/// `weekdays 18-8, weekends` / `daily 22-6` / `none` → the 48-bit friendly-hours mask.
pub fn parse_friendly_hours(text: &str) -> Result<u64, String> {
    let mut mask = 0u64;
    for item in text.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        if item == "none" {
            continue;
        }
        let (days, hours) = item.split_once(' ').unwrap_or((item, ""));
        let offsets: &[usize] = match days {
            "weekdays" | "weekday" => &[0],
            "weekends" | "weekend" => &[24],
            "daily" | "every-day" => &[0, 24],
            _ => {
                return Err(format!(
                    "'{item}': say weekdays, weekends or daily, then an hour range (18-8) or nothing for all day"
                ))
            }
        };
        let hours = if hours.trim().is_empty() {
            (0..24).collect()
        } else {
            parse_hours(hours.trim())?
        };
        for o in offsets {
            for h in &hours {
                mask |= 1 << (o + h);
            }
        }
    }
    Ok(mask)
}

fn format_day_hours(hours: &[bool; 24]) -> Vec<String> {
    if hours.iter().all(|h| *h) {
        return vec!["all day".into()];
    }
    let mut spans: Vec<(usize, usize)> = runs(hours)
        .into_iter()
        .filter(|(_, _, on)| *on)
        .map(|(a, b, _)| (a, b))
        .collect();
    // An evening run and a morning run are one night: 18:00-08:00.
    if spans.len() >= 2 && spans[0].0 == 0 && spans[spans.len() - 1].1 == 24 {
        let morning = spans.remove(0);
        let last = spans.len() - 1;
        spans[last].1 = morning.1;
    }
    spans
        .into_iter()
        .map(|(a, b)| format!("{a:02}:00-{:02}:00", b % 24))
        .collect()
}

/// `weekdays 18:00-08:00, weekends all day`, or `none`.
pub fn format_friendly_hours(mask: u64) -> String {
    let day = |o: usize| std::array::from_fn::<bool, 24, _>(|h| mask & (1 << (o + h)) != 0);
    let (weekday, weekend) = (day(0), day(24));
    let mut parts = Vec::new();
    if weekday == weekend && weekday.iter().any(|h| *h) {
        for s in format_day_hours(&weekday) {
            parts.push(format!("daily {s}"));
        }
    } else {
        for (name, d) in [("weekdays", weekday), ("weekends", weekend)] {
            if d.iter().any(|h| *h) {
                for s in format_day_hours(&d) {
                    parts.push(format!("{name} {s}"));
                }
            }
        }
    }
    if parts.is_empty() {
        "none".into()
    } else {
        parts.join(", ")
    }
}

/// Days since 1970-01-01 of a civil date (proleptic Gregorian).
pub(crate) fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date of a day number.
pub(crate) fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// `2026-12-25, 2027-01-01` → the program's holiday list (local day numbers, 0 unused).
pub fn parse_holidays(text: &str) -> Result<[u32; MAX_HOLIDAYS], String> {
    let mut days = [0u32; MAX_HOLIDAYS];
    let items: Vec<&str> = text
        .split(',')
        .map(str::trim)
        .filter(|i| !i.is_empty() && *i != "none")
        .collect();
    if items.len() > MAX_HOLIDAYS {
        return Err(format!("at most {MAX_HOLIDAYS} holidays"));
    }
    for (slot, item) in days.iter_mut().zip(items) {
        let bad = || format!("'{item}' is not a date like 2026-12-25");
        let mut parts = item.split('-');
        let (Some(y), Some(m), Some(d), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad());
        };
        let (y, m, d): (i64, u32, u32) = (
            y.parse().map_err(|_| bad())?,
            m.parse().map_err(|_| bad())?,
            d.parse().map_err(|_| bad())?,
        );
        let day = days_from_civil(y, m, d);
        if !(1..=12).contains(&m) || civil_from_days(day) != (y, m, d) || day <= 0 {
            return Err(bad());
        }
        *slot = u32::try_from(day).map_err(|_| bad())?;
    }
    Ok(days)
}

/// A local day number as `2026-12-25`.
pub fn format_day(day: i64) -> String {
    let (y, m, d) = civil_from_days(day);
    format!("{y:04}-{m:02}-{d:02}")
}

/// The listed holidays as dates, in order.
pub fn holiday_dates(holidays: &[u32; MAX_HOLIDAYS]) -> Vec<String> {
    let mut days: Vec<u32> = holidays.iter().copied().filter(|d| *d > 0).collect();
    days.sort_unstable();
    days.into_iter().map(|d| format_day(d as i64)).collect()
}

/// The price of energy now and at its next change, for the pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PriceNow {
    pub tariff_units_per_kwh: u64,
    /// The next hour (unix seconds) whose tariff differs, within a week; `None` when flat.
    pub next_change_ts: Option<i64>,
    pub next_tariff_units_per_kwh: u64,
    pub friendly_now: bool,
}

/// The tariff of the epoch in progress at `now` and the next different one (time of use, or a
/// proposed tariff whose epoch comes), looked up hour by hour over a week.
pub fn price_now(grid: &Grid, now: i64) -> PriceNow {
    let tariff_at = |ts: i64| -> u64 {
        grid.epoch_at(ts)
            .ok()
            .and_then(|e| grid.params_opening(e).ok())
            .map(|p| p.tariff_units_per_kwh)
            .unwrap_or(0)
    };
    let current = tariff_at(now);
    let hour = now - now.rem_euclid(3_600);
    let next = (1..=7 * 24)
        .map(|h| hour + h * 3_600)
        .map(|ts| (ts, tariff_at(ts)))
        .find(|(_, t)| *t != current);
    PriceNow {
        tariff_units_per_kwh: current,
        next_change_ts: next.map(|(ts, _)| ts),
        next_tariff_units_per_kwh: next.map_or(current, |(_, t)| t),
        friendly_now: grid.is_friendly_at(now),
    }
}

/// The calendar of a parameter set in words, one line each.
pub fn describe(params: &EpochParams) -> Vec<(&'static str, String)> {
    let mut out = vec![("local time", format_utc_offset(params.utc_offset_seconds))];
    out.push((
        "emergency credit",
        if params.credit.emergency_credit_units == 0 {
            "none".into()
        } else {
            format!(
                "{} k",
                crate::amounts::format_k(params.credit.emergency_credit_units)
            )
        },
    ));
    let TimeOfUse {
        weekday_permille,
        weekend_permille,
    } = params.time_of_use;
    out.push(("weekday tariff", format_time_of_use_day(&weekday_permille)));
    out.push(("weekend tariff", format_time_of_use_day(&weekend_permille)));
    out.push((
        "friendly hours",
        format_friendly_hours(params.credit.friendly_hours),
    ));
    let holidays = holiday_dates(&params.credit.holidays);
    out.push((
        "holidays",
        if holidays.is_empty() {
            "none".into()
        } else {
            holidays.join(", ")
        },
    ));
    out.push((
        "debt recovery",
        format!(
            "{}% of each funding",
            trimmed(params.credit.debt_recovery_permille as u64, 1)
        ),
    ));
    out
}

/// The grid's local time at `now` (for "2 a.m. on a Sunday").
pub fn local_time(params: &EpochParams, now: i64) -> LocalTime {
    params.local_time(now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_parse_and_print() {
        assert_eq!(parse_utc_offset("+02:00"), Ok(7_200));
        assert_eq!(parse_utc_offset("-5"), Ok(-18_000));
        assert_eq!(parse_utc_offset("UTC+5:30"), Ok(19_800));
        assert_eq!(parse_utc_offset("0"), Ok(0));
        assert!(parse_utc_offset("+15").is_err());
        assert!(parse_utc_offset("noon").is_err());
        assert_eq!(format_utc_offset(19_800), "UTC+05:30");
        assert_eq!(format_utc_offset(-18_000), "UTC-05:00");
    }

    #[test]
    fn time_of_use_days_parse_and_print() {
        let day = parse_time_of_use_day("17-21=2, 0-6=0.5").unwrap();
        assert_eq!(day[17], 2_000);
        assert_eq!(day[20], 2_000);
        assert_eq!(day[21], 1_000);
        assert_eq!(day[5], 500);
        assert_eq!(
            format_time_of_use_day(&day),
            "00:00-06:00 ×0.5, 17:00-21:00 ×2"
        );
        assert_eq!(format_time_of_use_day(&[1_000; 24]), "flat");
        assert_eq!(parse_time_of_use_day("22-2=0.5").unwrap()[1], 500);
        assert!(parse_time_of_use_day("17-21").is_err());
        assert!(parse_time_of_use_day("17-21=11").is_err());
        assert!(parse_time_of_use_day("17-21=0").is_err());
        assert!(parse_time_of_use_day("17-25=2").is_err());
    }

    #[test]
    fn friendly_hours_parse_and_print() {
        let mask = parse_friendly_hours("weekdays 18-8, weekends").unwrap();
        assert_eq!(mask.count_ones(), 14 + 24);
        // The TypeScript client's `friendlyHoursMask` test checks the same bits.
        assert_eq!(mask, 0xffff_fffc_00ff);
        assert_eq!(
            format_friendly_hours(mask),
            "weekdays 18:00-08:00, weekends all day"
        );
        assert_eq!(
            format_friendly_hours(parse_friendly_hours("daily 22-6").unwrap()),
            "daily 22:00-06:00"
        );
        assert_eq!(format_friendly_hours(0), "none");
        assert_eq!(parse_friendly_hours("none"), Ok(0));
        assert!(parse_friendly_hours("sundays").is_err());
        assert!(parse_friendly_hours("weekdays 8-8").is_err());
    }

    #[test]
    fn holidays_are_local_day_numbers() {
        let days = parse_holidays("2026-12-25, 2027-01-01").unwrap();
        assert_eq!(days[0], 20_812);
        assert_eq!(holiday_dates(&days), ["2026-12-25", "2027-01-01"]);
        // The program's own calendar agrees: 2026-12-25 is that day number at noon UTC.
        assert_eq!(LocalTime::at(1_798_200_000, 0).day, 20_812);
        assert!(parse_holidays("2026-02-30").is_err());
        assert!(parse_holidays("25/12/2026").is_err());
        let many = vec!["2030-01-01"; MAX_HOLIDAYS + 1].join(",");
        assert!(parse_holidays(&many).is_err());
    }
}
