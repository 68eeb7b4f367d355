//! Program errors turned into readable messages, and the SDK's own error type.

use anchor_lang::error::{ErrorCode as AnchorErrorCode, ERROR_CODE_OFFSET};
use energy_utility::error::EnergyError;
use solana_transaction_error::TransactionError;

use crate::amounts::AmountError;

/// Every `EnergyError`, in declaration order (code = 6000 + position). Append new variants
/// here as they are added to the program; a test checks the codes line up.
pub const ENERGY_ERRORS: &[EnergyError] = &[
    EnergyError::InvalidId,
    EnergyError::LabelTooLong,
    EnergyError::InvalidEpochLength,
    EnergyError::InvalidGraceWindow,
    EnergyError::InvalidTariff,
    EnergyError::InvalidCoinPrice,
    EnergyError::InvalidMeterLimit,
    EnergyError::InvalidPosition,
    EnergyError::GridPaused,
    EnergyError::NotGridAdmin,
    EnergyError::NotGridOracle,
    EnergyError::NotResidentOwner,
    EnergyError::WrongGateway,
    EnergyError::WrongGrid,
    EnergyError::WrongCoinAccount,
    EnergyError::WrongMeterOwner,
    EnergyError::NotConsumerMeter,
    EnergyError::NotProducerMeter,
    EnergyError::MeterInactive,
    EnergyError::ZeroAmount,
    EnergyError::AmountTooLarge,
    EnergyError::InsufficientCoins,
    EnergyError::MathOverflow,
    EnergyError::EpochNotStarted,
    EnergyError::EpochClosedForReports,
    EnergyError::DuplicateReading,
    EnergyError::ReadingOverLimit,
    EnergyError::EpochStillOpen,
    EnergyError::EpochAlreadySettled,
    EnergyError::EpochNotSettled,
    EnergyError::WrongEpoch,
    EnergyError::NotAMeter,
    EnergyError::DuplicateMeterInBatch,
    EnergyError::MeterHasNoReading,
    EnergyError::MeterNotWritable,
    EnergyError::InvalidPaymentId,
    EnergyError::PaymentAlreadyProcessed,
    EnergyError::AmountBelowOneUnit,
    EnergyError::NothingToCollect,
    EnergyError::WrongRentPayer,
    EnergyError::ClockBeforeGenesis,
    EnergyError::ConservationViolated,
    EnergyError::VaultShortfall,
    EnergyError::FeeAboveCap,
    EnergyError::InvalidOracleLimits,
    EnergyError::MintLimitExceeded,
    EnergyError::PaymentOutsideRetention,
    EnergyError::ReceiptStillRetained,
    EnergyError::MissingPayoutDestination,
    EnergyError::QuoteMismatch,
    EnergyError::AmountBelowOneCent,
    EnergyError::SaleNotRequested,
    EnergyError::SaleNotLocked,
    EnergyError::WrongSale,
    EnergyError::WrongPayout,
    EnergyError::PayoutAlreadyFailed,
    EnergyError::SaleStillOpen,
    EnergyError::MeterStillActive,
    EnergyError::MeterHasPendingReadings,
    EnergyError::RegisterWentBackwards,
    EnergyError::ReadingOverCapacity,
    EnergyError::ReadingOutOfOrder,
    EnergyError::InvalidCapacity,
    EnergyError::MeterNotSilent,
    EnergyError::InvalidReadingRules,
    EnergyError::NotALookupTable,
    EnergyError::LookupTableBeyondMeters,
    EnergyError::PriceFellSinceSale,
    EnergyError::MeterHasDeferredEnergy,
    EnergyError::MinimumAboveWorth,
    EnergyError::InvalidNotice,
    EnergyError::NoPendingChange,
    EnergyError::ChangeNotDue,
    EnergyError::NotPendingAdmin,
    EnergyError::ResidentNotEmpty,
    EnergyError::InvalidPayoutAccount,
    EnergyError::CoinsOnHold,
    EnergyError::ResidentInDebt,
    EnergyError::ClawbackBeyondPurchase,
    EnergyError::NotAProsumerPair,
    EnergyError::MeterAlreadyPaired,
    EnergyError::ReportBothRegisters,
    EnergyError::InvalidCreditRules,
    EnergyError::NoEmergencyCredit,
    EnergyError::EmergencyCreditTaken,
    EnergyError::EmergencyCreditNotNeeded,
];

/// Anchor's own errors that a client of this program can meet, with what they mean here.
const ANCHOR_ERRORS: &[(AnchorErrorCode, &str)] = &[
    (
        AnchorErrorCode::ConstraintSeeds,
        "an account is not the address the program derives for it (wrong grid, id or epoch)",
    ),
    (
        AnchorErrorCode::AccountNotInitialized,
        "an account the instruction needs does not exist yet",
    ),
    (
        AnchorErrorCode::AccountNotSigner,
        "a required signature is missing",
    ),
    (
        AnchorErrorCode::AccountDiscriminatorMismatch,
        "an account is not of the type the instruction expects",
    ),
    (
        AnchorErrorCode::AccountOwnedByWrongProgram,
        "an account is not owned by the expected program",
    ),
    (
        AnchorErrorCode::ConstraintDuplicateMutableAccount,
        "the same account was passed twice",
    ),
];

