//! Histories from the chain: what the program's events say happened to a resident or a meter,
//! read from the transactions that touched its accounts (`getSignaturesForAddress`, then
//! `getTransaction` for each). Every server (and `deu`) reads the same entries, and they
//! survive restarts. A confirmed transaction never changes, so [`History`] fetches each one
//! once and keeps what it said.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use anchor_lang::prelude::Pubkey;
use solana_commitment_config::CommitmentConfig;
use solana_rpc_client::rpc_client::GetConfirmedSignaturesForAddress2Config;
use solana_signature::Signature;

use crate::amounts::{format_k, format_kwh, format_usd};
use crate::client::{rpc_error, Result};
use crate::events::Event;
use crate::views::format_time;
use crate::Client;

/// How many of an address's newest transactions a history reads.
pub const HISTORY_DEPTH: usize = 200;

/// What one successful transaction said: its slot, time and the program's events, in order.
#[derive(Debug, Clone)]
pub struct Told {
    pub signature: Signature,
    pub slot: u64,
    /// Cluster time (unix seconds) of its block.
    pub at: i64,
    pub events: Vec<Event>,
    /// The keys that signed it, the fee payer first.
    pub signers: Vec<Pubkey>,
}

/// One transaction in an address's list (`getSignaturesForAddress`).
pub(crate) struct Listed {
    pub slot: u64,
    pub signature: Signature,
    pub block_time: Option<i64>,
    /// It succeeded.
    pub ok: bool,
}

/// One page of `address`'s transactions before `before`, newest first.
pub(crate) async fn signatures(
    client: &Client,
    address: &Pubkey,
    before: Option<Signature>,
    limit: usize,
) -> Result<Vec<Listed>> {
    let statuses = client
        .rpc
        .get_signatures_for_address_with_config(
            address,
            GetConfirmedSignaturesForAddress2Config {
                before,
                limit: Some(limit),
                commitment: Some(CommitmentConfig::confirmed()),
                ..Default::default()
            },
        )
        .await
        .map_err(rpc_error)?;
    Ok(statuses
        .into_iter()
        .filter_map(|s| {
            Some(Listed {
                slot: s.slot,
                signature: s.signature.parse().ok()?,
                block_time: s.block_time,
                ok: s.err.is_none(),
            })
        })
        .collect())
}

/// One line of a resident's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// `fiat` (coins bought), `funded` (a meter prepaid), `payout` (a producer's earnings for
    /// an hour), `collected` (earnings moved to the owner's coins) or `sale` (coins sold).
    pub kind: &'static str,
    pub meter: Option<String>,
    pub epoch: Option<u64>,
    pub amount_units: u64,
    pub detail: String,
    pub at: i64,
    /// The transaction that did it.
    pub signature: String,
}

/// A meter's funding by one resident.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Funding {
    pub funder: Pubkey,
    pub amount_units: u64,
    pub at: i64,
    pub signature: String,
}

/// The transactions already read, shared by every history a process builds.
#[derive(Default)]
pub struct History {
    told: Mutex<HashMap<Signature, Arc<Told>>>,
}

impl History {
    pub fn new() -> Self {
        Self::default()
    }

    /// The successful transactions that touched any of `addresses` (the newest
    /// [`HISTORY_DEPTH`] of each), newest first, each once.
    /// Every transaction that touched `address` since `since_ts` (cluster time), newest
    /// first, each fetched once (then kept): what a chart of the last days needs, beyond the
    /// newest [`HISTORY_DEPTH`].
    pub async fn told_since(
        &self,
        client: &Client,
        address: &Pubkey,
        since_ts: i64,
    ) -> Result<Vec<Arc<Told>>> {
        let mut wanted = Vec::new();
        let mut before = None;
        loop {
            let page = signatures(client, address, before, 1_000).await?;
            let full = page.len() == 1_000;
            let mut older = false;
            for status in page {
                before = Some(status.signature);
                if status.block_time.is_some_and(|t| t < since_ts) {
                    older = true;
                    break;
                }
                if status.ok {
                    wanted.push((status.slot, status.signature, status.block_time));
                }
            }
            if older || !full {
                break;
            }
        }
        let mut told = Vec::with_capacity(wanted.len());
        for (slot, signature, block_time) in wanted {
            told.push(self.fetch(client, slot, signature, block_time).await?);
        }
        Ok(told)
    }

