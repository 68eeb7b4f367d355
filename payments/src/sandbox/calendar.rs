//! The sandbox's clock: unix seconds now, and the calendar month a card's expiry is compared with.

pub(crate) use crate::unix_now;

/// The UTC (year, month 1–12) that a unix timestamp falls in.
pub(crate) fn year_month(unix_secs: i64) -> (i64, u32) {
    let (year, month, _) = civil_date(unix_secs);
    (year, month)
}

/// A unix timestamp as `YYYY-MM-DD HH:MM:SS` UTC, for the dashboard.
pub(crate) fn utc_string(unix_secs: i64) -> String {
    let (year, month, day) = civil_date(unix_secs);
    let secs_of_day = unix_secs.rem_euclid(86_400);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}",
        secs_of_day / 3_600,
        secs_of_day % 3_600 / 60,
        secs_of_day % 60
    )
}

/// The UTC (year, month 1–12, day 1–31) of a unix timestamp.
fn civil_date(unix_secs: i64) -> (i64, u32, u32) {
    // Howard Hinnant's civil_from_days.
    let days = unix_secs.div_euclid(86_400) + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153; // March = 0
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (
        year,
        u32::try_from(month).unwrap_or(1),
        u32::try_from(day).unwrap_or(1),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn year_month_matches_known_dates() {
        assert_eq!(year_month(0), (1970, 1));
        // date -u -d @1709251199 → 2024-02-29 23:59:59; one second later is March.
        assert_eq!(year_month(1_709_251_199), (2024, 2));
        assert_eq!(year_month(1_709_251_200), (2024, 3));
        // date -u -d @1735689599 → 2024-12-31 23:59:59
        assert_eq!(year_month(1_735_689_599), (2024, 12));
        assert_eq!(year_month(1_735_689_600), (2025, 1));
    }

    #[test]
    fn utc_string_matches_date_u() {
        // date -u -d @1709251199 '+%F %T'
        assert_eq!(utc_string(1_709_251_199), "2024-02-29 23:59:59");
        assert_eq!(utc_string(0), "1970-01-01 00:00:00");
    }
}
