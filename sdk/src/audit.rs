//! Checking an hour's settlement from chain data alone: nobody needs to trust the crank, the
//! utility or this server. [`record`] gathers what the chain says about one epoch (every
//! transaction that touched its account: the reports with their signers, the charges, the
//! fee, the payouts, the settlement; the epoch's parameters; each reporting meter's gateway and
//! its register before the epoch) and [`audit`] re-checks it with the program's own rules:
//!
//! 1. every report is signed by its meter's gateway, and its register continues the meter's
//!    last recorded one (`register − wh` = the register before);
//! 2. every consumer's bill is its energy at the epoch's tariff, rounded up (a reading over
//!    several hours costs at least that: the dearest hour), and charged + unpaid = billed;
//! 3. the totals: Σ charged, Σ consumed and Σ produced are the settlement's;
//! 4. the pool split (`math::split_pool`, the crank's rule): the fee, what producers share and
//!    what is withheld, each producer's payout pro rata rounded down, and what is carried;
//! 5. conservation: charged + carried in = fee + paid + carried out.
//!
//! The first disagreement is reported with what was expected and what the chain holds.

use std::collections::BTreeMap;
use std::fmt;

use anchor_lang::prelude::Pubkey;
use energy_utility::math::{consumption_cost_ceil, split_pool};
use energy_utility::state::{EpochParams, Grid, Meter};
use serde::Serialize;

use crate::amounts::{format_k, format_kwh};
use crate::client::Result;
use crate::events::Event;
use crate::history::{signatures, History, Told};
use crate::{pda, Client, SdkError};

/// A report as the chain holds it: the event and who signed its transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub signature: String,
    pub signers: Vec<Pubkey>,
    pub event: energy_utility::events::ReadingReported,
}

/// What a meter was before the epoch: its gateway key and kind (as its account holds them
/// now), and its last recorded register before the epoch (`None` when not found).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeterBefore {
    pub gateway: Option<Pubkey>,
    pub producer: bool,
    pub register_before_wh: Option<u64>,
}

/// Everything the chain says about one epoch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EpochRecord {
    pub epoch: u64,
    /// Its parameters, its hour's tariff resolved (from its account, or from the grid while it
    /// still holds them).
    pub params: EpochParams,
    pub reports: Vec<Report>,
    pub charges: Vec<energy_utility::events::ConsumerCharged>,
    pub fee: Option<energy_utility::events::FeeCollected>,
    pub payouts: Vec<energy_utility::events::ProducerPaid>,
    pub settled: Option<energy_utility::events::EpochSettled>,
    pub meters: BTreeMap<Pubkey, MeterBefore>,
}

/// The audit's outcome when everything agrees.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Agreement {
    pub epoch: u64,
    pub reports: usize,
    pub consumers: usize,
    pub producers: usize,
    pub consumed_kwh: String,
    pub produced_kwh: String,
    pub charged_k: String,
    pub fee_k: String,
    pub paid_k: String,
    pub carried_out_k: String,
    /// What could not be checked (a meter closed since, a first reading).
    pub unchecked: Vec<String>,
}

/// The first thing that does not add up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Disagreement {
    pub epoch: u64,
    pub what: String,
}

impl fmt::Display for Disagreement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "epoch {}: DISAGREE: {}", self.epoch, self.what)
    }
}

impl fmt::Display for Agreement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "epoch {}: agree — {} reports ({} consumers, {} producers), {} kWh used, {} kWh produced; {} k charged, {} k fee, {} k paid to producers, {} k carried",
            self.epoch,
            self.reports,
            self.consumers,
            self.producers,
            self.consumed_kwh,
            self.produced_kwh,
            self.charged_k,
            self.fee_k,
            self.paid_k,
            self.carried_out_k
        )?;
        for note in &self.unchecked {
            write!(f, "\n  not checked: {note}")?;
        }
        Ok(())
    }
}