    /// One transaction, read once and kept.
    pub(crate) async fn fetch(
        &self,
        client: &Client,
        slot: u64,
        signature: Signature,
        block_time: Option<i64>,
    ) -> Result<Arc<Told>> {
        let known = self
            .told
            .lock()
            .ok()
            .and_then(|t| t.get(&signature).cloned());
        if let Some(entry) = known {
            return Ok(entry);
        }
        let landed = client.landed(&signature.to_string()).await?;
        let entry = Arc::new(Told {
            signature,
            slot,
            at: landed.block_time.or(block_time).unwrap_or(0),
            events: landed.events,
            signers: landed.signers,
        });
        if let Ok(mut cache) = self.told.lock() {
            cache.insert(signature, entry.clone());
        }
        Ok(entry)
    }

    pub async fn told(&self, client: &Client, addresses: &[Pubkey]) -> Result<Vec<Arc<Told>>> {
        let mut wanted: Vec<(u64, Signature, Option<i64>)> = Vec::new();
        let mut seen = HashSet::new();
        for address in addresses {
            let statuses = client
                .rpc
                .get_signatures_for_address_with_config(
                    address,
                    GetConfirmedSignaturesForAddress2Config {
                        limit: Some(HISTORY_DEPTH),
                        commitment: Some(CommitmentConfig::confirmed()),
                        ..Default::default()
                    },
                )
                .await
                .map_err(rpc_error)?;
            for status in statuses.into_iter().filter(|s| s.err.is_none()) {
                let Ok(signature) = status.signature.parse::<Signature>() else {
                    continue;
                };
                if seen.insert(signature) {
                    wanted.push((status.slot, signature, status.block_time));
                }
            }
        }
        let mut told = Vec::with_capacity(wanted.len());
        for (slot, signature, block_time) in wanted {
            told.push(self.fetch(client, slot, signature, block_time).await?);
        }
        told.sort_by_key(|t| std::cmp::Reverse(t.slot));
        Ok(told)
    }
}

