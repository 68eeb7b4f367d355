//! Registration and grid parameters refuse invalid ids, labels, positions and parameters.

use super::*;

#[tokio::test]
async fn register_resident_with_an_invalid_id_is_refused() {
    let mut g = TestGrid::seed_community().await;
    let grid = g.grid;
    let wallet = mallory(&mut g).await;
    let long = "a".repeat(33);
    for id in [
        "has space",
        "",
        long.as_str(),
        "slash/id",
        "émile",
        "tab\tid",
    ] {
        let address = pda::resident(&grid, id);
        let watched = [address, pda::coins(&address), wallet.pubkey()];
        g.assert_refused(EnergyError::InvalidId, &watched, async |g| {
            g.register_resident(&wallet, &grid, id).await
        })
        .await;
    }
    assert_eq!(g.grid_state().await.resident_count, 4);
}

/// The admin registers a pole for Angel with `args` changed by `tweak`: refused with
/// `expected`, and nothing changes, at the meter's address either.
async fn refused_pole(
    g: &mut TestGrid,
    id: &str,
    tweak: impl FnOnce(&mut RegisterMeterArgs),
    expected: EnergyError,
) {
    let grid = g.grid;
    let admin = g.admin.insecure_clone();
    let owner = g.resident("angel").resident;
    let mut args = street_meter(id, MeterKind::Pole, &Pubkey::new_unique());
    tweak(&mut args);
    g.assert_refused(expected, &[pda::meter(&grid, id)], async |g| {
        g.register_meter(&admin, &grid, &owner, args).await
    })
    .await;
}

#[tokio::test]
async fn register_meter_with_an_invalid_id_is_refused() {
    let mut g = TestGrid::seed_community().await;
    let long = "m".repeat(33);
    for id in ["pole 1", "", long.as_str()] {
        refused_pole(&mut g, id, |_| {}, EnergyError::InvalidId).await;
    }
}

#[tokio::test]
async fn register_meter_with_a_label_over_64_bytes_is_refused() {
    let mut g = TestGrid::seed_community().await;
    let label = |a: &mut RegisterMeterArgs| a.label = "x".repeat(65);
    refused_pole(&mut g, "pole-1", label, EnergyError::LabelTooLong).await;
    // 64 bytes fit.
    let (admin, grid) = (g.admin.insecure_clone(), g.grid);
    let owner = g.resident("angel").resident;
    let args = RegisterMeterArgs {
        label: "x".repeat(64),
        ..street_meter("pole-1", MeterKind::Pole, &Pubkey::new_unique())
    };
    g.register_meter(&admin, &grid, &owner, args).await.unwrap();
}

#[tokio::test]
async fn register_meter_off_the_map_is_refused() {
    let mut g = TestGrid::seed_community().await;
    for (lat, lon) in [(90_000_001, 0), (0, -180_000_001), (i32::MIN, 0)] {
        let position = |a: &mut RegisterMeterArgs| {
            a.latitude_micro = lat;
            a.longitude_micro = lon;
        };
        refused_pole(&mut g, "pole-1", position, EnergyError::InvalidPosition).await;
    }
}

#[tokio::test]
async fn register_meter_without_capacity_is_refused() {
    let mut g = TestGrid::seed_community().await;
    let capacity = |a: &mut RegisterMeterArgs| a.capacity_w = 0;
    refused_pole(&mut g, "pole-1", capacity, EnergyError::InvalidCapacity).await;
}

#[tokio::test]
async fn register_meter_owned_by_a_resident_of_another_grid_is_refused() {
    let mut g = TestGrid::seed_community().await;
    let other = other_grid(&mut g).await;
    let grid = g.grid;
    let admin = g.admin.insecure_clone();
    let args = street_meter("pole-1", MeterKind::Pole, &Pubkey::new_unique());
    let watched = [pda::meter(&grid, "pole-1"), other.resident];
    g.assert_refused(EnergyError::WrongGrid, &watched, async |g| {
        g.register_meter(&admin, &grid, &other.resident, args).await
    })
    .await;
}

/// Tries to create a grid named `name` with `args` changed by `tweak`; nothing is created.
async fn refused_grid(tweak: impl FnOnce(&mut InitializeGridArgs), expected: EnergyError) {
    let mut g = TestGrid::start().await;
    let admin = g.admin.insecure_clone();
    let mut args = grid_args("bad-grid", &g.oracle.pubkey());
    tweak(&mut args);
    let grid = pda::grid(&args.name);
    let mut addresses = grid_accounts(&grid).to_vec();
    addresses.push(admin.pubkey());
    let instruction = ix::initialize_grid(&admin.pubkey(), args);
    g.assert_send_refused(&[instruction], &[&admin], expected, &addresses)
        .await;
    assert!(!g.exists(&grid).await);
}

#[tokio::test]
async fn initialize_grid_with_an_epoch_under_60_seconds_is_refused() {
    refused_grid(
        |a| {
            a.epoch_seconds = 59;
            a.params.grace_seconds = 10;
        },
        EnergyError::InvalidEpochLength,
    )
    .await;
    refused_grid(|a| a.epoch_seconds = 0, EnergyError::InvalidEpochLength).await;
}

#[tokio::test]
async fn initialize_grid_with_a_grace_window_as_long_as_the_epoch_is_refused() {
    refused_grid(
        |a| a.params.grace_seconds = 3_600,
        EnergyError::InvalidGraceWindow,
    )
    .await;
    refused_grid(
        |a| a.params.grace_seconds = u32::MAX,
        EnergyError::InvalidGraceWindow,
    )
    .await;
}

