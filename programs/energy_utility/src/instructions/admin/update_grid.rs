//! The admin proposes new terms for the grid: its epoch parameters (fee, tariff and its time of
//! use, limits, grace, silence, loss band, local time, friendly hours, emergency credit, debt
//! recovery), its coin price, its oracle's key and the oracle's limits. None applies
//! before the grid's notice has passed (fixed at creation, 72 hours by default): epoch
//! parameters from the first epoch that starts once it has, the rest from that moment. Until
//! then the change is on the grid for everyone to read. A tightening of the oracle's mint limit
//! applies at once; a proposal back to the terms in force withdraws the pending one.

use anchor_lang::prelude::*;

use crate::error::EnergyError;
use crate::events::{emit, GridUpdated};
use crate::state::{
    CreditRules, EpochParams, Grid, OracleLimits, PaymentRules, Terms, TimeOfUse, NO_PENDING_EPOCH,
};

/// Fields left `None` keep their value (or the value already proposed).
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct UpdateGridArgs {
    pub fee_units: Option<u64>,
    pub tariff_units_per_kwh: Option<u64>,
    pub max_wh_per_epoch: Option<u64>,
    pub grace_seconds: Option<u32>,
    pub max_silent_epochs: Option<u32>,
    pub loss_band_min_permille: Option<u32>,
    pub loss_band_max_permille: Option<u32>,
    pub coin_price_cents: Option<u64>,
    pub oracle: Option<Pubkey>,
    pub mint_limit_units: Option<u64>,
    pub mint_window_seconds: Option<u32>,
    pub receipt_retention_seconds: Option<u32>,
    pub card_hold_seconds: Option<u32>,
    pub payout_notice_seconds: Option<u32>,
    pub utc_offset_seconds: Option<i32>,
    pub time_of_use: Option<TimeOfUse>,
    pub credit: Option<CreditRules>,
}

impl UpdateGridArgs {
    /// `base` with the epoch parameters these arguments set.
    pub fn epoch_params(&self, base: EpochParams) -> EpochParams {
        EpochParams {
            fee_units: self.fee_units.unwrap_or(base.fee_units),
            tariff_units_per_kwh: self
                .tariff_units_per_kwh
                .unwrap_or(base.tariff_units_per_kwh),
            max_wh_per_epoch: self.max_wh_per_epoch.unwrap_or(base.max_wh_per_epoch),
            grace_seconds: self.grace_seconds.unwrap_or(base.grace_seconds),
            max_silent_epochs: self.max_silent_epochs.unwrap_or(base.max_silent_epochs),
            loss_band_min_permille: self
                .loss_band_min_permille
                .unwrap_or(base.loss_band_min_permille),
            loss_band_max_permille: self
                .loss_band_max_permille
                .unwrap_or(base.loss_band_max_permille),
            utc_offset_seconds: self.utc_offset_seconds.unwrap_or(base.utc_offset_seconds),
            time_of_use: self.time_of_use.unwrap_or(base.time_of_use),
            credit: self.credit.unwrap_or(base.credit),
        }
    }

    /// `base` with the oracle limits these arguments set.
    pub fn oracle_limits(&self, base: OracleLimits) -> OracleLimits {
        OracleLimits {
            mint_limit_units: self.mint_limit_units.unwrap_or(base.mint_limit_units),
            mint_window_seconds: self.mint_window_seconds.unwrap_or(base.mint_window_seconds),
            receipt_retention_seconds: self
                .receipt_retention_seconds
                .unwrap_or(base.receipt_retention_seconds),
        }
    }

    fn sets_epoch_params(&self) -> bool {
        self.fee_units.is_some()
            || self.tariff_units_per_kwh.is_some()
            || self.max_wh_per_epoch.is_some()
            || self.grace_seconds.is_some()
            || self.max_silent_epochs.is_some()
            || self.loss_band_min_permille.is_some()
            || self.loss_band_max_permille.is_some()
            || self.utc_offset_seconds.is_some()
            || self.time_of_use.is_some()
            || self.credit.is_some()
    }

    /// `base` with the payment rules these arguments set.
    pub fn payment_rules(&self, base: PaymentRules) -> PaymentRules {
        PaymentRules {
            card_hold_seconds: self.card_hold_seconds.unwrap_or(base.card_hold_seconds),
            payout_notice_seconds: self
                .payout_notice_seconds
                .unwrap_or(base.payout_notice_seconds),
        }
    }

    fn sets_terms(&self) -> bool {
        self.coin_price_cents.is_some()
            || self.oracle.is_some()
            || self.mint_limit_units.is_some()
            || self.mint_window_seconds.is_some()
            || self.receipt_retention_seconds.is_some()
            || self.card_hold_seconds.is_some()
            || self.payout_notice_seconds.is_some()
    }
}

#[derive(Accounts)]
pub struct UpdateGrid<'info> {
    pub admin: Signer<'info>,
    #[account(mut, has_one = admin @ EnergyError::NotGridAdmin)]
    pub grid: Box<Account<'info, Grid>>,
}

pub fn handler(ctx: Context<UpdateGrid>, args: UpdateGridArgs) -> Result<()> {
    let grid = &mut ctx.accounts.grid;
    let now = Clock::get()?.unix_timestamp;
    grid.roll_changes(now)?;

    let old_params = grid.latest_params();
    let old = grid.latest_terms();
    if args.sets_epoch_params() {
        let new_params = args.epoch_params(old_params);
        new_params.validate(grid.epoch_seconds, grid.max_fee_units)?;
        if new_params == grid.params {
            grid.pending_from_epoch = NO_PENDING_EPOCH;
            grid.pending_params = grid.params;
        } else {
            grid.pending_params = new_params;
            grid.pending_from_epoch = grid.first_epoch_after_notice(now)?;
        }
    }
    if args.sets_terms() {
        let terms = Terms {
            coin_price_cents: args.coin_price_cents.unwrap_or(old.coin_price_cents),
            oracle: args.oracle.unwrap_or(old.oracle),
            oracle_limits: args.oracle_limits(old.oracle_limits),
            payment_rules: args.payment_rules(old.payment_rules),
        };
        grid.propose_terms(terms, now)?;
    }

    let new = grid.latest_terms();
    emit(GridUpdated {
        grid: grid.key(),
        old_params,
        new_params: grid.latest_params(),
        effective_epoch: grid.pending_from_epoch,
        old_coin_price_cents: old.coin_price_cents,
        new_coin_price_cents: new.coin_price_cents,
        old_oracle: old.oracle,
        new_oracle: new.oracle,
        old_oracle_limits: old.oracle_limits,
        new_oracle_limits: new.oracle_limits,
        old_payment_rules: old.payment_rules,
        new_payment_rules: new.payment_rules,
        effective_ts: grid.pending_change.map_or(now, |c| c.effective_ts),
    });
    grid.invariant()
}
