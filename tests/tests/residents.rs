//! What protects a prepaid resident, enforced by the program: friendly hours when nobody is
//! disconnected for lack of coins (the energy becomes debt), debt recovered as the grid's share
//! of each funding, an emergency credit once per top-up cycle, and time-of-use tariffs, each
//! epoch charged at its own hour's price. The clock: epoch 0 starts on Friday 2027-01-15 at
//! 08:00 UTC, so epoch 42 is Sunday 02:00 UTC and epoch 73 Monday 09:00 UTC.

use energy_utility::error::EnergyError;
use energy_utility::instructions::UpdateGridArgs;
use energy_utility::state::{CreditRules, EpochParams, MeterKind, TimeOfUse};
use energy_utility_sdk::calendar::{parse_friendly_hours, parse_time_of_use_day};
use energy_utility_sdk::{instructions as ix, pda};
use energy_utility_tests::*;
use solana_keypair::Keypair;
use solana_signer::Signer;

const SUNDAY_2AM: u64 = 42;
const MONDAY_9AM: u64 = 73;

/// Carlos's house (a consumer) and Angel's roof, everyone holding 10 k, on a grid with `params`.
async fn street(params: EpochParams) -> TestGrid {
    let mut g = TestGrid::start_with(params).await;
    for id in ["angel", "carlos", "danny"] {
        g.add_resident(id).await;
        g.buy(id, 100).await;
    }
    g.add_meter("angel-roof", MeterKind::Producer, "angel")
        .await;
    g.add_meter("carlos-house", MeterKind::Household, "carlos")
        .await;
    g.add_meter("danny-house", MeterKind::Household, "danny")
        .await;
    g
}

fn friendly_grid(debt_recovery_permille: u16) -> EpochParams {
    EpochParams {
        credit: CreditRules {
            friendly_hours: parse_friendly_hours("weekdays 18-8, weekends").unwrap(),
            debt_recovery_permille,
            ..CreditRules::default()
        },
        ..EpochParams::default()
    }
}

#[tokio::test]
async fn at_2am_on_a_sunday_the_lights_stay_on_and_the_debt_is_recovered_at_the_set_share() {
    let mut g = street(friendly_grid(250)).await;
    g.fund("carlos", "carlos-house", 2 * K).await.unwrap();

    // Sunday 2 a.m.: 3 kWh (3 k) against 2 k prepaid. Friendly hours: still connected.
    g.enter_epoch(SUNDAY_2AM).await;
    g.report("carlos-house", SUNDAY_2AM, 3 * KWH).await.unwrap();
    g.report("angel-roof", SUNDAY_2AM, 3 * KWH).await.unwrap();
    assert!(g.meter_state("carlos-house").await.connected);
    g.close_epoch_window(SUNDAY_2AM).await;
    g.settle_all(SUNDAY_2AM).await;
    let house = g.meter_state("carlos-house").await;
    assert!(house.connected, "no disconnection in friendly hours");
    assert_eq!((house.balance_units, house.debt_units), (0, K));
    assert_eq!(g.epoch_state(SUNDAY_2AM).await.unpaid_units, K);
    g.assert_books_balance().await;

    // Monday 9 a.m. is not friendly: the next report disconnects it.
    g.enter_epoch(MONDAY_9AM).await;
    g.report("carlos-house", MONDAY_9AM, KWH / 2).await.unwrap();
    assert!(!g.meter_state("carlos-house").await.connected);

    // A funding of 2 k repays a quarter of it (0.5 k, into the pool for producers) and
    // keeps 1.5 k: enough to cover the 0.5 k reading, so the lights come back on.
    let pool = g.pool().await;
    g.fund("carlos", "carlos-house", 2 * K).await.unwrap();
    let house = g.meter_state("carlos-house").await;
    assert_eq!(
        (house.balance_units, house.debt_units),
        (3 * K / 2, K / 2),
        "a quarter of the funding repaid the debt"
    );
    assert!(house.connected);
    assert_eq!(g.pool().await, pool + K / 2);
    g.assert_books_balance().await;

    // The next fundings keep repaying their share until nothing is owed.
    g.fund("carlos", "carlos-house", 4 * K).await.unwrap();
    let house = g.meter_state("carlos-house").await;
    assert_eq!(
        (house.balance_units, house.debt_units),
        (3 * K / 2 + 7 * K / 2, 0)
    );
    g.assert_books_balance().await;
}

