//! How accounts are shown to people and scripts: one typed view per account, `Serialize` for
//! JSON (the field names the CLI and the web app share, amounts as decimal strings) and
//! `Display` for the CLI's text. A view is built once from the account and written either way.

use std::fmt;

use anchor_lang::prelude::Pubkey;
use serde::Serialize;

use crate::accounts::{
    Epoch, EpochParams, EpochStatus, Grid, Meter, MeterAct, MeterKind, Reading, ReadingStatus,
    Resident, Sale, SaleStatus, NO_PENDING_EPOCH,
};
use crate::amounts::{format_k, format_kwh, format_usd};

pub fn kind_name(kind: MeterKind) -> &'static str {
    match kind {
        MeterKind::Producer => "producer",
        MeterKind::Household => "household",
        MeterKind::Pole => "pole",
        MeterKind::Stadium => "stadium",
        MeterKind::Other => "other",
    }
}

pub fn status_name(status: EpochStatus) -> &'static str {
    match status {
        EpochStatus::Open => "open",
        EpochStatus::Charging => "charging",
        EpochStatus::Paying => "paying",
        EpochStatus::Settled => "settled",
    }
}

pub fn sale_status_name(status: SaleStatus) -> &'static str {
    match status {
        SaleStatus::Requested => "requested",
        SaleStatus::Locked => "locked",
        SaleStatus::Paid => "paid",
        SaleStatus::Returned => "returned",
        SaleStatus::Reversed => "reversed",
        SaleStatus::ClawedBack => "clawed_back",
    }
}

/// One sale of a resident's coins: its number and address, coins, state and, once locked,
/// the dollars it pays. (Its sentence names the resident, so it is the CLI's: `deu withdraw`.)
#[derive(Debug, Clone, Serialize)]
pub struct SaleView {
    pub number: u32,
    pub address: String,
    #[serde(serialize_with = "sale_status_as_name")]
    pub status: SaleStatus,
    pub coins_k: String,
    /// The processor account the dollars go to (the resident's bound one when they signed).
    pub destination: String,
    /// The least the resident accepted for the coins.
    pub min_usd: String,
    pub usd: Option<String>,
    pub payout_id: Option<String>,
    pub requested_ts: i64,
    pub ended_ts: Option<i64>,
}

fn sale_status_as_name<S: serde::Serializer>(
    status: &SaleStatus,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(sale_status_name(*status))
}

impl SaleView {
    pub fn new(number: u32, address: &Pubkey, s: &Sale) -> Self {
        let locked = s.status != SaleStatus::Requested;
        Self {
            number,
            address: address.to_string(),
            status: s.status,
            coins_k: format_k(s.units),
            destination: s.destination.clone(),
            min_usd: format_usd(s.min_cents),
            usd: locked.then(|| format_usd(s.cents)),
            payout_id: (!s.payout_id.is_empty()).then(|| s.payout_id.clone()),
            requested_ts: s.requested_ts,
            ended_ts: (s.ended_ts != 0).then_some(s.ended_ts),
        }
    }
}

/// A grid with its parameters for the current epoch, its pool and treasury, and the oracle's
/// mint budget at the cluster's time.
#[derive(Debug, Clone, Serialize)]
pub struct GridView {
    pub name: String,
    pub address: String,
    pub admin: String,
    pub oracle: String,
    pub mint: String,
    pub fee_k: String,
    pub tariff_k_per_kwh: String,
    pub max_kwh_per_epoch: String,
    pub grace_seconds: u32,
    pub max_silent_epochs: u32,
    pub loss_band: [String; 2],
    pub coin_price_usd: String,
    pub epoch_seconds: u32,
    pub genesis_ts: i64,
    pub current_epoch: u64,
    pub paused: bool,
    pub residents: u32,
    pub meters: u32,
    pub treasury_k: String,
    pub pool_k: String,
    pub carry_k: String,
    pub fee_cap_k: String,
    pub mint_limit_k: String,
    pub mint_window_seconds: u32,
    pub mint_budget_k: String,
    pub mint_used_k: String,
    pub receipt_retention_seconds: u32,
    /// How long what the admin alone changes waits, fixed when the grid was created.
    pub notice_seconds: u32,
    /// How long coins bought by card wait before they can be sold.
    pub card_hold_seconds: u32,
    /// How long a resident's change of payout account waits.
    pub payout_notice_seconds: u32,
    /// What the admin proposed that has not taken effect yet, with when it will.
    pub pending: Vec<PendingChangeView>,
    /// The wallet the admin role was offered to, until it accepts.
    pub pending_admin: Option<String>,
    /// The price of energy in the hour in progress (time of use), and its next change.
    pub price_now_k_per_kwh: String,
    pub price_next: Option<PriceChangeView>,
    /// The grid's friendly hours are on now: nobody is disconnected for lack of coins.
    pub friendly_now: bool,
    /// The calendar in force (local time, time-of-use tariffs, friendly hours, holidays,
    /// emergency credit, debt recovery), in words.
    pub calendar: Vec<CalendarLine>,
    /// Coins a consumer low on coins may run into debt by, once per top-up cycle ("0": none).
    pub emergency_credit_k: String,
    /// The share of each funding that repays a meter's debt, in ‰.
    pub debt_recovery_permille: u16,
}

