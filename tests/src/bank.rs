//! The bank under the grid: signing and sending transactions (legacy and v0 over the grid's
//! lookup tables), slots, blockhashes, SOL, and the clock that opens and closes epochs.

use anchor_lang::prelude::{Clock, Pubkey};
use energy_utility::state::{DirectoryEntry, Epoch};
use energy_utility_sdk::{instructions as ix, lookup, pda, settlement};
use solana_instruction::Instruction;
use solana_keypair::Keypair;
use solana_message::{v0, AddressLookupTableAccount, VersionedMessage};
use solana_program_test::BanksClientError;
use solana_signer::Signer;
use solana_transaction::{versioned::VersionedTransaction, Transaction};

use crate::TestGrid;

impl TestGrid {
    /// Signs with the context payer plus `signers` and processes one transaction, under the
    /// bank's latest blockhash (blockhashes expire after 150 ticks of the test bank's clock).
    pub async fn send(
        &mut self,
        instructions: &[Instruction],
        signers: &[&Keypair],
    ) -> Result<(), BanksClientError> {
        self.ctx.last_blockhash = self.ctx.banks_client.get_latest_blockhash().await?;
        let tx = self.transaction(instructions, signers);
        self.ctx.banks_client.process_transaction(tx).await
    }

    pub fn transaction(&self, instructions: &[Instruction], signers: &[&Keypair]) -> Transaction {
        Transaction::new_signed_with_payer(
            instructions,
            Some(&self.ctx.payer.pubkey()),
            &self.with_payer(signers),
            self.ctx.last_blockhash,
        )
    }

    /// Signs a v0 transaction (the context payer, plus `signers`) that names accounts through
    /// `tables`, and processes it.
    pub async fn send_v0(
        &mut self,
        instructions: &[Instruction],
        signers: &[&Keypair],
        tables: &[AddressLookupTableAccount],
    ) -> Result<(), BanksClientError> {
        let tx = self.transaction_v0(instructions, signers, tables).await;
        self.ctx.banks_client.process_transaction(tx).await
    }

    pub async fn transaction_v0(
        &mut self,
        instructions: &[Instruction],
        signers: &[&Keypair],
        tables: &[AddressLookupTableAccount],
    ) -> VersionedTransaction {
        self.ctx.last_blockhash = self
            .ctx
            .banks_client
            .get_latest_blockhash()
            .await
            .expect("blockhash");
        let message = v0::Message::try_compile(
            &self.ctx.payer.pubkey(),
            instructions,
            tables,
            self.ctx.last_blockhash,
        )
        .expect("compile a v0 message");
        VersionedTransaction::try_new(VersionedMessage::V0(message), &self.with_payer(signers))
            .expect("sign")
    }

    /// The context payer, who pays every fee, first, then `signers`.
    fn with_payer<'a>(&'a self, signers: &[&'a Keypair]) -> Vec<&'a Keypair> {
        let mut all: Vec<&Keypair> = vec![&self.ctx.payer];
        all.extend(signers.iter().copied());
        all
    }

    /// Moves the bank to its next slot (keeping the test's clock): a lookup table's new
    /// addresses are usable from the slot after they were added.
    pub async fn next_slot(&mut self) {
        let slot = self.ctx.banks_client.get_root_slot().await.expect("slot");
        self.ctx.warp_to_slot(slot + 1).expect("warp");
        let now = self.now;
        self.set_time(now).await;
    }

    /// The grid's meters, in registration order.
    pub async fn meters_in_order(&mut self) -> Vec<Pubkey> {
        let count = self.grid_state().await.meter_count;
        let mut meters = Vec::with_capacity(count as usize);
        for i in 0..count {
            let entry: DirectoryEntry = self.account(&pda::meter_entry(&self.grid, i)).await;
            meters.push(entry.target);
        }
        meters
    }

    /// The grid's address lookup tables for every meter, created, extended and recorded by the
    /// admin as `Client::sync_lookup_tables` does; usable on return (the bank moved a slot).
    pub async fn sync_lookup_tables(&mut self) -> Vec<AddressLookupTableAccount> {
        let meters = self.meters_in_order().await;
        let admin = self.admin.insecure_clone();
        let grid = self.grid;
        let mut tables = Vec::new();
        for (k, chunk) in meters
            .chunks(lookup::METERS_PER_LOOKUP_TABLE as usize)
            .enumerate()
        {
            // A recent slot the bank remembers: the one before the next.
            let slot = self.ctx.banks_client.get_root_slot().await.expect("slot");
            self.next_slot().await;
            let (create, table) = lookup::create_table(&admin.pubkey(), &admin.pubkey(), slot);
            self.send(&[create], &[&admin])
                .await
                .expect("create a lookup table");
            for part in chunk.chunks(lookup::EXTEND_CHUNK) {
                let extend = lookup::extend_table(&table, &admin.pubkey(), &admin.pubkey(), part);
                self.send(&[extend], &[&admin])
                    .await
                    .expect("extend the lookup table");
            }
            let record = ix::record_lookup_table(&admin.pubkey(), &grid, k as u32, &table);
            self.send(&[record], &[&admin])
                .await
                .expect("record the lookup table");
            tables.push(AddressLookupTableAccount {
                key: table,
                addresses: chunk.to_vec(),
            });
        }
        self.next_slot().await;
        tables
    }

    /// Waits for a new blockhash, so that an identical transaction can be sent again.
    pub async fn refresh_blockhash(&mut self) {
        self.ctx
            .get_new_latest_blockhash()
            .await
            .expect("new blockhash");
    }

    pub async fn airdrop(&mut self, to: &Pubkey, lamports: u64) {
        let transfer =
            solana_system_interface::instruction::transfer(&self.ctx.payer.pubkey(), to, lamports);
        self.send(&[transfer], &[]).await.expect("airdrop");
    }

    pub async fn set_time(&mut self, unix_timestamp: i64) {
        let mut clock: Clock = self.ctx.banks_client.get_sysvar().await.expect("clock");
        clock.unix_timestamp = unix_timestamp;
        self.ctx.set_sysvar(&clock);
        self.now = unix_timestamp;
    }

    pub async fn current_epoch(&mut self) -> u64 {
        let grid = self.grid_state().await;
        grid.epoch_at(self.now).expect("epoch")
    }

    /// The first second at which `epoch` stops taking reports and can be settled: the SDK's
    /// rule, with the epoch's account when it exists.
    pub async fn reports_close_at(&mut self, epoch: u64) -> i64 {
        let grid = self.grid_state().await;
        let state: Option<Epoch> = self.account_if_any(&pda::epoch(&self.grid, epoch)).await;
        settlement::reports_close_at(&grid, state.as_ref(), epoch)
            .expect("the epoch's report window")
    }

    /// Moves the clock to the first second at which `epoch` can be settled.
    pub async fn close_epoch_window(&mut self, epoch: u64) {
        let closes = self.reports_close_at(epoch).await;
        if self.now < closes {
            self.set_time(closes).await;
        }
    }

    /// Moves the clock into the middle of `epoch`.
    pub async fn enter_epoch(&mut self, epoch: u64) {
        let grid = self.grid_state().await;
        let start = grid.epoch_end(epoch).expect("end") - grid.epoch_seconds as i64;
        self.set_time(start + grid.epoch_seconds as i64 / 2).await;
    }
}
