//! Refused instructions: every way a wrong signer, a forged or substituted account, a bad
//! amount, a bad time or a paused grid is turned away with its named error, leaving the
//! chain exactly as it was.

use anchor_lang::error::ErrorCode as AnchorError;
use anchor_lang::prelude::{AccountMeta, Pubkey};
use energy_utility::error::EnergyError;
use energy_utility::instructions::{InitializeGridArgs, RegisterMeterArgs, UpdateGridArgs};
use energy_utility::state::{EpochStatus, Grid, MeterKind, Resident};
use energy_utility_sdk::{fiat, instructions as ix, pda};
use energy_utility_tests::*;
use solana_instruction::Instruction;
use solana_keypair::Keypair;
use solana_signer::Signer;

mod admin;
mod collect;
mod fund;
mod oracle;
mod paused;
mod registry;
mod report;
mod sale;
mod settle;

/// The community after epoch 0 is reported and settled: both producers have earnings.
async fn settled_community() -> TestGrid {
    let mut g = TestGrid::seed_community().await;
    g.report_seed_example(0).await;
    g.close_epoch_window(0).await;
    g.settle_all(0).await;
    g
}

/// A wallet that belongs to nobody in the grid, with SOL to pay for anything it tries.
async fn mallory(g: &mut TestGrid) -> Keypair {
    let mallory = Keypair::new();
    g.airdrop(&mallory.pubkey(), 5_000_000_000).await;
    mallory
}

/// A second grid in the same bank, with a resident and a household meter of its own.
struct OtherGrid {
    grid: Pubkey,
    resident: Pubkey,
    meter: Pubkey,
    gateway: Keypair,
}

async fn other_grid(g: &mut TestGrid) -> OtherGrid {
    let grid = g.add_grid("other").await;
    let wallet = mallory(g).await;
    let index = g
        .account::<energy_utility::state::Grid>(&grid)
        .await
        .resident_count;
    g.send(
        &[ix::register_resident(
            &wallet.pubkey(),
            &grid,
            index,
            "olga",
        )],
        &[&wallet],
    )
    .await
    .expect("register resident in the other grid");
    let resident = pda::resident(&grid, "olga");
    let gateway = Keypair::new();
    let args = meter_args("olga-house", MeterKind::Household, &gateway.pubkey());
    let admin = g.admin.insecure_clone();
    let index = g
        .account::<energy_utility::state::Grid>(&grid)
        .await
        .meter_count;
    g.send(
        &[ix::register_meter(
            &admin.pubkey(),
            &grid,
            &resident,
            index,
            args,
        )],
        &[&admin],
    )
    .await
    .expect("register meter in the other grid");
    OtherGrid {
        grid,
        resident,
        meter: pda::meter(&grid, "olga-house"),
        gateway,
    }
}

fn meter_args(id: &str, kind: MeterKind, gateway: &Pubkey) -> RegisterMeterArgs {
    RegisterMeterArgs {
        meter_id: id.to_string(),
        kind,
        gateway: *gateway,
        label: "street pole".to_string(),
        latitude_micro: 45_000_000,
        longitude_micro: -73_000_000,
        capacity_w: DEFAULT_TEST_CAPACITY_W,
        register_wh: 0,
    }
}

/// The utility's own resident account, registered with the admin's wallet: where its fees go.
async fn register_utility(g: &mut TestGrid) -> Pubkey {
    let admin = g.admin.insecure_clone();
    let grid = g.grid;
    let index = g.grid_state().await.resident_count;
    g.send(
        &[ix::register_resident(
            &admin.pubkey(),
            &grid,
            index,
            "utility",
        )],
        &[&admin],
    )
    .await
    .expect("register the utility");
    pda::resident(&grid, "utility")
}

fn grid_args(name: &str, oracle: &Pubkey) -> InitializeGridArgs {
    InitializeGridArgs::with_defaults(name, *oracle)
}

/// Replaces the one account `old` of an instruction built by the SDK with `new`.
fn swap_account(instruction: &mut Instruction, old: &Pubkey, new: &Pubkey) {
    let mut swapped = 0;
    for meta in instruction.accounts.iter_mut().filter(|m| m.pubkey == *old) {
        meta.pubkey = *new;
        swapped += 1;
    }
    assert_eq!(swapped, 1, "{old} appears once in the instruction");
}
