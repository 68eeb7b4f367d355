//! A client over Solana JSON-RPC (nonblocking `solana-rpc-client`): sends and confirms
//! transactions with retries, reads grids, residents, meters and epochs, and runs the
//! settlement crank in as few transactions as fit.

use anchor_lang::prelude::Pubkey;
use anchor_lang::AccountDeserialize;
use anchor_spl::token::TokenAccount;
use solana_commitment_config::CommitmentConfig;
use solana_instruction::Instruction;
use solana_keypair::Keypair;
use solana_message::{AddressLookupTableAccount, VersionedMessage};
use solana_rpc_client::nonblocking::rpc_client::RpcClient;
use solana_rpc_client::rpc_client::SerializableTransaction;
use solana_rpc_client_api::client_error::Error as ClientError;
use solana_signer::Signer;
use solana_transaction::{versioned::VersionedTransaction, Transaction};
use solana_transaction_error::TransactionError;

use crate::accounts::{
    DirectoryEntry, Epoch, EpochStatus, Grid, LookupTableEntry, Meter, Receipt, Resident, Sale,
};
use crate::error::SdkError;
use crate::{instructions, lookup, pda, settlement};

/// How often a transaction whose blockhash expired is signed again and resent.
const SEND_ATTEMPTS: usize = 3;
/// `getMultipleAccounts` takes at most 100 addresses.
const ACCOUNTS_PER_REQUEST: usize = 100;

pub type Result<T> = std::result::Result<T, SdkError>;

/// Why a submitted transaction did not land.
enum Submitted {
    /// Its blockhash expired: sign it again.
    Expired(SdkError),
    Failed(SdkError),
}

pub struct Client {
    pub rpc: RpcClient,
    pub payer: Keypair,
}

/// What one call of the crank did to an epoch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettleOutcome {
    pub epoch: u64,
    pub transactions: usize,
    pub readings: usize,
    pub already_settled: bool,
}

impl Client {
    pub fn new(url: &str, payer: Keypair) -> Self {
        Self {
            rpc: RpcClient::new_with_commitment(url.to_string(), CommitmentConfig::confirmed()),
            payer,
        }
    }

    pub fn payer(&self) -> Pubkey {
        self.payer.pubkey()
    }

    /// Signs with the payer and `signers`, sends, and waits for confirmation. A transaction
    /// whose blockhash expired before it landed is signed again with a fresh one.
    pub async fn send(&self, instructions: &[Instruction], signers: &[&Keypair]) -> Result<String> {
        let mut all: Vec<&Keypair> = vec![&self.payer];
        all.extend(
            signers
                .iter()
                .copied()
                .filter(|s| s.pubkey() != self.payer()),
        );
        let mut last_error = None;
        for _ in 0..SEND_ATTEMPTS {
            let blockhash = self.rpc.get_latest_blockhash().await.map_err(rpc_error)?;
            let tx = Transaction::new_signed_with_payer(
                instructions,
                Some(&self.payer()),
                &all,
                blockhash,
            );
            check_size(&tx)?;
            match self.submit(&tx).await {
                Err(Submitted::Expired(err)) => last_error = Some(err),
                Err(Submitted::Failed(err)) => return Err(err),
                Ok(signature) => return Ok(signature),
            }
        }
        Err(last_error.unwrap_or_else(|| SdkError::Rpc("transaction expired".into())))
    }

    /// Sends a transaction someone else signed (a resident's wallet) and waits for
    /// confirmation. An expired one is refused with a sentence that says to sign it again.
    pub async fn send_signed(&self, tx: &VersionedTransaction) -> Result<String> {
        match self.submit(tx).await {
            Ok(signature) => Ok(signature),
            Err(Submitted::Failed(err)) => Err(err),
            Err(Submitted::Expired(_)) => Err(SdkError::Invalid(
                "the transaction expired before it reached the cluster (a blockhash lasts about a minute): sign it again".into(),
            )),
        }
    }

