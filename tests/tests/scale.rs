//! The settlement layout at scale: one account per reading, so the largest settlement
//! transaction (with its compute-budget instruction) settles `MAX_METERS_PER_SETTLE` readings
//! within mainnet's limits (1232 bytes, 64 account locks), and a larger community settles in `ceil(n / MAX)` transactions.

use energy_utility::state::{EpochStatus, MeterKind};
use energy_utility_sdk::settlement::{settle_transaction, MAX_METERS_PER_SETTLE};
use energy_utility_tests::*;
use solana_signer::Signer;
use solana_transaction_error::TransactionError;

// The scale target: at least 20 readings per settlement transaction.
const _: () = assert!(MAX_METERS_PER_SETTLE >= 20);

/// A community of `consumers` households and `producers` roofs, all reported for epoch 0,
/// which is closed for reports.
async fn community(consumers: usize, producers: usize) -> TestGrid {
    let mut g = TestGrid::start().await;
    g.add_resident("hoa").await;
    g.buy("hoa", 1_000_000).await;
    for i in 0..consumers {
        let id = format!("house-{i}");
        g.add_meter(&id, MeterKind::Household, "hoa").await;
        g.fund("hoa", &id, 10 * K).await.unwrap();
        g.report(&id, 0, 500 + i as u64 * 37).await.unwrap();
    }
    for i in 0..producers {
        let id = format!("roof-{i}");
        g.add_meter(&id, MeterKind::Producer, "hoa").await;
        g.report(&id, 0, 900 + i as u64 * 53).await.unwrap();
    }
    g.close_epoch_window(0).await;
    g
}

fn wire_size(tx: &solana_transaction::Transaction) -> usize {
    bincode::serialize(tx).expect("serialize").len()
}

#[tokio::test]
async fn the_largest_settlement_transaction_fits_mainnet_limits_and_settles_the_epoch() {
    let mut g = community(MAX_METERS_PER_SETTLE - 5, 5).await;
    let grid = g.grid;
    let meters: Vec<_> = g.meters.values().map(|m| m.address).collect();
    assert_eq!(meters.len(), MAX_METERS_PER_SETTLE);

    let tx = g.transaction(&settle_transaction(&grid, 0, &meters), &[]);
    let size = wire_size(&tx);
    let keys = tx.message.account_keys.len();
    println!(
        "settlement of {} readings: {size} bytes, {keys} account keys",
        meters.len()
    );
    assert!(size <= MAINNET_TX_BYTES, "{size} bytes");
    assert!(keys <= MAINNET_ACCOUNT_LOCKS, "{keys} account locks");

    // One more meter no longer fits in a packet: the constant is the largest that does.
    let mut one_more = meters.clone();
    one_more.push(g.resident("hoa").resident);
    let too_big = g.transaction(&settle_transaction(&grid, 0, &one_more), &[]);
    assert!(wire_size(&too_big) > MAINNET_TX_BYTES);

    // The bank (with mainnet's 64-lock limit) settles the whole epoch in that one transaction.
    g.send(&settle_transaction(&grid, 0, &meters), &[])
        .await
        .unwrap();
    let epoch = g.epoch_state(0).await;
    assert_eq!(epoch.status, EpochStatus::Settled);
    assert_eq!(epoch.consumers_charged, (MAX_METERS_PER_SETTLE - 5) as u32);
    assert_eq!(epoch.producers_paid, 5);
    g.assert_books_balance().await;
}

#[tokio::test]
async fn a_hundred_meters_settle_in_the_planned_number_of_transactions() {
    let mut g = community(80, 20).await;
    let grid = g.grid;
    let consumers: Vec<_> = (0..80)
        .map(|i| g.meter(&format!("house-{i}")).address)
        .collect();
    let producers: Vec<_> = (0..20)
        .map(|i| g.meter(&format!("roof-{i}")).address)
        .collect();
    let batches = energy_utility_sdk::settlement::plan_batches(&consumers, &producers);
    assert_eq!(batches.len(), 100usize.div_ceil(MAX_METERS_PER_SETTLE));
    for batch in &batches {
        let tx = g.transaction(&settle_transaction(&grid, 0, batch), &[]);
        assert!(wire_size(&tx) <= MAINNET_TX_BYTES);
        g.send(&settle_transaction(&grid, 0, batch), &[])
            .await
            .unwrap();
    }
    let epoch = g.epoch_state(0).await;
    assert_eq!(epoch.status, EpochStatus::Settled);
    assert_eq!(epoch.consumers_charged, 80);
    assert_eq!(epoch.producers_paid, 20);
    g.assert_books_balance().await;
}

