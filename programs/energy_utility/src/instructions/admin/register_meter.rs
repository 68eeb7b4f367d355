//! Installs a meter: the utility registers it with its kind, owner, gateway key and place. A
//! new producer shares the pool only once the grid's notice has passed: residents see it
//! coming, and its reports until then only set its starting register.

use anchor_lang::prelude::*;

use crate::constants::*;
use crate::error::EnergyError;
use crate::events::{emit, MeterRegistered};
use crate::state::{validate_id, DirectoryEntry, Grid, Meter, MeterKind, Reading, Resident};

#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug, PartialEq, Eq)]
pub struct RegisterMeterArgs {
    pub meter_id: String,
    pub kind: MeterKind,
    pub gateway: Pubkey,
    pub label: String,
    pub latitude_micro: i32,
    pub longitude_micro: i32,
    /// Nameplate power in watts: no reading may exceed it over the hours it covers.
    pub capacity_w: u64,
    /// The meter's cumulative register when installed, in Wh (0 for a new meter).
    pub register_wh: u64,
}

#[derive(Accounts)]
#[instruction(args: RegisterMeterArgs)]
pub struct RegisterMeter<'info> {
    #[account(mut)]
    pub admin: Signer<'info>,
    #[account(
        mut,
        has_one = admin @ EnergyError::NotGridAdmin,
        constraint = !grid.paused @ EnergyError::GridPaused,
    )]
    pub grid: Box<Account<'info, Grid>>,
    #[account(mut, has_one = grid @ EnergyError::WrongGrid)]
    pub owner: Box<Account<'info, Resident>>,
    #[account(
        init,
        payer = admin,
        space = 8 + Meter::INIT_SPACE,
        seeds = [METER_SEED, grid.key().as_ref(), id_seed(&args.meter_id)],
        bump,
    )]
    pub meter: Box<Account<'info, Meter>>,
    #[account(
        init,
        payer = admin,
        space = 8 + DirectoryEntry::INIT_SPACE,
        seeds = [METER_INDEX_SEED, grid.key().as_ref(), &grid.meter_count.to_le_bytes()],
        bump,
    )]
    pub meter_entry: Box<Account<'info, DirectoryEntry>>,
    pub system_program: Program<'info, System>,
}

impl RegisterMeter<'_> {
    pub fn validate(&self, args: &RegisterMeterArgs) -> Result<()> {
        validate_id(&args.meter_id)?;
        require!(args.label.len() <= MAX_LABEL_LEN, EnergyError::LabelTooLong);
        require!(
            args.latitude_micro.unsigned_abs() <= 90_000_000
                && args.longitude_micro.unsigned_abs() <= 180_000_000,
            EnergyError::InvalidPosition
        );
        require!(args.capacity_w > 0, EnergyError::InvalidCapacity);
        Ok(())
    }
}

#[access_control(ctx.accounts.validate(&args))]
pub fn handler(ctx: Context<RegisterMeter>, args: RegisterMeterArgs) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    let current_epoch = ctx.accounts.grid.epoch_at(now)?;
    let grid = &mut ctx.accounts.grid;
    let earns_from_epoch = if args.kind.is_producer() && grid.notice_seconds > 0 {
        grid.first_epoch_after_notice(now)?
    } else {
        current_epoch
    };
    ctx.accounts.owner.add_meter()?;
    let index = grid.add_meter()?;
    let meter = &mut ctx.accounts.meter;
    meter.set_inner(Meter {
        grid: grid.key(),
        id: args.meter_id.clone(),
        kind: args.kind,
        owner: ctx.accounts.owner.key(),
        gateway: args.gateway,
        label: args.label,
        latitude_micro: args.latitude_micro,
        longitude_micro: args.longitude_micro,
        active: true,
        // Producers feed the grid from the start; consumers connect once funded.
        connected: args.kind.is_producer(),
        balance_units: 0,
        committed_units: 0,
        debt_units: 0,
        deferred_units: 0,
        lifetime_wh: 0,
        lifetime_units: 0,
        lifetime_funded_units: 0,
        last_reported_epoch: 0,
        has_reported: false,
        readings: [Reading::EMPTY; READING_SLOTS],
        index,
        rent_payer: ctx.accounts.admin.key(),
        earns_from_epoch,
        pending_change: None,
        partner: Pubkey::default(),
        emergency_units: 0,
        capacity_w: args.capacity_w,
        register_wh: args.register_wh,
        last_register_wh: args.register_wh,
        next_reading_epoch: current_epoch,
        silent: false,
        bump: ctx.bumps.meter,
    });
    ctx.accounts.meter_entry.set_inner(DirectoryEntry {
        grid: grid.key(),
        target: meter.key(),
        bump: ctx.bumps.meter_entry,
    });
    emit(MeterRegistered {
        grid: grid.key(),
        meter: meter.key(),
        id: args.meter_id,
        kind: args.kind,
        owner: meter.owner,
        gateway: meter.gateway,
        earns_from_epoch,
    });
    grid.invariant()?;
    ctx.accounts.owner.invariant()?;
    meter.invariant()
}