    /// Sends `tx` and waits for confirmation; the outcome of bytes already processed is theirs.
    async fn submit(
        &self,
        tx: &(impl SerializableTransaction + Sync),
    ) -> std::result::Result<String, Submitted> {
        let err = match self.rpc.send_and_confirm_transaction(tx).await {
            Ok(signature) => return Ok(signature.to_string()),
            Err(err) => err,
        };
        match err.get_transaction_error() {
            Some(TransactionError::BlockhashNotFound) => Err(Submitted::Expired(rpc_error(err))),
            // These very bytes went through before (the same instructions signed again within
            // one block, e.g. by a process that crashed after sending): their outcome is this
            // send's.
            Some(TransactionError::AlreadyProcessed) => {
                let signature = *tx.get_signature();
                match self.rpc.get_signature_status(&signature).await {
                    Ok(Some(Ok(()))) => Ok(signature.to_string()),
                    Ok(Some(Err(tx_err))) => {
                        Err(Submitted::Failed(SdkError::from_transaction_error(tx_err)))
                    }
                    Ok(None) => Err(Submitted::Failed(rpc_error(err))),
                    Err(e) => Err(Submitted::Failed(rpc_error(e))),
                }
            }
            Some(tx_err) => Err(Submitted::Failed(SdkError::from_transaction_error(tx_err))),
            None => Err(Submitted::Failed(rpc_error(err))),
        }
    }

    /// SOL from the cluster's faucet (local cluster, devnet), confirmed before returning the
    /// transaction's signature.
    pub async fn airdrop(&self, to: &Pubkey, lamports: u64) -> Result<String> {
        let signature = self
            .rpc
            .request_airdrop(to, lamports)
            .await
            .map_err(rpc_error)?;
        for _ in 0..120 {
            if self
                .rpc
                .confirm_transaction(&signature)
                .await
                .map_err(rpc_error)?
            {
                return Ok(signature.to_string());
            }
            tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        }
        Err(SdkError::Rpc(format!(
            "airdrop {signature} was not confirmed"
        )))
    }

    /// Moves a local cluster's clock forward (`deu localnet` only: other clusters refuse).
    /// Returns the new cluster time.
    pub async fn advance_clock(&self, seconds: i64) -> Result<i64> {
        let clock: serde_json::Value = self
            .rpc
            .send(
                solana_rpc_client_api::request::RpcRequest::Custom {
                    method: "deuAdvanceClock",
                },
                serde_json::json!([seconds]),
            )
            .await
            .map_err(|e| {
                if e.to_string().contains("Method not found") {
                    SdkError::Invalid("only a local cluster's clock can be moved".into())
                } else {
                    rpc_error(e)
                }
            })?;
        clock["unixTimestamp"]
            .as_i64()
            .ok_or_else(|| SdkError::Rpc("deuAdvanceClock returned no time".into()))
    }

    pub async fn lamports(&self, address: &Pubkey) -> Result<u64> {
        self.rpc.get_balance(address).await.map_err(rpc_error)
    }

    /// Decodes the account at `address`, or `None` if there is none.
    pub async fn account<T: AccountDeserialize>(&self, address: &Pubkey) -> Result<Option<T>> {
        Ok(self.accounts(&[*address]).await?.pop().flatten())
    }

    /// Decodes many accounts, 100 per request.
    pub async fn accounts<T: AccountDeserialize>(
        &self,
        addresses: &[Pubkey],
    ) -> Result<Vec<Option<T>>> {
        let mut out = Vec::with_capacity(addresses.len());
        for chunk in addresses.chunks(ACCOUNTS_PER_REQUEST) {
            let accounts = self
                .rpc
                .get_multiple_accounts(chunk)
                .await
                .map_err(rpc_error)?;
            for (address, account) in chunk.iter().zip(accounts) {
                out.push(match account {
                    None => None,
                    Some(account) => Some(
                        T::try_deserialize(&mut account.data.as_slice()).map_err(|e| {
                            SdkError::Invalid(format!("account {address} does not decode: {e}"))
                        })?,
                    ),
                });
            }
        }
        Ok(out)
    }

    pub async fn grid(&self, name: &str) -> Result<(Pubkey, Grid)> {
        let address = pda::grid(name);
        let grid = self.account(&address).await?.ok_or(SdkError::NotFound {
            what: "grid",
            id: name.to_string(),
        })?;
        Ok((address, grid))
    }

    pub async fn resident(&self, grid: &Pubkey, id: &str) -> Result<(Pubkey, Resident)> {
        let address = pda::resident(grid, id);
        let resident = self.account(&address).await?.ok_or(SdkError::NotFound {
            what: "resident",
            id: id.to_string(),
        })?;
        Ok((address, resident))
    }

    pub async fn meter(&self, grid: &Pubkey, id: &str) -> Result<(Pubkey, Meter)> {
        let address = pda::meter(grid, id);
        let meter = self.account(&address).await?.ok_or(SdkError::NotFound {
            what: "meter",
            id: id.to_string(),
        })?;
        Ok((address, meter))
    }

    pub async fn epoch(&self, grid: &Pubkey, epoch: u64) -> Result<Option<Epoch>> {
        self.account(&pda::epoch(grid, epoch)).await
    }

