//! Changes a grid's parameters: epoch parameters from the next epoch, price and oracle at once.

use anchor_lang::prelude::*;

use crate::error::EnergyError;
use crate::events::{emit, GridUpdated};
use crate::math::SafeAdd;
use crate::state::{EpochParams, Grid, OracleLimits};

/// Fields left `None` keep their value.
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
    let current_epoch = grid.epoch_at(now)?;
    grid.roll_params(current_epoch);

    let old_params = grid.params_for(current_epoch + 1);
    let new_params = EpochParams {
        fee_units: args.fee_units.unwrap_or(old_params.fee_units),
        tariff_units_per_kwh: args
            .tariff_units_per_kwh
            .unwrap_or(old_params.tariff_units_per_kwh),
        max_wh_per_epoch: args.max_wh_per_epoch.unwrap_or(old_params.max_wh_per_epoch),
        grace_seconds: args.grace_seconds.unwrap_or(old_params.grace_seconds),
        max_silent_epochs: args
            .max_silent_epochs
            .unwrap_or(old_params.max_silent_epochs),
        loss_band_min_permille: args
            .loss_band_min_permille
            .unwrap_or(old_params.loss_band_min_permille),
        loss_band_max_permille: args
            .loss_band_max_permille
            .unwrap_or(old_params.loss_band_max_permille),
    };
    new_params.validate(grid.epoch_seconds, grid.max_fee_units)?;
    if let Some(price) = args.coin_price_cents {
        require!(price > 0, EnergyError::InvalidCoinPrice);
    }

    let old_price = grid.coin_price_cents;
    let old_oracle = grid.oracle;
    let effective_epoch = current_epoch.safe_add(1)?;
    if new_params != grid.params {
        grid.pending_params = new_params;
        grid.pending_from_epoch = effective_epoch;
    } else {
        grid.pending_from_epoch = crate::state::NO_PENDING_EPOCH;
    }
    grid.coin_price_cents = args.coin_price_cents.unwrap_or(old_price);
    grid.oracle = args.oracle.unwrap_or(old_oracle);
    let old_oracle_limits = grid.oracle_limits;
    let new_oracle_limits = OracleLimits {
        mint_limit_units: args
            .mint_limit_units
            .unwrap_or(old_oracle_limits.mint_limit_units),
        mint_window_seconds: args
            .mint_window_seconds
            .unwrap_or(old_oracle_limits.mint_window_seconds),
        receipt_retention_seconds: args
            .receipt_retention_seconds
            .unwrap_or(old_oracle_limits.receipt_retention_seconds),
    };
    if new_oracle_limits != old_oracle_limits {
        grid.set_oracle_limits(new_oracle_limits, now)?;
    }

    emit(GridUpdated {
        grid: grid.key(),
        old_params,
        new_params,
        effective_epoch,
        old_coin_price_cents: old_price,
        new_coin_price_cents: grid.coin_price_cents,
        old_oracle,
        new_oracle: grid.oracle,
        old_oracle_limits,
        new_oracle_limits,
    });
    grid.invariant()
}
