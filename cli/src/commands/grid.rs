//! `deu grid`: create the community grid, propose changes to its terms (which wait for the
//! grid's notice), inspect it, hand the admin role on.

use std::fmt;

use anyhow::{anyhow, bail};
use clap::Subcommand;
use energy_utility_sdk::accounts::{
    CreditRules, EpochParams, OracleLimits, PaymentRules, TimeOfUse,
};
use energy_utility_sdk::amounts::{format_k, parse_k, parse_kwh, parse_ratio_permille, parse_usd};
use energy_utility_sdk::calendar;
use energy_utility_sdk::constants::{
    DEFAULT_EPOCH_SECONDS, DEFAULT_GRACE_SECONDS, MAX_NOTICE_SECONDS,
};
use energy_utility_sdk::instructions::{InitializeGridArgs, UpdateGridArgs};
use energy_utility_sdk::views::GridView;
use energy_utility_sdk::{instructions, pda};
use serde::Serialize;

use crate::context::{load_grid, pubkey_arg, Globals};

#[derive(Subcommand)]
pub enum GridCommand {
    /// Create the grid named by --grid, with the keypair as its admin
    Init(InitArgs),
    /// Show the grid's parameters, clock, accounts, the oracle's mint budget, and what the
    /// admin proposed that waits for its notice
    Show,
    /// Propose new terms (admin): epoch parameters apply from the first epoch after the grid's
    /// notice, price, oracle and oracle limits once it has passed; a lower mint limit at once
    Update(UpdateArgs),
    /// Withdraw every proposed change that has not taken effect yet (admin)
    CancelChanges,
    /// Write down the proposed terms whose notice has passed (anyone; instructions read them
    /// as in force anyway)
    ApplyChanges,
    /// Offer the admin role to another wallet, e.g. a multisig's vault (admin); nothing
    /// changes until that wallet accepts
    ProposeAdmin {
        /// The new admin's public key (or keypair file)
        new_admin: String,
    },
    /// Take the admin role the admin offered this keypair
    AcceptAdmin {
        /// Do not send: print the instruction that wallet (a multisig's vault) must sign, to
        /// propose it in the multisig (e.g. Squads' transaction builder)
        #[arg(long, value_name = "NEW_ADMIN")]
        print_for: Option<String>,
    },
    /// Bring the grid's address lookup tables up to its meters, so the crank settles 55
    /// meters a transaction (admin; `deu meter register` does it after each registration)
    SyncTables,
    /// Move the utility's fees from the treasury to its own resident account, to sell (admin)
    CollectFees(CollectFeesArgs),
    /// Stop every coin movement and report until resumed (admin)
    Pause,
    /// Resume a paused grid (admin)
    Resume,
}

// `deu grid init`'s flags.
#[derive(clap::Args)]
pub struct InitArgs {
    /// The utility's fee per epoch, in k
    #[arg(long, default_value = "0.01")]
    fee: String,
    /// What consumers pay per kWh, in k
    #[arg(long, default_value = "1")]
    tariff: String,
    /// Dollar price of one coin k (the payment oracle mints and burns at it)
    #[arg(long, default_value = "0.10")]
    coin_price_usd: String,
    /// Epoch length in seconds (fixed for the grid's life)
    #[arg(long, default_value_t = DEFAULT_EPOCH_SECONDS)]
    epoch_seconds: u32,
    /// How long after an epoch ends late reports are accepted, in seconds
    #[arg(long, default_value_t = DEFAULT_GRACE_SECONDS)]
    grace_seconds: u32,
    /// The most one meter may report per epoch, in kWh
    #[arg(long, default_value = "1000")]
    max_kwh: String,
    /// The payment oracle's public key or keypair file [default: the keypair's]
    #[arg(long)]
    oracle: Option<String>,
    /// The highest fee per epoch the grid may ever charge, in k: fixed for good
    #[arg(long, default_value = "0.1")]
    fee_cap: String,
    /// How long what the admin changes alone waits before it applies (the grid's economics,
    /// a resident's meter, a new producer's earnings), in hours: fixed for good
    #[arg(long, default_value = "72")]
    notice_hours: f64,
    #[command(flatten)]
    payment_rules: PaymentRuleArgs,
    #[command(flatten)]
    limits: OracleLimitArgs,
    #[command(flatten)]
    rules: ReadingRuleArgs,
    #[command(flatten)]
    calendar: CalendarArgs,
}