/// The next hour whose price differs from this one's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PriceChangeView {
    pub k_per_kwh: String,
    pub from_ts: i64,
}

/// One line of the grid's calendar: what, and how it reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CalendarLine {
    pub what: &'static str,
    pub value: String,
}

/// One change the admin proposed, not in force yet: what, from what to what, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PendingChangeView {
    pub what: &'static str,
    pub from: String,
    pub to: String,
    /// When it takes effect (unix seconds).
    pub effective_ts: i64,
    /// For epoch parameters: the first epoch they apply to.
    pub effective_epoch: Option<u64>,
}

impl fmt::Display for PendingChangeView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} -> {} from {}",
            self.what,
            self.from,
            self.to,
            format_time(self.effective_ts)
        )?;
        if let Some(epoch) = self.effective_epoch {
            write!(f, " (epoch {epoch})")?;
        }
        Ok(())
    }
}

/// How one epoch parameter reads.
type ShowParam = fn(&EpochParams) -> String;

/// The changes the admin proposed for `g` that are not in force at `now`.
pub fn pending_changes(g: &Grid, now: i64) -> Vec<PendingChangeView> {
    let mut pending = Vec::new();
    if g.pending_from_epoch != NO_PENDING_EPOCH && g.epoch_at(now).ok() < Some(g.pending_from_epoch)
    {
        let epoch = g.pending_from_epoch;
        let starts = g.epoch_end(epoch).unwrap_or(i64::MAX) - g.epoch_seconds as i64;
        let (old, new) = (g.params, g.pending_params);
        let params: [(&'static str, ShowParam); 6] = [
            ("fee", |p| format!("{} k per epoch", format_k(p.fee_units))),
            ("tariff", |p| {
                format!("{} k per kWh", format_k(p.tariff_units_per_kwh))
            }),
            ("meter limit", |p| {
                format!("{} kWh per epoch", format_kwh(p.max_wh_per_epoch))
            }),
            ("grace", |p| format!("{} s", p.grace_seconds)),
            ("silence limit", |p| {
                format!("{} epochs", p.max_silent_epochs)
            }),
            ("loss band", |p| {
                format!(
                    "{}-{}",
                    format_ratio(p.loss_band_min_permille),
                    format_ratio(p.loss_band_max_permille)
                )
            }),
        ];
        let shown = params
            .into_iter()
            .map(|(what, show)| (what, show(&old), show(&new)))
            .chain(
                crate::calendar::describe(&old)
                    .into_iter()
                    .zip(crate::calendar::describe(&new))
                    .map(|((what, from), (_, to))| (what, from, to)),
            );
        for (what, from, to) in shown {
            if from != to {
                pending.push(PendingChangeView {
                    what,
                    from,
                    to,
                    effective_ts: starts,
                    effective_epoch: Some(epoch),
                });
            }
        }
    }
    if let Some(change) = g.pending_change.filter(|c| c.effective_ts > now) {
        let mut push = |what, from: String, to: String| {
            if from != to {
                pending.push(PendingChangeView {
                    what,
                    from,
                    to,
                    effective_ts: change.effective_ts,
                    effective_epoch: None,
                });
            }
        };
        push(
            "coin price",
            format!("${} per k", format_usd(g.coin_price_cents)),
            format!("${} per k", format_usd(change.coin_price_cents)),
        );
        push("oracle", g.oracle.to_string(), change.oracle.to_string());
        let (old, new) = (g.oracle_limits, change.oracle_limits);
        push(
            "mint limit",
            format!(
                "{} k per {} s",
                format_k(old.mint_limit_units),
                old.mint_window_seconds
            ),
            format!(
                "{} k per {} s",
                format_k(new.mint_limit_units),
                new.mint_window_seconds
            ),
        );
        push(
            "receipt retention",
            format!("{} days", old.receipt_retention_seconds / 86_400),
            format!("{} days", new.receipt_retention_seconds / 86_400),
        );
        let (old, new) = (g.payment_rules, change.payment_rules);
        push(
            "card hold",
            format_duration(old.card_hold_seconds),
            format_duration(new.card_hold_seconds),
        );
        push(
            "payout account notice",
            format_duration(old.payout_notice_seconds),
            format_duration(new.payout_notice_seconds),
        );
    }
    pending
}

/// A span of seconds in the largest whole unit that fits ("14 days", "48 h", "90 s").
pub fn format_duration(seconds: u32) -> String {
    match seconds {
        s if s >= 86_400 && s % 86_400 == 0 => format!("{} days", s / 86_400),
        s if s >= 3_600 && s % 3_600 == 0 => format!("{} h", s / 3_600),
        s if s >= 60 && s % 60 == 0 => format!("{} min", s / 60),
        s => format!("{s} s"),
    }
}

/// Unix seconds as a UTC date and time ("2027-01-04 14:00 UTC").
pub fn format_time(ts: i64) -> String {
    let (year, month, day) = crate::calendar::civil_from_days(ts.div_euclid(86_400));
    let secs = ts.rem_euclid(86_400);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        secs / 3_600,
        secs % 3_600 / 60
    )
}

