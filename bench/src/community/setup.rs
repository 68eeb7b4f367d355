//! Setting a community up: the grid, its lookup tables, residents who buy coins, meters,
//! and prepaid funding, in pipelined windows of transactions.

use super::*;

impl Community {
    pub(super) async fn setup(cfg: &Config, out: &mut Outcome) -> Result<Self> {
        let n = cfg.meters;
        ensure!(n > 0, "a community needs at least one meter");
        let mut rng = SplitMix64::new(cfg.seed ^ n as u64);
        let admin = Keypair::new();
        let oracle = Keypair::new();
        let crank = Keypair::new();
        let relayer = cfg.relayer.then(Keypair::new);
        let residents = n.div_ceil(METERS_PER_RESIDENT);
        let wallets: Vec<Keypair> = (0..residents).map(|_| Keypair::new()).collect();
        let name = "bench";
        let grid = pda::grid(name);
        let meters: Vec<MeterRef> = (0..n)
            .map(|i| {
                let producer = i % PRODUCER_EVERY == PRODUCER_EVERY - 1;
                MeterRef {
                    address: pda::meter(&grid, &format!("m{i}")),
                    gateway: Keypair::new(),
                    producer,
                    base_wh: if producer { 0 } else { rng.range(300, 900) },
                }
            })
            .collect();

        // Lamports come from genesis, not from airdrop transactions.
        let mut pt = energy_utility_bank::program_test();
        let sol = LAMPORTS_PER_SOL;
        pt.add_account(
            admin.pubkey(),
            system_account(100 * sol + n as u64 * sol / 50),
        );
        pt.add_account(
            oracle.pubkey(),
            system_account(100 * sol + residents as u64 * sol / 50),
        );
        pt.add_account(crank.pubkey(), system_account(100 * sol));
        for wallet in &wallets {
            pt.add_account(wallet.pubkey(), system_account(sol));
        }
        match &relayer {
            Some(relayer) => pt.add_account(relayer.pubkey(), system_account(1_000 * sol)),
            None => {
                for meter in &meters {
                    pt.add_account(meter.gateway.pubkey(), system_account(sol));
                }
            }
        }
        let ctx = pt.start_with_context().await;
        // Events land in each transaction's logs, as on a cluster (not formatted to stdout).
        energy_utility_bank::logs::keep_events_in_logs();
        let mut net = Net {
            ctx,
            mode: cfg.mode,
            window: cfg.window,
        };
        let tables = if cfg.settle == SettlePath::V0 || cfg.alternate {
            let addresses: Vec<Pubkey> = meters.iter().map(|m| m.address).collect();
            create_lookup_tables(&mut net, &admin, &addresses, out).await?
        } else {
            Vec::new()
        };
        net.set_time(START_TS).await?;

        // The benchmark's oracle buys every household's prepaid coins at once: no mint limit.
        let mut args = InitializeGridArgs::with_defaults(name, oracle.pubkey());
        args.coin_price_cents = COIN_PRICE_CENTS;
        args.oracle_limits.mint_limit_units = u64::MAX;
        // The community's producers earn from the first hour measured: no notice to wait for.
        args.notice_seconds = 0;
        net.send(&[ix::initialize_grid(&admin.pubkey(), args)], &admin, &[])
            .await
            .context("initialize grid")?;
        out.setup_txs += 1;

        let consumers: Vec<Pubkey> = meters
            .iter()
            .filter(|m| !m.producer)
            .map(|m| m.address)
            .collect();
        let producers: Vec<Pubkey> = meters
            .iter()
            .filter(|m| m.producer)
            .map(|m| m.address)
            .collect();
        out.consumers = consumers.len();
        out.producers = producers.len();
        out.residents = residents;
        out.lookup_tables = tables.len();
        let c = Self {
            net,
            tables: GridTables::new(tables.clone()),
            grid,
            admin,
            oracle,
            crank,
            relayer,
            wallets,
            registers: vec![0; meters.len()],
            meters,
            consumers,
            producers,
            rng,
        };
        c.register(cfg.hours, out).await?;
        c.record_lookup_tables(&tables, out).await?;
        Ok(c)
    }

    /// The admin records each table in the grid (`record_lookup_table`), as
    /// `Client::sync_lookup_tables` does; the entries are independent, so pipelined.
    async fn record_lookup_tables(
        &self,
        tables: &[AddressLookupTableAccount],
        out: &mut Outcome,
    ) -> Result<()> {
        let admin = self.admin.pubkey();
        let records: Vec<Instruction> = tables
            .iter()
            .enumerate()
            .map(|(k, t)| ix::record_lookup_table(&admin, &self.grid, k as u32, &t.key))
            .collect();
        let groups = pack(records, &admin)?;
        out.setup_txs += groups.len();
        for window in groups.chunks(self.net.window()) {
            let blockhash = self.net.blockhash().await?;
            let txs = window
                .iter()
                .map(|group| Net::sign(group, &self.admin, &[], blockhash).map(|(tx, _)| tx))
                .collect::<Result<Vec<_>>>()?;
            self.net
                .confirm_all(txs)
                .await
                .context("record the lookup tables")?;
        }
        Ok(())
    }

    /// Prepaid funding per consumer: the most it can draw every hour of the run, plus 1 k.
    fn funding_units(hours: u64) -> u64 {
        hours * MAX_CONSUMER_WH * UNITS_PER_COIN / WH_PER_KWH + UNITS_PER_COIN
    }