// `deu grid collect-fees`'s arguments.
#[derive(clap::Args)]
pub struct CollectFeesArgs {
    /// Coins k to take [default: everything in the treasury]
    amount_k: Option<String>,
    /// The utility's resident id [default: the resident registered by the admin's keypair]
    #[arg(long)]
    to: Option<String>,
}

// `deu grid update`'s flags: each one left out keeps its value.
#[derive(clap::Args)]
pub struct UpdateArgs {
    #[arg(long)]
    fee: Option<String>,
    #[arg(long)]
    tariff: Option<String>,
    #[arg(long)]
    coin_price_usd: Option<String>,
    #[arg(long)]
    grace_seconds: Option<u32>,
    #[arg(long)]
    max_kwh: Option<String>,
    #[arg(long)]
    oracle: Option<String>,
    #[command(flatten)]
    payment_rules: PaymentRuleArgs,
    #[command(flatten)]
    limits: OracleLimitArgs,
    #[command(flatten)]
    rules: ReadingRuleArgs,
    #[command(flatten)]
    calendar: CalendarArgs,
}

/// The grid's calendar: its local time, time-of-use tariffs, and what protects a consumer who
/// runs out of coins. Like every epoch parameter, a change waits for the grid's notice.
#[derive(clap::Args, Default)]
pub struct CalendarArgs {
    /// The grid's local time, as an offset from UTC (e.g. +02:00, -5); friendly hours and
    /// time-of-use hours are local [init default: 0]
    #[arg(long, allow_hyphen_values = true)]
    utc_offset: Option<String>,
    /// Weekday tariffs as multiples of --tariff by local hour, e.g. "17-21=2, 0-6=0.5" (other
    /// hours 1; an epoch costs the hour it starts in) [init default: flat]
    #[arg(long)]
    weekday_tariffs: Option<String>,
    /// Weekend (Saturday, Sunday) tariffs, the same way [init default: flat]
    #[arg(long)]
    weekend_tariffs: Option<String>,
    /// When nobody is disconnected for lack of coins (what they use becomes debt), e.g.
    /// "weekdays 18-8, weekends" or "daily 22-6" or "none" [init default: none]
    #[arg(long)]
    friendly_hours: Option<String>,
    /// Local dates friendly all day, e.g. "2026-12-25, 2027-01-01" (at most 16; "none"
    /// clears them) [init default: none]
    #[arg(long)]
    holidays: Option<String>,
    /// Coins k a consumer low on coins may run into debt by, once per top-up cycle (0: none)
    /// [init default: 0]
    #[arg(long)]
    emergency_credit: Option<String>,
    /// The share of each funding that repays a meter's debt, e.g. 25% or 0.25 [init
    /// default: 100%]
    #[arg(long)]
    debt_recovery: Option<String>,
}

impl CalendarArgs {
    fn sets_any(&self) -> bool {
        self.utc_offset.is_some() || self.sets_tariffs() || self.sets_credit()
    }

    fn sets_tariffs(&self) -> bool {
        self.weekday_tariffs.is_some() || self.weekend_tariffs.is_some()
    }

    fn sets_credit(&self) -> bool {
        self.friendly_hours.is_some()
            || self.holidays.is_some()
            || self.emergency_credit.is_some()
            || self.debt_recovery.is_some()
    }

    fn utc_offset_seconds(&self) -> anyhow::Result<Option<i32>> {
        self.utc_offset
            .as_deref()
            .map(|t| calendar::parse_utc_offset(t).map_err(|e| anyhow!("--utc-offset: {e}")))
            .transpose()
    }