/// What a proposed meter change would do, in words.
pub fn describe_act(act: &MeterAct) -> String {
    match act {
        MeterAct::RotateGateway { gateway } => format!("rotate its gateway to {gateway}"),
        MeterAct::ReplaceRegister { register_wh } => {
            format!("restart its register at {} kWh", format_kwh(*register_wh))
        }
        MeterAct::SetCapacity { capacity_w } => {
            format!("set its capacity to {} kW", format_kwh(*capacity_w))
        }
        MeterAct::Deactivate => "retire it (disconnected for good)".to_string(),
    }
}

/// A change the admin proposed for a meter without its owner: what, and from when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MeterChangeView {
    pub act: String,
    pub effective_ts: i64,
}

impl GridView {
    /// `now` is the cluster's time: the epoch and the oracle's mint budget are read at it.
    pub fn new(
        address: &Pubkey,
        g: &Grid,
        now: i64,
        current_epoch: u64,
        treasury_units: u64,
        pool_units: u64,
    ) -> Self {
        let p = g.params_for(current_epoch);
        let price = crate::calendar::price_now(g, now);
        let limits = g.oracle_limits_at(now);
        let limit = limits.mint_limit_units;
        let budget = g.mint_budget_at(now);
        Self {
            name: g.name.clone(),
            address: address.to_string(),
            admin: g.admin.to_string(),
            oracle: g.oracle.to_string(),
            mint: g.mint.to_string(),
            fee_k: format_k(p.fee_units),
            tariff_k_per_kwh: format_k(p.tariff_units_per_kwh),
            max_kwh_per_epoch: format_kwh(p.max_wh_per_epoch),
            grace_seconds: p.grace_seconds,
            max_silent_epochs: p.max_silent_epochs,
            loss_band: [
                format_ratio(p.loss_band_min_permille),
                format_ratio(p.loss_band_max_permille),
            ],
            coin_price_usd: format_usd(g.coin_price_at(now)),
            epoch_seconds: g.epoch_seconds,
            genesis_ts: g.genesis_ts,
            current_epoch,
            paused: g.paused,
            residents: g.resident_count,
            meters: g.meter_count,
            treasury_k: format_k(treasury_units),
            pool_k: format_k(pool_units),
            carry_k: format_k(g.carry_units),
            fee_cap_k: format_k(g.max_fee_units),
            mint_limit_k: format_k(limit),
            mint_window_seconds: limits.mint_window_seconds,
            mint_budget_k: format_k(budget),
            // What the oracle minted in the current window: the limit minus the budget left.
            mint_used_k: format_k(limit - budget.min(limit)),
            receipt_retention_seconds: limits.receipt_retention_seconds,
            notice_seconds: g.notice_seconds,
            card_hold_seconds: g.payment_rules_at(now).card_hold_seconds,
            payout_notice_seconds: g.payment_rules_at(now).payout_notice_seconds,
            pending: pending_changes(g, now),
            pending_admin: (g.pending_admin != Pubkey::default())
                .then(|| g.pending_admin.to_string()),
            price_now_k_per_kwh: format_k(price.tariff_units_per_kwh),
            price_next: price.next_change_ts.map(|from_ts| PriceChangeView {
                k_per_kwh: format_k(price.next_tariff_units_per_kwh),
                from_ts,
            }),
            friendly_now: price.friendly_now,
            calendar: crate::calendar::describe(&p)
                .into_iter()
                .map(|(what, value)| CalendarLine { what, value })
                .collect(),
            emergency_credit_k: format_k(p.credit.emergency_credit_units),
            debt_recovery_permille: p.credit.debt_recovery_permille,
        }
    }
}