    /// Every meter of the grid, in registration order, through its directory.
    pub async fn meters(&self, grid: &Pubkey, count: u32) -> Result<Vec<(Pubkey, Meter)>> {
        let entries: Vec<Pubkey> = (0..count).map(|i| pda::meter_entry(grid, i)).collect();
        self.listed(&entries).await
    }

    /// Every resident of the grid, in registration order, through its directory.
    pub async fn residents(&self, grid: &Pubkey, count: u32) -> Result<Vec<(Pubkey, Resident)>> {
        let entries: Vec<Pubkey> = (0..count).map(|i| pda::resident_entry(grid, i)).collect();
        self.listed(&entries).await
    }

    async fn listed<T: AccountDeserialize>(&self, entries: &[Pubkey]) -> Result<Vec<(Pubkey, T)>> {
        let targets: Vec<Pubkey> = self
            .accounts::<DirectoryEntry>(entries)
            .await?
            .into_iter()
            .flatten()
            .map(|entry| entry.target)
            .collect();
        let accounts = self.accounts::<T>(&targets).await?;
        Ok(targets
            .into_iter()
            .zip(accounts)
            .filter_map(|(address, account)| account.map(|a| (address, a)))
            .collect())
    }

    /// The ids of the residents at `addresses`; an address that is no resident shows as itself.
    pub async fn resident_ids(
        &self,
        addresses: &[Pubkey],
    ) -> Result<std::collections::HashMap<Pubkey, String>> {
        let residents = self.accounts::<Resident>(addresses).await?;
        Ok(addresses
            .iter()
            .zip(residents)
            .map(|(a, r)| (*a, r.map_or_else(|| a.to_string(), |r| r.id)))
            .collect())
    }

    /// Coins in a token account (0 if it does not exist).
    pub async fn token_amount(&self, address: &Pubkey) -> Result<u64> {
        Ok(self
            .account::<TokenAccount>(address)
            .await?
            .map_or(0, |account| account.amount))
    }