#[tokio::test]
async fn outside_friendly_hours_a_dry_meter_goes_off_as_before() {
    // The same use on a Friday at 10 a.m.: disconnected by its report.
    let mut g = street(friendly_grid(1_000)).await;
    g.fund("carlos", "carlos-house", 2 * K).await.unwrap();
    g.enter_epoch(2).await;
    g.report("carlos-house", 2, 3 * KWH).await.unwrap();
    assert!(!g.meter_state("carlos-house").await.connected);
    // With the whole funding recovering debt (the default), a meter in debt holds no coins.
    g.report("angel-roof", 2, 3 * KWH).await.unwrap();
    g.close_epoch_window(2).await;
    g.settle_all(2).await;
    g.fund("carlos", "carlos-house", K / 2).await.unwrap();
    let house = g.meter_state("carlos-house").await;
    assert_eq!((house.balance_units, house.debt_units), (0, K / 2));
    assert!(!house.connected);
}

#[tokio::test]
async fn a_meter_leaving_the_grid_pays_its_debt_before_its_owner_is_refunded() {
    // Debt from a friendly night, recovered at 25%: the meter holds coins and owes.
    let mut g = street(friendly_grid(250)).await;
    g.fund("carlos", "carlos-house", 2 * K).await.unwrap();
    g.enter_epoch(SUNDAY_2AM).await;
    g.report("carlos-house", SUNDAY_2AM, 3 * KWH).await.unwrap();
    g.report("angel-roof", SUNDAY_2AM, 3 * KWH).await.unwrap();
    g.close_epoch_window(SUNDAY_2AM).await;
    g.settle_all(SUNDAY_2AM).await;
    g.fund("carlos", "carlos-house", 2 * K).await.unwrap();
    let house = g.meter_state("carlos-house").await;
    assert_eq!((house.balance_units, house.debt_units), (3 * K / 2, K / 2));

    // Retired: its owner gets what is beyond the debt; what would repay it stays.
    let coins = g.coins("carlos").await;
    g.deactivate_meter("carlos-house").await.unwrap();
    assert_eq!(g.coins("carlos").await, coins + K);
    assert_eq!(g.meter_state("carlos-house").await.balance_units, K / 2);
    g.assert_books_balance().await;
    // Closing repays the debt from it into the pool; nothing is written off.
    let pool = g.pool().await;
    g.close_meter("carlos-house").await.unwrap();
    assert_eq!(g.pool().await, pool + K / 2);
    assert_eq!(g.coins("carlos").await, coins + K);
    g.meters.remove("carlos-house");
    g.assert_books_balance().await;
}

#[tokio::test]
async fn emergency_credit_once_per_top_up_cycle_with_every_refusal_changing_nothing() {
    let mut g = street(EpochParams::default()).await;
    let house = g.meter("carlos-house").address;
    g.fund("carlos", "carlos-house", K).await.unwrap();
    g.enter_epoch(2).await;
    g.report("carlos-house", 2, KWH).await.unwrap();
    assert!(!g.meter_state("carlos-house").await.connected);

    // The grid offers none yet.
    g.assert_refused(EnergyError::NoEmergencyCredit, &[house], async |g| {
        g.take_emergency_credit("carlos", "carlos-house").await
    })
    .await;
    g.update_grid(UpdateGridArgs {
        credit: Some(CreditRules {
            emergency_credit_units: 2 * K,
            ..CreditRules::default()
        }),
        ..UpdateGridArgs::default()
    })
    .await
    .unwrap();
    g.enter_epoch(3).await;

    // Only the meter's owner takes it; only when low; once per cycle.
    g.assert_refused(EnergyError::NotResidentOwner, &[house], async |g| {
        g.take_emergency_credit("danny", "carlos-house").await
    })
    .await;
    g.fund("danny", "danny-house", 5 * K).await.unwrap();
    g.assert_refused(EnergyError::EmergencyCreditNotNeeded, &[], async |g| {
        g.take_emergency_credit("danny", "danny-house").await
    })
    .await;
    g.take_emergency_credit("carlos", "carlos-house")
        .await
        .unwrap();
    let meter = g.meter_state("carlos-house").await;
    assert_eq!(meter.emergency_units, 2 * K);
    assert!(meter.connected, "the credit switches the lights back on");
    g.assert_refused(EnergyError::EmergencyCreditTaken, &[house], async |g| {
        g.take_emergency_credit("carlos", "carlos-house").await
    })
    .await;

    // It lasts as far as the credit: 1.5 kWh more stays on, 0.6 kWh beyond goes off.
    g.report("carlos-house", 3, 1_500).await.unwrap();
    g.report("angel-roof", 3, 3 * KWH).await.unwrap();
    assert!(g.meter_state("carlos-house").await.connected);
    g.close_epoch_window(2).await;
    g.close_epoch_window(3).await;
    g.settle_all(2).await;
    g.settle_all(3).await;
    let meter = g.meter_state("carlos-house").await;
    assert_eq!((meter.balance_units, meter.debt_units), (0, 3 * K / 2));
    assert!(meter.connected);
    g.enter_epoch(4).await;
    g.report("carlos-house", 4, 600).await.unwrap();
    assert!(!g.meter_state("carlos-house").await.connected);

    // A funding ends the cycle; the credit can be taken again, capping the debt as a whole.
    g.fund("carlos", "carlos-house", K).await.unwrap();
    let meter = g.meter_state("carlos-house").await;
    assert_eq!((meter.emergency_units, meter.debt_units), (0, K / 2));
    g.take_emergency_credit("carlos", "carlos-house")
        .await
        .unwrap();
    g.assert_books_balance().await;
}

