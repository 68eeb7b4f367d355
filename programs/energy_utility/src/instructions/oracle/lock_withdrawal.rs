//! Before it asks the processor to pay a resident dollars, the oracle locks the escrowed
//! coins that payout will burn: from then on the resident cannot cancel them, so dollars are
//! never paid for coins that are gone. A lock is applied once per `payout_ref`.

use anchor_lang::prelude::*;

use crate::constants::*;
use crate::error::EnergyError;
use crate::events::WithdrawalLocked;
use crate::math::{coins_sold_ceil, SafeAdd};
use crate::state::{FiatKind, Grid, Receipt, Resident};

#[derive(Accounts)]
#[instruction(amount_cents: u64, payout_ref: String)]
pub struct LockWithdrawal<'info> {
    #[account(mut)]
    pub oracle: Signer<'info>,
    #[account(
        has_one = oracle @ EnergyError::NotGridOracle,
        constraint = !grid.paused @ EnergyError::GridPaused,
    )]
    pub grid: Box<Account<'info, Grid>>,
    #[account(mut, has_one = grid @ EnergyError::WrongGrid)]
    pub resident: Box<Account<'info, Resident>>,
    #[account(
        init_if_needed,
        payer = oracle,
        space = 8 + Receipt::INIT_SPACE,
        seeds = [RECEIPT_SEED, grid.key().as_ref(), id_seed(&payout_ref)],
        bump,
    )]
    pub receipt: Box<Account<'info, Receipt>>,
    pub system_program: Program<'info, System>,
}

impl LockWithdrawal<'_> {
    pub fn validate(&self, amount_cents: u64, payout_ref: &str) -> Result<()> {
        self.receipt.check_unused(payout_ref)?;
        require!(amount_cents > 0, EnergyError::ZeroAmount);
        require!(
            i64::try_from(amount_cents).is_ok(),
            EnergyError::AmountTooLarge
        );
        Ok(())
    }
}

#[access_control(ctx.accounts.validate(amount_cents, &payout_ref))]
pub fn handler(ctx: Context<LockWithdrawal>, amount_cents: u64, payout_ref: String) -> Result<()> {
    let accounts = &mut *ctx.accounts;
    let units = coins_sold_ceil(amount_cents, accounts.grid.coin_price_cents)
        .ok_or(EnergyError::AmountTooLarge)?;
    let resident = &mut accounts.resident;
    require!(
        units <= resident.escrow_units,
        EnergyError::LockExceedsEscrow
    );
    resident.escrow_units -= units;
    resident.locked_units = resident.locked_units.safe_add(units)?;

    accounts.receipt.set_inner(Receipt {
        grid: accounts.grid.key(),
        resident: resident.key(),
        payment_id: payout_ref.clone(),
        kind: FiatKind::Locked,
        amount_cents: -(amount_cents as i64),
        coin_units: units,
        applied_ts: Clock::get()?.unix_timestamp,
        bump: ctx.bumps.receipt,
    });
    emit!(WithdrawalLocked {
        resident: resident.key(),
        payout_ref,
        amount_cents,
        locked_units: units,
        new_escrow_units: resident.escrow_units,
        new_locked_units: resident.locked_units,
    });
    Ok(())
}
