//! Decimal amounts at the edges (coins `k`, kWh, US dollars), integers inside. Parsing never
//! goes through floating point: "2.5" kWh is 2,500 Wh exactly.

use std::fmt;

/// Decimals of each unit as typed by people.
pub const K_DECIMALS: u32 = 6;
pub const KWH_DECIMALS: u32 = 3;
pub const USD_DECIMALS: u32 = 2;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AmountError {
    Empty,
    Negative,
    NotANumber(String),
    TooPrecise { decimals: u32 },
    TooLarge,
}

impl fmt::Display for AmountError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AmountError::Empty => write!(f, "the amount is empty"),
            AmountError::Negative => write!(f, "the amount must not be negative"),
            AmountError::NotANumber(text) => write!(f, "'{text}' is not a decimal number"),
            AmountError::TooPrecise { decimals } => {
                write!(f, "the amount has more than {decimals} decimals")
            }
            AmountError::TooLarge => write!(f, "the amount is too large"),
        }
    }
}

impl std::error::Error for AmountError {}

/// Parses a non-negative decimal such as "12", "0.5" or "3.000001" into an integer count of
/// `10^-decimals` units.
pub fn parse_decimal(text: &str, decimals: u32) -> Result<u64, AmountError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(AmountError::Empty);
    }
    if text.starts_with('-') {
        return Err(AmountError::Negative);
    }
    let text = text.strip_prefix('+').unwrap_or(text);
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if (whole.is_empty() && fraction.is_empty()) || !digits(whole) || !digits(fraction) {
        return Err(AmountError::NotANumber(text.to_string()));
    }
    let fraction = fraction.trim_end_matches('0');
    if fraction.len() > decimals as usize {
        return Err(AmountError::TooPrecise { decimals });
    }
    let scale = 10u64.pow(decimals);
    let whole: u64 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| AmountError::TooLarge)?
    };
    let fraction_units: u64 = if fraction.is_empty() {
        0
    } else {
        let padded = format!("{fraction:0<width$}", width = decimals as usize);
        padded.parse().map_err(|_| AmountError::TooLarge)?
    };
    whole
        .checked_mul(scale)
        .and_then(|w| w.checked_add(fraction_units))
        .ok_or(AmountError::TooLarge)
}

/// Formats `value` units of `10^-decimals` with every decimal shown: `2721818, 6` → "2.721818".
pub fn format_decimal(value: u64, decimals: u32) -> String {
    let scale = 10u64.pow(decimals);
    format!(
        "{}.{:0width$}",
        value / scale,
        value % scale,
        width = decimals as usize
    )
}

pub fn parse_k(text: &str) -> Result<u64, AmountError> {
    parse_decimal(text, K_DECIMALS)
}

pub fn format_k(units: u64) -> String {
    format_decimal(units, K_DECIMALS)
}

pub fn parse_kwh(text: &str) -> Result<u64, AmountError> {
    parse_decimal(text, KWH_DECIMALS)
}

pub fn format_kwh(wh: u64) -> String {
    format_decimal(wh, KWH_DECIMALS)
}

/// A ratio such as "1.3" in thousandths (1,300).
pub fn parse_ratio_permille(text: &str) -> Result<u64, AmountError> {
    parse_decimal(text, 3)
}

pub fn parse_usd(text: &str) -> Result<u64, AmountError> {
    parse_decimal(text.trim().trim_start_matches('$'), USD_DECIMALS)
}

pub fn format_usd(cents: u64) -> String {
    format_decimal(cents, USD_DECIMALS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_exact_decimals() {
        assert_eq!(parse_k("1"), Ok(1_000_000));
        assert_eq!(parse_k("0.01"), Ok(10_000));
        assert_eq!(parse_k("2.721818"), Ok(2_721_818));
        assert_eq!(parse_k(".5"), Ok(500_000));
        assert_eq!(parse_k("5."), Ok(5_000_000));
        assert_eq!(parse_k("1.2300000"), Ok(1_230_000));
        assert_eq!(parse_kwh("2.5"), Ok(2_500));
        assert_eq!(parse_usd("$0.10"), Ok(10));
        assert_eq!(parse_usd("12"), Ok(1_200));
    }

    #[test]
    fn refuses_what_is_not_an_amount() {
        assert_eq!(parse_k(""), Err(AmountError::Empty));
        assert_eq!(parse_k("-1"), Err(AmountError::Negative));
        assert_eq!(parse_k("abc"), Err(AmountError::NotANumber("abc".into())));
        assert_eq!(parse_k("1e3"), Err(AmountError::NotANumber("1e3".into())));
        assert_eq!(parse_k("."), Err(AmountError::NotANumber(".".into())));
        assert_eq!(
            parse_k("1.0000001"),
            Err(AmountError::TooPrecise { decimals: 6 })
        );
        assert_eq!(
            parse_usd("0.001"),
            Err(AmountError::TooPrecise { decimals: 2 })
        );
        assert_eq!(parse_k("99999999999999999999"), Err(AmountError::TooLarge));
        assert_eq!(parse_k("18446744073710"), Err(AmountError::TooLarge));
    }

    #[test]
    fn formats_every_decimal() {
        assert_eq!(format_k(2_721_818), "2.721818");
        assert_eq!(format_k(10_000), "0.010000");
        assert_eq!(format_kwh(2_500), "2.500");
        assert_eq!(format_usd(10), "0.10");
        for units in [0, 1, 999_999, 1_000_000, u64::MAX] {
            assert_eq!(parse_k(&format_k(units)), Ok(units));
        }
    }
}