/// Weekday evenings 17:00-21:00 local at 2×, in UTC+2.
fn evening_peak() -> UpdateGridArgs {
    UpdateGridArgs {
        utc_offset_seconds: Some(2 * 3_600),
        time_of_use: Some(TimeOfUse {
            weekday_permille: parse_time_of_use_day("17-21=2").unwrap(),
            weekend_permille: [1_000; 24],
        }),
        ..UpdateGridArgs::default()
    }
}

#[tokio::test]
async fn time_of_use_charges_each_epoch_at_its_hours_tariff_from_the_change_on() {
    let mut g = street(EpochParams::default()).await;
    g.fund("carlos", "carlos-house", 10 * K).await.unwrap();
    // Epoch 0 (Friday 10:00 local): flat, 1 k per kWh.
    g.report("carlos-house", 0, KWH).await.unwrap();
    g.report("angel-roof", 0, KWH).await.unwrap();
    assert_eq!(g.meter_state("carlos-house").await.committed_units, K);

    // The admin proposes the peak; it waits for the next epoch (this grid's notice is 0) and
    // never reprices a reading already taken.
    g.update_grid(evening_peak()).await.unwrap();
    g.close_epoch_window(0).await;
    g.settle_all(0).await;
    assert_eq!(g.epoch_state(0).await.billed_units, K);

    // Epoch 7 is 15:00 UTC, 17:00 local: the peak until epoch 11, 21:00 local, flat again.
    for (epoch, tariff) in [
        (6, K),
        (7, 2 * K),
        (8, 2 * K),
        (9, 2 * K),
        (10, 2 * K),
        (11, K),
    ] {
        g.enter_epoch(epoch).await;
        g.report("carlos-house", epoch, KWH).await.unwrap();
        g.report("angel-roof", epoch, KWH).await.unwrap();
        assert_eq!(
            g.epoch_state(epoch).await.params.tariff_units_per_kwh,
            tariff
        );
        g.close_epoch_window(epoch).await;
        g.settle_all(epoch).await;
        let e = g.epoch_state(epoch).await;
        assert_eq!(e.billed_units, tariff, "epoch {epoch}");
        // Producers are paid as before: the pool less the fee, up to what their energy is
        // worth at the epoch's tariff.
        assert_eq!(
            e.paid_units + e.carried_out_units,
            e.charged_units + e.carried_in_units - e.fee_units
        );
    }
    g.assert_books_balance().await;
}

#[tokio::test]
async fn a_reading_caught_up_across_the_peak_pays_the_peak() {
    let mut g = street(EpochParams::default()).await;
    g.fund("carlos", "carlos-house", 10 * K).await.unwrap();
    g.update_grid(evening_peak()).await.unwrap();
    // Reported at epoch 5 (15:00 local), then silent at 6 and 7 (the peak starts at 7):
    // the 2 kWh told at 7 cover 6 and 7 and cost the peak's 2 k per kWh.
    g.enter_epoch(5).await;
    g.report("carlos-house", 5, KWH).await.unwrap();
    assert_eq!(g.meter_state("carlos-house").await.committed_units, K);
    g.enter_epoch(7).await;
    g.report("carlos-house", 7, 2 * KWH).await.unwrap();
    let house = g.meter_state("carlos-house").await;
    assert_eq!(house.committed_units, K + 4 * K);
}

