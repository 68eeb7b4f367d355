//! A prosumer's gateway reports both registers of its bidirectional meter for an epoch: the
//! import (energy drawn from the grid) to the consumer side, charged as any consumer's, and
//! the export (energy fed into the grid) to the producer side, paid as any producer's, in
//! the same settlement. Each side is checked as one meter's report is (in order, once per
//! epoch, never backwards, within its capacity); the two are taken together or not at all.
//! The connection decision is the import side's (the home's one relay).

use anchor_lang::prelude::*;

use crate::constants::*;
use crate::error::EnergyError;
use crate::instructions::gateway::report::{open_epoch, take_register, validate_epoch};
use crate::state::{Epoch, Grid, Meter};

#[derive(Accounts)]
#[instruction(epoch: u64)]
pub struct ReportProsumer<'info> {
    pub gateway: Signer<'info>,
    /// Pays the epoch account's rent if this is its first report; may be a relayer.
    #[account(mut)]
    pub payer: Signer<'info>,
    #[account(constraint = !grid.paused @ EnergyError::GridPaused)]
    pub grid: Box<Account<'info, Grid>>,
    #[account(
        mut,
        has_one = grid @ EnergyError::WrongGrid,
        has_one = gateway @ EnergyError::WrongGateway,
        constraint = import_meter.active @ EnergyError::MeterInactive,
        constraint = import_meter.is_consumer() @ EnergyError::NotAProsumerPair,
        constraint = import_meter.partner == export_meter.key() @ EnergyError::NotAProsumerPair,
    )]
    pub import_meter: Box<Account<'info, Meter>>,
    #[account(
        mut,
        has_one = grid @ EnergyError::WrongGrid,
        has_one = gateway @ EnergyError::WrongGateway,
        constraint = export_meter.active @ EnergyError::MeterInactive,
        constraint = export_meter.partner == import_meter.key() @ EnergyError::NotAProsumerPair,
    )]
    pub export_meter: Box<Account<'info, Meter>>,
    #[account(
        init_if_needed,
        payer = payer,
        space = 8 + Epoch::INIT_SPACE,
        seeds = [EPOCH_SEED, grid.key().as_ref(), &epoch.to_le_bytes()],
        bump,
    )]
    pub epoch_account: Box<Account<'info, Epoch>>,
    pub system_program: Program<'info, System>,
}

impl ReportProsumer<'_> {
    pub fn validate(&self, epoch: u64) -> Result<()> {
        validate_epoch(&self.grid, &self.epoch_account, epoch)
    }
}

#[access_control(ctx.accounts.validate(epoch))]
pub fn handler(
    ctx: Context<ReportProsumer>,
    epoch: u64,
    import_wh: u64,
    export_wh: u64,
) -> Result<bool> {
    let accounts = &mut *ctx.accounts;
    open_epoch(
        &accounts.grid,
        &mut accounts.epoch_account,
        epoch,
        accounts.payer.key(),
        ctx.bumps.epoch_account,
    )?;
    take_register(
        &accounts.grid,
        &mut accounts.epoch_account,
        &mut accounts.import_meter,
        epoch,
        import_wh,
    )?;
    take_register(
        &accounts.grid,
        &mut accounts.epoch_account,
        &mut accounts.export_meter,
        epoch,
        export_wh,
    )?;
    accounts.epoch_account.invariant()?;
    Ok(accounts.import_meter.connected)
}
