//! A wallet registers itself under a human-readable id and gets its coin account. The rent of
//! those accounts is paid by `payer`: the wallet itself, or a utility that sponsors residents who
//! hold no SOL (it gets the rent back when the resident closes).

use anchor_lang::prelude::*;
use anchor_spl::token::{Mint, Token, TokenAccount};

use crate::constants::*;
use crate::error::EnergyError;
use crate::events::{emit, ResidentRegistered};
use crate::state::{validate_id, DirectoryEntry, Grid, Resident};

#[derive(Accounts)]
#[instruction(resident_id: String)]
pub struct RegisterResident<'info> {
    pub authority: Signer<'info>,
    /// Pays the rent of the resident's accounts; recorded, and refunded when they close.
    #[account(mut)]
    pub payer: Signer<'info>,
    #[account(mut, constraint = !grid.paused @ EnergyError::GridPaused)]
    pub grid: Box<Account<'info, Grid>>,
    #[account(
        init,
        payer = payer,
        space = 8 + Resident::INIT_SPACE,
        seeds = [RESIDENT_SEED, grid.key().as_ref(), id_seed(&resident_id)],
        bump,
    )]
    pub resident: Box<Account<'info, Resident>>,
    #[account(
        init,
        payer = payer,
        space = 8 + DirectoryEntry::INIT_SPACE,
        seeds = [RESIDENT_INDEX_SEED, grid.key().as_ref(), &grid.resident_count.to_le_bytes()],
        bump,
    )]
    pub resident_entry: Box<Account<'info, DirectoryEntry>>,
    #[account(address = grid.mint @ EnergyError::WrongCoinAccount)]
    pub mint: Box<Account<'info, Mint>>,
    #[account(
        init,
        payer = payer,
        seeds = [COINS_SEED, resident.key().as_ref()],
        bump,
        token::mint = mint,
        token::authority = grid,
    )]
    pub coins: Box<Account<'info, TokenAccount>>,
    pub token_program: Program<'info, Token>,
    pub system_program: Program<'info, System>,
}

pub fn handler(ctx: Context<RegisterResident>, resident_id: String) -> Result<()> {
    validate_id(&resident_id)?;
    let grid = &mut ctx.accounts.grid;
    let index = grid.add_resident()?;
    let resident = &mut ctx.accounts.resident;
    resident.set_inner(Resident {
        grid: grid.key(),
        authority: ctx.accounts.authority.key(),
        id: resident_id.clone(),
        coins: ctx.accounts.coins.key(),
        escrow_units: 0,
        locked_units: 0,
        index,
        sale_count: 0,
        meters_owned: 0,
        open_sales: 0,
        payout_account: String::new(),
        pending_payout_account: String::new(),
        payout_change_ts: 0,
        debt_units: 0,
        holds: Default::default(),
        rent_payer: ctx.accounts.payer.key(),
        bump: ctx.bumps.resident,
    });
    ctx.accounts.resident_entry.set_inner(DirectoryEntry {
        grid: grid.key(),
        target: resident.key(),
        bump: ctx.bumps.resident_entry,
    });
    emit(ResidentRegistered {
        grid: grid.key(),
        resident: resident.key(),
        id: resident_id,
        authority: resident.authority,
        coins: resident.coins,
    });
    grid.invariant()?;
    resident.invariant()
}
