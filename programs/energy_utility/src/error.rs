//! Every way an instruction can refuse, in words a resident can act on.

use anchor_lang::prelude::*;

#[error_code]
pub enum EnergyError {
    #[msg("Ids and names must be 1 to 32 characters of letters, digits, '-', '_' or '.'")]
    InvalidId,
    #[msg("Meter label is longer than 64 bytes")]
    LabelTooLong,
    #[msg("Epoch length must be at least 60 seconds")]
    InvalidEpochLength,
    #[msg("The grace window for late reports must be shorter than an epoch")]
    InvalidGraceWindow,
    #[msg("The tariff must be more than zero coins per kWh, and each time-of-use hour 1 to 10000 per mille of it")]
    InvalidTariff,
    #[msg("The coin price must be at least one cent")]
    InvalidCoinPrice,
    #[msg("The per-epoch meter limit must be more than zero Wh")]
    InvalidMeterLimit,
    #[msg("Latitude must be within ±90° and longitude within ±180°")]
    InvalidPosition,
    #[msg("The grid is paused by its admin")]
    GridPaused,
    #[msg("Only the grid's admin may do this")]
    NotGridAdmin,
    #[msg("Only the grid's payment oracle may do this")]
    NotGridOracle,
    #[msg("This wallet is not the resident's owner")]
    NotResidentOwner,
    #[msg("The report is not signed by the meter's gateway key")]
    WrongGateway,
    #[msg("The account belongs to another grid")]
    WrongGrid,
    #[msg("The account is not the grid's coin mint or one of its coin accounts")]
    WrongCoinAccount,
    #[msg("The resident is not the meter's owner")]
    WrongMeterOwner,
    #[msg("Only consumer meters can be funded")]
    NotConsumerMeter,
    #[msg("Only producer meters earn payouts")]
    NotProducerMeter,
    #[msg("The meter is deactivated")]
    MeterInactive,
    #[msg("The amount must be more than zero")]
    ZeroAmount,
    #[msg("The amount is too large")]
    AmountTooLarge,
    #[msg("Not enough coins in the resident's account")]
    InsufficientCoins,
    #[msg("Arithmetic overflow")]
    MathOverflow,
    #[msg("That epoch has not started yet")]
    EpochNotStarted,
    #[msg("That epoch is closed for reports")]
    EpochClosedForReports,
    #[msg("Meter already reported for this epoch")]
    DuplicateReading,
    #[msg("The reading is above the grid's per-epoch limit for one meter")]
    ReadingOverLimit,
    #[msg("The epoch is still open: reports and its grace window have not ended")]
    EpochStillOpen,
    #[msg("The epoch is already settled")]
    EpochAlreadySettled,
    #[msg("The epoch is not settled yet")]
    EpochNotSettled,
    #[msg("The epoch account does not belong to this grid and epoch")]
    WrongEpoch,
    #[msg("A settlement account is not a meter of this program")]
    NotAMeter,
    #[msg("A meter appears twice in the settlement batch")]
    DuplicateMeterInBatch,
    #[msg("A meter in the settlement batch has no reading for this epoch")]
    MeterHasNoReading,
    #[msg("Meter accounts in a settlement batch must be writable")]
    MeterNotWritable,
    #[msg("The payment id must be 1 to 32 bytes")]
    InvalidPaymentId,
    #[msg("This payment was already applied")]
    PaymentAlreadyProcessed,
    #[msg("The amount is less than one coin base unit at the current price")]
    AmountBelowOneUnit,
    #[msg("The meter has no earnings to collect")]
    NothingToCollect,
    #[msg("The rent must go back to the account that paid it")]
    WrongRentPayer,
    #[msg("The cluster clock is before the grid's first epoch")]
    ClockBeforeGenesis,
    #[msg("Settlement would break conservation: charged != fee + payouts + carried")]
    ConservationViolated,
    #[msg("A grid token account holds less than the balances it backs")]
    VaultShortfall,
    #[msg("The fee is above the cap fixed when the grid was created")]
    FeeAboveCap,
    #[msg("The oracle's mint limit and window must be more than zero, and receipts kept at least 4 days")]
    InvalidOracleLimits,
    #[msg("Minting this would exceed the grid's mint limit for its window; retry later")]
    MintLimitExceeded,
    #[msg("The payment's time is outside the grid's receipt retention window")]
    PaymentOutsideRetention,
    #[msg("The receipt is still kept for replay protection")]
    ReceiptStillRetained,
    #[msg("A sale needs a payout account: the resident binds one first (\"Get paid\")")]
    MissingPayoutDestination,
    #[msg("The payout amount is not what the sale's coins are worth at the grid's price")]
    QuoteMismatch,
    #[msg("The coins are worth less than one cent")]
    AmountBelowOneCent,
    #[msg("The sale is no longer waiting: it is locked for a payout or ended")]
    SaleNotRequested,
    #[msg("The sale is not locked for a payout")]
    SaleNotLocked,
    #[msg("The sale belongs to another resident or grid")]
    WrongSale,
    #[msg("The sale is being paid by another payout")]
    WrongPayout,
    #[msg("The payout already failed and its coins were returned")]
    PayoutAlreadyFailed,
    #[msg("The sale has not ended, or is still kept for late payout events")]
    SaleStillOpen,
    #[msg("Only a deactivated meter can be closed")]
    MeterStillActive,
    #[msg("The meter has readings the crank has not settled yet")]
    MeterHasPendingReadings,
    #[msg("The meter's register went backwards; a replaced meter needs the admin to record its new register")]
    RegisterWentBackwards,
    #[msg("The reading is more than the meter's capacity could deliver in the hours it covers")]
    ReadingOverCapacity,
    #[msg("The meter already reported a later epoch")]
    ReadingOutOfOrder,
    #[msg("A meter's capacity must be more than zero watts")]
    InvalidCapacity,
    #[msg("The meter has reported recently enough, or is already disconnected for its silence")]
    MeterNotSilent,
    #[msg("Silence must be at least one epoch, and the loss band's low end at most its high end")]
    InvalidReadingRules,
    #[msg("The account is not an address lookup table")]
    NotALookupTable,
    #[msg("The grid has no meters for that lookup table yet")]
    LookupTableBeyondMeters,
    #[msg("The sale's coins are now worth less than the least the resident accepted: they may cancel it and sign again")]
    PriceFellSinceSale,
    #[msg("The meter reported energy that waits for the crank to settle its readings first")]
    MeterHasDeferredEnergy,
    #[msg("The least accepted for the sale is more than its coins are worth at the grid's price")]
    MinimumAboveWorth,
    #[msg("The notice period must be at most a year")]
    InvalidNotice,
    #[msg("Nothing is waiting for its notice to end")]
    NoPendingChange,
    #[msg("The change's notice period has not ended yet")]
    ChangeNotDue,
    #[msg("Only the wallet the admin role was offered to may accept it")]
    NotPendingAdmin,
    #[msg("The resident still holds coins, owns meters, owes coins or has sales not yet closed")]
    ResidentNotEmpty,
    #[msg(
        "A payout account is 1 to 32 letters, digits or '_' (e.g. a Stripe Connect account acct_…)"
    )]
    InvalidPayoutAccount,
    #[msg("Coins bought by card can be sold only once their hold has passed")]
    CoinsOnHold,
    #[msg(
        "The resident owes coins a refund or a dispute took back: no sale until they are repaid"
    )]
    ResidentInDebt,
    #[msg("Refunds and disputes cannot take back more than the purchase paid")]
    ClawbackBeyondPurchase,
    #[msg("A prosumer pairs a consumer meter (import) with a producer meter (export) of the same owner and gateway")]
    NotAProsumerPair,
    #[msg("The meter is already one side of a prosumer's meter")]
    MeterAlreadyPaired,
    #[msg("This meter is one side of a prosumer's meter: report both registers together (report_prosumer)")]
    ReportBothRegisters,
    #[msg("Friendly hours are 48 bits (weekday and weekend hours), debt recovery 1 to 1000 per mille of a funding, the time zone within UTC-14..+14")]
    InvalidCreditRules,
    #[msg("The grid offers no emergency credit")]
    NoEmergencyCredit,
    #[msg("The emergency credit was taken already this top-up cycle: fund the meter first")]
    EmergencyCreditTaken,
    #[msg("The meter's free balance is not below the emergency credit: it does not need it")]
    EmergencyCreditNotNeeded,
}