/// A program error by code: its name and a message for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgramError {
    pub code: u32,
    pub name: String,
    pub message: String,
}

/// Looks up a custom program error code (6000+ for ours, Anchor's below).
pub fn program_error(code: u32) -> Option<ProgramError> {
    if let Some(error) = code
        .checked_sub(ERROR_CODE_OFFSET)
        .and_then(|i| ENERGY_ERRORS.get(i as usize))
    {
        return Some(ProgramError {
            code,
            name: error.name(),
            message: error.to_string(),
        });
    }
    ANCHOR_ERRORS
        .iter()
        .find(|(error, _)| u32::from(*error) == code)
        .map(|(error, message)| ProgramError {
            code,
            name: error.name(),
            message: message.to_string(),
        })
}

/// The program error inside a failed transaction, if it failed with one.
pub fn program_error_in(err: &TransactionError) -> Option<ProgramError> {
    match err {
        TransactionError::InstructionError(
            _,
            solana_instruction::error::InstructionError::Custom(code),
        ) => program_error(*code),
        _ => None,
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SdkError {
    /// The program refused the transaction.
    #[error("{}", .0.message)]
    Program(ProgramError),
    /// The transaction failed for another reason (fees, signatures, the runtime).
    #[error("transaction failed: {0}")]
    Transaction(TransactionError),
    #[error("{what} '{id}' not found")]
    NotFound { what: &'static str, id: String },
    #[error("invalid amount: {0}")]
    Amount(#[from] AmountError),
    #[error("{0}")]
    Invalid(String),
    /// The cluster could not be reached or answered with an error.
    #[error("cluster: {0}")]
    Rpc(String),
}

impl SdkError {
    pub fn from_transaction_error(err: TransactionError) -> Self {
        match program_error_in(&err) {
            Some(program) => SdkError::Program(program),
            None => SdkError::Transaction(err),
        }
    }

    /// What one of the program's own rules (run off chain, on a copy of an account) refused,
    /// as the program would refuse it: with its name and message.
    pub fn from_rule(err: anchor_lang::error::Error) -> Self {
        let code = match &err {
            anchor_lang::error::Error::AnchorError(e) => Some(e.error_code_number),
            anchor_lang::error::Error::ProgramError(_) => None,
        };
        match code.and_then(program_error) {
            Some(program) => SdkError::Program(program),
            None => SdkError::Invalid(err.to_string()),
        }
    }

    /// The program error's name (e.g. `PaymentAlreadyProcessed`), if the program refused.
    pub fn program_error_name(&self) -> Option<&str> {
        match self {
            SdkError::Program(p) => Some(&p.name),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_energy_error_maps_to_its_code() {
        for (i, error) in ENERGY_ERRORS.iter().enumerate() {
            assert_eq!(u32::from(*error), ERROR_CODE_OFFSET + i as u32, "{error:?}");
        }
        // Every error the program declares (its IDL, checked fresh by CI) is listed here.
        let idl: serde_json::Value =
            serde_json::from_str(include_str!("../../idl/energy_utility.json")).unwrap();
        let declared = idl["errors"].as_array().unwrap();
        assert_eq!(
            ENERGY_ERRORS.len(),
            declared.len(),
            "append the new errors here"
        );
        for (error, entry) in ENERGY_ERRORS.iter().zip(declared) {
            assert_eq!(entry["name"], error.name(), "{error:?}");
        }
        let duplicate = program_error(ERROR_CODE_OFFSET + 25).unwrap();
        assert_eq!(duplicate.name, "DuplicateReading");
        assert_eq!(duplicate.message, "Meter already reported for this epoch");
    }

    #[test]
    fn anchor_and_unknown_codes() {
        let seeds = program_error(u32::from(AnchorErrorCode::ConstraintSeeds)).unwrap();
        assert_eq!(seeds.name, "ConstraintSeeds");
        assert_eq!(program_error(1), None);
        assert_eq!(program_error(ERROR_CODE_OFFSET + 999), None);
    }

    #[test]
    fn transaction_errors_become_readable() {
        let err = TransactionError::InstructionError(
            0,
            solana_instruction::error::InstructionError::Custom(ERROR_CODE_OFFSET + 21),
        );
        let sdk = SdkError::from_transaction_error(err);
        assert_eq!(
            sdk.to_string(),
            "Not enough coins in the resident's account"
        );
        assert_eq!(sdk.program_error_name(), Some("InsufficientCoins"));
        let other = SdkError::from_transaction_error(TransactionError::BlockhashNotFound);
        assert!(other.program_error_name().is_none());
    }
}
