//! Signing and sending transactions to the embedded bank, one at a time or pipelined.
//!
//! The bank's server thread drains every transaction queued since its last pass into one
//! entry and executes that entry in order; conflicting writes inside an entry are allowed
//! (SIMD-0083 `relax_intrabatch_account_locks`, active in program-test), so many in-flight
//! reports that all write the same epoch account are executed one after another, not refused.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use anchor_lang::prelude::{Clock, Pubkey};
use anchor_lang::solana_program::instruction::Instruction;
use anyhow::{bail, Context, Result};
use clap::ValueEnum;
use solana_account::Account;
use solana_keypair::Keypair;
use solana_message::{v0, VersionedMessage};
use solana_program_test::{BanksClient, ProgramTestContext};
use solana_signature::Signature;
use solana_signer::Signer;
use solana_transaction::versioned::VersionedTransaction;
use solana_transaction::{Hash, Transaction};
use tokio::task::{JoinHandle, JoinSet};

/// Solana's packet limit: the bank panics on a larger legacy transaction, so refuse it here.
pub const MAX_TX_BYTES: usize = 1_232;
/// Mainnet's account-lock limit (the bank is configured with it too).
pub const MAX_TX_KEYS: usize = 64;
/// How long a transaction may stay unconfirmed before the run fails.
const CONFIRM_TIMEOUT: Duration = Duration::from_secs(20);

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum SendMode {
    /// `process_transaction`, one at a time: send, wait for confirmation, next.
    Seq,
    /// `process_transactions`: a window of `process_transaction` calls in flight at once;
    /// the server verifies each signature and polls for each status. The default: as fast
    /// as `Fire` at 10,000 meters, and signatures are checked as a validator would.
    Join,
    /// `send_transaction` for a whole window (queued in order, no server-side signature
    /// check), then `get_transaction_statuses` until every one has landed.
    Fire,
}

/// Size and shape of one signed transaction, as it would go on the wire.
#[derive(Clone, Copy, Default)]
pub struct Shape {
    pub bytes: usize,
    /// Accounts the transaction locks: its keys, and in a v0 transaction also the addresses
    /// it loads from lookup tables.
    pub locks: usize,
    pub signatures: usize,
}

impl Shape {
    pub fn of(tx: &VersionedTransaction) -> Result<Self> {
        let bytes = bincode::serialized_size(tx).context("serialize transaction")? as usize;
        let loaded: usize = tx.message.address_table_lookups().map_or(0, |lookups| {
            lookups
                .iter()
                .map(|l| l.writable_indexes.len() + l.readonly_indexes.len())
                .sum()
        });
        Ok(Self {
            bytes,
            locks: tx.message.static_account_keys().len() + loaded,
            signatures: tx.signatures.len(),
        })
    }

    pub fn max(self, other: Shape) -> Shape {
        Shape {
            bytes: self.bytes.max(other.bytes),
            locks: self.locks.max(other.locks),
            signatures: self.signatures.max(other.signatures),
        }
    }

    /// Refuses what mainnet would refuse (the bank panics on an oversize transaction).
    fn check(self) -> Result<Self> {
        if self.bytes > MAX_TX_BYTES || self.locks > MAX_TX_KEYS {
            bail!(
                "transaction of {} bytes and {} account locks exceeds mainnet's limits",
                self.bytes,
                self.locks
            );
        }
        Ok(self)
    }
}

/// Greedily packs instructions (all paid by `payer`, signed by the same keys) into as few
/// transactions as fit the packet and lock limits.
pub fn pack(instructions: Vec<Instruction>, payer: &Pubkey) -> Result<Vec<Vec<Instruction>>> {
    let mut groups: Vec<Vec<Instruction>> = Vec::new();
    let mut current: Vec<Instruction> = Vec::new();
    for ix in instructions {
        current.push(ix);
        let tx = Transaction::new_with_payer(&current, Some(payer));
        let bytes = bincode::serialized_size(&tx).context("serialize transaction")? as usize;
        if bytes > MAX_TX_BYTES || tx.message.account_keys.len() > MAX_TX_KEYS {
            let ix = current
                .pop()
                .context("a group holds the instruction just pushed")?;
            if current.is_empty() {
                bail!("one instruction alone does not fit a transaction");
            }
            groups.push(std::mem::take(&mut current));
            current.push(ix);
        }
    }
    if !current.is_empty() {
        groups.push(current);
    }
    Ok(groups)
}