    /// `base` with the tariffs these flags set.
    fn time_of_use(&self, base: TimeOfUse) -> anyhow::Result<TimeOfUse> {
        let day = |text: &Option<String>, flag: &str, base: [u16; 24]| {
            text.as_deref()
                .map(|t| calendar::parse_time_of_use_day(t).map_err(|e| anyhow!("{flag}: {e}")))
                .transpose()
                .map(|d| d.unwrap_or(base))
        };
        Ok(TimeOfUse {
            weekday_permille: day(
                &self.weekday_tariffs,
                "--weekday-tariffs",
                base.weekday_permille,
            )?,
            weekend_permille: day(
                &self.weekend_tariffs,
                "--weekend-tariffs",
                base.weekend_permille,
            )?,
        })
    }

    /// `base` with the credit rules these flags set.
    fn credit(&self, base: CreditRules) -> anyhow::Result<CreditRules> {
        let mut rules = base;
        if let Some(t) = &self.friendly_hours {
            rules.friendly_hours =
                calendar::parse_friendly_hours(t).map_err(|e| anyhow!("--friendly-hours: {e}"))?;
        }
        if let Some(t) = &self.holidays {
            rules.holidays = calendar::parse_holidays(t).map_err(|e| anyhow!("--holidays: {e}"))?;
        }
        if let Some(t) = &self.emergency_credit {
            rules.emergency_credit_units =
                parse_k(t).map_err(|e| anyhow!("--emergency-credit: {e}"))?;
        }
        if let Some(t) = &self.debt_recovery {
            let permille = match t.trim().strip_suffix('%') {
                Some(percent) => parse_ratio_permille(percent).map(|p| p / 100),
                None => parse_ratio_permille(t),
            }
            .map_err(|e| anyhow!("--debt-recovery: {e}"))?;
            rules.debt_recovery_permille = u16::try_from(permille)
                .ok()
                .filter(|p| (1..=1_000).contains(p))
                .ok_or_else(|| anyhow!("--debt-recovery is from 0.1% to 100%"))?;
        }
        Ok(rules)
    }

    /// `base` with every calendar field these flags set.
    fn apply(&self, base: EpochParams) -> anyhow::Result<EpochParams> {
        Ok(EpochParams {
            utc_offset_seconds: self
                .utc_offset_seconds()?
                .unwrap_or(base.utc_offset_seconds),
            time_of_use: self.time_of_use(base.time_of_use)?,
            credit: self.credit(base.credit)?,
            ..base
        })
    }
}

/// The rules of dollars: how long card-bought coins wait before they can be sold, and how long
/// a resident's change of payout account waits.
#[derive(clap::Args, Default)]
pub struct PaymentRuleArgs {
    /// How long coins bought by card are held from sale (they fund meters at once), in days: a
    /// stolen card's coins are not cashed out before its charge can be disputed [init
    /// default: 14]
    #[arg(long)]
    card_hold_days: Option<f64>,
    /// How long a resident's change of payout account waits (they see it and can cancel it),
    /// in hours [init default: 48]
    #[arg(long)]
    payout_notice_hours: Option<f64>,
}

impl PaymentRuleArgs {
    fn seconds(value: Option<f64>, unit: f64, flag: &str) -> anyhow::Result<Option<u32>> {
        value
            .map(|v| {
                let seconds = v * unit;
                if !(0.0..=f64::from(MAX_NOTICE_SECONDS)).contains(&seconds) {
                    bail!(
                        "{flag} must be between 0 and {} days",
                        MAX_NOTICE_SECONDS / 86_400
                    );
                }
                Ok(seconds.round() as u32)
            })
            .transpose()
    }

    fn card_hold_seconds(&self) -> anyhow::Result<Option<u32>> {
        Self::seconds(self.card_hold_days, 86_400.0, "--card-hold-days")
    }

    fn payout_notice_seconds(&self) -> anyhow::Result<Option<u32>> {
        Self::seconds(self.payout_notice_hours, 3_600.0, "--payout-notice-hours")
    }
}