/// A resident's history, newest first: its purchases, fundings, sales and collected
/// earnings, and the hourly payouts of the meters it owns. `meter_id` names a meter by its
/// address.
pub fn resident_entries(
    resident: &Pubkey,
    owned_meters: &[Pubkey],
    meter_id: &dyn Fn(&Pubkey) -> String,
    told: &[Arc<Told>],
) -> Vec<Entry> {
    let mut entries = Vec::new();
    for tx in told {
        // Newest first within a transaction too.
        for event in tx.events.iter().rev() {
            let entry = |kind, meter: Option<&Pubkey>, epoch, amount_units, detail: String| Entry {
                kind,
                meter: meter.map(meter_id),
                epoch,
                amount_units,
                detail,
                at: tx.at,
                signature: tx.signature.to_string(),
            };
            let line = match event {
                Event::FiatApplied(e) if e.resident == *resident => entry(
                    "fiat",
                    None,
                    None,
                    e.coin_units,
                    format!(
                        "bought {} k for ${} (payment {}){}{}",
                        format_k(e.coin_units),
                        format_usd(e.amount_cents),
                        e.payment_id,
                        if e.debt_repaid_units > 0 {
                            format!(
                                "; {} k of it repaid your debt",
                                format_k(e.debt_repaid_units)
                            )
                        } else {
                            String::new()
                        },
                        if e.held_until_ts > 0 {
                            format!("; sellable from {}", format_time(e.held_until_ts))
                        } else {
                            String::new()
                        }
                    ),
                ),
                Event::PurchaseClawedBack(e) if e.resident == *resident => entry(
                    "clawback",
                    None,
                    None,
                    e.units,
                    format!(
                        "{} k taken back: payment {} was {} (${} in all){}",
                        format_k(e.units),
                        e.payment_id,
                        if e.dispute {
                            "disputed by the card holder"
                        } else {
                            "refunded"
                        },
                        format_usd(e.total_cents),
                        clawback_sources(e.from_coins_units, e.from_sales_units, e.debt_units)
                    ),
                ),
                Event::DisputeWon(e) if e.resident == *resident => entry(
                    "clawback",
                    None,
                    None,
                    e.units,
                    format!(
                        "dispute of payment {} won: {} k given back{}",
                        e.payment_id,
                        format_k(e.units),
                        if e.debt_repaid_units > 0 {
                            format!(
                                " ({} k of it repaid your debt)",
                                format_k(e.debt_repaid_units)
                            )
                        } else {
                            String::new()
                        }
                    ),
                ),
                Event::PayoutAccountSet(e) if e.resident == *resident => entry(
                    "payout-account",
                    None,
                    None,
                    0,
                    if e.effective_ts > tx.at {
                        format!(
                            "asked for sales to be paid to {} from {} (cancel it before then if you did not)",
                            e.account,
                            format_time(e.effective_ts)
                        )
                    } else {
                        format!("sales are paid to {}", e.account)
                    },
                ),
                Event::PayoutAccountChangeCancelled(e) if e.resident == *resident => entry(
                    "payout-account",
                    None,
                    None,
                    0,
                    format!("cancelled the change of payout account to {}", e.account),
                ),
                Event::MeterFunded(e) if e.funder == *resident => entry(
                    "funded",
                    Some(&e.meter),
                    None,
                    e.amount_units,
                    if e.debt_repaid_units > 0 {
                        format!(
                            "prepaid {} ({} k of it paid the meter's debt)",
                            meter_id(&e.meter),
                            format_k(e.debt_repaid_units)
                        )
                    } else {
                        format!("prepaid {}", meter_id(&e.meter))
                    },
                ),
                Event::ProducerPaid(e) if owned_meters.contains(&e.meter) => entry(
                    "payout",
                    Some(&e.meter),
                    Some(e.epoch),
                    e.payout_units,
                    format!("{} kWh produced in hour {}", format_kwh(e.wh), e.epoch),
                ),
                Event::EarningsCollected(e) if e.resident == *resident => entry(
                    "collected",
                    Some(&e.meter),
                    None,
                    e.amount_units,
                    if e.debt_repaid_units > 0 {
                        format!(
                            "earnings of {} moved to the coin account ({} k of them repaid your debt)",
                            meter_id(&e.meter),
                            format_k(e.debt_repaid_units)
                        )
                    } else {
                        format!(
                            "earnings of {} moved to the coin account",
                            meter_id(&e.meter)
                        )
                    },
                ),
                Event::SaleRequested(e) if e.resident == *resident => entry(
                    "sale",
                    None,
                    None,
                    e.units,
                    format!(
                        "set aside {} k to sell to {} (sale {})",
                        format_k(e.units),
                        e.destination,
                        e.number
                    ),
                ),
                Event::SaleCancelled(e) if e.resident == *resident => entry(
                    "sale",
                    None,
                    None,
                    e.returned_units,
                    format!("sale cancelled: {} k back", format_k(e.returned_units)),
                ),
                Event::SaleLocked(e) if e.resident == *resident => entry(
                    "sale",
                    None,
                    None,
                    e.units,
                    format!(
                        "selling {} k for ${}: transfer pending",
                        format_k(e.units),
                        format_usd(e.cents)
                    ),
                ),
                Event::SalePaid(e) if e.resident == *resident => entry(
                    "sale",
                    None,
                    None,
                    e.burned_units,
                    format!(
                        "sold {} k: ${} transferred (transfer {})",
                        format_k(e.burned_units),
                        format_usd(e.cents),
                        e.payout_id
                    ),
                ),
                Event::SalePayoutFailed(e) if e.resident == *resident => entry(
                    "sale",
                    None,
                    None,
                    e.returned_units,
                    if e.reversed {
                        format!(
                            "transfer {} reversed: {} k given back",
                            e.payout_id,
                            format_k(e.returned_units)
                        )
                    } else {
                        format!(
                            "transfer {} refused: {} k returned",
                            e.payout_id,
                            format_k(e.returned_units)
                        )
                    },
                ),
                _ => continue,
            };
            entries.push(line);
        }
    }
    entries
}

/// Who funded `meter`, newest first.
pub fn fundings(meter: &Pubkey, told: &[Arc<Told>]) -> Vec<Funding> {
    told.iter()
        .flat_map(|tx| {
            tx.events.iter().rev().filter_map(move |event| match event {
                Event::MeterFunded(e) if e.meter == *meter => Some(Funding {
                    funder: e.funder,
                    amount_units: e.amount_units,
                    at: tx.at,
                    signature: tx.signature.to_string(),
                }),
                _ => None,
            })
        })
        .collect()
}

/// The hours a reading over a consumer's recent use looks back on.
pub const FORECAST_HOURS: u64 = 24;

