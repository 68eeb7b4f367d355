//! Coin movements between the grid's token accounts, signed by the grid PDA. Every token
//! account the program uses has the grid PDA as its authority, so only these calls move coins.

use anchor_lang::prelude::*;
use anchor_spl::token::{self, Burn, Mint, MintTo, Token, TokenAccount, Transfer};

use crate::error::EnergyError;
use crate::state::Grid;

pub fn move_coins<'info>(
    token_program: &Program<'info, Token>,
    grid: &Account<'info, Grid>,
    from: &Account<'info, TokenAccount>,
    to: &Account<'info, TokenAccount>,
    amount_units: u64,
) -> Result<()> {
    if amount_units == 0 {
        return Ok(());
    }
    let seeds = grid.signer_seeds();
    token::transfer(
        CpiContext::new_with_signer(
            token_program.key(),
            Transfer {
                from: from.to_account_info(),
                to: to.to_account_info(),
                authority: grid.to_account_info(),
            },
            &[&seeds],
        ),
        amount_units,
    )
}

pub fn mint_coins<'info>(
    token_program: &Program<'info, Token>,
    grid: &Account<'info, Grid>,
    mint: &Account<'info, Mint>,
    to: &Account<'info, TokenAccount>,
    amount_units: u64,
) -> Result<()> {
    let seeds = grid.signer_seeds();
    token::mint_to(
        CpiContext::new_with_signer(
            token_program.key(),
            MintTo {
                mint: mint.to_account_info(),
                to: to.to_account_info(),
                authority: grid.to_account_info(),
            },
            &[&seeds],
        ),
        amount_units,
    )
}

pub fn burn_coins<'info>(
    token_program: &Program<'info, Token>,
    grid: &Account<'info, Grid>,
    mint: &Account<'info, Mint>,
    from: &Account<'info, TokenAccount>,
    amount_units: u64,
) -> Result<()> {
    let seeds = grid.signer_seeds();
    token::burn(
        CpiContext::new_with_signer(
            token_program.key(),
            Burn {
                mint: mint.to_account_info(),
                from: from.to_account_info(),
                authority: grid.to_account_info(),
            },
            &[&seeds],
        ),
        amount_units,
    )
}

/// Moves `amount_units` out of the grid's escrow back to a resident's coin account, keeps the
/// grid's escrow total, and checks the escrow still backs it.
pub fn release_escrow<'info>(
    token_program: &Program<'info, Token>,
    grid: &mut Account<'info, Grid>,
    escrow: &mut Account<'info, TokenAccount>,
    coins: &Account<'info, TokenAccount>,
    amount_units: u64,
) -> Result<()> {
    grid.escrow_units = grid
        .escrow_units
        .checked_sub(amount_units)
        .ok_or(EnergyError::VaultShortfall)?;
    move_coins(token_program, grid, escrow, coins, amount_units)?;
    escrow.reload()?;
    grid.check_backing(None, None, Some(escrow.amount))
}