/// How meters' readings are judged: silence and the loss band.
#[derive(clap::Args, Default)]
pub struct ReadingRuleArgs {
    /// A consumer silent for this many closed epochs is disconnected until it reports [init default: 2]
    #[arg(long)]
    max_silent_epochs: Option<u32>,
    /// The lowest plausible produced / consumed ratio of an epoch [init default: 1.0]
    #[arg(long)]
    loss_band_min: Option<String>,
    /// The highest plausible produced / consumed ratio of an epoch [init default: 1.3]
    #[arg(long)]
    loss_band_max: Option<String>,
}

impl ReadingRuleArgs {
    fn ratio(text: &Option<String>, name: &str) -> anyhow::Result<Option<u32>> {
        text.as_deref()
            .map(|t| {
                let permille = parse_ratio_permille(t).map_err(|e| anyhow!("{name}: {e}"))?;
                u32::try_from(permille).map_err(|_| anyhow!("{name} is too large"))
            })
            .transpose()
    }
}

/// The payment oracle's limits: a circuit breaker on minting and how long receipts are kept.
#[derive(clap::Args, Default)]
pub struct OracleLimitArgs {
    /// The most the oracle may mint per window, in k [init default: 100000]
    #[arg(long)]
    mint_limit: Option<String>,
    /// The mint limit's rolling window, in hours [init default: 24]
    #[arg(long)]
    mint_window_hours: Option<u32>,
    /// How long payment receipts are kept against replays, in days (at least 4) [init default: 35]
    #[arg(long)]
    receipt_retention_days: Option<u32>,
}

impl OracleLimitArgs {
    fn mint_limit_units(&self) -> anyhow::Result<Option<u64>> {
        self.mint_limit
            .as_deref()
            .map(parse_k)
            .transpose()
            .map_err(|e| anyhow!("--mint-limit: {e}"))
    }

    fn window_seconds(&self) -> anyhow::Result<Option<u32>> {
        self.mint_window_hours
            .map(|h| {
                h.checked_mul(3_600)
                    .ok_or_else(|| anyhow!("--mint-window-hours is too long"))
            })
            .transpose()
    }

    fn retention_seconds(&self) -> anyhow::Result<Option<u32>> {
        self.receipt_retention_days
            .map(|d| {
                d.checked_mul(86_400)
                    .ok_or_else(|| anyhow!("--receipt-retention-days is too long"))
            })
            .transpose()
    }
}

pub async fn run(globals: &Globals, command: GridCommand) -> anyhow::Result<()> {
    match command {
        GridCommand::Init(args) => init(globals, args).await,
        GridCommand::Show => show(globals, &globals.reader()).await,
        GridCommand::Update(args) => update(globals, args).await,
        GridCommand::AcceptAdmin {
            print_for: Some(new_admin),
        } => {
            let client = globals.reader();
            let (grid, _) = load_grid(globals, &client).await?;
            let ix = instructions::accept_admin(&pubkey_arg(&new_admin)?, &grid);
            globals.output().show(&PrintedInstruction::from(&ix));
            Ok(())
        }
        GridCommand::CancelChanges
        | GridCommand::ApplyChanges
        | GridCommand::AcceptAdmin { print_for: None } => {
            let client = globals.client()?;
            let (grid, _) = load_grid(globals, &client).await?;
            let ix = match command {
                GridCommand::CancelChanges => {
                    instructions::cancel_grid_changes(&client.payer(), &grid)
                }
                GridCommand::ApplyChanges => instructions::apply_grid_changes(&grid),
                _ => instructions::accept_admin(&client.payer(), &grid),
            };
            client.send_without_events(&[ix], &[]).await?;
            show(globals, &client).await
        }
        GridCommand::ProposeAdmin { new_admin } => {
            let client = globals.client()?;
            let (grid, _) = load_grid(globals, &client).await?;
            let new_admin = pubkey_arg(&new_admin)?;
            let ix = instructions::propose_admin(&client.payer(), &grid, &new_admin);
            client.send_without_events(&[ix], &[]).await?;
            show(globals, &client).await
        }
        GridCommand::CollectFees(args) => collect_fees(globals, args).await,
        GridCommand::SyncTables => sync_tables(globals).await,
        GridCommand::Pause | GridCommand::Resume => {
            let paused = matches!(command, GridCommand::Pause);
            let client = globals.client()?;
            let (grid, _) = load_grid(globals, &client).await?;
            client
                .send_without_events(
                    &[instructions::set_paused(&client.payer(), &grid, paused)],
                    &[],
                )
                .await?;
            show(globals, &client).await
        }
    }
}

