//! How accounts are shown to people and scripts: the JSON field names the CLI and the web app
//! share (amounts as decimal strings), and the CLI's text.

use crate::accounts::{
    Epoch, EpochStatus, Grid, Meter, MeterKind, Reading, ReadingStatus, Resident, Sale, SaleStatus,
};
use crate::amounts::{format_k, format_kwh, format_usd};
use anchor_lang::prelude::Pubkey;
use serde_json::{json, Value};

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
/// the dollars it pays.
pub fn sale_json(number: u32, address: &Pubkey, s: &Sale) -> Value {
    let locked = s.status != SaleStatus::Requested;
    json!({
        "number": number,
        "address": address.to_string(),
        "status": sale_status_name(s.status),
        "coins_k": format_k(s.units),
        "usd": locked.then(|| format_usd(s.cents)),
        "payout_id": (!s.payout_id.is_empty()).then(|| s.payout_id.clone()),
        "requested_ts": s.requested_ts,
        "ended_ts": (s.ended_ts != 0).then_some(s.ended_ts),
    })
}

pub struct GridView<'a> {
    pub address: Pubkey,
    pub grid: &'a Grid,
    /// The cluster's time: the epoch and the oracle's mint budget are read at it.
    pub now: i64,
    pub current_epoch: u64,
    pub treasury_units: u64,
    pub pool_units: u64,
}

impl GridView<'_> {
    pub fn json(&self) -> Value {
        let g = self.grid;
        let p = g.params_for(self.current_epoch);
        json!({
            "name": g.name,
            "address": self.address.to_string(),
            "admin": g.admin.to_string(),
            "oracle": g.oracle.to_string(),
            "mint": g.mint.to_string(),
            "fee_k": format_k(p.fee_units),
            "tariff_k_per_kwh": format_k(p.tariff_units_per_kwh),
            "max_kwh_per_epoch": format_kwh(p.max_wh_per_epoch),
            "grace_seconds": p.grace_seconds,
            "max_silent_epochs": p.max_silent_epochs,
            "loss_band": [format_ratio(p.loss_band_min_permille), format_ratio(p.loss_band_max_permille)],
            "coin_price_usd": format_usd(g.coin_price_cents),
            "epoch_seconds": g.epoch_seconds,
            "genesis_ts": g.genesis_ts,
            "current_epoch": self.current_epoch,
            "paused": g.paused,
            "residents": g.resident_count,
            "meters": g.meter_count,
            "treasury_k": format_k(self.treasury_units),
            "pool_k": format_k(self.pool_units),
            "carry_k": format_k(g.carry_units),
            "fee_cap_k": format_k(g.max_fee_units),
            "mint_limit_k": format_k(g.oracle_limits.mint_limit_units),
            "mint_window_seconds": g.oracle_limits.mint_window_seconds,
            "mint_budget_k": format_k(g.mint_budget_at(self.now)),
            "mint_used_k": format_k(self.mint_used_units()),
            "receipt_retention_seconds": g.oracle_limits.receipt_retention_seconds,
        })
    }

    /// What the oracle minted in the current window: the limit minus the budget left.
    pub fn mint_used_units(&self) -> u64 {
        let g = self.grid;
        g.oracle_limits.mint_limit_units
            - g.mint_budget_at(self.now)
                .min(g.oracle_limits.mint_limit_units)
    }

    pub fn text(&self) -> String {
        let g = self.grid;
        let p = g.params_for(self.current_epoch);
        format!(
            "Grid {} ({})\n  fee:           {} k per epoch (never above {} k)\n  tariff:        {} k per kWh\n  coin price:    ${} per k\n  epochs:        {} s (current: {}), late reports for {} s\n  members:       {} residents, {} meters{}\n  treasury:      {} k\n  pool:          {} k ({} k carried)\n  oracle:        mints at most {} k per {} s ({} k used in this window, {} k free); receipts kept {} days",
            g.name,
            self.address,
            format_k(p.fee_units),
            format_k(g.max_fee_units),
            format_k(p.tariff_units_per_kwh),
            format_usd(g.coin_price_cents),
            g.epoch_seconds,
            self.current_epoch,
            p.grace_seconds,
            g.resident_count,
            g.meter_count,
            if g.paused { "\n  PAUSED" } else { "" },
            format_k(self.treasury_units),
            format_k(self.pool_units),
            format_k(g.carry_units),
            format_k(g.oracle_limits.mint_limit_units),
            g.oracle_limits.mint_window_seconds,
            format_k(self.mint_used_units()),
            format_k(g.mint_budget_at(self.now)),
            g.oracle_limits.receipt_retention_seconds / 86_400,
        )
    }
}

pub fn resident_json(address: &Pubkey, r: &Resident, balance_units: u64) -> Value {
    json!({
        "id": r.id,
        "address": address.to_string(),
        "owner": r.authority.to_string(),
        "balance_k": format_k(balance_units),
        "escrow_k": format_k(r.escrow_units),
        "locked_k": format_k(r.locked_units),
    })
}

pub fn resident_text(address: &Pubkey, r: &Resident, balance_units: u64) -> String {
    format!(
        "Resident {} ({})\n  wallet:   {}\n  balance:  {} k\n  escrow:   {} k (sales requested, cancellable)\n  locked:   {} k (sales being paid out)",
        r.id,
        address,
        r.authority,
        format_k(balance_units),
        format_k(r.escrow_units),
        format_k(r.locked_units)
    )
}