/// How long a consumer meter's prepaid coins last at its use over the last
/// [`FORECAST_HOURS`] and the tariff of the hour `epoch`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Forecast {
    /// Whole hours left, rounded down; `None` when the meter used nothing in that time.
    pub hours_left: Option<u64>,
    /// Its average use per hour over the readings of that time, in Wh.
    pub wh_per_hour: u64,
    /// Coins not yet spoken for: the balance less what reported readings will cost, and what
    /// is left of an emergency credit beyond the debt (`Meter::headroom_units`).
    pub spendable_units: u64,
}

/// The forecast for `meter` (at `address`) at `now` on `grid`, at the tariff of the hour in
/// progress (time of use).
pub fn forecast_now(
    address: &Pubkey,
    meter: &crate::accounts::Meter,
    told: &[Arc<Told>],
    grid: &crate::accounts::Grid,
    now: i64,
) -> Forecast {
    let epoch = grid.epoch_at(now).unwrap_or(0);
    let tariff = crate::calendar::price_now(grid, now).tariff_units_per_kwh;
    forecast(address, meter, told, epoch, tariff)
}

/// The forecast for `meter` (at `address`) in `epoch`, from the readings its reports told
/// (`told`): those for the last [`FORECAST_HOURS`] epochs, over the hours they cover.
pub fn forecast(
    address: &Pubkey,
    meter: &crate::accounts::Meter,
    told: &[Arc<Told>],
    epoch: u64,
    tariff_units_per_kwh: u64,
) -> Forecast {
    let since = epoch.saturating_sub(FORECAST_HOURS);
    let mut seen = HashSet::new();
    let (mut wh, mut hours) = (0u64, 0u64);
    for event in told.iter().flat_map(|tx| tx.events.iter()) {
        if let Event::ReadingReported(r) = event {
            if r.meter == *address && r.epoch >= since && r.hours > 0 && seen.insert(r.epoch) {
                wh = wh.saturating_add(r.wh);
                hours = hours.saturating_add(u64::from(r.hours));
            }
        }
    }
    // The program's own measure: free coins, and what is left of an emergency credit.
    let spendable_units = u64::try_from(meter.headroom_units().max(0)).unwrap_or(u64::MAX);
    let wh_per_hour = wh.checked_div(hours).unwrap_or(0);
    // Units an hour at the tariff (per kWh), rounded up: the forecast never runs long.
    let per_hour = (u128::from(wh_per_hour) * u128::from(tariff_units_per_kwh)).div_ceil(1_000);
    let hours_left = (per_hour > 0)
        .then(|| u64::try_from(u128::from(spendable_units) / per_hour).unwrap_or(u64::MAX));
    Forecast {
        hours_left,
        wh_per_hour,
        spendable_units,
    }
}

