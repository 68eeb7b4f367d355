//! The crank: settling an epoch in as few transactions as fit (v0 over the grid's lookup
//! tables when they list every pending meter), closing what has expired, disconnecting
//! silent meters.

use anchor_lang::prelude::Pubkey;
use solana_message::VersionedMessage;
use solana_transaction::versioned::VersionedTransaction;

use super::{Client, Result};
use crate::accounts::{EpochStatus, Grid, Receipt, Sale};
use crate::error::SdkError;
use crate::{instructions, lookup, settlement};

/// What one call of the crank did to an epoch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettleOutcome {
    pub epoch: u64,
    pub transactions: usize,
    pub readings: usize,
    pub already_settled: bool,
}

impl Client {
    /// Settles `epoch` completely: lists the meters with an unsettled reading, sends the
    /// SDK's batches (consumers first), and repeats for whatever another crank or a lost
    /// transaction left behind. `progress` hears (readings settled, readings in total).
    pub async fn settle_epoch(
        &self,
        grid: &Pubkey,
        meter_count: u32,
        epoch: u64,
        progress: &mut (dyn FnMut(usize, usize) + Send),
    ) -> Result<SettleOutcome> {
        let mut outcome = SettleOutcome {
            epoch,
            transactions: 0,
            readings: 0,
            already_settled: false,
        };
        for _round in 0..3 {
            let state = self.epoch(grid, epoch).await?.ok_or(SdkError::NotFound {
                what: "epoch",
                id: epoch.to_string(),
            })?;
            if state.status == EpochStatus::Settled {
                outcome.already_settled = outcome.transactions == 0;
                return Ok(outcome);
            }
            let (consumers, producers) = self.pending_readings(grid, meter_count, epoch).await?;
            let total = consumers.len() + producers.len();
            // v0 over the grid's lookup tables when they list every pending meter.
            let tables = self.lookup_tables(grid, meter_count).await?;
            let v0 =
                !tables.is_empty() && consumers.iter().chain(&producers).all(|m| tables.lists(m));
            let per_transaction = if v0 {
                settlement::MAX_METERS_PER_SETTLE_V0
            } else {
                settlement::MAX_METERS_PER_SETTLE
            };
            for batch in settlement::plan_batches_of(&consumers, &producers, per_transaction) {
                let sent = if v0 {
                    self.send_settle_v0(grid, epoch, &batch, &tables).await
                } else {
                    self.send_without_events(
                        &settlement::settle_transaction(grid, epoch, &batch),
                        &[],
                    )
                    .await
                };
                match sent {
                    Ok(_) => {}
                    // Another crank finished it first: nothing is paid twice either way.
                    Err(e) if e.program_error_name() == Some("EpochAlreadySettled") => {}
                    Err(e) => return Err(e),
                }
                outcome.transactions += 1;
                outcome.readings += batch.len();
                progress(outcome.readings.min(total), total);
            }
        }
        let state = self.epoch(grid, epoch).await?;
        match state {
            Some(e) if e.status == EpochStatus::Settled => Ok(outcome),
            _ => Err(SdkError::Invalid(format!(
                "epoch {epoch} is still not settled after three rounds"
            ))),
        }
    }

    /// The first second at which `epoch` stops taking reports and may be settled
    /// (`settlement::reports_close_at`, with the epoch's account read from the cluster).
    pub async fn reports_close_at(
        &self,
        grid_address: &Pubkey,
        grid: &Grid,
        epoch: u64,
    ) -> Result<i64> {
        let state = self.epoch(grid_address, epoch).await?;
        settlement::reports_close_at(grid, state.as_ref(), epoch)
    }

    /// One v0 settlement transaction over the grid's lookup tables, signed by the payer; a
    /// blockhash that expired before it landed is replaced.
    async fn send_settle_v0(
        &self,
        grid: &Pubkey,
        epoch: u64,
        batch: &[Pubkey],
        tables: &lookup::GridTables,
    ) -> Result<String> {
        self.sign_and_submit(|blockhash| {
            let message =
                settlement::settle_message_v0(&self.payer(), grid, epoch, batch, tables, blockhash)
                    .map_err(|e| {
                        SdkError::Invalid(format!("compile the settlement message: {e}"))
                    })?;
            VersionedTransaction::try_new(VersionedMessage::V0(message), &[self.payer.signer()])
                .map_err(|e| SdkError::Invalid(format!("sign the settlement: {e}")))
        })
        .await
    }

    /// Meters with an unsettled reading for `epoch`: (consumers, producers).
    pub async fn pending_readings(
        &self,
        grid: &Pubkey,
        meter_count: u32,
        epoch: u64,
    ) -> Result<(Vec<Pubkey>, Vec<Pubkey>)> {
        let mut consumers = Vec::new();
        let mut producers = Vec::new();
        for (address, meter) in self.meters(grid, meter_count).await? {
            if meter.pending_wh(epoch).is_some() {
                if meter.kind.is_producer() {
                    producers.push(address);
                } else {
                    consumers.push(address);
                }
            }
        }
        Ok((consumers, producers))
    }

