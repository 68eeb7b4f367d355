//! The admin changes a resident's meter: rotates its gateway, records a new register, sets
//! its capacity, or retires it. Each changes what the meter is billed or paid, so with the
//! owner's signature beside the admin's it applies at once; without it, it is recorded on the
//! meter and applies only after the grid's notice (`apply_meter_change`, anyone), and the
//! owner may veto it meanwhile (`veto_meter_change`).

use anchor_lang::prelude::*;
use anchor_spl::token::{Token, TokenAccount};

use crate::coins::pay_out_of_vault;
use crate::error::EnergyError;
use crate::events::{
    emit, MeterCapacityChanged, MeterChangeProposed, MeterDeactivated, MeterGatewayRotated,
    MeterRegisterReplaced,
};
use crate::state::{Grid, Meter, MeterAct, Resident};

#[derive(Accounts)]
pub struct ChangeMeter<'info> {
    pub admin: Signer<'info>,
    #[account(mut, has_one = admin @ EnergyError::NotGridAdmin)]
    pub grid: Box<Account<'info, Grid>>,
    #[account(
        mut,
        has_one = grid @ EnergyError::WrongGrid,
        has_one = owner @ EnergyError::WrongMeterOwner,
    )]
    pub meter: Box<Account<'info, Meter>>,
    #[account(has_one = coins @ EnergyError::WrongCoinAccount)]
    pub owner: Box<Account<'info, Resident>>,
    /// The owner's wallet: its signature makes the change apply at once.
    pub owner_authority: Option<Signer<'info>>,
    /// The owner's coin account: where a retired meter's spare coins go.
    #[account(mut)]
    pub coins: Box<Account<'info, TokenAccount>>,
    #[account(mut, address = grid.vault @ EnergyError::WrongCoinAccount)]
    pub vault: Box<Account<'info, TokenAccount>>,
    pub token_program: Program<'info, Token>,
}

impl ChangeMeter<'_> {
    /// Whether the owner signed; a wallet that signed but is not the owner's is refused.
    pub fn owner_signed(&self) -> Result<bool> {
        match &self.owner_authority {
            None => Ok(false),
            Some(wallet) => {
                require_keys_eq!(
                    wallet.key(),
                    self.owner.authority,
                    EnergyError::NotResidentOwner
                );
                Ok(true)
            }
        }
    }
}

pub fn handler(ctx: Context<ChangeMeter>, act: MeterAct) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    let owner_signed = ctx.accounts.owner_signed()?;
    let accounts = &mut *ctx.accounts;
    act.validate()?;
    accounts.meter.check_applicable(&act)?;
    if owner_signed || accounts.grid.notice_seconds == 0 {
        // A change applied now replaces whatever was waiting.
        accounts.meter.pending_change = None;
        apply(
            &mut accounts.grid,
            &mut accounts.meter,
            &accounts.owner,
            &accounts.coins,
            &mut accounts.vault,
            &act,
        )?;
    } else {
        let effective_ts = accounts.grid.notice_ends_at(now)?;
        accounts.meter.propose_change(act, effective_ts)?;
        emit(MeterChangeProposed {
            meter: accounts.meter.key(),
            act,
            effective_ts,
        });
    }
    accounts.grid.invariant()?;
    accounts.meter.invariant()
}

/// Applies `act` to `meter` (now, or once its notice has ended), moving a retired meter's
/// spare coins to its owner, and records what changed.
pub fn apply<'info>(
    grid: &mut Account<'info, Grid>,
    meter: &mut Account<'info, Meter>,
    owner: &Account<'info, Resident>,
    coins: &Account<'info, TokenAccount>,
    vault: &mut Account<'info, TokenAccount>,
    act: &MeterAct,
) -> Result<()> {
    let old = (meter.gateway, meter.last_register_wh, meter.capacity_w);
    let refunded_units = meter.apply_change(act)?;
    let key = meter.key();
    match *act {
        MeterAct::RotateGateway { gateway } => emit(MeterGatewayRotated {
            meter: key,
            old_gateway: old.0,
            new_gateway: gateway,
        }),
        MeterAct::ReplaceRegister { register_wh } => emit(MeterRegisterReplaced {
            meter: key,
            old_register_wh: old.1,
            new_register_wh: register_wh,
        }),
        MeterAct::SetCapacity { capacity_w } => emit(MeterCapacityChanged {
            meter: key,
            old_capacity_w: old.2,
            new_capacity_w: capacity_w,
        }),
        MeterAct::Deactivate => {
            require!(!grid.paused, EnergyError::GridPaused);
            pay_out_of_vault(grid, vault, coins, refunded_units)?;
            emit(MeterDeactivated {
                meter: key,
                owner: owner.key(),
                refunded_units,
                committed_units: meter.committed_units,
            });
        }
    }
    Ok(())
}
