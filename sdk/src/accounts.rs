//! Decoding program accounts from raw account data.

use anchor_lang::AccountDeserialize;

pub use energy_utility::state::{
    Clawback, CreditRules, DirectoryEntry, Epoch, EpochParams, EpochStatus, Grid, GridChange, Hold,
    LookupTableEntry, Meter, MeterAct, MeterKind, OracleLimits, PaymentRules, PendingMeterChange,
    Reading, ReadingStatus, Receipt, Resident, Sale, SaleStatus, TimeOfUse, NO_PENDING_EPOCH,
};

/// Decodes an account of type `T`, checking its discriminator.
pub fn decode<T: AccountDeserialize>(data: &[u8]) -> anchor_lang::Result<T> {
    let mut slice = data;
    T::try_deserialize(&mut slice)
}