/// Where a clawback's coins came from, in words (nothing when all came from the coins).
fn clawback_sources(from_coins: u64, from_sales: u64, debt: u64) -> String {
    let mut parts = Vec::new();
    if from_coins > 0 && (from_sales > 0 || debt > 0) {
        parts.push(format!("{} k from your coins", format_k(from_coins)));
    }
    if from_sales > 0 {
        parts.push(format!(
            "{} k from sales not yet paid",
            format_k(from_sales)
        ));
    }
    if debt > 0 {
        parts.push(format!(
            "{} k you no longer had, owed: repaid first from your purchases and earnings, and no sale until then",
            format_k(debt)
        ));
    }
    match parts.is_empty() {
        true => String::new(),
        false => format!("; {}", parts.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use energy_utility::events::ReadingReported;

    fn told(meter: Pubkey, readings: &[(u64, u64, u32)]) -> Vec<Arc<Told>> {
        readings
            .iter()
            .map(|&(epoch, wh, hours)| {
                Arc::new(Told {
                    signature: Signature::default(),
                    slot: epoch,
                    at: 0,
                    signers: Vec::new(),
                    events: vec![Event::ReadingReported(ReadingReported {
                        meter,
                        epoch,
                        register_wh: 0,
                        wh,
                        hours,
                        deferred: false,
                        before_earning: false,
                        connected: true,
                    })],
                })
            })
            .collect()
    }

    fn meter(balance: u64, committed: u64, debt: u64) -> crate::accounts::Meter {
        let mut m: crate::accounts::Meter =
            anchor_lang::AccountDeserialize::try_deserialize_unchecked(
                &mut &vec![0u8; 8 + <crate::accounts::Meter as anchor_lang::Space>::INIT_SPACE][..],
            )
            .unwrap();
        m.balance_units = balance;
        m.committed_units = committed;
        m.debt_units = debt;
        m
    }

    #[test]
    fn a_balance_lasts_its_spendable_coins_over_the_last_days_hourly_cost() {
        let address = Pubkey::new_unique();
        let other = Pubkey::new_unique();
        // Epoch 100: readings for 70 (too old), 90 (800 Wh over 2 hours), 95 and 99; another
        // meter's reading does not count; a repeated event counts once.
        let mut history = told(
            address,
            &[(70, 9_000, 1), (90, 800, 2), (95, 500, 1), (99, 700, 1)],
        );
        history.extend(told(other, &[(99, 50_000, 1)]));
        history.extend(told(address, &[(99, 700, 1)]));
        // 2,000 Wh over 4 hours: 500 Wh an hour, 0.5 k an hour at 1 k/kWh; 10 k less 1.5 k
        // committed: 17 hours.
        let f = forecast(
            &address,
            &meter(10_000_000, 1_500_000, 0),
            &history,
            100,
            1_000_000,
        );
        assert_eq!(f.wh_per_hour, 500);
        assert_eq!(f.spendable_units, 8_500_000);
        assert_eq!(f.hours_left, Some(17));
        // A debt leaves nothing to spend; no use in the last day, no forecast.
        assert_eq!(
            forecast(&address, &meter(0, 0, 5), &history, 100, 1_000_000).hours_left,
            Some(0)
        );
        assert_eq!(
            forecast(&address, &meter(1_000, 0, 0), &history, 200, 1_000_000).hours_left,
            None
        );
    }
}

/// One bar of a meter's chart: the energy its readings told for the hour (or day), and what it
/// cost (a consumer) or earned (a producer), in Wh and coin units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Point {
    /// The epoch (hourly) or the day number since 1970 in the grid's local time (daily).
    pub at: i64,
    /// When it starts (unix seconds).
    pub start_ts: i64,
    pub wh: u64,
    pub units: u64,
}

/// A meter's usage over the last 48 epochs, hour by hour, and the last 30 days, day by day.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Series {
    pub hourly: Vec<Point>,
    pub daily: Vec<Point>,
}

/// Hours and days a meter's chart shows.
pub const SERIES_HOURS: u64 = 48;
pub const SERIES_DAYS: i64 = 30;

/// `meter`'s series at `epoch` on `grid`, from the events its transactions told: each
/// reading's energy (`ReadingReported`) in the epoch it was reported for (a catch-up reading
/// over several hours counts in its own epoch), what settlement charged it (`ConsumerCharged`,
/// what was billed) or paid it (`ProducerPaid`). Every epoch of the window has a point, zero
/// when nothing was told; days are the grid's local days.
pub fn series(
    meter: &Pubkey,
    told: &[Arc<Told>],
    grid: &crate::accounts::Grid,
    epoch: u64,
) -> Series {
    let mut wh: HashMap<u64, u64> = HashMap::new();
    let mut units: HashMap<u64, u64> = HashMap::new();
    let mut seen = HashSet::new();
    for tx in told {
        if !seen.insert(tx.signature) {
            continue;
        }
        for event in &tx.events {
            match event {
                Event::ReadingReported(r) if r.meter == *meter => {
                    *wh.entry(r.epoch).or_default() += r.wh;
                }
                Event::ConsumerCharged(c) if c.meter == *meter => {
                    *units.entry(c.epoch).or_default() += c.billed_units;
                }
                Event::ProducerPaid(p) if p.meter == *meter => {
                    *units.entry(p.epoch).or_default() += p.payout_units;
                }
                _ => {}
            }
        }
    }
    let start = |e: u64| grid.epoch_start(e).unwrap_or(0);
    let point = |e: u64| Point {
        at: e as i64,
        start_ts: start(e),
        wh: wh.get(&e).copied().unwrap_or(0),
        units: units.get(&e).copied().unwrap_or(0),
    };
    let first = epoch.saturating_sub(SERIES_HOURS - 1);
    let hourly = (first..=epoch).map(point).collect();
    // Days: every epoch of the last 30 local days, summed by the day it starts in.
    let params = grid.params_for(epoch);
    let day_of = |e: u64| params.local_time(start(e)).day;
    let today = day_of(epoch);
    let mut days: Vec<Point> = (today - SERIES_DAYS + 1..=today)
        .map(|d| Point {
            at: d,
            start_ts: d * 86_400 - params.utc_offset_seconds as i64,
            wh: 0,
            units: 0,
        })
        .collect();
    let per_day = (86_400 / grid.epoch_seconds.max(1) as u64).max(1);
    let oldest = epoch.saturating_sub(per_day * (SERIES_DAYS as u64 + 1));
    let mut epochs: Vec<u64> = wh.keys().chain(units.keys()).copied().collect();
    epochs.sort_unstable();
    epochs.dedup();
    for e in epochs.into_iter().filter(|e| *e >= oldest && *e <= epoch) {
        let d = day_of(e);
        if let Some(p) = days.iter_mut().find(|p| p.at == d) {
            p.wh += wh.get(&e).copied().unwrap_or(0);
            p.units += units.get(&e).copied().unwrap_or(0);
        }
    }
    Series {
        hourly,
        daily: days,
    }
}