    /// Residents (each buys coins with add_fiat), meters, then prepaid funding.
    async fn register(&self, hours: u64, out: &mut Outcome) -> Result<()> {
        let grid = self.grid;
        let funding = Self::funding_units(hours);
        // Directory indexes are the grid's counters: residents and meters go in order.
        for (r, wallet) in self.wallets.iter().enumerate() {
            let id = format!("r{r}");
            let resident = pda::resident(&grid, &id);
            let owned = self.owned(r);
            let consumers = owned.filter(|&i| !self.meters[i].producer).count() as u64;
            let cents = fiat::cents_to_buy_ceil(consumers * funding, COIN_PRICE_CENTS)
                .context("the funding is too large to price")?
                .max(1);
            let instructions = [
                ix::register_resident(&wallet.pubkey(), &wallet.pubkey(), &grid, r as u32, &id),
                ix::add_fiat(
                    &self.oracle.pubkey(),
                    &grid,
                    &resident,
                    cents,
                    &format!("pay-{r}"),
                    START_TS,
                ),
            ];
            self.net
                .send(&instructions, wallet, &[&self.oracle])
                .await
                .with_context(|| format!("register resident {id}"))?;
            out.setup_txs += 1;
        }

        let registrations: Vec<Instruction> = self
            .meters
            .iter()
            .enumerate()
            .map(|(i, m)| {
                let owner = pda::resident(&grid, &format!("r{}", i / METERS_PER_RESIDENT));
                let args = RegisterMeterArgs {
                    meter_id: format!("m{i}"),
                    kind: if m.producer {
                        MeterKind::Producer
                    } else {
                        MeterKind::Household
                    },
                    gateway: m.gateway.pubkey(),
                    label: String::new(),
                    latitude_micro: 45_500_000,
                    longitude_micro: -73_500_000,
                    // A producer's random share of the hour can be several times the average.
                    capacity_w: if m.producer {
                        PRODUCER_CAPACITY_W
                    } else {
                        energy_utility_sdk::meters::default_capacity_w(MeterKind::Household)
                    },
                    register_wh: 0,
                };
                ix::register_meter(&self.admin.pubkey(), &grid, &owner, i as u32, args)
            })
            .collect();
        for group in pack(registrations, &self.admin.pubkey())? {
            self.net
                .send(&group, &self.admin, &[])
                .await
                .context("register meters")?;
            out.setup_txs += 1;
        }

        // Funding is order-independent: each resident funds its own consumers, pipelined.
        let mut jobs: Vec<(Vec<Instruction>, &Keypair)> = Vec::new();
        for (r, wallet) in self.wallets.iter().enumerate() {
            let resident = pda::resident(&grid, &format!("r{r}"));
            let funds: Vec<Instruction> = self
                .owned(r)
                .filter(|&i| !self.meters[i].producer)
                .map(|i| {
                    ix::fund(
                        &wallet.pubkey(),
                        &grid,
                        &resident,
                        &self.meters[i].address,
                        funding,
                    )
                })
                .collect();
            for group in pack(funds, &wallet.pubkey())? {
                jobs.push((group, wallet));
            }
        }
        out.setup_txs += jobs.len();
        for window in jobs.chunks(self.net.window()) {
            let blockhash = self.net.blockhash().await?;
            let txs = window
                .iter()
                .map(|(group, wallet)| Net::sign(group, wallet, &[], blockhash).map(|(tx, _)| tx))
                .collect::<Result<Vec<_>>>()?;
            self.net.confirm_all(txs).await.context("fund meters")?;
        }
        Ok(())
    }
}

/// The grid's lookup tables for the v0 path: table `k` lists meters `256k ..` in registration
/// order, as `Client::sync_lookup_tables` keeps them, owned and paid for by the admin. They are
/// made before the meters exist (their addresses are known) while the bank is small: one slot
/// per table, as a table's address derives from its creation slot; then extended round by
/// round (chunk `r` of every table in one pipelined window, so each table grows in order); then
/// the bank moves a slot, after which the addresses are usable.
async fn create_lookup_tables(
    net: &mut Net,
    admin: &Keypair,
    meters: &[Pubkey],
    out: &mut Outcome,
) -> Result<Vec<AddressLookupTableAccount>> {
    let chunks: Vec<&[Pubkey]> = meters.chunks(METERS_PER_LOOKUP_TABLE as usize).collect();
    let mut tables = Vec::with_capacity(chunks.len());
    for (k, chunk) in chunks.iter().enumerate() {
        let slot = net.next_slot().await?;
        let (create, table) = lookup::create_table(&admin.pubkey(), &admin.pubkey(), slot);
        net.send(&[create], admin, &[])
            .await
            .with_context(|| format!("create lookup table {k}"))?;
        out.setup_txs += 1;
        tables.push(AddressLookupTableAccount {
            key: table,
            addresses: chunk.to_vec(),
        });
        if k % 500 == 499 {
            eprintln!("  lookup tables: {} of {} created", k + 1, chunks.len());
        }
    }
    let rounds = (METERS_PER_LOOKUP_TABLE as usize).div_ceil(lookup::EXTEND_CHUNK);
    for round in 0..rounds {
        let extends: Vec<Instruction> = tables
            .iter()
            .filter_map(|t| {
                t.addresses
                    .chunks(lookup::EXTEND_CHUNK)
                    .nth(round)
                    .map(|part| {
                        lookup::extend_table(&t.key, &admin.pubkey(), &admin.pubkey(), part)
                    })
            })
            .collect();
        out.setup_txs += extends.len();
        for window in extends.chunks(net.window()) {
            let blockhash = net.blockhash().await?;
            let txs = window
                .iter()
                .map(|extend| {
                    Net::sign(std::slice::from_ref(extend), admin, &[], blockhash).map(|(tx, _)| tx)
                })
                .collect::<Result<Vec<_>>>()?;
            net.confirm_all(txs)
                .await
                .context("extend the lookup tables")?;
        }
    }
    net.next_slot().await?;
    Ok(tables)
}