/// The meter's latest recorded reading, if it has one.
pub fn last_reading(m: &Meter) -> Option<&Reading> {
    m.readings
        .iter()
        .filter(|r| r.status != ReadingStatus::Empty)
        .max_by_key(|r| r.epoch)
}

/// A ratio in ‰ as a decimal ("1.100"); "∞" for production without consumption.
pub fn format_ratio(permille: u32) -> String {
    if permille == u32::MAX {
        "inf".to_string()
    } else {
        format!("{}.{:03}", permille / 1_000, permille % 1_000)
    }
}

pub fn meter_json(address: &Pubkey, m: &Meter, owner_id: &str) -> Value {
    let last = last_reading(m);
    json!({
        "id": m.id,
        "address": address.to_string(),
        "kind": kind_name(m.kind),
        "owner": owner_id,
        "label": m.label,
        "gateway": m.gateway.to_string(),
        "active": m.active,
        "retired": !m.active,
        "connected": m.connected,
        "balance_k": format_k(m.balance_units),
        "committed_k": format_k(m.committed_units),
        "debt_k": format_k(m.debt_units),
        "lifetime_kwh": format_kwh(m.lifetime_wh),
        "lifetime_k": format_k(m.lifetime_units),
        "funded_k": format_k(m.lifetime_funded_units),
        "last_epoch": last.map(|r| r.epoch),
        "last_kwh": last.map(|r| format_kwh(r.wh)),
        "last_hours": last.map(|r| r.hours),
        "last_reported_epoch": m.has_reported.then_some(m.last_reported_epoch),
        "register_kwh": format_kwh(m.last_register_wh),
        "capacity_kw": format_kwh(m.capacity_w),
        "silent": m.silent,
        "latitude": m.latitude_micro as f64 / 1e6,
        "longitude": m.longitude_micro as f64 / 1e6,
    })
}

pub fn meter_text(address: &Pubkey, m: &Meter, owner_id: &str) -> String {
    let balance = if m.kind == MeterKind::Producer {
        format!("earnings: {} k to collect", format_k(m.balance_units))
    } else {
        format!(
            "prepaid:  {} k ({} k committed, {} k debt)",
            format_k(m.balance_units),
            format_k(m.committed_units),
            format_k(m.debt_units)
        )
    };
    format!(
        "Meter {} ({}) — {} of {}{}\n  {}\n  state:    {}{}{}\n  register: {} kWh (capacity {} kW)\n  lifetime: {} kWh",
        m.id,
        address,
        kind_name(m.kind),
        owner_id,
        if m.label.is_empty() {
            String::new()
        } else {
            format!(", \"{}\"", m.label)
        },
        balance,
        if m.connected {
            "connected"
        } else {
            "DISCONNECTED"
        },
        if m.active { "" } else { " (retired)" },
        if m.silent {
            " (silent: disconnected until it reports)"
        } else {
            ""
        },
        format_kwh(m.last_register_wh),
        format_kwh(m.capacity_w),
        format_kwh(m.lifetime_wh),
    )
}

pub fn epoch_json(index: u64, e: &Epoch) -> Value {
    json!({
        "epoch": index,
        "state": status_name(e.status),
        "consumer_readings": e.consumer_readings,
        "producer_readings": e.producer_readings,
        "consumed_kwh": format_kwh(e.consumed_wh),
        "produced_kwh": format_kwh(e.produced_wh),
        "billed_k": format_k(e.billed_units),
        "charged_k": format_k(e.charged_units),
        "unpaid_k": format_k(e.unpaid_units),
        "carried_in_k": format_k(e.carried_in_units),
        "fee_k": format_k(e.fee_units),
        "distributable_k": format_k(e.distributable_units),
        "paid_k": format_k(e.paid_units),
        "carried_k": format_k(e.carried_out_units),
        "loss_ratio": (e.status == EpochStatus::Settled).then(|| format_ratio(e.loss_ratio_permille)),
        "outside_loss_band": e.outside_loss_band,
    })
}

pub fn epoch_text(index: u64, e: &Epoch) -> String {
    format!(
        "Epoch {index}: {}\n  readings:  {} consumers ({} kWh), {} producers ({} kWh){}\n  charged:   {} k of {} k billed ({} k unpaid)\n  fee:       {} k\n  paid:      {} k to producers\n  carried:   {} k in, {} k out",
        status_name(e.status),
        e.consumer_readings,
        format_kwh(e.consumed_wh),
        e.producer_readings,
        format_kwh(e.produced_wh),
        match (e.status, e.outside_loss_band) {
            (EpochStatus::Settled, true) => format!(
                "\n  LOSS BAND: produced / consumed = {}, outside the grid's band: a meter may be lying or broken",
                format_ratio(e.loss_ratio_permille)
            ),
            (EpochStatus::Settled, false) => format!(
                "\n  produced / consumed = {}",
                format_ratio(e.loss_ratio_permille)
            ),
            _ => String::new(),
        },
        format_k(e.charged_units),
        format_k(e.billed_units),
        format_k(e.unpaid_units),
        format_k(e.fee_units),
        format_k(e.paid_units),
        format_k(e.carried_in_units),
        format_k(e.carried_out_units),
    )
}