#[tokio::test]
async fn a_v0_settlement_over_the_grids_lookup_tables_settles_55_readings_in_one_transaction() {
    use energy_utility_sdk::settlement::{
        settle_message_v0, MAX_METERS_PER_SETTLE_V0, SETTLE_FIXED_ACCOUNTS,
    };
    const _: () = assert!(MAX_METERS_PER_SETTLE_V0 >= 48);
    let mut g = community(MAX_METERS_PER_SETTLE_V0 - 5, 5).await;
    let grid = g.grid;
    let tables = g.sync_lookup_tables().await;
    assert_eq!(tables.len(), 1);
    let meters = g.meters_in_order().await;
    assert_eq!(meters.len(), MAX_METERS_PER_SETTLE_V0);

    let payer = g.ctx.payer.pubkey();
    let blockhash = g.ctx.banks_client.get_latest_blockhash().await.unwrap();
    let grid_tables = energy_utility_sdk::lookup::GridTables::new(tables.clone());
    let message = settle_message_v0(&payer, &grid, 0, &meters, &grid_tables, blockhash).unwrap();
    let static_keys = message.account_keys.len();
    let loaded: usize = message
        .address_table_lookups
        .iter()
        .map(|l| l.writable_indexes.len() + l.readonly_indexes.len())
        .sum();
    let tx = g
        .transaction_v0(
            &energy_utility_sdk::settlement::settle_transaction(&grid, 0, &meters),
            &[],
            &tables,
        )
        .await;
    let size = bincode::serialize(&tx).unwrap().len();
    println!(
        "v0 settlement of {} readings: {size} bytes, {static_keys} keys + {loaded} from the table",
        meters.len()
    );
    assert_eq!(static_keys, SETTLE_FIXED_ACCOUNTS);
    assert_eq!(
        static_keys + loaded,
        MAINNET_ACCOUNT_LOCKS,
        "every lock used"
    );
    assert!(size <= MAINNET_TX_BYTES, "{size} bytes");

    // The bank, with mainnet's 64-lock limit, settles the epoch in that one transaction.
    let processed = g
        .ctx
        .banks_client
        .process_transaction_with_metadata(tx)
        .await
        .unwrap();
    processed.result.unwrap();
    let consumed = processed.metadata.unwrap().compute_units_consumed;
    let requested = energy_utility_sdk::settlement::settle_compute_units(meters.len());
    if energy_utility_bank::bpf_program_path().is_some() {
        // BPF: metered. The SDK's request (derived, not measured) must cover the batch.
        println!(
            "BPF: settle of {} readings consumed {consumed} compute units of the {requested} requested",
            meters.len()
        );
        assert!(consumed <= u64::from(requested), "{consumed} > {requested}");
    } else {
        println!(
            "native: compute units are not metered ({consumed} reported); the SDK requests {requested}"
        );
    }
    let epoch = g.epoch_state(0).await;
    assert_eq!(epoch.status, EpochStatus::Settled);
    assert_eq!(
        epoch.consumers_charged,
        (MAX_METERS_PER_SETTLE_V0 - 5) as u32
    );
    assert_eq!(epoch.producers_paid, 5);
    g.assert_books_balance().await;
}

#[tokio::test]
async fn one_meter_beyond_the_v0_batch_is_refused_by_the_lock_limit() {
    use energy_utility_sdk::settlement::{settle_transaction, MAX_METERS_PER_SETTLE_V0};
    let mut g = community(MAX_METERS_PER_SETTLE_V0 - 4, 5).await;
    let grid = g.grid;
    let tables = g.sync_lookup_tables().await;
    let meters = g.meters_in_order().await;
    assert_eq!(meters.len(), MAX_METERS_PER_SETTLE_V0 + 1);
    let watch = watch(&mut g, &[]).await;
    // The bank refuses it before running it (a validator drops it the same way).
    let tx = g
        .transaction_v0(&settle_transaction(&grid, 0, &meters), &[], &tables)
        .await;
    let simulated = g.ctx.banks_client.simulate_transaction(tx).await.unwrap();
    assert_eq!(
        simulated.result,
        Some(Err(TransactionError::TooManyAccountLocks)),
        "expected the 64-lock limit"
    );
    assert_unchanged(&mut g, &watch).await;
    // The planned batches (55, then 1) settle it.
    let consumers = &meters[..meters.len() - 5];
    let producers = &meters[meters.len() - 5..];
    for batch in energy_utility_sdk::settlement::plan_batches_of(
        consumers,
        producers,
        MAX_METERS_PER_SETTLE_V0,
    ) {
        g.send_v0(&settle_transaction(&grid, 0, &batch), &[], &tables)
            .await
            .unwrap();
    }
    assert_eq!(g.epoch_state(0).await.status, EpochStatus::Settled);
    g.assert_books_balance().await;
}
