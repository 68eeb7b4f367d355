//! An empty resident — no coins, nothing set aside, no meter, every sale account closed —
//! closes its resident account, its coin account and its directory entry, and whoever paid
//! their rent (its wallet, or the utility that sponsored it) gets it back. Its id can then be registered again, by anyone: the sale addresses of a
//! new registration differ (the registration index is in their seeds).

use anchor_lang::prelude::*;
use anchor_spl::token::{self, CloseAccount, Token, TokenAccount};

use crate::constants::*;
use crate::error::EnergyError;
use crate::events::{emit, ResidentClosed};
use crate::state::{DirectoryEntry, Grid, Resident};

#[derive(Accounts)]
pub struct CloseResident<'info> {
    #[account(mut)]
    pub authority: Signer<'info>,
    pub grid: Box<Account<'info, Grid>>,
    #[account(
        mut,
        has_one = grid @ EnergyError::WrongGrid,
        has_one = authority @ EnergyError::NotResidentOwner,
        has_one = coins @ EnergyError::WrongCoinAccount,
        has_one = rent_payer @ EnergyError::WrongRentPayer,
        close = rent_payer,
    )]
    pub resident: Box<Account<'info, Resident>>,
    #[account(mut)]
    pub coins: Box<Account<'info, TokenAccount>>,
    #[account(
        mut,
        seeds = [RESIDENT_INDEX_SEED, grid.key().as_ref(), &resident.index.to_le_bytes()],
        bump = resident_entry.bump,
        constraint = resident_entry.target == resident.key() @ EnergyError::WrongGrid,
        close = rent_payer,
    )]
    pub resident_entry: Box<Account<'info, DirectoryEntry>>,
    /// CHECK: receives the rent; checked against the resident's recorded payer by `has_one`.
    #[account(mut)]
    pub rent_payer: UncheckedAccount<'info>,
    pub token_program: Program<'info, Token>,
}

pub fn handler(ctx: Context<CloseResident>) -> Result<()> {
    let accounts = &ctx.accounts;
    accounts.resident.check_empty(accounts.coins.amount)?;
    let grid = &accounts.grid;
    let seeds = grid.signer_seeds();
    let signers = [&seeds[..]];
    let close = CloseAccount {
        account: accounts.coins.to_account_info(),
        destination: accounts.rent_payer.to_account_info(),
        authority: grid.to_account_info(),
    };
    token::close_account(CpiContext::new_with_signer(Token::id(), close, &signers))?;
    emit(ResidentClosed {
        grid: grid.key(),
        resident: accounts.resident.key(),
        id: accounts.resident.id.clone(),
        authority: accounts.authority.key(),
    });
    Ok(())
}