async fn init(globals: &Globals, flags: InitArgs) -> anyhow::Result<()> {
    let client = globals.client()?;
    if client.grid(&globals.grid).await.is_ok() {
        bail!("grid '{}' already exists", globals.grid);
    }
    let InitArgs { limits, rules, .. } = &flags;
    let notice_seconds = flags.notice_hours * 3_600.0;
    if !(0.0..=f64::from(MAX_NOTICE_SECONDS)).contains(&notice_seconds) {
        bail!(
            "--notice-hours must be between 0 and {}",
            MAX_NOTICE_SECONDS / 3_600
        );
    }
    let args = InitializeGridArgs {
        name: globals.grid.clone(),
        oracle: match &flags.oracle {
            Some(key) => pubkey_arg(key)?,
            None => client.payer(),
        },
        params: EpochParams {
            fee_units: parse_k(&flags.fee).map_err(|e| anyhow!("--fee: {e}"))?,
            tariff_units_per_kwh: parse_k(&flags.tariff).map_err(|e| anyhow!("--tariff: {e}"))?,
            max_wh_per_epoch: parse_kwh(&flags.max_kwh).map_err(|e| anyhow!("--max-kwh: {e}"))?,
            grace_seconds: flags.grace_seconds,
            max_silent_epochs: rules
                .max_silent_epochs
                .unwrap_or(EpochParams::default().max_silent_epochs),
            loss_band_min_permille: ReadingRuleArgs::ratio(
                &rules.loss_band_min,
                "--loss-band-min",
            )?
            .unwrap_or(EpochParams::default().loss_band_min_permille),
            loss_band_max_permille: ReadingRuleArgs::ratio(
                &rules.loss_band_max,
                "--loss-band-max",
            )?
            .unwrap_or(EpochParams::default().loss_band_max_permille),
            ..flags.calendar.apply(EpochParams::default())?
        },
        coin_price_cents: parse_usd(&flags.coin_price_usd)
            .map_err(|e| anyhow!("--coin-price-usd: {e}"))?,
        epoch_seconds: flags.epoch_seconds,
        max_fee_units: parse_k(&flags.fee_cap).map_err(|e| anyhow!("--fee-cap: {e}"))?,
        oracle_limits: {
            let defaults = OracleLimits::default();
            OracleLimits {
                mint_limit_units: limits
                    .mint_limit_units()?
                    .unwrap_or(defaults.mint_limit_units),
                mint_window_seconds: limits
                    .window_seconds()?
                    .unwrap_or(defaults.mint_window_seconds),
                receipt_retention_seconds: limits
                    .retention_seconds()?
                    .unwrap_or(defaults.receipt_retention_seconds),
            }
        },
        notice_seconds: notice_seconds.round() as u32,
        payment_rules: {
            let defaults = PaymentRules::default();
            PaymentRules {
                card_hold_seconds: flags
                    .payment_rules
                    .card_hold_seconds()?
                    .unwrap_or(defaults.card_hold_seconds),
                payout_notice_seconds: flags
                    .payment_rules
                    .payout_notice_seconds()?
                    .unwrap_or(defaults.payout_notice_seconds),
            }
        },
    };
    client
        .send_without_events(&[instructions::initialize_grid(&client.payer(), args)], &[])
        .await?;
    show(globals, &client).await
}