/// Re-checks `record` (see the module's list); the first disagreement, or the agreement.
pub fn audit(record: &EpochRecord) -> std::result::Result<Agreement, Disagreement> {
    let epoch = record.epoch;
    let disagree = |what: String| Err(Disagreement { epoch, what });
    let tariff = record.params.tariff_units_per_kwh;
    let mut unchecked = Vec::new();

    // 1. Reports: signed by the gateway, registers continuing.
    let mut readings: BTreeMap<Pubkey, (u64, u32)> = BTreeMap::new();
    for report in &record.reports {
        let r = &report.event;
        let Some(meter) = record.meters.get(&r.meter) else {
            return disagree(format!(
                "report {} names meter {} the chain does not know",
                report.signature, r.meter
            ));
        };
        match meter.gateway {
            Some(gateway) if !report.signers.contains(&gateway) => {
                return disagree(format!(
                    "report {} for meter {} is not signed by its gateway {gateway}",
                    report.signature, r.meter
                ))
            }
            Some(_) => {}
            None => unchecked.push(format!(
                "the signer of {}'s report (meter closed since)",
                r.meter
            )),
        }
        if r.deferred || r.before_earning {
            continue;
        }
        match meter.register_before_wh {
            Some(before) if before.checked_add(r.wh) != Some(r.register_wh) => {
                return disagree(format!(
                    "meter {}'s register {} Wh does not continue its last recorded register {before} Wh by the {} Wh reading",
                    r.meter, r.register_wh, r.wh
                ))
            }
            Some(_) => {}
            None => unchecked.push(format!("the register continuity of {} (no earlier reading found)", r.meter)),
        }
        readings.insert(r.meter, (r.wh, r.hours));
    }

    // 2. Bills.
    let (mut charged, mut consumed) = (0u64, 0u64);
    for c in &record.charges {
        let Some((wh, hours)) = readings.get(&c.meter).copied() else {
            return disagree(format!(
                "meter {} was charged without a report in the epoch",
                c.meter
            ));
        };
        if c.wh != wh {
            return disagree(format!(
                "meter {} was charged for {} Wh but reported {wh} Wh",
                c.meter, c.wh
            ));
        }
        let at_tariff = consumption_cost_ceil(wh, tariff).unwrap_or(u64::MAX);
        let billed_ok = if hours <= 1 {
            c.billed_units == at_tariff
        } else {
            c.billed_units >= at_tariff
        };
        if !billed_ok {
            return disagree(format!(
                "meter {} was billed {} k for {} kWh; at {} k per kWh it is {} k",
                c.meter,
                format_k(c.billed_units),
                format_kwh(wh),
                format_k(tariff),
                format_k(at_tariff)
            ));
        }
        if c.charged_units.checked_add(c.unpaid_units) != Some(c.billed_units) {
            return disagree(format!(
                "meter {}: charged + unpaid is not what it was billed",
                c.meter
            ));
        }
        charged += c.charged_units;
        consumed += wh;
    }
    let Some(settled) = &record.settled else {
        return disagree("the epoch is not settled yet".into());
    };
    let Some(fee) = &record.fee else {
        return disagree("the epoch has no fee event".into());
    };

    // 3. Totals.
    let produced: u64 = record.payouts.iter().map(|p| p.wh).sum();
    if settled.charged_units != charged {
        return disagree(format!(
            "the settlement says {} k were charged; the charges add up to {} k",
            format_k(settled.charged_units),
            format_k(charged)
        ));
    }
    if settled.consumed_wh != consumed || settled.produced_wh != produced {
        return disagree(format!(
            "the settlement says {} kWh used and {} kWh produced; the readings say {} and {}",
            format_kwh(settled.consumed_wh),
            format_kwh(settled.produced_wh),
            format_kwh(consumed),
            format_kwh(produced)
        ));
    }
    for p in &record.payouts {
        match readings.get(&p.meter) {
            Some((wh, _)) if *wh == p.wh => {}
            _ => {
                return disagree(format!(
                    "producer {} was paid for {} Wh it did not report",
                    p.meter, p.wh
                ))
            }
        }
    }

    // 4. The split, by the crank's own rule.
    let fee_param = if readings.is_empty() {
        0
    } else {
        record.params.fee_units
    };
    let wh: Vec<u64> = record.payouts.iter().map(|p| p.wh).collect();
    let Some(split) = split_pool(charged, fee.carried_in_units, fee_param, tariff, &wh) else {
        return disagree("the pool's split overflows".into());
    };
    let expected = [
        ("fee", split.fee_units, fee.fee_units),
        (
            "producers' share",
            split.distributable_units,
            fee.distributable_units,
        ),
        ("withheld", split.withheld_units, fee.withheld_units),
    ];
    for (what, want, got) in expected {
        if want != got {
            return disagree(format!(
                "the {what} is {} k; recomputed {} k",
                format_k(got),
                format_k(want)
            ));
        }
    }
    for (p, want) in record.payouts.iter().zip(&split.payouts_units) {
        if p.payout_units != *want {
            return disagree(format!(
                "producer {} was paid {} k for {} kWh; its share is {} k",
                p.meter,
                format_k(p.payout_units),
                format_kwh(p.wh),
                format_k(*want)
            ));
        }
    }
    let paid: u64 = record.payouts.iter().map(|p| p.payout_units).sum();
    if settled.paid_units != paid || settled.carried_out_units != split.carried_out_units {
        return disagree(format!(
            "the settlement says {} k paid and {} k carried; recomputed {} k and {} k",
            format_k(settled.paid_units),
            format_k(settled.carried_out_units),
            format_k(paid),
            format_k(split.carried_out_units)
        ));
    }

    // 5. Conservation.
    let came = charged as u128 + fee.carried_in_units as u128;
    let went = fee.fee_units as u128 + paid as u128 + settled.carried_out_units as u128;
    if came != went {
        return disagree(format!("{came} units came in and {went} went out"));
    }
    Ok(Agreement {
        epoch,
        reports: record.reports.len(),
        consumers: record.charges.len(),
        producers: record.payouts.len(),
        consumed_kwh: format_kwh(consumed),
        produced_kwh: format_kwh(produced),
        charged_k: format_k(charged),
        fee_k: format_k(fee.fee_units),
        paid_k: format_k(paid),
        carried_out_k: format_k(settled.carried_out_units),
        unchecked,
    })
}

