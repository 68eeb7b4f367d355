//! Refused instructions: every way a wrong signer, a forged or substituted account, a bad
//! amount, a bad time or a paused grid is turned away with its named error, leaving the
//! chain exactly as it was.

use anchor_lang::error::ErrorCode as AnchorError;
use anchor_lang::prelude::{AccountMeta, Pubkey};
use energy_utility::error::EnergyError;
use energy_utility::instructions::{InitializeGridArgs, RegisterMeterArgs, UpdateGridArgs};
use energy_utility::state::{EpochStatus, Grid, MeterAct, MeterKind, Resident};
use energy_utility_sdk::{fiat, instructions as ix, pda};
use energy_utility_tests::*;
use solana_instruction::Instruction;
use solana_keypair::Keypair;
use solana_program_test::BanksClientError;
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

impl OtherGrid {
    /// The other grid's meter reports `wh` for its own `epoch`, signed by its own gateway.
    async fn report(&self, g: &mut TestGrid, epoch: u64, wh: u64) {
        let payer = g.ctx.payer.pubkey();
        let gateway = self.gateway.pubkey();
        let instruction = ix::report(&gateway, &payer, &self.grid, &self.meter, epoch, wh);
        g.send(&[instruction], &[&self.gateway])
            .await
            .expect("report in the other grid");
    }
}

async fn other_grid(g: &mut TestGrid) -> OtherGrid {
    let grid = g.add_grid("other").await;
    let wallet = mallory(g).await;
    g.register_resident(&wallet, &grid, "olga")
        .await
        .expect("register resident in the other grid");
    let resident = pda::resident(&grid, "olga");
    let gateway = Keypair::new();
    let args = street_meter("olga-house", MeterKind::Household, &gateway.pubkey());
    let admin = g.admin.insecure_clone();
    g.register_meter(&admin, &grid, &resident, args)
        .await
        .expect("register meter in the other grid");
    OtherGrid {
        grid,
        resident,
        meter: pda::meter(&grid, "olga-house"),
        gateway,
    }
}

/// Mallory creates her own grid, so she is an admin and an oracle, just not of this grid.
async fn mallorys_grid(g: &mut TestGrid) -> (Keypair, Pubkey) {
    let mallory = mallory(g).await;
    let args = grid_args("mallory-grid", &mallory.pubkey());
    g.send(&[ix::initialize_grid(&mallory.pubkey(), args)], &[&mallory])
        .await
        .expect("mallory's grid");
    (mallory, pda::grid("mallory-grid"))
}

/// Registration arguments for a meter on a street pole, with the test community's defaults.
fn street_meter(id: &str, kind: MeterKind, gateway: &Pubkey) -> RegisterMeterArgs {
    meter_args(id, kind, gateway, "street pole")
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
