//! Refusals: an instruction the program must turn away fails with its named error and
//! changes nothing, checked on a snapshot of every account it could touch.

use std::fmt::Debug;
use std::future::Future;
use std::panic::Location;

use anchor_lang::prelude::Pubkey;
use energy_utility_sdk::pda;
use solana_account::Account;
use solana_instruction::error::InstructionError;
use solana_instruction::Instruction;
use solana_keypair::Keypair;
use solana_program_test::BanksClientError;
use solana_signer::Signer;
use solana_transaction_error::TransactionError;

use crate::TestGrid;

/// The raw accounts (lamports, owner, data) of everything a refused instruction could touch:
/// the grid and its coin accounts, every resident, wallet, coin account, meter and gateway,
/// the epochs around now, and `extra`.
pub struct Watch {
    pub addresses: Vec<Pubkey>,
    pub before: Vec<Option<Account>>,
}

/// A grid's account and the token accounts it owns: mint, vault, pool, treasury, escrow.
pub fn grid_accounts(grid: &Pubkey) -> [Pubkey; 6] {
    [
        *grid,
        pda::mint(grid),
        pda::vault(grid),
        pda::pool(grid),
        pda::treasury(grid),
        pda::escrow(grid),
    ]
}

pub async fn watch(g: &mut TestGrid, extra: &[Pubkey]) -> Watch {
    let grid = g.grid;
    let mut addresses = grid_accounts(&grid).to_vec();
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
pub fn assert_fails_with<T: Debug>(
    result: Result<T, BanksClientError>,
    expected: impl Into<u32> + Debug + Copy,
) {
    let err = result.expect_err(&format!("expected {expected:?}, but it succeeded"));
    assert_eq!(
        custom_error(&err),
        Some(expected.into()),
        "expected {expected:?}, got {err:?}"
    );
}

impl TestGrid {
    /// Runs `attempt`, which must fail with the program error `expected`, and checks that it
    /// left every account `watch` covers, and `extra`, byte for byte as it was. A failure
    /// names the line that called this.
    #[track_caller]
    pub fn assert_refused<'a, T: Debug>(
        &'a mut self,
        expected: impl Into<u32> + Debug + Copy + 'a,
        extra: &'a [Pubkey],
        attempt: impl AsyncFnOnce(&mut TestGrid) -> Result<T, BanksClientError> + 'a,
    ) -> impl Future<Output = ()> + 'a {
        let caller = Location::caller();
        async move {
            let watch = watch(self, extra).await;
            let result = attempt(self).await;
            match result {
                Ok(value) => panic!("{caller}: expected {expected:?}, but it succeeded: {value:?}"),
                Err(err) => assert_eq!(
                    custom_error(&err),
                    Some(expected.into()),
                    "{caller}: expected {expected:?}, got {err:?}"
                ),
            }
            let after = snapshot(self, &watch.addresses).await;
            for ((address, before), after) in watch.addresses.iter().zip(&watch.before).zip(&after)
            {
                assert_eq!(before, after, "{caller}: account {address} changed");
            }
        }
    }

    /// `instructions`, signed by the context payer and `signers`, are refused with
    /// `expected` and change nothing (see `assert_refused`).
    #[track_caller]
    pub fn assert_send_refused<'a>(
        &'a mut self,
        instructions: &'a [Instruction],
        signers: &'a [&'a Keypair],
        expected: impl Into<u32> + Debug + Copy + 'a,
        extra: &'a [Pubkey],
    ) -> impl Future<Output = ()> + 'a {
        self.assert_refused(expected, extra, async |g| {
            g.send(instructions, signers).await
        })
    }
}