impl fmt::Display for GridView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Grid {} ({})\n  fee:           {} k per epoch (never above {} k)\n  tariff:        {} k per kWh\n  coin price:    ${} per k\n  epochs:        {} s (current: {}), late reports for {} s\n  members:       {} residents, {} meters{}\n  treasury:      {} k\n  pool:          {} k ({} k carried)\n  oracle:        mints at most {} k per {} s ({} k used in this window, {} k free); receipts kept {} days",
            self.name,
            self.address,
            self.fee_k,
            self.fee_cap_k,
            self.tariff_k_per_kwh,
            self.coin_price_usd,
            self.epoch_seconds,
            self.current_epoch,
            self.grace_seconds,
            self.residents,
            self.meters,
            if self.paused { "\n  PAUSED" } else { "" },
            self.treasury_k,
            self.pool_k,
            self.carry_k,
            self.mint_limit_k,
            self.mint_window_seconds,
            self.mint_used_k,
            self.mint_budget_k,
            self.receipt_retention_seconds / 86_400,
        )?;
        write!(
            f,
            "\n  notice:        {} h before what the admin alone changes applies",
            self.notice_seconds as f64 / 3_600.0
        )?;
        write!(
            f,
            "\n  price now:     {} k per kWh",
            self.price_now_k_per_kwh
        )?;
        if let Some(next) = &self.price_next {
            write!(
                f,
                ", {} k from {}",
                next.k_per_kwh,
                format_time(next.from_ts)
            )?;
        }
        if self.friendly_now {
            write!(
                f,
                " (friendly hours: nobody is disconnected for lack of coins)"
            )?;
        }
        for line in &self.calendar {
            write!(f, "\n  {:<14} {}", format!("{}:", line.what), line.value)?;
        }
        for change in &self.pending {
            write!(f, "\n  PENDING        {change}")?;
        }
        if let Some(admin) = &self.pending_admin {
            write!(f, "\n  PENDING        admin role offered to {admin}")?;
        }
        Ok(())
    }
}

/// A resident: its wallet, the coins in its account, and what its sales hold.
#[derive(Debug, Clone, Serialize)]
pub struct ResidentView {
    pub id: String,
    pub address: String,
    pub owner: String,
    pub balance_k: String,
    pub escrow_k: String,
    pub locked_k: String,
    /// Of the balance, coins bought by card still on hold (not sellable yet), and when the
    /// next of them is released.
    pub held_k: String,
    pub sellable_k: String,
    pub next_release_ts: Option<i64>,
    /// Coins a refund or dispute took back that the resident no longer had: repaid first from
    /// purchases and earnings; no sale meanwhile.
    pub debt_k: String,
    /// The processor account sales are paid to, and a change of it waiting for its time.
    pub payout_account: Option<String>,
    pub pending_payout_account: Option<String>,
    pub payout_change_ts: Option<i64>,
}

impl ResidentView {
    /// `now` is the cluster's time: holds and a payout change are read at it.
    pub fn new(address: &Pubkey, r: &Resident, balance_units: u64, now: i64) -> Self {
        let held = r.held_units(now).min(balance_units);
        let next_release_ts = r
            .holds
            .iter()
            .filter(|h| h.units > 0 && h.until_ts > now)
            .map(|h| h.until_ts)
            .min();
        let waiting = !r.pending_payout_account.is_empty() && now < r.payout_change_ts;
        Self {
            id: r.id.clone(),
            address: address.to_string(),
            owner: r.authority.to_string(),
            balance_k: format_k(balance_units),
            escrow_k: format_k(r.escrow_units),
            locked_k: format_k(r.locked_units),
            held_k: format_k(held),
            sellable_k: format_k(balance_units - held),
            next_release_ts,
            debt_k: format_k(r.debt_units),
            payout_account: r.payout_account_at(now).map(str::to_string),
            pending_payout_account: waiting.then(|| r.pending_payout_account.clone()),
            payout_change_ts: waiting.then_some(r.payout_change_ts),
        }
    }
}