/// One meter's month in a statement: its energy and what it cost (a consumer: billed, and
/// charged from its balance) or earned (a producer), and the fundings it received.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct MeterMonth {
    pub meter: String,
    pub kind: &'static str,
    pub wh: u64,
    pub billed_units: u64,
    pub charged_units: u64,
    pub earned_units: u64,
    pub funded_units: u64,
    pub hours: u32,
}

/// A resident's month, from the chain's events: what it bought, funded, used, earned and sold.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Statement {
    /// `YYYY-MM`, in the grid's local time, and its bounds (unix seconds, end exclusive).
    pub month: String,
    pub from_ts: i64,
    pub until_ts: i64,
    pub purchases_units: u64,
    pub purchases_cents: u64,
    /// Coins the resident moved into meters (its own or others').
    pub fundings_units: u64,
    /// Producer earnings moved to the resident's coins.
    pub collected_units: u64,
    pub sales_units: u64,
    pub sales_paid_cents: u64,
    /// Taken back by refunds and disputes.
    pub clawed_back_units: u64,
    pub meters: Vec<MeterMonth>,
}

/// The bounds of `month` (`YYYY-MM`) in local time `utc_offset_seconds` east of UTC.
pub fn month_bounds(month: &str, utc_offset_seconds: i32) -> Option<(i64, i64)> {
    let (y, m) = month.split_once('-')?;
    let (y, m): (i64, u32) = (y.parse().ok()?, m.parse().ok()?);
    if !(1..=12).contains(&m) || y < 1970 {
        return None;
    }
    let day = |y: i64, m: u32| crate::calendar::days_from_civil(y, m, 1);
    let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    let offset = utc_offset_seconds as i64;
    Some((day(y, m) * 86_400 - offset, day(ny, nm) * 86_400 - offset))
}

