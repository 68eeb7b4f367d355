//! Test harness: a community grid with named actors, running the real program inside a real
//! Agave bank (`solana-program-test`), with SPL Token as real BPF. The bank comes from
//! `energy-utility-bank`: native program, or the BPF build when `target/deploy` has one.

use std::collections::BTreeMap;

use anchor_lang::prelude::{Clock, Pubkey};
use anchor_lang::AccountDeserialize;
use anchor_spl::token::{spl_token, Mint, TokenAccount};
use energy_utility::constants::{UNITS_PER_COIN, WH_PER_KWH};
use energy_utility::instructions::{InitializeGridArgs, RegisterMeterArgs};
use energy_utility::state::{
    DirectoryEntry, Epoch, EpochParams, Grid, Meter, MeterKind, Resident, Sale,
};
use energy_utility_sdk::{fiat, instructions as ix, lookup, pda, settlement};
use solana_account::Account;
use solana_instruction::Instruction;
use solana_keypair::Keypair;
use solana_message::{v0, AddressLookupTableAccount, VersionedMessage};
use solana_program_test::{BanksClientError, ProgramTestContext};
use solana_signer::Signer;
use solana_transaction::{versioned::VersionedTransaction, Transaction};
use solana_transaction_error::TransactionError;

pub use solana_instruction::error::InstructionError;

/// One coin `k` in base units.
pub const K: u64 = UNITS_PER_COIN;
/// One kWh in watt-hours.
pub const KWH: u64 = WH_PER_KWH;
/// The bank's clock at the start of every test: two minutes past an hour boundary
/// (1,800,000,000 is a multiple of 3,600).
pub const START_TS: i64 = 1_800_000_000 + 120;
pub use energy_utility_bank::{program_test, MAINNET_ACCOUNT_LOCKS};
/// Test meters' capacity unless a test sets one: 1 MW.
pub const DEFAULT_TEST_CAPACITY_W: u64 = 1_000_000;
/// The bank account residents sell to in tests (the sandbox's account that is paid).
pub const TEST_BANK_ACCOUNT: &str = "000123456789";
/// Mainnet's packet size limit for a transaction.
pub const MAINNET_TX_BYTES: usize = 1_232;

/// A resident: their wallet, their resident account and their coin account.
pub struct Actor {
    pub wallet: Keypair,
    pub resident: Pubkey,
    pub coins: Pubkey,
}

/// A meter and the gateway key that signs its reports.
pub struct MeterRef {
    pub address: Pubkey,
    pub gateway: Keypair,
    pub kind: MeterKind,
    pub owner: String,
}

/// A grid in a running bank, with its admin, oracle, residents and meters by name.
pub struct TestGrid {
    pub ctx: ProgramTestContext,
    pub admin: Keypair,
    pub oracle: Keypair,
    pub name: String,
    pub grid: Pubkey,
    pub now: i64,
    pub residents: BTreeMap<String, Actor>,
    pub meters: BTreeMap<String, MeterRef>,
    payments: u64,
}

impl TestGrid {
    /// A grid named "green-valley" with the design's defaults.
    pub async fn start() -> Self {
        Self::start_with(EpochParams::default()).await
    }

    pub async fn start_with(params: EpochParams) -> Self {
        let ctx = program_test().start_with_context().await;
        let mut grid = Self::from_context(ctx, "green-valley");
        grid.set_time(START_TS).await;
        grid.init_grid(params).await;
        grid
    }

    /// The design's community: Angel and Bennie produce; Carlos and Danny consume. Everyone
    /// has bought 20 k ($2.00 at $0.10 per k), and the consumers have prepaid 10 k each.
    pub async fn seed_community() -> Self {
        let mut g = Self::start().await;
        for id in ["angel", "bennie", "carlos", "danny"] {
            g.add_resident(id).await;
            g.buy(id, 200).await;
        }
        g.add_meter("angel-roof", MeterKind::Producer, "angel")
            .await;
        g.add_meter("bennie-roof", MeterKind::Producer, "bennie")
            .await;
        g.add_meter("carlos-house", MeterKind::Household, "carlos")
            .await;
        g.add_meter("danny-house", MeterKind::Household, "danny")
            .await;
        g.fund("carlos", "carlos-house", 10 * K)
            .await
            .expect("fund carlos");
        g.fund("danny", "danny-house", 10 * K)
            .await
            .expect("fund danny");
        g
    }