/// The events of `told` about `epoch`, sorted into a record (meters and parameters apart).
pub fn collect(told: &[std::sync::Arc<Told>], epoch: u64, params: EpochParams) -> EpochRecord {
    let mut record = EpochRecord {
        epoch,
        params,
        reports: Vec::new(),
        charges: Vec::new(),
        fee: None,
        payouts: Vec::new(),
        settled: None,
        meters: BTreeMap::new(),
    };
    // Oldest first: the order things happened.
    let mut txs: Vec<_> = told.to_vec();
    txs.sort_by_key(|t| t.slot);
    for tx in &txs {
        for event in &tx.events {
            match event {
                Event::ReadingReported(e) if e.epoch == epoch => record.reports.push(Report {
                    signature: tx.signature.to_string(),
                    signers: tx.signers.clone(),
                    event: e.clone(),
                }),
                Event::ConsumerCharged(e) if e.epoch == epoch => record.charges.push(e.clone()),
                Event::ProducerPaid(e) if e.epoch == epoch => record.payouts.push(e.clone()),
                Event::FeeCollected(e) if e.epoch == epoch => record.fee = Some(e.clone()),
                Event::EpochSettled(e) if e.epoch == epoch => record.settled = Some(e.clone()),
                _ => {}
            }
        }
    }
    record
}

/// How far back a meter's history is searched for its register before the epoch.
const REGISTER_SEARCH_PAGES: usize = 5;

