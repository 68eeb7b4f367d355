//! Makes two meters one prosumer home: a bidirectional meter behind one gateway has an import
//! register (energy drawn from the grid, charged as a consumer's) and an export register
//! (energy fed into it, paid as a producer's). The utility registers each side as a meter of
//! its own, then pairs them: from then on their registers are reported together
//! (`report_prosumer`), so a prosumer's gateway can never report its export without its
//! import. Pairing moves no coins and changes no reading, so the admin does it alone; both
//! sides must already share their owner and gateway key.

use anchor_lang::prelude::*;

use crate::error::EnergyError;
use crate::events::{emit, MetersPaired};
use crate::state::{Grid, Meter};

#[derive(Accounts)]
pub struct PairMeters<'info> {
    pub admin: Signer<'info>,
    #[account(has_one = admin @ EnergyError::NotGridAdmin)]
    pub grid: Box<Account<'info, Grid>>,
    /// The import side: a consumer meter.
    #[account(
        mut,
        has_one = grid @ EnergyError::WrongGrid,
        constraint = import_meter.active @ EnergyError::MeterInactive,
    )]
    pub import_meter: Box<Account<'info, Meter>>,
    /// The export side: a producer meter.
    #[account(
        mut,
        has_one = grid @ EnergyError::WrongGrid,
        constraint = export_meter.active @ EnergyError::MeterInactive,
    )]
    pub export_meter: Box<Account<'info, Meter>>,
}

impl PairMeters<'_> {
    pub fn validate(&self) -> Result<()> {
        let (import, export) = (&self.import_meter, &self.export_meter);
        require!(
            import.is_consumer() && !export.is_consumer(),
            EnergyError::NotAProsumerPair
        );
        require!(
            import.owner == export.owner && import.gateway == export.gateway,
            EnergyError::NotAProsumerPair
        );
        require!(
            !import.is_paired() && !export.is_paired(),
            EnergyError::MeterAlreadyPaired
        );
        Ok(())
    }
}

#[access_control(ctx.accounts.validate())]
pub fn handler(ctx: Context<PairMeters>) -> Result<()> {
    let import_key = ctx.accounts.import_meter.key();
    let export_key = ctx.accounts.export_meter.key();
    ctx.accounts.import_meter.partner = export_key;
    ctx.accounts.export_meter.partner = import_key;
    emit(MetersPaired {
        grid: ctx.accounts.grid.key(),
        import_meter: import_key,
        export_meter: export_key,
    });
    ctx.accounts.import_meter.invariant()?;
    ctx.accounts.export_meter.invariant()
}