impl fmt::Display for ResidentView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Resident {} ({})\n  wallet:   {}\n  balance:  {} k ({} k sellable{})\n  escrow:   {} k (sales requested, cancellable)\n  locked:   {} k (sales being paid out)\n  payouts:  {}",
            self.id,
            self.address,
            self.owner,
            self.balance_k,
            self.sellable_k,
            match self.next_release_ts {
                Some(at) => format!(", {} k on hold until {}", self.held_k, format_time(at)),
                None => String::new(),
            },
            self.escrow_k,
            self.locked_k,
            self.payout_account
                .as_deref()
                .unwrap_or("no account bound yet (Get paid)"),
        )?;
        if let (Some(account), Some(at)) = (&self.pending_payout_account, self.payout_change_ts) {
            write!(
                f,
                "\n  PENDING:  payouts to {account} from {} (cancel before then if you did not ask for it)",
                format_time(at)
            )?;
        }
        if self.debt_k != format_k(0) {
            write!(
                f,
                "\n  DEBT:     {} k taken back by a refund or dispute: repaid first from purchases and earnings, no sale meanwhile",
                self.debt_k
            )?;
        }
        Ok(())
    }
}

/// The meter's latest recorded reading, if it has one.
pub fn last_reading(m: &Meter) -> Option<&Reading> {
    m.readings
        .iter()
        .filter(|r| r.status != ReadingStatus::Empty)
        .max_by_key(|r| r.epoch)
}

/// The meter's recorded reading for `epoch`, if it holds one.
pub fn reading_for(m: &Meter, epoch: u64) -> Option<&Reading> {
    m.readings
        .iter()
        .find(|r| r.epoch == epoch && r.status != ReadingStatus::Empty)
}

/// One recorded reading: its epoch, energy, the hours it covers and whether it is settled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReadingView {
    pub epoch: u64,
    pub kwh: String,
    pub hours: u32,
    pub status: &'static str,
}

/// The readings a meter holds (its last few epochs), newest first.
pub fn readings(m: &Meter) -> Vec<ReadingView> {
    let mut held: Vec<ReadingView> = m
        .readings
        .iter()
        .filter_map(|r| {
            let status = match r.status {
                ReadingStatus::Empty => return None,
                ReadingStatus::Pending => "pending",
                ReadingStatus::Settled => "settled",
            };
            Some(ReadingView {
                epoch: r.epoch,
                kwh: format_kwh(r.wh),
                hours: r.hours,
                status,
            })
        })
        .collect();
    held.sort_by_key(|r| std::cmp::Reverse(r.epoch));
    held
}

/// A ratio in ‰ as a decimal ("1.100"); "inf" for production without consumption.
pub fn format_ratio(permille: u32) -> String {
    if permille == u32::MAX {
        "inf".to_string()
    } else {
        format!("{}.{:03}", permille / 1_000, permille % 1_000)
    }
}

/// A meter: its owner, prepaid coins or earnings, connection, and last reading.
#[derive(Debug, Clone, Serialize)]
pub struct MeterView {
    pub id: String,
    pub address: String,
    pub kind: &'static str,
    pub owner: String,
    pub label: String,
    pub gateway: String,
    pub active: bool,
    pub retired: bool,
    pub connected: bool,
    pub balance_k: String,
    pub committed_k: String,
    pub debt_k: String,
    pub lifetime_kwh: String,
    pub lifetime_k: String,
    pub funded_k: String,
    pub last_epoch: Option<u64>,
    pub last_kwh: Option<String>,
    pub last_hours: Option<u32>,
    pub last_reported_epoch: Option<u64>,
    pub register_kwh: String,
    pub capacity_kw: String,
    pub silent: bool,
    pub latitude: f64,
    pub longitude: f64,
    /// Its readings count from this epoch on (a new producer waits for the grid's notice).
    pub earns_from_epoch: u64,
    /// What the admin proposed for it without its owner, until it applies or is vetoed.
    pub pending_change: Option<MeterChangeView>,
    /// A prosumer's other register (its address): the export side of an import meter, or
    /// the import side of an export meter.
    pub partner: Option<String>,
    /// A consumer's: how long its prepaid coins last at its recent use (see `with_forecast`).
    pub forecast: Option<ForecastView>,
    /// The emergency credit taken this top-up cycle ("0": none).
    pub emergency_k: String,
}

