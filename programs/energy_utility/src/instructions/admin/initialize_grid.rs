//! Creates a community grid with its coin mint and the four coin accounts it controls.

use anchor_lang::prelude::*;
use anchor_spl::token::{Mint, Token, TokenAccount};

use crate::constants::*;
use crate::error::EnergyError;
use crate::events::{emit, GridInitialized};
use crate::state::{validate_id, EpochParams, Grid, OracleLimits, PaymentRules, NO_PENDING_EPOCH};

#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug, PartialEq, Eq)]
pub struct InitializeGridArgs {
    pub name: String,
    pub oracle: Pubkey,
    pub params: EpochParams,
    pub coin_price_cents: u64,
    pub epoch_seconds: u32,
    /// The highest fee this grid may ever charge: fixed here, for good.
    pub max_fee_units: u64,
    pub oracle_limits: OracleLimits,
    /// How long what the admin alone changes waits before it applies: fixed here, for good.
    pub notice_seconds: u32,
    /// The card hold and the payout account notice.
    pub payment_rules: PaymentRules,
}

impl InitializeGridArgs {
    /// A grid named `name` with the design's defaults: 0.01 k hourly fee (capped at 0.1 k),
    /// 1 k per kWh, $0.10 per k, hourly epochs, the default oracle limits and 72 hours'
    /// notice.
    pub fn with_defaults(name: &str, oracle: Pubkey) -> Self {
        Self {
            name: name.to_string(),
            oracle,
            params: EpochParams::default(),
            coin_price_cents: DEFAULT_COIN_PRICE_CENTS,
            epoch_seconds: DEFAULT_EPOCH_SECONDS,
            max_fee_units: DEFAULT_MAX_FEE_UNITS,
            oracle_limits: OracleLimits::default(),
            notice_seconds: DEFAULT_NOTICE_SECONDS,
            payment_rules: PaymentRules::default(),
        }
    }
}

#[derive(Accounts)]
#[instruction(args: InitializeGridArgs)]
pub struct InitializeGrid<'info> {
    #[account(mut)]
    pub admin: Signer<'info>,
    #[account(
        init,
        payer = admin,
        space = 8 + Grid::INIT_SPACE,
        seeds = [GRID_SEED, id_seed(&args.name)],
        bump,
    )]
    pub grid: Box<Account<'info, Grid>>,
    #[account(
        init,
        payer = admin,
        seeds = [MINT_SEED, grid.key().as_ref()],
        bump,
        mint::decimals = COIN_DECIMALS,
        mint::authority = grid,
    )]
    pub mint: Box<Account<'info, Mint>>,
    #[account(
        init,
        payer = admin,
        seeds = [VAULT_SEED, grid.key().as_ref()],
        bump,
        token::mint = mint,
        token::authority = grid,
    )]
    pub vault: Box<Account<'info, TokenAccount>>,
    #[account(
        init,
        payer = admin,
        seeds = [POOL_SEED, grid.key().as_ref()],
        bump,
        token::mint = mint,
        token::authority = grid,
    )]
    pub pool: Box<Account<'info, TokenAccount>>,
    #[account(
        init,
        payer = admin,
        seeds = [TREASURY_SEED, grid.key().as_ref()],
        bump,
        token::mint = mint,
        token::authority = grid,
    )]
    pub treasury: Box<Account<'info, TokenAccount>>,
    #[account(
        init,
        payer = admin,
        seeds = [ESCROW_SEED, grid.key().as_ref()],
        bump,
        token::mint = mint,
        token::authority = grid,
    )]
    pub escrow: Box<Account<'info, TokenAccount>>,
    pub token_program: Program<'info, Token>,
    pub system_program: Program<'info, System>,
}

impl InitializeGrid<'_> {
    pub fn validate(&self, args: &InitializeGridArgs) -> Result<()> {
        validate_id(&args.name)?;
        require!(
            args.epoch_seconds >= MIN_EPOCH_SECONDS,
            EnergyError::InvalidEpochLength
        );
        require!(args.coin_price_cents > 0, EnergyError::InvalidCoinPrice);
        require!(
            args.notice_seconds <= MAX_NOTICE_SECONDS,
            EnergyError::InvalidNotice
        );
        args.oracle_limits.validate()?;
        args.payment_rules.validate()?;
        args.params.validate(args.epoch_seconds, args.max_fee_units)
    }
}

#[access_control(ctx.accounts.validate(&args))]
pub fn handler(ctx: Context<InitializeGrid>, args: InitializeGridArgs) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    let epoch_seconds = args.epoch_seconds as i64;
    let accounts = &mut *ctx.accounts;
    let grid = &mut accounts.grid;
    grid.set_inner(Grid {
        name: args.name.clone(),
        admin: accounts.admin.key(),
        oracle: args.oracle,
        mint: accounts.mint.key(),
        vault: accounts.vault.key(),
        pool: accounts.pool.key(),
        treasury: accounts.treasury.key(),
        escrow: accounts.escrow.key(),
        genesis_ts: now.div_euclid(epoch_seconds) * epoch_seconds,
        epoch_seconds: args.epoch_seconds,
        params: args.params,
        params_from_epoch: 0,
        prior_params: args.params,
        pending_params: args.params,
        pending_from_epoch: NO_PENDING_EPOCH,
        coin_price_cents: args.coin_price_cents,
        paused: false,
        resident_count: 0,
        meter_count: 0,
        meter_balances_units: 0,
        carry_units: 0,
        pool_in_flight_units: 0,
        escrow_units: 0,
        max_fee_units: args.max_fee_units,
        oracle_limits: args.oracle_limits,
        mint_budget_scaled: 0,
        mint_budget_ts: now,
        receipts_closed_through_ts: i64::MIN,
        silence_from_epoch: 0,
        notice_seconds: args.notice_seconds,
        pending_change: None,
        pending_admin: Pubkey::default(),
        prior_from_epoch: 0,
        older_peak_tariff_units_per_kwh: 0,
        payment_rules: args.payment_rules,
        bump: ctx.bumps.grid,
    });
    grid.start_oracle_limits(args.oracle_limits, now)?;
    emit(GridInitialized {
        grid: grid.key(),
        name: args.name,
        admin: grid.admin,
        oracle: grid.oracle,
        mint: grid.mint,
        params: grid.params,
        coin_price_cents: grid.coin_price_cents,
        epoch_seconds: grid.epoch_seconds,
        genesis_ts: grid.genesis_ts,
        notice_seconds: grid.notice_seconds,
    });
    grid.invariant()
}
