//! Decoding the program's events from transaction logs (`Program data: <base64>` lines that
//! Anchor's `emit!` writes), so services can follow a grid.

use anchor_lang::{AnchorDeserialize, Discriminator};
use base64::Engine;
use energy_utility::events::*;

macro_rules! events {
    ($($name:ident),* $(,)?) => {
        /// Every event the program emits. (The grid's events carry two parameter sets with
        /// their calendars, ~500 bytes: larger than the rest, and rare; events are decoded per
        /// transaction, never stored by the million, so they are not boxed.)
        #[derive(Debug, Clone, PartialEq, Eq)]
        #[allow(clippy::large_enum_variant)]
        pub enum Event {
            $($name($name),)*
        }

        /// Decodes one event from its bytes (discriminator + Borsh body).
        pub fn decode_event(bytes: &[u8]) -> Option<Event> {
            let (discriminator, mut body) = bytes.split_at_checked(8)?;
            $(
                if discriminator == $name::DISCRIMINATOR {
                    return $name::deserialize(&mut body).ok().map(Event::$name);
                }
            )*
            None
        }
    };
}

events!(
    GridInitialized,
    GridUpdated,
    GridChangesApplied,
    GridChangesCancelled,
    AdminProposed,
    AdminAccepted,
    GridPauseChanged,
    ResidentRegistered,
    ResidentClosed,
    MeterRegistered,
    MeterChangeProposed,
    EmergencyCreditTaken,
    MeterChangeVetoed,
    MeterGatewayRotated,
    MeterDeactivated,
    MeterClosed,
    MeterSilenced,
    MeterCapacityChanged,
    MeterRegisterReplaced,
    MetersPaired,
    MeterFunded,
    MeterConnected,
    MeterDisconnected,
    ReadingReported,
    ConsumerCharged,
    ProducerPaid,
    FeeCollected,
    EpochSettled,
    EpochClosed,
    EarningsCollected,
    SaleRequested,
    SaleCancelled,
    SaleLocked,
    FiatApplied,
    SalePaid,
    SalePayoutFailed,
    ReceiptClosed,
    SaleClosed,
    TreasuryCollected,
    LookupTableRecorded,
    PayoutAccountSet,
    PayoutAccountChangeCancelled,
    PurchaseClawedBack,
    DisputeWon,
);

/// The program's events in a transaction's log messages, in order. Lines that are not
/// events (or events of other programs that fail to decode) are skipped.
pub fn decode_logs<S: AsRef<str>>(logs: &[S]) -> Vec<Event> {
    logs.iter()
        .filter_map(|line| line.as_ref().strip_prefix("Program data: "))
        .filter_map(|b64| base64::engine::general_purpose::STANDARD.decode(b64).ok())
        .filter_map(|bytes| decode_event(&bytes))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use anchor_lang::prelude::Pubkey;
    use anchor_lang::Event as _;

    #[test]
    fn decodes_program_data_lines_and_skips_the_rest() {
        let funded = MeterFunded {
            meter: Pubkey::new_unique(),
            funder: Pubkey::new_unique(),
            amount_units: 3_000_000,
            debt_repaid_units: 500_000,
            old_balance_units: 0,
            new_balance_units: 2_500_000,
        };
        let settled = EpochSettled {
            grid: Pubkey::new_unique(),
            epoch: 7,
            consumed_wh: 5_000,
            produced_wh: 5_500,
            charged_units: 5_000_000,
            fee_units: 10_000,
            paid_units: 4_989_999,
            carried_in_units: 0,
            carried_out_units: 1,
            loss_ratio_permille: 1_100,
            outside_loss_band: false,
        };
        let b64 = |bytes: Vec<u8>| base64::engine::general_purpose::STANDARD.encode(bytes);
        let logs = vec![
            "Program 3TfE invoke [1]".to_string(),
            "Program log: Instruction: Fund".to_string(),
            format!("Program data: {}", b64(funded.data())),
            "Program data: not-base64!".to_string(),
            format!("Program data: {}", b64(vec![1, 2, 3, 4, 5, 6, 7, 8, 9])),
            format!("Program data: {}", b64(settled.data())),
        ];
        let events = decode_logs(&logs);
        assert_eq!(events.len(), 2);
        match &events[0] {
            Event::MeterFunded(e) => assert_eq!(e.debt_repaid_units, 500_000),
            other => panic!("unexpected {other:?}"),
        }
        match &events[1] {
            Event::EpochSettled(e) => assert_eq!(e.carried_out_units, 1),
            other => panic!("unexpected {other:?}"),
        }
    }
}
