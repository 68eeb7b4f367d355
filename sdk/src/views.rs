//! How accounts are shown to people and scripts: one typed view per account, `Serialize` for
//! JSON (the field names the CLI and the web app share, amounts as decimal strings) and
//! `Display` for the CLI's text. A view is built once from the account and written either way.

use std::fmt;

use anchor_lang::prelude::Pubkey;
use serde::Serialize;

use crate::accounts::{
    Epoch, EpochStatus, Grid, Meter, MeterKind, Reading, ReadingStatus, Resident, Sale, SaleStatus,
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
        let limit = g.oracle_limits.mint_limit_units;
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
            coin_price_usd: format_usd(g.coin_price_cents),
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
            mint_window_seconds: g.oracle_limits.mint_window_seconds,
            mint_budget_k: format_k(budget),
            // What the oracle minted in the current window: the limit minus the budget left.
            mint_used_k: format_k(limit - budget.min(limit)),
            receipt_retention_seconds: g.oracle_limits.receipt_retention_seconds,
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
        )
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
}

impl ResidentView {
    pub fn new(address: &Pubkey, r: &Resident, balance_units: u64) -> Self {
        Self {
            id: r.id.clone(),
            address: address.to_string(),
            owner: r.authority.to_string(),
            balance_k: format_k(balance_units),
            escrow_k: format_k(r.escrow_units),
            locked_k: format_k(r.locked_units),
        }
    }
}

impl fmt::Display for ResidentView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Resident {} ({})\n  wallet:   {}\n  balance:  {} k\n  escrow:   {} k (sales requested, cancellable)\n  locked:   {} k (sales being paid out)",
            self.id, self.address, self.owner, self.balance_k, self.escrow_k, self.locked_k
        )
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
        }
    }
}

impl fmt::Display for MeterView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let balance = if self.kind == kind_name(MeterKind::Producer) {
            format!("earnings: {} k to collect", self.balance_k)
        } else {
            format!(
                "prepaid:  {} k ({} k committed, {} k debt)",
                self.balance_k, self.committed_k, self.debt_k
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
        )
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