/// How long a consumer's coins last: at its use over the last 24 hours and this hour's tariff.
#[derive(Debug, Clone, Serialize)]
pub struct ForecastView {
    /// Whole hours, rounded down; `None` when it used nothing in the last 24 hours.
    pub hours_left: Option<u64>,
    pub kwh_per_hour: String,
    pub spendable_k: String,
}

impl ForecastView {
    /// "≈ 14 h left", "≈ 3 days left", or why there is no figure.
    pub fn words(&self) -> String {
        match self.hours_left {
            None => "no use in the last 24 hours".to_string(),
            Some(0) => "nothing left: fund it to stay connected".to_string(),
            Some(h) if h < 48 => format!("≈ {h} h left"),
            Some(h) => format!("≈ {} days left", h / 24),
        }
    }
}

impl MeterView {
    /// `owner_id` names the owning resident.
    pub fn new(address: &Pubkey, m: &Meter, owner_id: &str) -> Self {
        let last = last_reading(m);
        Self {
            id: m.id.clone(),
            address: address.to_string(),
            kind: kind_name(m.kind),
            owner: owner_id.to_string(),
            label: m.label.clone(),
            gateway: m.gateway.to_string(),
            active: m.active,
            retired: !m.active,
            connected: m.connected,
            balance_k: format_k(m.balance_units),
            committed_k: format_k(m.committed_units),
            debt_k: format_k(m.debt_units),
            lifetime_kwh: format_kwh(m.lifetime_wh),
            lifetime_k: format_k(m.lifetime_units),
            funded_k: format_k(m.lifetime_funded_units),
            last_epoch: last.map(|r| r.epoch),
            last_kwh: last.map(|r| format_kwh(r.wh)),
            last_hours: last.map(|r| r.hours),
            last_reported_epoch: m.has_reported.then_some(m.last_reported_epoch),
            register_kwh: format_kwh(m.last_register_wh),
            capacity_kw: format_kwh(m.capacity_w),
            silent: m.silent,
            latitude: m.latitude_micro as f64 / 1e6,
            longitude: m.longitude_micro as f64 / 1e6,
            earns_from_epoch: m.earns_from_epoch,
            pending_change: m.pending_change.map(|c| MeterChangeView {
                act: describe_act(&c.act),
                effective_ts: c.effective_ts,
            }),
            partner: (m.partner != Pubkey::default()).then(|| m.partner.to_string()),
            forecast: None,
            emergency_k: format_k(m.emergency_units),
        }
    }

    /// With the forecast of a consumer's balance (producers have none).
    pub fn with_forecast(mut self, m: &Meter, forecast: crate::history::Forecast) -> Self {
        if m.is_consumer() {
            self.forecast = Some(ForecastView {
                hours_left: forecast.hours_left,
                kwh_per_hour: format_kwh(forecast.wh_per_hour),
                spendable_k: format_k(forecast.spendable_units),
            });
        }
        self
    }
}

impl fmt::Display for MeterView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let balance = if self.kind == kind_name(MeterKind::Producer) {
            format!("earnings: {} k to collect", self.balance_k)
        } else {
            format!(
                "prepaid:  {} k ({} k committed, {} k debt){}",
                self.balance_k,
                self.committed_k,
                self.debt_k,
                if self.emergency_k == format_k(0) {
                    String::new()
                } else {
                    format!(", on an emergency credit of {} k", self.emergency_k)
                }
            )
        };
        let label = if self.label.is_empty() {
            String::new()
        } else {
            format!(", \"{}\"", self.label)
        };
        write!(
            f,
            "Meter {} ({}) — {} of {}{label}\n  {balance}\n  state:    {}{}{}\n  register: {} kWh (capacity {} kW)\n  lifetime: {} kWh",
            self.id,
            self.address,
            self.kind,
            self.owner,
            if self.connected { "connected" } else { "DISCONNECTED" },
            if self.active { "" } else { " (retired)" },
            if self.silent {
                " (silent: disconnected until it reports)"
            } else {
                ""
            },
            self.register_kwh,
            self.capacity_kw,
            self.lifetime_kwh,
        )?;
        if let Some(forecast) = &self.forecast {
            write!(
                f,
                "\n  lasts:    {} (at {} kWh an hour over the last 24 hours)",
                forecast.words(),
                forecast.kwh_per_hour
            )?;
        }
        if let Some(partner) = &self.partner {
            let side = if self.kind == kind_name(MeterKind::Producer) {
                "export side of a prosumer's meter; its import is"
            } else {
                "import side of a prosumer's meter; its export is"
            };
            write!(f, "\n  prosumer: the {side} {partner}")?;
        }
        if let Some(change) = &self.pending_change {
            write!(
                f,
                "\n  PENDING:  the admin proposed to {} from {} (the owner may veto it until then)",
                change.act,
                format_time(change.effective_ts)
            )?;
        }
        Ok(())
    }
}