    /// The design's worked example for `epoch`: consumers 3 and 2 kWh, producers 3 and 2.5.
    pub async fn report_seed_example(&mut self, epoch: u64) {
        for (meter, wh) in [
            ("carlos-house", 3 * KWH),
            ("danny-house", 2 * KWH),
            ("angel-roof", 3 * KWH),
            ("bennie-roof", 2_500),
        ] {
            self.report(meter, epoch, wh).await.expect("report");
        }
    }

    /// A second grid in the same bank (for cross-grid attacks).
    pub async fn add_grid(&mut self, name: &str) -> Pubkey {
        let args = InitializeGridArgs::with_defaults(name, self.oracle.pubkey());
        let admin = self.admin.insecure_clone();
        self.send(&[ix::initialize_grid(&admin.pubkey(), args)], &[&admin])
            .await
            .expect("initialize second grid");
        pda::grid(name)
    }

    fn from_context(ctx: ProgramTestContext, name: &str) -> Self {
        Self {
            ctx,
            admin: Keypair::new(),
            oracle: Keypair::new(),
            name: name.to_string(),
            grid: pda::grid(name),
            now: START_TS,
            residents: BTreeMap::new(),
            meters: BTreeMap::new(),
            payments: 0,
        }
    }

    async fn init_grid(&mut self, params: EpochParams) {
        let admin = self.admin.insecure_clone();
        let oracle = self.oracle.pubkey();
        self.airdrop(&admin.pubkey(), 10_000_000_000).await;
        self.airdrop(&oracle, 10_000_000_000).await;
        let args = InitializeGridArgs {
            params,
            ..InitializeGridArgs::with_defaults(&self.name, oracle)
        };
        self.send(&[ix::initialize_grid(&admin.pubkey(), args)], &[&admin])
            .await
            .expect("initialize grid");
    }

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
        let mut all: Vec<&Keypair> = vec![&self.ctx.payer];
        all.extend(signers.iter().copied());
        Transaction::new_signed_with_payer(
            instructions,
            Some(&self.ctx.payer.pubkey()),
            &all,
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
        let mut all: Vec<&Keypair> = vec![&self.ctx.payer];
        all.extend(signers.iter().copied());
        VersionedTransaction::try_new(VersionedMessage::V0(message), &all).expect("sign")
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
            self.send(
                &[ix::record_lookup_table(
                    &admin.pubkey(),
                    &grid,
                    k as u32,
                    &table,
                )],
                &[&admin],
            )
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
        let state = self
            .ctx
            .banks_client
            .get_account(pda::epoch(&self.grid, epoch))
            .await
            .expect("read the epoch")
            .map(|a| {
                <Epoch as anchor_lang::AccountDeserialize>::try_deserialize(&mut a.data.as_slice())
                    .expect("decode the epoch")
            });
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

    pub async fn add_resident(&mut self, id: &str) -> Pubkey {
        let wallet = Keypair::new();
        self.airdrop(&wallet.pubkey(), 1_000_000_000).await;
        let grid = self.grid;
        let index = self.grid_state().await.resident_count;
        self.send(
            &[ix::register_resident(&wallet.pubkey(), &grid, index, id)],
            &[&wallet],
        )
        .await
        .expect("register resident");
        let resident = pda::resident(&grid, id);
        self.residents.insert(
            id.to_string(),
            Actor {
                wallet,
                resident,
                coins: pda::coins(&resident),
            },
        );
        resident
    }

    /// A meter with a capacity of 1 MW (the grid's default per-epoch limit is 1 MWh, so the
    /// capacity never binds unless a test asks) and a register starting at zero.
    pub async fn add_meter(&mut self, id: &str, kind: MeterKind, owner: &str) -> Pubkey {
        self.add_meter_with(id, kind, owner, DEFAULT_TEST_CAPACITY_W, 0)
            .await
    }

    pub async fn add_meter_with(
        &mut self,
        id: &str,
        kind: MeterKind,
        owner: &str,
        capacity_w: u64,
        register_wh: u64,
    ) -> Pubkey {
        let gateway = Keypair::new();
        self.airdrop(&gateway.pubkey(), 1_000_000_000).await;
        let owner_address = self.resident(owner).resident;
        let args = RegisterMeterArgs {
            meter_id: id.to_string(),
            kind,
            gateway: gateway.pubkey(),
            label: format!("{kind:?} of {owner}"),
            latitude_micro: 45_000_000,
            longitude_micro: -73_000_000,
            capacity_w,
            register_wh,
        };
        let admin = self.admin.insecure_clone();
        let grid = self.grid;
        let index = self.grid_state().await.meter_count;
        self.send(
            &[ix::register_meter(
                &admin.pubkey(),
                &grid,
                &owner_address,
                index,
                args,
            )],
            &[&admin],
        )
        .await
        .expect("register meter");
        let address = pda::meter(&grid, id);
        self.meters.insert(
            id.to_string(),
            MeterRef {
                address,
                gateway,
                kind,
                owner: owner.to_string(),
            },
        );
        address
    }

    pub fn resident(&self, id: &str) -> &Actor {
        self.residents
            .get(id)
            .unwrap_or_else(|| panic!("no resident {id}"))
    }

    pub fn meter(&self, id: &str) -> &MeterRef {
        self.meters
            .get(id)
            .unwrap_or_else(|| panic!("no meter {id}"))
    }

    /// The oracle mints coins for `cents` paid by `resident`, under a fresh payment id.
    pub async fn buy(&mut self, resident: &str, cents: u64) {
        self.payments += 1;
        let payment_id = format!("evt_test_{}", self.payments);
        self.add_fiat(resident, cents, &payment_id)
            .await
            .expect("buy coins");
    }

    /// The oracle applies a payment of `cents` that happened now.
    pub async fn add_fiat(
        &mut self,
        resident: &str,
        cents: u64,
        payment_id: &str,
    ) -> Result<(), BanksClientError> {
        let now = self.now;
        self.add_fiat_at(resident, cents, payment_id, now).await
    }

    /// The oracle applies a payment of `cents` the processor dates `event_ts`.
    pub async fn add_fiat_at(
        &mut self,
        resident: &str,
        cents: u64,
        payment_id: &str,
        event_ts: i64,
    ) -> Result<(), BanksClientError> {
        let oracle = self.oracle.insecure_clone();
        let resident = self.resident(resident).resident;
        let grid = self.grid;
        let instruction = ix::add_fiat(
            &oracle.pubkey(),
            &grid,
            &resident,
            cents,
            payment_id,
            event_ts,
        );
        self.send(&[instruction], &[&oracle]).await
    }

    /// The resident sells `amount_units` to be paid out to `destination`; returns the new
    /// sale's number.
    pub async fn request_withdrawal(
        &mut self,
        resident: &str,
        amount_units: u64,
        destination: &str,
    ) -> Result<u32, BanksClientError> {
        let number = self.resident_state(resident).await.sale_count;
        let actor = self.resident(resident);
        let wallet = actor.wallet.insecure_clone();
        let address = actor.resident;
        let grid = self.grid;
        let instruction = ix::request_withdrawal(
            &wallet.pubkey(),
            &grid,
            &address,
            number,
            amount_units,
            fiat::destination_hash(destination),
        );
        self.send(&[instruction], &[&wallet]).await.map(|_| number)
    }

    /// The resident takes back their sale `number`.
    pub async fn cancel_withdrawal(
        &mut self,
        resident: &str,
        number: u32,
    ) -> Result<(), BanksClientError> {
        let actor = self.resident(resident);
        let wallet = actor.wallet.insecure_clone();
        let address = actor.resident;
        let grid = self.grid;
        let instruction = ix::cancel_withdrawal(&wallet.pubkey(), &grid, &address, number);
        self.send(&[instruction], &[&wallet]).await
    }

    /// The oracle locks sale `number` for a payout of `cents` to `destination`.
    pub async fn lock_withdrawal(
        &mut self,
        resident: &str,
        number: u32,
        cents: u64,
        destination: &str,
    ) -> Result<(), BanksClientError> {
        let oracle = self.oracle.insecure_clone();
        let resident = self.resident(resident).resident;
        let grid = self.grid;
        let instruction = ix::lock_withdrawal(
            &oracle.pubkey(),
            &grid,
            &resident,
            number,
            cents,
            fiat::destination_hash(destination),
        );
        self.send(&[instruction], &[&oracle]).await
    }

    /// The oracle reports sale `number`'s payout paid.
    pub async fn payout_paid(
        &mut self,
        resident: &str,
        number: u32,
        payout_id: &str,
    ) -> Result<(), BanksClientError> {
        let oracle = self.oracle.insecure_clone();
        let resident = self.resident(resident).resident;
        let grid = self.grid;
        let instruction = ix::payout_paid(&oracle.pubkey(), &grid, &resident, number, payout_id);
        self.send(&[instruction], &[&oracle]).await
    }

    /// The oracle reports sale `number`'s payout failed (or canceled).
    pub async fn payout_failed(
        &mut self,
        resident: &str,
        number: u32,
        payout_id: &str,
    ) -> Result<(), BanksClientError> {
        let oracle = self.oracle.insecure_clone();
        let resident = self.resident(resident).resident;
        let grid = self.grid;
        let instruction = ix::payout_failed(&oracle.pubkey(), &grid, &resident, number, payout_id);
        self.send(&[instruction], &[&oracle]).await
    }

    /// A whole sale of `amount_units` for what they are worth now: requested, locked, and the
    /// payout paid. Returns the sale's number.
    pub async fn sell(&mut self, resident: &str, amount_units: u64, payout: &str) -> u32 {
        let number = self
            .request_withdrawal(resident, amount_units, TEST_BANK_ACCOUNT)
            .await
            .expect("request withdrawal");
        let price = self.grid_state().await.coin_price_cents;
        let cents = fiat::quote_payout_cents(amount_units, price).expect("quote");
        self.lock_withdrawal(resident, number, cents, TEST_BANK_ACCOUNT)
            .await
            .expect("lock withdrawal");
        self.payout_paid(resident, number, payout)
            .await
            .expect("payout paid");
        number
    }

    /// The admin retires a meter; its spare coins go to its owner.
    pub async fn deactivate_meter(&mut self, meter: &str) -> Result<(), BanksClientError> {
        let admin = self.admin.insecure_clone();
        let instruction = self.deactivate_instruction(&admin.pubkey(), meter);
        self.send(&[instruction], &[&admin]).await
    }

    /// `deactivate_meter` for `meter`, signed by `admin` (who may not be the grid's).
    pub fn deactivate_instruction(&self, admin: &Pubkey, meter: &str) -> Instruction {
        let meter = self.meter(meter);
        let owner = self.resident(&meter.owner).resident;
        ix::deactivate_meter(admin, &self.grid, &meter.address, &owner)
    }

    /// The admin closes a retired meter whose readings are all settled.
    pub async fn close_meter(&mut self, meter: &str) -> Result<(), BanksClientError> {
        let admin = self.admin.insecure_clone();
        let state = self.meter_state(meter).await;
        let owner = self.resident(&self.meter(meter).owner).resident;
        let address = self.meter(meter).address;
        let grid = self.grid;
        let instruction = ix::close_meter(
            &admin.pubkey(),
            &grid,
            &address,
            state.index,
            &owner,
            &state.rent_payer,
        );
        self.send(&[instruction], &[&admin]).await
    }

    pub async fn sale_state(&mut self, resident: &str, number: u32) -> Sale {
        let address = pda::sale(&self.resident(resident).resident, number);
        self.account(&address).await
    }

    pub async fn fund(
        &mut self,
        funder: &str,
        meter: &str,
        amount_units: u64,
    ) -> Result<(), BanksClientError> {
        let actor = self.resident(funder);
        let wallet = actor.wallet.insecure_clone();
        let resident = actor.resident;
        let meter = self.meter(meter).address;
        let grid = self.grid;
        let instruction = ix::fund(&wallet.pubkey(), &grid, &resident, &meter, amount_units);
        self.send(&[instruction], &[&wallet]).await
    }

    /// The meter's gateway reports `wh` for `epoch`; the context payer pays.
    /// The meter's gateway reports that it used (or produced) `wh` since its last report: its
    /// register moved that much from the last register the chain holds.
    pub async fn report(
        &mut self,
        meter: &str,
        epoch: u64,
        wh: u64,
    ) -> Result<(), BanksClientError> {
        let register = self.meter_state(meter).await.last_register_wh + wh;
        self.report_register(meter, epoch, register).await
    }

    /// The meter's gateway reports the meter's cumulative register for `epoch`.
    pub async fn report_register(
        &mut self,
        meter: &str,
        epoch: u64,
        register_wh: u64,
    ) -> Result<(), BanksClientError> {
        let meter = self.meter(meter);
        let gateway = meter.gateway.insecure_clone();
        let address = meter.address;
        let grid = self.grid;
        let payer = self.ctx.payer.pubkey();
        let instruction = ix::report(
            &gateway.pubkey(),
            &payer,
            &grid,
            &address,
            epoch,
            register_wh,
        );
        self.send(&[instruction], &[&gateway]).await
    }

    /// One settlement call over the named meters.
    pub async fn settle(&mut self, epoch: u64, meters: &[&str]) -> Result<(), BanksClientError> {
        let addresses: Vec<Pubkey> = meters.iter().map(|m| self.meter(m).address).collect();
        let grid = self.grid;
        self.send(&[ix::settle(&grid, epoch, &addresses)], &[])
            .await
    }

    /// Settles `epoch` the way the crank does: the SDK's batches, in order.
    pub async fn settle_all(&mut self, epoch: u64) {
        let mut consumers = Vec::new();
        let mut producers = Vec::new();
        let meters: Vec<(Pubkey, MeterKind)> =
            self.meters.values().map(|m| (m.address, m.kind)).collect();
        for (address, kind) in meters {
            let state = self.meter_state_at(&address).await;
            if state.pending_wh(epoch).is_some() {
                if kind == MeterKind::Producer {
                    producers.push(address);
                } else {
                    consumers.push(address);
                }
            }
        }
        let grid = self.grid;
        for batch in settlement::plan_batches(&consumers, &producers) {
            self.send(&settlement::settle_transaction(&grid, epoch, &batch), &[])
                .await
                .expect("settle batch");
        }
        let state = self.epoch_state(epoch).await;
        assert_eq!(
            state.status,
            energy_utility::state::EpochStatus::Settled,
            "epoch {epoch} settled"
        );
    }

    pub async fn collect(&mut self, meter: &str) -> Result<(), BanksClientError> {
        let owner = self.resident(&self.meter(meter).owner).resident;
        let address = self.meter(meter).address;
        let grid = self.grid;
        self.send(&[ix::collect_earnings(&grid, &address, &owner)], &[])
            .await
    }

    pub async fn account<T: AccountDeserialize>(&mut self, address: &Pubkey) -> T {
        let account = self
            .ctx
            .banks_client
            .get_account(*address)
            .await
            .expect("get account")
            .unwrap_or_else(|| panic!("no account at {address}"));
        T::try_deserialize(&mut account.data.as_slice()).expect("decode account")
    }

    pub async fn exists(&mut self, address: &Pubkey) -> bool {
        self.ctx
            .banks_client
            .get_account(*address)
            .await
            .expect("get account")
            .is_some()
    }

    pub async fn lamports(&mut self, address: &Pubkey) -> u64 {
        self.ctx
            .banks_client
            .get_balance(*address)
            .await
            .expect("balance")
    }

    pub async fn grid_state(&mut self) -> Grid {
        let grid = self.grid;
        self.account(&grid).await
    }

    pub async fn meter_state(&mut self, id: &str) -> Meter {
        let address = self.meter(id).address;
        self.account(&address).await
    }

    pub async fn meter_state_at(&mut self, address: &Pubkey) -> Meter {
        self.account(address).await
    }

    pub async fn resident_state(&mut self, id: &str) -> Resident {
        let address = self.resident(id).resident;
        self.account(&address).await
    }

    pub async fn epoch_state(&mut self, epoch: u64) -> Epoch {
        let address = pda::epoch(&self.grid, epoch);
        self.account(&address).await
    }

    pub async fn token_amount(&mut self, token_account: &Pubkey) -> u64 {
        let account: TokenAccount = self.account(token_account).await;
        account.amount
    }

    /// Coins in a resident's own account.
    pub async fn coins(&mut self, resident: &str) -> u64 {
        let coins = self.resident(resident).coins;
        self.token_amount(&coins).await
    }

    pub async fn treasury(&mut self) -> u64 {
        let address = pda::treasury(&self.grid);
        self.token_amount(&address).await
    }

    pub async fn pool(&mut self) -> u64 {
        let address = pda::pool(&self.grid);
        self.token_amount(&address).await
    }

    pub async fn vault(&mut self) -> u64 {
        let address = pda::vault(&self.grid);
        self.token_amount(&address).await
    }

    pub async fn escrow(&mut self) -> u64 {
        let address = pda::escrow(&self.grid);
        self.token_amount(&address).await
    }

    pub async fn supply(&mut self) -> u64 {
        let address = pda::mint(&self.grid);
        let mint: Mint = self.account(&address).await;
        mint.supply
    }

    /// Checks, exactly, that every coin ever minted is somewhere the grid accounts for:
    /// residents' accounts, the vault (= Σ meter balances), the pool (= carry + in flight),
    /// the escrow (= Σ escrows) and the treasury.
    pub async fn assert_books_balance(&mut self) {
        let grid = self.grid_state().await;
        let mut meter_sum = 0;
        let meters: Vec<Pubkey> = self.meters.values().map(|m| m.address).collect();
        for address in &meters {
            meter_sum += self.meter_state_at(address).await.balance_units;
        }
        let mut resident_coins = 0;
        let mut escrows = 0;
        let ids: Vec<String> = self.residents.keys().cloned().collect();
        for id in &ids {
            resident_coins += self.coins(id).await;
            let resident = self.resident_state(id).await;
            escrows += resident.escrow_units + resident.locked_units;
        }
        let (vault, pool, escrow, treasury) = (
            self.vault().await,
            self.pool().await,
            self.escrow().await,
            self.treasury().await,
        );
        assert_eq!(vault, meter_sum, "vault backs every meter balance");
        assert_eq!(vault, grid.meter_balances_units);
        assert_eq!(pool, grid.carry_units + grid.pool_in_flight_units);
        assert_eq!(escrow, escrows, "escrow backs every resident escrow");
        assert_eq!(escrow, grid.escrow_units);
        assert_eq!(
            self.supply().await,
            resident_coins + vault + pool + escrow + treasury,
            "every minted coin is accounted for"
        );
    }
}

// Refusals change nothing: a snapshot of every account a refused instruction could touch.

/// The raw accounts (lamports, owner, data) of everything a refused instruction could touch:
/// the grid and its coin accounts, every resident, wallet, coin account, meter and gateway,
/// the epochs around now, and `extra`.
pub struct Watch {
    pub addresses: Vec<Pubkey>,
    pub before: Vec<Option<Account>>,
}

pub async fn watch(g: &mut TestGrid, extra: &[Pubkey]) -> Watch {
    let grid = g.grid;
    let mut addresses = vec![
        grid,
        pda::mint(&grid),
        pda::vault(&grid),
        pda::pool(&grid),
        pda::treasury(&grid),
        pda::escrow(&grid),
    ];
    for actor in g.residents.values() {
        addresses.extend([actor.wallet.pubkey(), actor.resident, actor.coins]);
    }
    for meter in g.meters.values() {
        addresses.extend([meter.address, meter.gateway.pubkey()]);
    }
    let current = g.current_epoch().await;
    addresses.extend((current.saturating_sub(2)..=current + 2).map(|e| pda::epoch(&grid, e)));
    addresses.extend_from_slice(extra);
    let before = snapshot(g, &addresses).await;
    Watch { addresses, before }
}

pub async fn snapshot(g: &mut TestGrid, addresses: &[Pubkey]) -> Vec<Option<Account>> {
    let mut accounts = Vec::with_capacity(addresses.len());
    for address in addresses {
        accounts.push(
            g.ctx
                .banks_client
                .get_account(*address)
                .await
                .expect("get account"),
        );
    }
    accounts
}

#[track_caller]
pub fn assert_same(addresses: &[Pubkey], before: &[Option<Account>], after: &[Option<Account>]) {
    for ((address, before), after) in addresses.iter().zip(before).zip(after) {
        assert_eq!(before, after, "account {address} changed");
    }
}

pub async fn assert_unchanged(g: &mut TestGrid, watch: &Watch) {
    let after = snapshot(g, &watch.addresses).await;
    assert_same(&watch.addresses, &watch.before, &after);
}

/// The program error code inside a failed transaction, if it failed with one.
pub fn custom_error(err: &BanksClientError) -> Option<u32> {
    match err {
        BanksClientError::TransactionError(TransactionError::InstructionError(
            _,
            InstructionError::Custom(code),
        ))
        | BanksClientError::SimulationError {
            err: TransactionError::InstructionError(_, InstructionError::Custom(code)),
            ..
        } => Some(*code),
        _ => None,
    }
}

/// Asserts that `result` failed with the program error `expected` (an `EnergyError` or an
/// Anchor `ErrorCode`).
#[track_caller]
pub fn assert_fails_with<T: std::fmt::Debug>(
    result: Result<T, BanksClientError>,
    expected: impl Into<u32> + std::fmt::Debug + Copy,
) {
    let err = result.expect_err(&format!("expected {expected:?}, but it succeeded"));
    assert_eq!(
        custom_error(&err),
        Some(expected.into()),
        "expected {expected:?}, got {err:?}"
    );
}

/// The SPL Token program id, for tests that build raw token instructions.
pub fn token_program_id() -> Pubkey {
    spl_token::ID
}
