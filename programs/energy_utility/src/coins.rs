//! Coin movements between the grid's token accounts, signed by the grid PDA. Every token
//! account the program uses has the grid PDA as its authority, so only these calls move coins.

use anchor_lang::prelude::*;
use anchor_spl::token::{self, Burn, Mint, MintTo, Token, TokenAccount, Transfer};

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