/// An epoch's books: readings, what consumers were charged, the fee, the producers' payouts
/// and what is carried.
#[derive(Debug, Clone, Serialize)]
pub struct EpochView {
    pub epoch: u64,
    pub state: &'static str,
    pub consumer_readings: u32,
    pub producer_readings: u32,
    pub consumed_kwh: String,
    pub produced_kwh: String,
    pub billed_k: String,
    pub charged_k: String,
    pub unpaid_k: String,
    pub carried_in_k: String,
    pub fee_k: String,
    pub distributable_k: String,
    /// The pool beyond what the epoch's production was worth at its tariff (carried).
    pub withheld_k: String,
    pub paid_k: String,
    pub carried_k: String,
    /// Produced over consumed, once settled.
    pub loss_ratio: Option<String>,
    pub outside_loss_band: bool,
}

impl EpochView {
    pub fn new(index: u64, e: &Epoch) -> Self {
        Self {
            epoch: index,
            state: status_name(e.status),
            consumer_readings: e.consumer_readings,
            producer_readings: e.producer_readings,
            consumed_kwh: format_kwh(e.consumed_wh),
            produced_kwh: format_kwh(e.produced_wh),
            billed_k: format_k(e.billed_units),
            charged_k: format_k(e.charged_units),
            unpaid_k: format_k(e.unpaid_units),
            carried_in_k: format_k(e.carried_in_units),
            fee_k: format_k(e.fee_units),
            distributable_k: format_k(e.distributable_units),
            withheld_k: format_k(e.withheld_units),
            paid_k: format_k(e.paid_units),
            carried_k: format_k(e.carried_out_units),
            loss_ratio: (e.status == EpochStatus::Settled)
                .then(|| format_ratio(e.loss_ratio_permille)),
            outside_loss_band: e.outside_loss_band,
        }
    }
}

impl fmt::Display for EpochView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let band = match (&self.loss_ratio, self.outside_loss_band) {
            (Some(ratio), true) => format!(
                "\n  LOSS BAND: produced / consumed = {ratio}, outside the grid's band: a meter may be lying or broken"
            ),
            (Some(ratio), false) => format!("\n  produced / consumed = {ratio}"),
            (None, _) => String::new(),
        };
        write!(
            f,
            "Epoch {}: {}\n  readings:  {} consumers ({} kWh), {} producers ({} kWh){band}\n  charged:   {} k of {} k billed ({} k unpaid)\n  fee:       {} k\n  paid:      {} k to producers\n  carried:   {} k in, {} k out",
            self.epoch,
            self.state,
            self.consumer_readings,
            self.consumed_kwh,
            self.producer_readings,
            self.produced_kwh,
            self.charged_k,
            self.billed_k,
            self.unpaid_k,
            self.fee_k,
            self.paid_k,
            self.carried_in_k,
            self.carried_k,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::{GridChange, OracleLimits};

    #[test]
    fn times_are_shown_as_utc_dates() {
        assert_eq!(format_time(0), "1970-01-01 00:00 UTC");
        assert_eq!(format_time(1_800_000_000), "2027-01-15 08:00 UTC");
        assert_eq!(format_time(951_782_400 + 3_661), "2000-02-29 01:01 UTC");
    }

    #[test]
    fn pending_changes_name_what_changes_from_what_to_what_and_when() {
        let mut g = test_grid();
        assert!(pending_changes(&g, 0).is_empty());
        g.pending_params = EpochParams {
            tariff_units_per_kwh: 500_000,
            ..g.params
        };
        g.pending_from_epoch = 80;
        g.pending_change = Some(GridChange {
            coin_price_cents: 12,
            oracle: g.oracle,
            oracle_limits: g.oracle_limits,
            payment_rules: g.payment_rules,
            effective_ts: 7_200,
        });
        let pending = pending_changes(&g, 3_600);
        assert_eq!(pending.len(), 2, "{pending:?}");
        assert_eq!(
            (
                pending[0].what,
                pending[0].from.as_str(),
                pending[0].to.as_str()
            ),
            ("tariff", "1.000000 k per kWh", "0.500000 k per kWh")
        );
        assert_eq!(
            (pending[0].effective_ts, pending[0].effective_epoch),
            (80 * 3_600, Some(80))
        );
        assert_eq!(
            pending[1].to_string(),
            "coin price: $0.10 per k -> $0.12 per k from 1970-01-01 02:00 UTC"
        );
        // Once in force, nothing is pending.
        assert!(pending_changes(&g, 80 * 3_600).is_empty());
    }

    fn test_grid() -> Grid {
        let params = EpochParams::default();
        Grid {
            name: "g".into(),
            admin: Pubkey::new_unique(),
            oracle: Pubkey::new_unique(),
            mint: Pubkey::new_unique(),
            vault: Pubkey::new_unique(),
            pool: Pubkey::new_unique(),
            treasury: Pubkey::new_unique(),
            escrow: Pubkey::new_unique(),
            genesis_ts: 0,
            epoch_seconds: 3_600,
            params,
            params_from_epoch: 0,
            prior_params: params,
            pending_params: params,
            pending_from_epoch: NO_PENDING_EPOCH,
            coin_price_cents: 10,
            paused: false,
            resident_count: 0,
            meter_count: 0,
            meter_balances_units: 0,
            carry_units: 0,
            pool_in_flight_units: 0,
            escrow_units: 0,
            max_fee_units: 100_000,
            oracle_limits: OracleLimits::default(),
            mint_budget_scaled: 0,
            mint_budget_ts: 0,
            receipts_closed_through_ts: i64::MIN,
            silence_from_epoch: 0,
            notice_seconds: 3_600,
            pending_change: None,
            pending_admin: Pubkey::default(),
            prior_from_epoch: 0,
            older_peak_tariff_units_per_kwh: 0,
            payment_rules: Default::default(),
            bump: 255,
        }
    }
}