/// Reads `epoch` of `grid` from the chain: every transaction that touched its account, its
/// parameters, and each reporting meter's gateway and earlier register. Transactions are read
/// through `history` (each once: a server keeps its own).
pub async fn record(
    client: &Client,
    history: &History,
    grid_address: &Pubkey,
    grid: &Grid,
    epoch: u64,
) -> Result<EpochRecord> {
    let epoch_address = pda::epoch(grid_address, epoch);
    let told = history.told_since(client, &epoch_address, i64::MIN).await?;
    if told.is_empty() {
        return Err(SdkError::NotFound {
            what: "epoch",
            id: epoch.to_string(),
        });
    }
    let params = match client
        .account::<energy_utility::state::Epoch>(&epoch_address)
        .await?
    {
        Some(account) => account.params,
        None if epoch >= grid.prior_from_epoch => grid
            .params_opening(epoch)
            .map_err(|e| SdkError::Invalid(e.to_string()))?,
        None => {
            return Err(SdkError::Invalid(format!(
                "epoch {epoch}'s account is closed and the grid no longer holds its parameters: its tariff cannot be read back"
            )))
        }
    };
    let mut record = collect(&told, epoch, params);
    let meters: Vec<Pubkey> = record.reports.iter().map(|r| r.event.meter).collect();
    for meter in meters {
        if record.meters.contains_key(&meter) {
            continue;
        }
        let account = client.account::<Meter>(&meter).await?;
        let first = record
            .reports
            .iter()
            .find(|r| r.event.meter == meter)
            .map(|r| r.signature.clone());
        let register_before_wh = register_before(
            client,
            history,
            &meter,
            epoch,
            first.as_deref(),
            REGISTER_SEARCH_PAGES,
        )
        .await?;
        record.meters.insert(
            meter,
            MeterBefore {
                gateway: account.as_ref().map(|m| m.gateway),
                producer: account.as_ref().is_some_and(|m| !m.is_consumer()),
                register_before_wh,
            },
        );
    }
    Ok(record)
}

/// `meter`'s last recorded register before `epoch`: searched back from the transaction `from`
/// (its report in the epoch) through at most `pages` pages of 20 of its history (a replaced
/// register is a new base). `None` when not found (a first reading: the registration event
/// does not carry the starting register).
async fn register_before(
    client: &Client,
    history: &History,
    meter: &Pubkey,
    epoch: u64,
    from: Option<&str>,
    pages: usize,
) -> Result<Option<u64>> {
    let mut before = from.and_then(|s| s.parse().ok());
    for _ in 0..pages {
        let page = signatures(client, meter, before, 20).await?;
        let Some(last) = page.last() else { break };
        before = Some(last.signature);
        for listed in page.iter().filter(|l| l.ok) {
            let tx = history
                .fetch(client, listed.slot, listed.signature, listed.block_time)
                .await?;
            for event in tx.events.iter().rev() {
                match event {
                    Event::ReadingReported(r)
                        if r.meter == *meter && r.epoch < epoch && !r.deferred =>
                    {
                        return Ok(Some(r.register_wh));
                    }
                    Event::MeterRegisterReplaced(r) if r.meter == *meter => {
                        return Ok(Some(r.new_register_wh));
                    }
                    Event::MeterRegistered(r) if r.meter == *meter => return Ok(None),
                    _ => {}
                }
            }
        }
    }
    Ok(None)
}

/// An audit's outcome as `deu audit` and the API say it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditView {
    pub epoch: u64,
    pub agree: bool,
    /// The first disagreement, when there is one.
    pub disagreement: Option<String>,
    pub agreement: Option<Agreement>,
}

impl AuditView {
    pub fn new(epoch: u64, outcome: std::result::Result<Agreement, Disagreement>) -> Self {
        match outcome {
            Ok(agreement) => Self {
                epoch,
                agree: true,
                disagreement: None,
                agreement: Some(agreement),
            },
            Err(d) => Self {
                epoch,
                agree: false,
                disagreement: Some(d.what),
                agreement: None,
            },
        }
    }
}

impl fmt::Display for AuditView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.agreement, &self.disagreement) {
            (Some(a), _) => write!(f, "{a}"),
            (None, Some(what)) => write!(f, "epoch {}: DISAGREE: {what}", self.epoch),
            (None, None) => write!(f, "epoch {}: no outcome", self.epoch),
        }
    }
}