/// Windows of signed transactions confirming in the background while the caller signs the
/// next: one window left in flight (none in `Seq` mode, where order matters).
pub struct Pipeline {
    client: BanksClient,
    mode: SendMode,
    in_flight: VecDeque<JoinHandle<Result<()>>>,
}

impl Pipeline {
    /// Sends `txs` in the background; returns once at most one earlier window is still
    /// confirming.
    pub async fn push(&mut self, txs: Vec<VersionedTransaction>) -> Result<()> {
        let job = confirm_all(self.client.clone(), self.mode, txs);
        self.in_flight.push_back(tokio::spawn(job));
        let overlap = match self.mode {
            SendMode::Seq => 0,
            SendMode::Join | SendMode::Fire => 1,
        };
        while self.in_flight.len() > overlap {
            self.wait_oldest().await?;
        }
        Ok(())
    }

    /// Returns once every window sent has landed.
    pub async fn drain(&mut self) -> Result<()> {
        while !self.in_flight.is_empty() {
            self.wait_oldest().await?;
        }
        Ok(())
    }

    async fn wait_oldest(&mut self) -> Result<()> {
        match self.in_flight.pop_front() {
            Some(handle) => handle.await.context("join a window")?,
            None => Ok(()),
        }
    }
}

pub struct Net {
    pub ctx: ProgramTestContext,
    pub mode: SendMode,
    pub window: usize,
}

impl Net {
    /// Transactions signed under one blockhash. One at a time in `Seq` mode: a blockhash
    /// expires after 150 of the bank's ~6.4 ms ticks, sooner than a window would drain.
    pub fn window(&self) -> usize {
        match self.mode {
            SendMode::Seq => 1,
            SendMode::Join | SendMode::Fire => self.window,
        }
    }

    pub fn client(&self) -> BanksClient {
        self.ctx.banks_client.clone()
    }

    /// A pipeline for windows of transactions that do not depend on each other's order.
    pub fn pipeline(&self) -> Pipeline {
        Pipeline {
            client: self.client(),
            mode: self.mode,
            in_flight: VecDeque::new(),
        }
    }

    pub async fn blockhash(&self) -> Result<Hash> {
        self.ctx
            .banks_client
            .get_latest_blockhash()
            .await
            .context("latest blockhash")
    }

    /// Signs under the latest blockhash, checks the limits, returns the transaction.
    pub fn sign(
        instructions: &[Instruction],
        payer: &Keypair,
        signers: &[&Keypair],
        blockhash: Hash,
    ) -> Result<(VersionedTransaction, Shape)> {
        let mut all: Vec<&Keypair> = vec![payer];
        all.extend(
            signers
                .iter()
                .copied()
                .filter(|k| k.pubkey() != payer.pubkey()),
        );
        let tx: VersionedTransaction = Transaction::new_signed_with_payer(
            instructions,
            Some(&payer.pubkey()),
            &all,
            blockhash,
        )
        .into();
        let shape = Shape::of(&tx)?.check()?;
        Ok((tx, shape))
    }

    /// Signs a v0 message with its payer alone, checks the limits.
    pub fn sign_v0(message: v0::Message, payer: &Keypair) -> Result<(VersionedTransaction, Shape)> {
        let tx = VersionedTransaction::try_new(VersionedMessage::V0(message), &[payer])
            .context("sign a v0 transaction")?;
        let shape = Shape::of(&tx)?.check()?;
        Ok((tx, shape))
    }

    /// One transaction, confirmed before returning.
    pub async fn send(
        &self,
        instructions: &[Instruction],
        payer: &Keypair,
        signers: &[&Keypair],
    ) -> Result<Shape> {
        let blockhash = self.blockhash().await?;
        let (tx, shape) = Self::sign(instructions, payer, signers, blockhash)?;
        self.ctx
            .banks_client
            .process_transaction(tx)
            .await
            .context("process transaction")?;
        Ok(shape)
    }

