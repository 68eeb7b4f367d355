//! Coin movements between the grid's token accounts, signed by the grid PDA. Every token
//! account the program uses has the grid PDA as its authority, so only these calls move coins.
//! Each instruction that moves coins lists the token program among its accounts (the runtime
//! needs it there); its address is Anchor's `Token` id, which these calls use.

use anchor_lang::prelude::*;
use anchor_spl::token::{self, Burn, Mint, MintTo, Token, TokenAccount, Transfer};

use crate::state::Grid;

/// A token instruction's CPI, as `anchor_spl::token` exposes it.
type TokenCall<'info, T> = fn(CpiContext<'_, '_, '_, 'info, T>, u64) -> Result<()>;

/// Calls `call` with the grid PDA's signature.
fn signed_by_grid<'info, T: ToAccountMetas + ToAccountInfos<'info>>(
    grid: &Account<'info, Grid>,
    accounts: T,
    call: TokenCall<'info, T>,
    amount_units: u64,
) -> Result<()> {
    let seeds = grid.signer_seeds();
    let signers = [&seeds[..]];
    let context = CpiContext::new_with_signer(Token::id(), accounts, &signers);
    call(context, amount_units)
}

pub fn move_coins<'info>(
    grid: &Account<'info, Grid>,
    from: &Account<'info, TokenAccount>,
    to: &Account<'info, TokenAccount>,
    amount_units: u64,
) -> Result<()> {
    if amount_units == 0 {
        return Ok(());
    }
    let accounts = Transfer {
        from: from.to_account_info(),
        to: to.to_account_info(),
        authority: grid.to_account_info(),
    };
    signed_by_grid(grid, accounts, token::transfer, amount_units)
}

pub fn mint_coins<'info>(
    grid: &Account<'info, Grid>,
    mint: &Account<'info, Mint>,
    to: &Account<'info, TokenAccount>,
    amount_units: u64,
) -> Result<()> {
    if amount_units == 0 {
        return Ok(());
    }
    let accounts = MintTo {
        mint: mint.to_account_info(),
        to: to.to_account_info(),
        authority: grid.to_account_info(),
    };
    signed_by_grid(grid, accounts, token::mint_to, amount_units)
}

// Movements that change the grid's books: the entry is made first, the coins move, and the
// token account is checked to still back its book.

/// Pays `amount_units` out of the meters' balances in the vault to an owner's coin account: a
/// retired meter's refund, a producer's earnings.
pub fn pay_out_of_vault<'info>(
    grid: &mut Account<'info, Grid>,
    vault: &mut Account<'info, TokenAccount>,
    coins: &Account<'info, TokenAccount>,
    amount_units: u64,
) -> Result<()> {
    grid.debit_meters(amount_units)?;
    move_coins(grid, vault, coins, amount_units)?;
    vault.reload()?;
    grid.check_vault(vault.amount)
}

/// Moves a resident's coins into the grid's escrow, set aside for a sale.
pub fn hold_in_escrow<'info>(
    grid: &mut Account<'info, Grid>,
    coins: &Account<'info, TokenAccount>,
    escrow: &mut Account<'info, TokenAccount>,
    amount_units: u64,
) -> Result<()> {
    grid.hold_in_escrow(amount_units)?;
    move_coins(grid, coins, escrow, amount_units)?;
    escrow.reload()?;
    grid.check_escrow(escrow.amount)
}

/// Moves `amount_units` out of the grid's escrow back to a resident's coin account.
pub fn release_escrow<'info>(
    grid: &mut Account<'info, Grid>,
    escrow: &mut Account<'info, TokenAccount>,
    coins: &Account<'info, TokenAccount>,
    amount_units: u64,
) -> Result<()> {
    grid.release_from_escrow(amount_units)?;
    move_coins(grid, escrow, coins, amount_units)?;
    escrow.reload()?;
    grid.check_escrow(escrow.amount)
}

/// Burns `amount_units` of the grid's escrow: a sale's payout was paid.
pub fn burn_escrowed<'info>(
    grid: &mut Account<'info, Grid>,
    mint: &Account<'info, Mint>,
    escrow: &mut Account<'info, TokenAccount>,
    amount_units: u64,
) -> Result<()> {
    grid.release_from_escrow(amount_units)?;
    let accounts = Burn {
        mint: mint.to_account_info(),
        from: escrow.to_account_info(),
        authority: grid.to_account_info(),
    };
    signed_by_grid(grid, accounts, token::burn, amount_units)?;
    escrow.reload()?;
    grid.check_escrow(escrow.amount)
}

/// Burns `amount_units` from a resident's coin account: coins a refund or dispute took back.
pub fn burn_coins<'info>(
    grid: &Account<'info, Grid>,
    mint: &Account<'info, Mint>,
    coins: &Account<'info, TokenAccount>,
    amount_units: u64,
) -> Result<()> {
    if amount_units == 0 {
        return Ok(());
    }
    let accounts = Burn {
        mint: mint.to_account_info(),
        from: coins.to_account_info(),
        authority: grid.to_account_info(),
    };
    signed_by_grid(grid, accounts, token::burn, amount_units)
}

/// Burns `amount_units` of the meters' balances in the vault: earnings that repaid a debt.
pub fn burn_out_of_vault<'info>(
    grid: &mut Account<'info, Grid>,
    mint: &Account<'info, Mint>,
    vault: &mut Account<'info, TokenAccount>,
    amount_units: u64,
) -> Result<()> {
    if amount_units == 0 {
        return Ok(());
    }
    grid.debit_meters(amount_units)?;
    let accounts = Burn {
        mint: mint.to_account_info(),
        from: vault.to_account_info(),
        authority: grid.to_account_info(),
    };
    signed_by_grid(grid, accounts, token::burn, amount_units)?;
    vault.reload()?;
    grid.check_vault(vault.amount)
}