/// A register reported for an epoch, and the reading the chain made of it: none while the
/// crank is behind, when the chain keeps the register for the meter's next reading.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reported {
    pub epoch: u64,
    pub register_kwh: String,
    pub kwh: Option<String>,
    pub hours: Option<u32>,
}

impl Reported {
    /// `meter` is the meter as the chain holds it after the report.
    pub fn new(meter: &Meter, epoch: u64, register_wh: u64) -> Self {
        let reading = reading_for(meter, epoch);
        Self {
            epoch,
            register_kwh: format_kwh(register_wh),
            kwh: reading.map(|r| format_kwh(r.wh)),
            hours: reading.map(|r| r.hours),
        }
    }
}

impl fmt::Display for Reported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "register {} kWh for epoch {}: ",
            self.register_kwh, self.epoch
        )?;
        match (&self.kwh, self.hours) {
            (Some(kwh), Some(hours)) if hours > 1 => write!(
                f,
                "{kwh} kWh over the {hours} epochs since its last reading"
            ),
            (Some(kwh), _) => write!(f, "{kwh} kWh"),
            (None, _) => f.write_str("kept for its next reading (the crank is behind)"),
        }
    }
}

#[cfg(test)]
mod reported_tests {
    use super::*;

    fn reported(kwh: Option<&str>, hours: Option<u32>) -> Reported {
        Reported {
            epoch: 7,
            register_kwh: "12.500".into(),
            kwh: kwh.map(String::from),
            hours,
        }
    }

    #[test]
    fn a_reading_of_one_epoch_is_its_kwh() {
        let one = reported(Some("2.500"), Some(1));
        assert_eq!(
            one.to_string(),
            "register 12.500 kWh for epoch 7: 2.500 kWh"
        );
        assert_eq!(
            serde_json::to_value(&one).unwrap(),
            serde_json::json!({"epoch": 7, "register_kwh": "12.500", "kwh": "2.500", "hours": 1})
        );
    }

    #[test]
    fn a_reading_after_silence_covers_its_epochs() {
        assert_eq!(
            reported(Some("4.000"), Some(4)).to_string(),
            "register 12.500 kWh for epoch 7: 4.000 kWh over the 4 epochs since its last reading"
        );
    }

    #[test]
    fn a_register_without_a_reading_is_kept_for_the_next() {
        let kept = reported(None, None);
        assert_eq!(
            kept.to_string(),
            "register 12.500 kWh for epoch 7: kept for its next reading (the crank is behind)"
        );
        assert_eq!(
            serde_json::to_value(&kept).unwrap()["kwh"],
            serde_json::Value::Null
        );
    }
}