#[tokio::test]
async fn calendar_changes_are_validated_and_only_the_admins() {
    let mut g = street(EpochParams::default()).await;
    let bad_share = UpdateGridArgs {
        credit: Some(CreditRules {
            debt_recovery_permille: 0,
            ..CreditRules::default()
        }),
        ..UpdateGridArgs::default()
    };
    g.assert_refused(EnergyError::InvalidCreditRules, &[], async |g| {
        g.update_grid(bad_share.clone()).await
    })
    .await;
    let mut free_hour = TimeOfUse::FLAT;
    free_hour.weekday_permille[3] = 0;
    g.assert_refused(EnergyError::InvalidTariff, &[], async |g| {
        g.update_grid(UpdateGridArgs {
            time_of_use: Some(free_hour),
            ..UpdateGridArgs::default()
        })
        .await
    })
    .await;
    g.assert_refused(EnergyError::InvalidCreditRules, &[], async |g| {
        g.update_grid(UpdateGridArgs {
            utc_offset_seconds: Some(15 * 3_600),
            ..UpdateGridArgs::default()
        })
        .await
    })
    .await;
}

#[tokio::test]
async fn friendly_hours_wait_for_the_grids_notice() {
    // A grid with a day's notice: friendly hours proposed now do not keep anyone on tonight.
    let mut g = TestGrid::start_with_notice(86_400).await;
    for id in ["angel", "carlos"] {
        g.add_resident(id).await;
        g.buy(id, 100).await;
    }
    g.add_meter("carlos-house", MeterKind::Household, "carlos")
        .await;
    g.fund("carlos", "carlos-house", K).await.unwrap();
    g.update_grid(UpdateGridArgs {
        credit: Some(friendly_grid(1_000).credit),
        ..UpdateGridArgs::default()
    })
    .await
    .unwrap();
    let grid = g.grid_state().await;
    assert_eq!(grid.pending_params.credit, friendly_grid(1_000).credit);
    // Friday 19:00 UTC (epoch 11) is friendly by the proposal, but its notice runs to
    // Saturday 08:00: a dry meter still goes off.
    g.enter_epoch(11).await;
    g.report("carlos-house", 11, 2 * KWH).await.unwrap();
    assert!(!g.meter_state("carlos-house").await.connected);
}

#[tokio::test]
async fn a_utility_sponsors_a_resident_who_holds_no_sol_and_gets_its_rent_back() {
    let mut g = street(EpochParams::default()).await;
    let sponsor = Keypair::new();
    g.airdrop(&sponsor.pubkey(), 1_000_000_000).await;
    let zoe = g.add_sponsored_resident("zoe", &sponsor).await;
    let wallet = g.resident("zoe").wallet.insecure_clone();
    assert_eq!(
        g.lamports(&wallet.pubkey()).await,
        0,
        "the wallet never held SOL"
    );
    assert_eq!(g.resident_state("zoe").await.rent_payer, sponsor.pubkey());
    let after_register = g.lamports(&sponsor.pubkey()).await;

    // A sale's account: its rent paid by the sponsor, and back to it on cancelling.
    g.buy("zoe", 100).await;
    let sale = g.sale_address("zoe", 0).await;
    let request = ix::SaleRequest {
        amount_units: K,
        min_cents: 0,
    };
    let sell = ix::request_withdrawal(
        &wallet.pubkey(),
        &sponsor.pubkey(),
        &g.grid,
        &zoe,
        &sale,
        request,
    );
    g.send(&[sell], &[&wallet, &sponsor]).await.unwrap();
    assert_eq!(g.sale_state("zoe", 0).await.rent_payer, sponsor.pubkey());
    let rent = g.lamports(&sale).await;
    assert_eq!(g.lamports(&sponsor.pubkey()).await, after_register - rent);
    g.cancel_withdrawal("zoe", 0).await.unwrap();
    assert_eq!(g.lamports(&sponsor.pubkey()).await, after_register);
    assert_eq!(g.lamports(&wallet.pubkey()).await, 0);

    // Empty, the resident closes: every lamport of its accounts' rent goes back to the sponsor.
    let coins = g.coins("zoe").await;
    g.fund("zoe", "carlos-house", coins).await.unwrap();
    let index = g.resident_state("zoe").await.index;
    let accounts = [zoe, pda::coins(&zoe), pda::resident_entry(&g.grid, index)];
    let mut held = 0;
    for a in &accounts {
        held += g.lamports(a).await;
    }
    g.close_resident("zoe").await.unwrap();
    assert_eq!(g.lamports(&sponsor.pubkey()).await, after_register + held);
    assert_eq!(g.lamports(&wallet.pubkey()).await, 0);
}