    /// The cluster's clock (unix seconds), which epochs are computed from.
    pub async fn cluster_time(&self) -> Result<i64> {
        let clock = self
            .rpc
            .get_account(&solana_sdk_ids::sysvar::clock::ID)
            .await
            .map_err(rpc_error)?;
        let bytes: [u8; 8] = clock
            .data
            .get(32..40)
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| SdkError::Rpc("the clock sysvar does not decode".into()))?;
        Ok(i64::from_le_bytes(bytes))
    }

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
                    self.send(&settlement::settle_transaction(grid, epoch, &batch), &[])
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

    /// Meters with an unsettled reading for `epoch`: (consumers, producers).
    /// One v0 settlement transaction over the grid's lookup tables, signed by the payer; a
    /// blockhash that expired before it landed is replaced.
    async fn send_settle_v0(
        &self,
        grid: &Pubkey,
        epoch: u64,
        batch: &[Pubkey],
        tables: &lookup::GridTables,
    ) -> Result<String> {
        let mut last_error = None;
        for _ in 0..SEND_ATTEMPTS {
            let blockhash = self.rpc.get_latest_blockhash().await.map_err(rpc_error)?;
            let message =
                settlement::settle_message_v0(&self.payer(), grid, epoch, batch, tables, blockhash)
                    .map_err(|e| {
                        SdkError::Invalid(format!("compile the settlement message: {e}"))
                    })?;
            let tx = VersionedTransaction::try_new(VersionedMessage::V0(message), &[&self.payer])
                .map_err(|e| SdkError::Invalid(format!("sign the settlement: {e}")))?;
            match self.submit(&tx).await {
                Ok(signature) => return Ok(signature),
                Err(Submitted::Expired(err)) => last_error = Some(err),
                Err(Submitted::Failed(err)) => return Err(err),
            }
        }
        Err(last_error.unwrap_or_else(|| SdkError::Rpc("transaction expired".into())))
    }

    /// The grid's lookup tables that are recorded, with the addresses each lists (in order:
    /// table `k` lists meters `k * 256 ..`).
    pub async fn lookup_tables(
        &self,
        grid: &Pubkey,
        meter_count: u32,
    ) -> Result<lookup::GridTables> {
        let entries: Vec<Pubkey> = (0..lookup::tables_for(meter_count))
            .map(|k| pda::lookup_table_entry(grid, k))
            .collect();
        let tables: Vec<Pubkey> = self
            .accounts::<LookupTableEntry>(&entries)
            .await?
            .into_iter()
            .flatten()
            .map(|entry| entry.table)
            .collect();
        let mut found = Vec::with_capacity(tables.len());
        for chunk in tables.chunks(ACCOUNTS_PER_REQUEST) {
            let accounts = self
                .rpc
                .get_multiple_accounts(chunk)
                .await
                .map_err(rpc_error)?;
            for (key, account) in chunk.iter().zip(accounts) {
                if let Some(account) = account.filter(|a| a.owner == lookup::LOOKUP_TABLE_PROGRAM) {
                    found.push(AddressLookupTableAccount {
                        key: *key,
                        addresses: lookup::addresses(&account.data),
                    });
                }
            }
        }
        Ok(lookup::GridTables::new(found))
    }

    /// The addresses of the grid's meters, in registration order (from its directory).
    pub async fn meter_addresses(&self, grid: &Pubkey, meter_count: u32) -> Result<Vec<Pubkey>> {
        let entries: Vec<Pubkey> = (0..meter_count)
            .map(|i| pda::meter_entry(grid, i))
            .collect();
        Ok(self
            .accounts::<DirectoryEntry>(&entries)
            .await?
            .into_iter()
            .flatten()
            .map(|entry| entry.target)
            .collect())
    }

    /// Brings the grid's lookup tables up to its meters (the payer must be the grid's admin,
    /// who owns the tables): each table is extended with the meters registered since, a new
    /// one created and recorded for every 256, and a table that lists anything else is
    /// replaced. Returns how many addresses were added. Ends once the cluster has moved past
    /// the slot of the last change, when the new addresses become usable.
    pub async fn sync_lookup_tables(&self, grid: &Pubkey) -> Result<usize> {
        let state: Grid = self.account(grid).await?.ok_or(SdkError::NotFound {
            what: "grid",
            id: grid.to_string(),
        })?;
        let meters = self.meter_addresses(grid, state.meter_count).await?;
        let entries: Vec<Pubkey> = (0..lookup::tables_for(state.meter_count))
            .map(|k| pda::lookup_table_entry(grid, k))
            .collect();
        let recorded = self.accounts::<LookupTableEntry>(&entries).await?;
        let admin = self.payer();
        let mut added = 0;
        for (k, wanted) in meters
            .chunks(lookup::METERS_PER_LOOKUP_TABLE as usize)
            .enumerate()
        {
            let index = k as u32;
            let current = match &recorded[k] {
                Some(entry) => self
                    .rpc
                    .get_account(&entry.table)
                    .await
                    .ok()
                    .filter(|a| a.owner == lookup::LOOKUP_TABLE_PROGRAM)
                    .map(|a| (entry.table, lookup::addresses(&a.data))),
                None => None,
            };
            let (table, listed) = match current {
                Some((table, listed)) if wanted.starts_with(&listed) => (table, listed.len()),
                _ => {
                    let slot = self.rpc.get_slot().await.map_err(rpc_error)?;
                    let (create, table) = lookup::create_table(&admin, &admin, slot);
                    self.send(&[create], &[]).await?;
                    self.send(
                        &[instructions::record_lookup_table(
                            &admin, grid, index, &table,
                        )],
                        &[],
                    )
                    .await?;
                    (table, 0)
                }
            };
            for chunk in wanted[listed..].chunks(lookup::EXTEND_CHUNK) {
                self.send(&[lookup::extend_table(&table, &admin, &admin, chunk)], &[])
                    .await?;
                added += chunk.len();
            }
        }
        if added > 0 {
            let changed = self.rpc.get_slot().await.map_err(rpc_error)?;
            for _ in 0..50 {
                if self.rpc.get_slot().await.map_err(rpc_error)? > changed {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        }
        Ok(added)
    }

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

    /// The resident's sales that still exist (ended ones are closed after the grid's receipt
    /// retention), oldest first, with their numbers.
    pub async fn sales(
        &self,
        resident: &Pubkey,
        sale_count: u32,
    ) -> Result<Vec<(u32, Pubkey, Sale)>> {
        let addresses: Vec<Pubkey> = (0..sale_count).map(|n| pda::sale(resident, n)).collect();
        let sales = self.accounts::<Sale>(&addresses).await?;
        Ok((0..sale_count)
            .zip(addresses)
            .zip(sales)
            .filter_map(|((n, address), sale)| sale.map(|s| (n, address, s)))
            .collect())
    }

    /// Every account of type `T` that belongs to `grid` (its first field), through
    /// `getProgramAccounts` filtered by the type's discriminator and the grid's address.
    pub async fn grid_accounts<T: AccountDeserialize + anchor_lang::Discriminator>(
        &self,
        grid: &Pubkey,
    ) -> Result<Vec<(Pubkey, T)>> {
        use solana_rpc_client_api::config::{RpcAccountInfoConfig, RpcProgramAccountsConfig};
        use solana_rpc_client_api::filter::{Memcmp, RpcFilterType};
        let config = RpcProgramAccountsConfig {
            filters: Some(vec![
                RpcFilterType::Memcmp(Memcmp::new_base58_encoded(0, T::DISCRIMINATOR)),
                RpcFilterType::Memcmp(Memcmp::new_base58_encoded(8, grid.as_ref())),
            ]),
            account_config: RpcAccountInfoConfig {
                encoding: Some(solana_rpc_client_api::response::UiAccountEncoding::Base64),
                ..RpcAccountInfoConfig::default()
            },
            with_context: None,
            sort_results: None,
        };
        #[allow(deprecated)]
        let accounts = self
            .rpc
            .get_program_accounts_with_config(&crate::PROGRAM_ID, config)
            .await
            .map_err(rpc_error)?;
        accounts
            .into_iter()
            .map(|(address, account)| {
                T::try_deserialize(&mut account.data.as_slice())
                    .map(|decoded| (address, decoded))
                    .map_err(|e| {
                        SdkError::Invalid(format!("account {address} does not decode: {e}"))
                    })
            })
            .collect()
    }

    /// Closes the grid's receipts and ended sales whose retention has passed, returning each
    /// rent to its payer: `(receipts, sales)` closed.
    pub async fn close_expired(&self, grid: &Pubkey) -> Result<(usize, usize)> {
        let (_, state) = self.grid_state(grid).await?;
        let now = self.cluster_time().await?;
        let retention = state.oracle_limits.receipt_retention_seconds;
        let mut closed = (0, 0);
        for (_, receipt) in self.grid_accounts::<Receipt>(grid).await? {
            if receipt.closable_at(now, retention) {
                let ix =
                    instructions::close_receipt(grid, &receipt.payment_id, &receipt.rent_payer);
                self.send(&[ix], &[]).await?;
                closed.0 += 1;
            }
        }
        for (address, sale) in self.grid_accounts::<Sale>(grid).await? {
            if sale.closable_at(now, retention) {
                self.send(
                    &[instructions::close_sale(grid, &address, &sale.rent_payer)],
                    &[],
                )
                .await?;
                closed.1 += 1;
            }
        }
        Ok(closed)
    }

    async fn grid_state(&self, grid: &Pubkey) -> Result<(Pubkey, Grid)> {
        let state = self
            .account::<Grid>(grid)
            .await?
            .ok_or(SdkError::NotFound {
                what: "grid",
                id: grid.to_string(),
            })?;
        Ok((*grid, state))
    }

    /// Disconnects every consumer meter that has been silent for the grid's
    /// `max_silent_epochs` closed epochs (permissionless). Returns their ids.
    pub async fn disconnect_silent_meters(&self, grid: &Pubkey) -> Result<Vec<String>> {
        let (_, state) = self.grid_state(grid).await?;
        let now = self.cluster_time().await?;
        let Ok(current) = state.epoch_at(now) else {
            return Ok(Vec::new());
        };
        let params = state.params_for(current);
        let Some(last_closed) = state.last_closed_epoch(now, params.grace_seconds) else {
            return Ok(Vec::new());
        };
        let mut silenced = Vec::new();
        for (address, meter) in self.meters(grid, state.meter_count).await? {
            let silent = meter.is_consumer()
                && meter.active
                && !meter.silent
                && meter.silent_epochs(last_closed) >= params.max_silent_epochs as u64;
            if silent {
                match self
                    .send(&[instructions::disconnect_silent(grid, &address)], &[])
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

    /// Closes a settled epoch's account, returning its rent to whoever paid it.
    pub async fn close_epoch(&self, grid: &Pubkey, epoch: u64) -> Result<()> {
        let state = self.epoch(grid, epoch).await?.ok_or(SdkError::NotFound {
            what: "epoch",
            id: epoch.to_string(),
        })?;
        self.send(
            &[instructions::close_epoch(grid, epoch, &state.rent_payer)],
            &[],
        )
        .await
        .map(|_| ())
    }
}

fn check_size(tx: &Transaction) -> Result<()> {
    let size = bincode::serialize(tx)
        .map_err(|e| SdkError::Invalid(format!("transaction does not serialize: {e}")))?
        .len();
    if size > settlement::MAX_TRANSACTION_BYTES {
        return Err(SdkError::Invalid(format!(
            "transaction is {size} bytes, over Solana's {} byte limit",
            settlement::MAX_TRANSACTION_BYTES
        )));
    }
    Ok(())
}

pub(crate) fn rpc_error(err: ClientError) -> SdkError {
    SdkError::Rpc(err.to_string())
}