/// `resident`'s statement for the month `[from_ts, until_ts)`, from what `told` holds: the
/// transactions of the resident's account and of `meters` (address, id, kind name).
pub fn statement(
    resident: &Pubkey,
    meters: &[(Pubkey, String, &'static str)],
    told: &[Arc<Told>],
    month: &str,
    (from_ts, until_ts): (i64, i64),
) -> Statement {
    let mut s = Statement {
        month: month.to_string(),
        from_ts,
        until_ts,
        meters: meters
            .iter()
            .map(|(_, id, kind)| MeterMonth {
                meter: id.clone(),
                kind,
                ..MeterMonth::default()
            })
            .collect(),
        ..Statement::default()
    };
    let index = |m: &Pubkey| meters.iter().position(|(a, _, _)| a == m);
    let mut seen = HashSet::new();
    for tx in told {
        if tx.at < from_ts || tx.at >= until_ts || !seen.insert(tx.signature) {
            continue;
        }
        for event in &tx.events {
            match event {
                Event::FiatApplied(e) if e.resident == *resident => {
                    s.purchases_units += e.coin_units;
                    s.purchases_cents += e.amount_cents;
                }
                Event::MeterFunded(e) => {
                    if e.funder == *resident {
                        s.fundings_units += e.amount_units;
                    }
                    if let Some(i) = index(&e.meter) {
                        s.meters[i].funded_units += e.amount_units;
                    }
                }
                Event::ReadingReported(e) => {
                    if let Some(i) = index(&e.meter) {
                        s.meters[i].wh += e.wh;
                        s.meters[i].hours += e.hours;
                    }
                }
                Event::ConsumerCharged(e) => {
                    if let Some(i) = index(&e.meter) {
                        s.meters[i].billed_units += e.billed_units;
                        s.meters[i].charged_units += e.charged_units;
                    }
                }
                Event::ProducerPaid(e) => {
                    if let Some(i) = index(&e.meter) {
                        s.meters[i].earned_units += e.payout_units;
                    }
                }
                Event::EarningsCollected(e) if e.resident == *resident => {
                    s.collected_units += e.amount_units;
                }
                Event::SaleRequested(e) if e.resident == *resident => s.sales_units += e.units,
                Event::SaleCancelled(e) if e.resident == *resident => {
                    s.sales_units = s.sales_units.saturating_sub(e.returned_units)
                }
                Event::SalePaid(e) if e.resident == *resident => s.sales_paid_cents += e.cents,
                Event::PurchaseClawedBack(e) if e.resident == *resident => {
                    s.clawed_back_units += e.units;
                }
                _ => {}
            }
        }
    }
    s
}

/// The statement as CSV: one section of `item,amount` lines, then one line per meter.
pub fn statement_csv(s: &Statement, resident_id: &str) -> String {
    let mut out = String::new();
    out.push_str("resident,month,item,meter,kind,kwh,k,usd\n");
    let line = |out: &mut String, item: &str, k: u64, usd: Option<u64>| {
        out.push_str(&format!(
            "{resident_id},{},{item},,,,{},{}\n",
            s.month,
            format_k(k),
            usd.map(format_usd).unwrap_or_default()
        ));
    };
    line(
        &mut out,
        "purchases",
        s.purchases_units,
        Some(s.purchases_cents),
    );
    line(&mut out, "fundings", s.fundings_units, None);
    line(&mut out, "earnings collected", s.collected_units, None);
    line(&mut out, "sales", s.sales_units, Some(s.sales_paid_cents));
    line(&mut out, "taken back", s.clawed_back_units, None);
    for m in &s.meters {
        let (item, k) = if m.kind == "producer" {
            ("earned", m.earned_units)
        } else {
            ("charged", m.charged_units)
        };
        out.push_str(&format!(
            "{resident_id},{},{item},{},{},{},{},\n",
            s.month,
            m.meter,
            m.kind,
            format_kwh(m.wh),
            format_k(k)
        ));
    }
    out
}

/// A meter's readings as CSV, oldest first: one line per reading the chain recorded.
pub fn readings_csv(
    meter: &Pubkey,
    meter_id: &str,
    told: &[Arc<Told>],
    grid: &crate::accounts::Grid,
) -> String {
    let mut rows: Vec<(u64, String)> = Vec::new();
    let mut money: HashMap<u64, u64> = HashMap::new();
    for tx in told {
        for event in &tx.events {
            match event {
                Event::ConsumerCharged(c) if c.meter == *meter => {
                    *money.entry(c.epoch).or_default() += c.billed_units;
                }
                Event::ProducerPaid(p) if p.meter == *meter => {
                    *money.entry(p.epoch).or_default() += p.payout_units;
                }
                _ => {}
            }
        }
    }
    let mut seen = HashSet::new();
    for tx in told {
        for event in &tx.events {
            if let Event::ReadingReported(r) = event {
                if r.meter == *meter && seen.insert(r.epoch) {
                    let start = grid.epoch_start(r.epoch).unwrap_or(0);
                    rows.push((
                        r.epoch,
                        format!(
                            "{meter_id},{},{},{},{},{},{},{},{}\n",
                            r.epoch,
                            format_time(start),
                            format_kwh(r.register_wh),
                            format_kwh(r.wh),
                            r.hours,
                            money
                                .get(&r.epoch)
                                .map(|u| format_k(*u))
                                .unwrap_or_default(),
                            if r.deferred {
                                "deferred"
                            } else if r.before_earning {
                                "starting point"
                            } else {
                                "reading"
                            },
                            tx.signature
                        ),
                    ));
                }
            }
        }
    }
    rows.sort_by_key(|(e, _)| *e);
    let mut out = String::from("meter,epoch,start_utc,register_kwh,kwh,hours,k,what,signature\n");
    for (_, row) in rows {
        out.push_str(&row);
    }
    out
}
