//! Which cards the hosted Checkout page accepts: Stripe's test cards and its card-form messages.

/// Stripe's test Visa that always succeeds.
pub const TEST_CARD_SUCCEEDS: &str = "4242 4242 4242 4242";
/// Stripe's test Visa that is always declined (`generic_decline`).
pub const TEST_CARD_DECLINED: &str = "4000 0000 0000 0002";
/// Stripe's test Visa whose payment succeeds and is then disputed as fraudulent.
pub const TEST_CARD_DISPUTED: &str = "4000 0000 0000 0259";

/// What a successful test card leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Charged {
    /// Paid, and that is all.
    Paid,
    /// Paid, then disputed by the cardholder (`charge.dispute.created` a moment later).
    ThenDisputed,
}

/// Why a card was refused, worded as Stripe's payment form words it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CardError {
    InvalidNumber,
    IncompleteExpiry,
    ExpiryInPast,
    IncompleteCvc,
    Declined,
    LiveCardInTestMode,
}

impl CardError {
    /// The sentence shown to the customer under the form.
    pub(crate) fn message(self) -> &'static str {
        match self {
            Self::InvalidNumber => "Your card number is invalid.",
            Self::IncompleteExpiry => "Your card's expiration date is incomplete.",
            Self::ExpiryInPast => "Your card's expiration date is in the past.",
            Self::IncompleteCvc => "Your card's security code is incomplete.",
            Self::Declined => "Your card was declined.",
            Self::LiveCardInTestMode => {
                "Your card was declined. Your request was in test mode, but used a non test card."
            }
        }
    }
}

/// Charges a card in test mode: `Ok` when the payment succeeds, saying what follows it.
///
/// `today` is the current (year, month); a card is valid through the end of its expiry month.
pub(crate) fn charge(
    number: &str,
    expiry: &str,
    cvc: &str,
    today: (i64, u32),
) -> Result<Charged, CardError> {
    let digits = card_digits(number).ok_or(CardError::InvalidNumber)?;
    let (year, month) = parse_expiry(expiry).ok_or(CardError::IncompleteExpiry)?;
    if (year, month) < today {
        return Err(CardError::ExpiryInPast);
    }
    let cvc = cvc.trim();
    if !(3..=4).contains(&cvc.len()) || !cvc.bytes().all(|b| b.is_ascii_digit()) {
        return Err(CardError::IncompleteCvc);
    }
    if digits == TEST_CARD_SUCCEEDS.replace(' ', "") {
        Ok(Charged::Paid)
    } else if digits == TEST_CARD_DISPUTED.replace(' ', "") {
        Ok(Charged::ThenDisputed)
    } else if digits == TEST_CARD_DECLINED.replace(' ', "") {
        Err(CardError::Declined)
    } else {
        Err(CardError::LiveCardInTestMode)
    }
}

/// The card number's digits when it is a plausible card number (spaces allowed, Luhn-valid).
fn card_digits(number: &str) -> Option<String> {
    let digits: String = number.chars().filter(|c| *c != ' ').collect();
    let plausible = (12..=19).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit());
    (plausible && luhn_valid(&digits)).then_some(digits)
}

/// The Luhn checksum every card number carries in its last digit.
fn luhn_valid(digits: &str) -> bool {
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(position, byte)| {
            let digit = u32::from(byte - b'0');
            if position % 2 == 1 {
                let doubled = digit * 2;
                if doubled > 9 {
                    doubled - 9
                } else {
                    doubled
                }
            } else {
                digit
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// `MM / YY`, `MM/YY`, `MMYY` or `MM/YYYY` as (year, month).
fn parse_expiry(expiry: &str) -> Option<(i64, u32)> {
    let compact: String = expiry.chars().filter(|c| !c.is_whitespace()).collect();
    let (month, year) = match compact.split_once('/') {
        Some(parts) => parts,
        None if compact.len() == 4 => compact.split_at(2),
        None => return None,
    };
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if month.len() > 2 || !all_digits(month) || !all_digits(year) {
        return None;
    }
    let month: u32 = month.parse().ok()?;
    let year: i64 = match year.len() {
        2 => 2000 + year.parse::<i64>().ok()?,
        4 => year.parse().ok()?,
        _ => return None,
    };
    (1..=12).contains(&month).then_some((year, month))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TODAY: (i64, u32) = (2025, 6);

    #[test]
    fn success_card_is_charged_with_or_without_spaces() {
        assert_eq!(
            charge("4242 4242 4242 4242", "12 / 30", "123", TODAY),
            Ok(Charged::Paid)
        );
        assert_eq!(
            charge("4242424242424242", "06/25", "1234", TODAY),
            Ok(Charged::Paid)
        );
        assert_eq!(
            charge(TEST_CARD_DISPUTED, "06/25", "123", TODAY),
            Ok(Charged::ThenDisputed)
        );
    }

    #[test]
    fn decline_card_is_declined() {
        assert_eq!(
            charge(TEST_CARD_DECLINED, "12/30", "123", TODAY),
            Err(CardError::Declined)
        );
    }

    #[test]
    fn luhn_failure_is_an_invalid_number() {
        assert_eq!(
            charge("4242 4242 4242 4241", "12/30", "123", TODAY),
            Err(CardError::InvalidNumber)
        );
        assert_eq!(
            charge("4242-4242", "12/30", "123", TODAY),
            Err(CardError::InvalidNumber)
        );
        assert_eq!(
            charge("", "12/30", "123", TODAY),
            Err(CardError::InvalidNumber)
        );
    }

    #[test]
    fn valid_real_card_is_refused_in_test_mode() {
        // 4111 1111 1111 1111 passes Luhn but is not one of the sandbox's test cards.
        assert_eq!(
            charge("4111 1111 1111 1111", "12/30", "123", TODAY),
            Err(CardError::LiveCardInTestMode)
        );
    }

    #[test]
    fn expiry_must_be_a_month_not_yet_over() {
        assert_eq!(
            charge(TEST_CARD_SUCCEEDS, "05/25", "123", TODAY),
            Err(CardError::ExpiryInPast)
        );
        assert_eq!(
            charge(TEST_CARD_SUCCEEDS, "12/24", "123", TODAY),
            Err(CardError::ExpiryInPast)
        );
        for incomplete in ["", "12", "13/30", "00/30", "1/2", "ab/cd", "12/3"] {
            assert_eq!(
                charge(TEST_CARD_SUCCEEDS, incomplete, "123", TODAY),
                Err(CardError::IncompleteExpiry),
                "{incomplete:?}"
            );
        }
    }

    #[test]
    fn cvc_must_be_three_or_four_digits() {
        for bad in ["", "12", "12345", "12a"] {
            assert_eq!(
                charge(TEST_CARD_SUCCEEDS, "12/30", bad, TODAY),
                Err(CardError::IncompleteCvc),
                "{bad:?}"
            );
        }
    }
}