async fn update(globals: &Globals, flags: UpdateArgs) -> anyhow::Result<()> {
    let client = globals.client()?;
    let (grid, state) = load_grid(globals, &client).await?;
    let UpdateArgs {
        limits,
        rules,
        calendar,
        ..
    } = &flags;
    // The calendar's fields are whole on chain: what is not changed keeps the latest proposal.
    let latest = calendar.apply(state.latest_params())?;
    let args = UpdateGridArgs {
        fee_units: flags
            .fee
            .as_deref()
            .map(parse_k)
            .transpose()
            .map_err(|e| anyhow!("--fee: {e}"))?,
        tariff_units_per_kwh: flags
            .tariff
            .as_deref()
            .map(parse_k)
            .transpose()
            .map_err(|e| anyhow!("--tariff: {e}"))?,
        max_wh_per_epoch: flags
            .max_kwh
            .as_deref()
            .map(parse_kwh)
            .transpose()
            .map_err(|e| anyhow!("--max-kwh: {e}"))?,
        grace_seconds: flags.grace_seconds,
        max_silent_epochs: rules.max_silent_epochs,
        loss_band_min_permille: ReadingRuleArgs::ratio(&rules.loss_band_min, "--loss-band-min")?,
        loss_band_max_permille: ReadingRuleArgs::ratio(&rules.loss_band_max, "--loss-band-max")?,
        coin_price_cents: flags
            .coin_price_usd
            .as_deref()
            .map(parse_usd)
            .transpose()
            .map_err(|e| anyhow!("--coin-price-usd: {e}"))?,
        oracle: flags.oracle.as_deref().map(pubkey_arg).transpose()?,
        mint_limit_units: limits.mint_limit_units()?,
        mint_window_seconds: limits.window_seconds()?,
        receipt_retention_seconds: limits.retention_seconds()?,
        card_hold_seconds: flags.payment_rules.card_hold_seconds()?,
        payout_notice_seconds: flags.payment_rules.payout_notice_seconds()?,
        utc_offset_seconds: calendar.utc_offset_seconds()?,
        time_of_use: calendar.sets_tariffs().then_some(latest.time_of_use),
        credit: calendar.sets_credit().then_some(latest.credit),
    };
    if args == UpdateGridArgs::default() && !calendar.sets_any() {
        bail!("nothing to change: pass at least one of --fee, --tariff, --coin-price-usd, --grace-seconds, --max-kwh, --oracle, --mint-limit, --mint-window-hours, --receipt-retention-days, --max-silent-epochs, --loss-band-min, --loss-band-max, --card-hold-days, --payout-notice-hours, --utc-offset, --weekday-tariffs, --weekend-tariffs, --friendly-hours, --holidays, --emergency-credit, --debt-recovery");
    }
    client
        .send_without_events(
            &[instructions::update_grid(&client.payer(), &grid, args)],
            &[],
        )
        .await?;
    show(globals, &client).await
}

async fn sync_tables(globals: &Globals) -> anyhow::Result<()> {
    let client = globals.client()?;
    let (grid_address, grid) = load_grid(globals, &client).await?;
    if grid.admin != client.payer() {
        bail!(
            "only the grid's admin ({}) keeps its lookup tables; this keypair is {}",
            grid.admin,
            client.payer()
        );
    }
    let added = client.sync_lookup_tables(&grid_address).await?;
    let tables = client
        .lookup_tables(&grid_address, grid.meter_count)
        .await?;
    let listed = client
        .meter_addresses(&grid_address, grid.meter_count)
        .await?
        .iter()
        .filter(|m| tables.lists(m))
        .count();
    globals.output().show(&TablesSynced {
        meters: grid.meter_count,
        listed,
        added,
        tables: tables.tables().len(),
    });
    Ok(())
}

/// An instruction shown instead of sent, for another signer (a multisig) to propose.
#[derive(Serialize)]
struct PrintedInstruction {
    program_id: String,
    accounts: Vec<PrintedAccount>,
    data_base58: String,
    data_base64: String,
}

#[derive(Serialize)]
struct PrintedAccount {
    pubkey: String,
    is_signer: bool,
    is_writable: bool,
}

