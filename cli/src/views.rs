//! Views that more than one command shows (each command's own results live in its file).

use std::fmt;

use energy_utility_sdk::accounts::Meter;
use energy_utility_sdk::amounts::format_kwh;
use energy_utility_sdk::views::reading_for;
use serde::Serialize;

/// A register reported for an epoch, and the reading the chain made of it: none while the
/// crank is behind, when the chain keeps the register for the meter's next reading.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reported {
    pub epoch: u64,
    pub register_kwh: String,
    pub kwh: Option<String>,
    pub hours: Option<u32>,
}

impl Reported {
    /// `meter` is the meter as the chain holds it after the report.
    pub fn new(meter: &Meter, epoch: u64, register_wh: u64) -> Self {
        let reading = reading_for(meter, epoch);
        Self {
            epoch,
            register_kwh: format_kwh(register_wh),
            kwh: reading.map(|r| format_kwh(r.wh)),
            hours: reading.map(|r| r.hours),
        }
    }
}

impl fmt::Display for Reported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "register {} kWh for epoch {}: ",
            self.register_kwh, self.epoch
        )?;
        match (&self.kwh, self.hours) {
            (Some(kwh), Some(hours)) if hours > 1 => write!(
                f,
                "{kwh} kWh over the {hours} epochs since its last reading"
            ),
            (Some(kwh), _) => write!(f, "{kwh} kWh"),
            (None, _) => f.write_str("kept for its next reading (the crank is behind)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reported(kwh: Option<&str>, hours: Option<u32>) -> Reported {
        Reported {
            epoch: 7,
            register_kwh: "12.500".into(),
            kwh: kwh.map(String::from),
            hours,
        }
    }

    #[test]
    fn a_reading_of_one_epoch_is_its_kwh() {
        let one = reported(Some("2.500"), Some(1));
        assert_eq!(
            one.to_string(),
            "register 12.500 kWh for epoch 7: 2.500 kWh"
        );
        assert_eq!(
            serde_json::to_value(&one).unwrap(),
            serde_json::json!({"epoch": 7, "register_kwh": "12.500", "kwh": "2.500", "hours": 1})
        );
    }

    #[test]
    fn a_reading_after_silence_covers_its_epochs() {
        assert_eq!(
            reported(Some("4.000"), Some(4)).to_string(),
            "register 12.500 kWh for epoch 7: 4.000 kWh over the 4 epochs since its last reading"
        );
    }

    #[test]
    fn a_register_without_a_reading_is_kept_for_the_next() {
        let kept = reported(None, None);
        assert_eq!(
            kept.to_string(),
            "register 12.500 kWh for epoch 7: kept for its next reading (the crank is behind)"
        );
        assert_eq!(
            serde_json::to_value(&kept).unwrap()["kwh"],
            serde_json::Value::Null
        );
    }
}
