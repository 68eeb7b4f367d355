//! One event per state change, named in the past tense, so services can follow a grid.

use anchor_lang::prelude::*;

use crate::state::{EpochParams, MeterKind};

#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GridInitialized {
    pub grid: Pubkey,
    pub name: String,
    pub admin: Pubkey,
    pub oracle: Pubkey,
    pub mint: Pubkey,
    pub params: EpochParams,
    pub coin_price_cents: u64,
    pub epoch_seconds: u32,
    pub genesis_ts: i64,
}

#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GridUpdated {
    pub grid: Pubkey,
    pub old_params: EpochParams,
    pub new_params: EpochParams,
    /// First epoch the new parameters apply to.
    pub effective_epoch: u64,
    pub old_coin_price_cents: u64,
    pub new_coin_price_cents: u64,
    pub old_oracle: Pubkey,
    pub new_oracle: Pubkey,
}

#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GridPauseChanged {
    pub grid: Pubkey,
    pub old_paused: bool,
    pub new_paused: bool,
}

#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResidentRegistered {
    pub grid: Pubkey,
    pub resident: Pubkey,
    pub id: String,
    pub authority: Pubkey,
    pub coins: Pubkey,
}

#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeterRegistered {
    pub grid: Pubkey,
    pub meter: Pubkey,
    pub id: String,
    pub kind: MeterKind,
    pub owner: Pubkey,
    pub gateway: Pubkey,
}

#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeterGatewayRotated {
    pub meter: Pubkey,
    pub old_gateway: Pubkey,
    pub new_gateway: Pubkey,
}

#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeterDeactivated {
    pub meter: Pubkey,
}

#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeterFunded {
    pub meter: Pubkey,
    pub funder: Pubkey,
    pub amount_units: u64,
    /// Part of the amount that paid off the meter's debt (it goes to the producers).
    pub debt_repaid_units: u64,
    pub old_balance_units: u64,
    pub new_balance_units: u64,
}

#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeterConnected {
    pub meter: Pubkey,
    pub epoch: u64,
}

#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeterDisconnected {
    pub meter: Pubkey,
    pub epoch: u64,
    pub balance_units: u64,
    pub debt_units: u64,
}

#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadingReported {
    pub meter: Pubkey,
    pub epoch: u64,
    pub wh: u64,
    pub connected: bool,
}

#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerCharged {
    pub meter: Pubkey,
    pub epoch: u64,
    pub wh: u64,
    pub billed_units: u64,
    pub charged_units: u64,
    pub unpaid_units: u64,
}

#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProducerPaid {
    pub meter: Pubkey,
    pub epoch: u64,
    pub wh: u64,
    pub payout_units: u64,
}

#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeeCollected {
    pub grid: Pubkey,
    pub epoch: u64,
    pub fee_units: u64,
    pub carried_in_units: u64,
    pub distributable_units: u64,
}

#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EpochSettled {
    pub grid: Pubkey,
    pub epoch: u64,
    pub consumed_wh: u64,
    pub produced_wh: u64,
    pub charged_units: u64,
    pub fee_units: u64,
    pub paid_units: u64,
    pub carried_in_units: u64,
    pub carried_out_units: u64,
}

#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EpochClosed {
    pub grid: Pubkey,
    pub epoch: u64,
    pub rent_payer: Pubkey,
}

#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EarningsCollected {
    pub meter: Pubkey,
    pub resident: Pubkey,
    pub amount_units: u64,
}

#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WithdrawalRequested {
    pub resident: Pubkey,
    pub amount_units: u64,
    pub old_escrow_units: u64,
    pub new_escrow_units: u64,
}

#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WithdrawalCancelled {
    pub resident: Pubkey,
    pub returned_units: u64,
}

#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FiatApplied {
    pub grid: Pubkey,
    pub resident: Pubkey,
    pub payment_id: String,
    /// Positive: coins bought and minted. Negative: a payout paid, its locked coins burned.
    pub amount_cents: i64,
    pub coin_units: u64,
    pub coin_price_cents: u64,
}

#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WithdrawalLocked {
    pub resident: Pubkey,
    /// The utility's reference for the payout about to be created.
    pub payout_ref: String,
    pub amount_cents: u64,
    pub locked_units: u64,
    pub new_escrow_units: u64,
    pub new_locked_units: u64,
}

#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WithdrawalReturned {
    pub resident: Pubkey,
    pub payment_id: String,
    pub amount_cents: u64,
    pub returned_units: u64,
    pub new_locked_units: u64,
}