impl From<&anchor_lang::solana_program::instruction::Instruction> for PrintedInstruction {
    fn from(ix: &anchor_lang::solana_program::instruction::Instruction) -> Self {
        use base64::Engine;
        Self {
            program_id: ix.program_id.to_string(),
            accounts: ix
                .accounts
                .iter()
                .map(|a| PrintedAccount {
                    pubkey: a.pubkey.to_string(),
                    is_signer: a.is_signer,
                    is_writable: a.is_writable,
                })
                .collect(),
            data_base58: bs58::encode(&ix.data).into_string(),
            data_base64: base64::engine::general_purpose::STANDARD.encode(&ix.data),
        }
    }
}

impl fmt::Display for PrintedInstruction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "program: {}", self.program_id)?;
        for (i, a) in self.accounts.iter().enumerate() {
            let flags = match (a.is_signer, a.is_writable) {
                (true, true) => "signer, writable",
                (true, false) => "signer",
                (false, true) => "writable",
                (false, false) => "read-only",
            };
            writeln!(f, "account {i}: {} ({flags})", a.pubkey)?;
        }
        write!(f, "data (base58): {}", self.data_base58)
    }
}

/// The grid's lookup tables after `deu grid sync-tables`: how many of its meters they list.
#[derive(Serialize)]
struct TablesSynced {
    meters: u32,
    listed: usize,
    added: usize,
    tables: usize,
}

impl fmt::Display for TablesSynced {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} of {} meters listed in {} lookup tables ({} added now): the crank settles them in v0 transactions",
            self.listed, self.meters, self.tables, self.added
        )
    }
}

async fn collect_fees(globals: &Globals, args: CollectFeesArgs) -> anyhow::Result<()> {
    let client = globals.client()?;
    let (grid_address, grid) = load_grid(globals, &client).await?;
    if grid.admin != client.payer() {
        bail!(
            "only the grid's admin ({}) collects its fees; this keypair is {}",
            grid.admin,
            client.payer()
        );
    }
    let amount_units = args
        .amount_k
        .as_deref()
        .map(parse_k)
        .transpose()
        .map_err(|e| anyhow!("invalid amount: {e}"))?
        .unwrap_or(0);
    let (resident, state) = match args.to {
        Some(id) => client.resident(&grid_address, &id).await?,
        None => client
            .residents(&grid_address, grid.resident_count)
            .await?
            .into_iter()
            .find(|(_, r)| r.authority == client.payer())
            .ok_or_else(|| {
                anyhow!("the utility has no resident account to collect into: register one with this keypair first (deu resident register utility)")
            })?,
    };
    let treasury = pda::treasury(&grid_address);
    let before = client.token_amount(&treasury).await?;
    let ix = instructions::collect_fees(&client.payer(), &grid_address, &resident, amount_units);
    let signature = client.send_without_events(&[ix], &[]).await?;
    let after = client.token_amount(&treasury).await?;
    let balance = client.token_amount(&state.coins).await?;
    globals.output().show(&FeesCollected {
        resident: state.id,
        collected_k: format_k(before - after),
        treasury_k: format_k(after),
        balance_k: format_k(balance),
        signature,
    });
    Ok(())
}

/// The utility's fees moved from the treasury into its own resident account.
#[derive(Serialize)]
struct FeesCollected {
    resident: String,
    collected_k: String,
    treasury_k: String,
    balance_k: String,
    signature: String,
}

impl fmt::Display for FeesCollected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Collected {} k of fees into {}; the treasury holds {} k, {} has {} k to sell (deu withdraw request)",
            self.collected_k, self.resident, self.treasury_k, self.resident, self.balance_k
        )
    }
}

async fn show(globals: &Globals, client: &energy_utility_sdk::Client) -> anyhow::Result<()> {
    let (address, grid) = load_grid(globals, client).await?;
    let now = client.cluster_time().await?;
    globals.output().show(&GridView::new(
        &address,
        &grid,
        now,
        grid.epoch_at(now).unwrap_or(0),
        client.token_amount(&pda::treasury(&address)).await?,
        client.token_amount(&pda::pool(&address)).await?,
    ));
    Ok(())
}