    /// Closes the grid's receipts and ended sales whose retention has passed, returning each
    /// rent to its payer: `(receipts, sales)` closed.
    pub async fn close_expired(&self, grid: &Pubkey) -> Result<(usize, usize)> {
        let (_, state) = self.grid_at(grid).await?;
        let now = self.cluster_time().await?;
        let mut closed = (0, 0);
        for (_, receipt) in self.grid_accounts::<Receipt>(grid).await? {
            let retention = state.retention_for(receipt.retention_seconds, now);
            if receipt.closable_at(now, retention) {
                let ix =
                    instructions::close_receipt(grid, &receipt.payment_id, &receipt.rent_payer);
                self.send_without_events(&[ix], &[]).await?;
                closed.0 += 1;
            }
        }
        for (address, sale) in self.grid_accounts::<Sale>(grid).await? {
            let retention = state.retention_for(sale.retention_seconds, now);
            if sale.closable_at(now, retention) {
                let ix = instructions::close_sale(grid, &sale.resident, &address, &sale.rent_payer);
                self.send_without_events(&[ix], &[]).await?;
                closed.1 += 1;
            }
        }
        Ok(closed)
    }

    /// Disconnects every consumer meter that has been silent for the grid's
    /// `max_silent_epochs` closed epochs (permissionless). Returns their ids.
    pub async fn disconnect_silent_meters(&self, grid: &Pubkey) -> Result<Vec<String>> {
        let (_, state) = self.grid_at(grid).await?;
        let now = self.cluster_time().await?;
        let Ok(current) = state.epoch_at(now) else {
            return Ok(Vec::new());
        };
        if state.paused {
            return Ok(Vec::new());
        }
        let params = state.params_for(current);
        let Some(last_closed) = state.last_closed_epoch(now) else {
            return Ok(Vec::new());
        };
        let counts_from = state.silence_from_epoch;
        let mut silenced = Vec::new();
        for (address, meter) in self.meters(grid, state.meter_count).await? {
            let silent = meter.is_consumer()
                && meter.active
                && !meter.silent
                && meter.silent_epochs(last_closed, counts_from) >= params.max_silent_epochs as u64;
            if silent {
                match self
                    .send_without_events(&[instructions::disconnect_silent(grid, &address)], &[])
                    .await
                {
                    Ok(_) => silenced.push(meter.id),
                    // It reported (or another crank was first) in the meantime.
                    Err(e) if e.program_error_name() == Some("MeterNotSilent") => {}
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(silenced)
    }

    /// Applies what the admin proposed once its notice has passed (permissionless): the grid's
    /// terms, and each meter's change its owner did not veto. Returns the ids of the meters
    /// changed, and whether the grid's terms were written down.
    pub async fn apply_due_changes(&self, grid: &Pubkey) -> Result<(Vec<String>, bool)> {
        // The grid as written on chain, not as in force: what is due but not written down.
        let state = self
            .account::<Grid>(grid)
            .await?
            .ok_or(SdkError::NotFound {
                what: "grid",
                id: grid.to_string(),
            })?;
        let now = self.cluster_time().await?;
        let terms_due = state.pending_change.is_some_and(|c| c.effective_ts <= now);
        let mut terms_applied = false;
        if terms_due {
            match self
                .send_without_events(&[instructions::apply_grid_changes(grid)], &[])
                .await
            {
                Ok(_) => terms_applied = true,
                // Another crank was first.
                Err(e) if e.program_error_name() == Some("NoPendingChange") => {}
                Err(e) => return Err(e),
            }
        }
        let mut changed = Vec::new();
        if state.paused {
            return Ok((changed, terms_applied));
        }
        for (address, meter) in self.meters(grid, state.meter_count).await? {
            let due = meter.pending_change.is_some_and(|c| c.effective_ts <= now);
            if !due {
                continue;
            }
            let ix = instructions::apply_meter_change(grid, &address, &meter.owner);
            match self.send_without_events(&[ix], &[]).await {
                Ok(_) => changed.push(meter.id),
                Err(e) if e.program_error_name() == Some("NoPendingChange") => {}
                Err(e) => return Err(e),
            }
        }
        Ok((changed, terms_applied))
    }

    /// Closes a settled epoch's account, returning its rent to whoever paid it.
    pub async fn close_epoch(&self, grid: &Pubkey, epoch: u64) -> Result<()> {
        let state = self.epoch(grid, epoch).await?.ok_or(SdkError::NotFound {
            what: "epoch",
            id: epoch.to_string(),
        })?;
        self.send_without_events(
            &[instructions::close_epoch(grid, epoch, &state.rent_payer)],
            &[],
        )
        .await
        .map(|_| ())
    }
}