    /// Confirms already signed transactions according to the send mode; they must not depend
    /// on each other's order (except in `Seq` mode, where they run in the given order).
    pub async fn confirm_all(&self, txs: Vec<VersionedTransaction>) -> Result<()> {
        confirm_all(self.client(), self.mode, txs).await
    }

    /// Moves the bank to its next slot (its clock is set again by the caller): a lookup
    /// table is created with a recent slot, and the addresses added to it become usable in
    /// the slot after.
    pub async fn next_slot(&mut self) -> Result<u64> {
        let slot = self
            .ctx
            .banks_client
            .get_root_slot()
            .await
            .context("read the slot")?;
        self.ctx
            .warp_to_slot(slot + 1)
            .map_err(|e| anyhow::anyhow!("warp to slot {}: {e:?}", slot + 1))?;
        Ok(slot)
    }

    pub async fn set_time(&mut self, unix_timestamp: i64) -> Result<()> {
        let mut clock: Clock = self
            .ctx
            .banks_client
            .get_sysvar()
            .await
            .context("read the clock")?;
        clock.unix_timestamp = unix_timestamp;
        self.ctx.set_sysvar(&clock);
        Ok(())
    }

    /// Many accounts, read concurrently.
    pub async fn accounts(&self, keys: &[Pubkey]) -> Result<Vec<Option<Account>>> {
        let mut out = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(512) {
            let mut set = JoinSet::new();
            for (i, key) in chunk.iter().enumerate() {
                let client = self.client();
                let key = *key;
                set.spawn(async move { (i, client.get_account(key).await) });
            }
            let mut part: Vec<Option<Account>> = vec![None; chunk.len()];
            while let Some(joined) = set.join_next().await {
                let (i, account) = joined.context("join account read")?;
                part[i] = account.context("get account")?;
            }
            out.extend(part);
        }
        Ok(out)
    }

    /// Σ lamports of `keys` (missing accounts count 0).
    pub async fn lamports(&self, keys: &[Pubkey]) -> Result<u64> {
        Ok(self
            .accounts(keys)
            .await?
            .iter()
            .map(|a| a.as_ref().map_or(0, |a| a.lamports))
            .sum())
    }
}

/// See `Net::confirm_all`.
pub async fn confirm_all(
    client: BanksClient,
    mode: SendMode,
    txs: Vec<VersionedTransaction>,
) -> Result<()> {
    match mode {
        SendMode::Seq => {
            for tx in txs {
                client
                    .process_transaction(tx)
                    .await
                    .context("process transaction")?;
            }
        }
        SendMode::Join => {
            client
                .process_transactions(txs)
                .await
                .context("process transactions")?;
        }
        SendMode::Fire => {
            let mut pending: Vec<_> = txs.iter().map(|tx| tx.signatures[0]).collect();
            for tx in txs {
                client
                    .send_transaction(tx)
                    .await
                    .context("send transaction")?;
            }
            let started = Instant::now();
            loop {
                let statuses = client
                    .get_transaction_statuses(pending.clone())
                    .await
                    .context("transaction statuses")?;
                let mut still = Vec::new();
                sift(
                    &pending,
                    statuses,
                    |s| s.err.as_ref().map(|e| format!("{e:?}")),
                    &mut still,
                )?;
                if landed(&still, started, CONFIRM_TIMEOUT)? {
                    break;
                }
                pending = still;
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
    }
    Ok(())
}

/// Moves the signatures without a status yet into `still`; fails on the first transaction
/// whose status says it failed (`failure` reads the error from a status).
pub fn sift<S>(
    signatures: &[Signature],
    statuses: Vec<Option<S>>,
    failure: impl Fn(&S) -> Option<String>,
    still: &mut Vec<Signature>,
) -> Result<()> {
    for (signature, status) in signatures.iter().zip(statuses) {
        match status {
            None => still.push(*signature),
            Some(status) => {
                if let Some(err) = failure(&status) {
                    bail!("transaction {signature} failed: {err}");
                }
            }
        }
    }
    Ok(())
}

/// Whether nothing is left to wait for; an error once the wait has lasted `timeout`.
pub fn landed(still: &[Signature], started: Instant, timeout: Duration) -> Result<bool> {
    if still.is_empty() {
        return Ok(true);
    }
    if started.elapsed() > timeout {
        bail!("{} transactions never landed", still.len());
    }
    Ok(false)
}