#[tokio::test]
async fn initialize_grid_with_a_zero_tariff_is_refused() {
    refused_grid(
        |a| a.params.tariff_units_per_kwh = 0,
        EnergyError::InvalidTariff,
    )
    .await;
}

#[tokio::test]
async fn initialize_grid_with_a_zero_coin_price_is_refused() {
    refused_grid(|a| a.coin_price_cents = 0, EnergyError::InvalidCoinPrice).await;
}

#[tokio::test]
async fn initialize_grid_with_a_zero_meter_limit_is_refused() {
    refused_grid(
        |a| a.params.max_wh_per_epoch = 0,
        EnergyError::InvalidMeterLimit,
    )
    .await;
}

#[tokio::test]
async fn initialize_grid_whose_largest_bill_overflows_is_refused() {
    refused_grid(
        |a| {
            a.params.max_wh_per_epoch = u64::MAX;
            a.params.tariff_units_per_kwh = u64::MAX;
        },
        EnergyError::AmountTooLarge,
    )
    .await;
}

#[tokio::test]
async fn initialize_grid_with_a_fee_above_its_own_cap_is_refused() {
    refused_grid(
        |a| a.params.fee_units = a.max_fee_units + 1,
        EnergyError::FeeAboveCap,
    )
    .await;
}

#[tokio::test]
async fn initialize_grid_with_impossible_oracle_limits_is_refused() {
    refused_grid(
        |a| a.oracle_limits.mint_limit_units = 0,
        EnergyError::InvalidOracleLimits,
    )
    .await;
    refused_grid(
        |a| a.oracle_limits.mint_window_seconds = 0,
        EnergyError::InvalidOracleLimits,
    )
    .await;
    // Receipts must outlive the processor's three days of retries.
    refused_grid(
        |a| a.oracle_limits.receipt_retention_seconds = 3 * 86_400,
        EnergyError::InvalidOracleLimits,
    )
    .await;
}

#[tokio::test]
async fn initialize_grid_with_an_invalid_name_is_refused() {
    refused_grid(|a| a.name = "green valley".into(), EnergyError::InvalidId).await;
    refused_grid(|a| a.name = "g".repeat(33), EnergyError::InvalidId).await;
}

#[tokio::test]
async fn update_grid_with_bad_parameters_is_refused() {
    let mut g = TestGrid::seed_community().await;
    type Tweak = fn(&mut UpdateGridArgs);
    let cases: [(Tweak, EnergyError); 8] = [
        (
            |a| a.tariff_units_per_kwh = Some(0),
            EnergyError::InvalidTariff,
        ),
        (
            |a| a.grace_seconds = Some(3_600),
            EnergyError::InvalidGraceWindow,
        ),
        (
            |a| a.coin_price_cents = Some(0),
            EnergyError::InvalidCoinPrice,
        ),
        (
            |a| a.max_wh_per_epoch = Some(0),
            EnergyError::InvalidMeterLimit,
        ),
        // The cap fixed at creation is 0.1 k an hour: the admin cannot go past it.
        (|a| a.fee_units = Some(100_001), EnergyError::FeeAboveCap),
        (|a| a.fee_units = Some(u64::MAX), EnergyError::FeeAboveCap),
        (
            |a| a.mint_limit_units = Some(0),
            EnergyError::InvalidOracleLimits,
        ),
        (
            |a| a.receipt_retention_seconds = Some(60),
            EnergyError::InvalidOracleLimits,
        ),
    ];
    for (tweak, expected) in cases {
        let mut args = UpdateGridArgs::default();
        tweak(&mut args);
        g.assert_refused(expected, &[], async |g| g.update_grid(args).await)
            .await;
    }
}

#[tokio::test]
async fn recording_a_lookup_table_is_the_admins_and_only_for_a_table_of_the_grids_meters() {
    let mut g = TestGrid::seed_community().await;
    let grid = g.grid;
    // A real table, made by the admin.
    let tables = g.sync_lookup_tables().await;
    let table = tables[0].key;
    let entry = pda::lookup_table_entry(&grid, 0);
    let recorded: energy_utility::state::LookupTableEntry = g.account(&entry).await;
    assert_eq!((recorded.table, recorded.index), (table, 0));

    // Someone else than the admin.
    let stranger = mallory(&mut g).await;
    let instruction = ix::record_lookup_table(&stranger.pubkey(), &grid, 0, &table);
    let watched = [entry, stranger.pubkey()];
    g.assert_send_refused(
        &[instruction],
        &[&stranger],
        EnergyError::NotGridAdmin,
        &watched,
    )
    .await;

    // An account that is not a lookup table (here a meter).
    let admin = g.admin.insecure_clone();
    let not_a_table = g.meter("carlos-house").address;
    let instruction = ix::record_lookup_table(&admin.pubkey(), &grid, 0, &not_a_table);
    g.assert_send_refused(
        &[instruction],
        &[&admin],
        EnergyError::NotALookupTable,
        &[entry],
    )
    .await;

    // A table for meters the grid does not have.
    let beyond = pda::lookup_table_entry(&grid, 1);
    let instruction = ix::record_lookup_table(&admin.pubkey(), &grid, 1, &table);
    let expected = EnergyError::LookupTableBeyondMeters;
    g.assert_send_refused(&[instruction], &[&admin], expected, &[beyond])
        .await;
    assert!(!g.exists(&beyond).await);
}
