//! One pure builder per program instruction: same inputs, same `Instruction`.

use anchor_lang::prelude::{AccountMeta, Pubkey};
use anchor_lang::solana_program::instruction::Instruction;
use anchor_lang::{system_program, InstructionData, ToAccountMetas};
use anchor_spl::token;
use energy_utility::instructions::{InitializeGridArgs, RegisterMeterArgs, UpdateGridArgs};
use energy_utility::{accounts, instruction, ID};

use crate::pda;

fn build(accounts: impl ToAccountMetas, data: impl InstructionData) -> Instruction {
    Instruction {
        program_id: ID,
        accounts: accounts.to_account_metas(None),
        data: data.data(),
    }
}

pub fn initialize_grid(admin: &Pubkey, args: InitializeGridArgs) -> Instruction {
    let grid = pda::grid(&args.name);
    build(
        accounts::InitializeGrid {
            admin: *admin,
            grid,
            mint: pda::mint(&grid),
            vault: pda::vault(&grid),
            pool: pda::pool(&grid),
            treasury: pda::treasury(&grid),
            escrow: pda::escrow(&grid),
            token_program: token::ID,
            system_program: system_program::ID,
        },
        instruction::InitializeGrid { args },
    )
}

pub fn update_grid(admin: &Pubkey, grid: &Pubkey, args: UpdateGridArgs) -> Instruction {
    build(
        accounts::UpdateGrid {
            admin: *admin,
            grid: *grid,
        },
        instruction::UpdateGrid { args },
    )
}

pub fn set_paused(admin: &Pubkey, grid: &Pubkey, paused: bool) -> Instruction {
    build(
        accounts::SetPaused {
            admin: *admin,
            grid: *grid,
        },
        instruction::SetPaused { paused },
    )
}

/// `owner` is the owning resident's address (`pda::resident`); `meter_index` is the grid's
/// `meter_count` before this registration (the meter's directory slot).
pub fn register_meter(
    admin: &Pubkey,
    grid: &Pubkey,
    owner: &Pubkey,
    meter_index: u32,
    args: RegisterMeterArgs,
) -> Instruction {
    build(
        accounts::RegisterMeter {
            admin: *admin,
            grid: *grid,
            owner: *owner,
            meter: pda::meter(grid, &args.meter_id),
            meter_entry: pda::meter_entry(grid, meter_index),
            system_program: system_program::ID,
        },
        instruction::RegisterMeter { args },
    )
}

pub fn rotate_gateway(
    admin: &Pubkey,
    grid: &Pubkey,
    meter: &Pubkey,
    new_gateway: &Pubkey,
) -> Instruction {
    build(
        accounts::RotateGateway {
            admin: *admin,
            grid: *grid,
            meter: *meter,
        },
        instruction::RotateGateway {
            new_gateway: *new_gateway,
        },
    )
}

pub fn deactivate_meter(admin: &Pubkey, grid: &Pubkey, meter: &Pubkey) -> Instruction {
    build(
        accounts::DeactivateMeter {
            admin: *admin,
            grid: *grid,
            meter: *meter,
        },
        instruction::DeactivateMeter {},
    )
}

/// `resident_index` is the grid's `resident_count` before this registration.
pub fn register_resident(
    authority: &Pubkey,
    grid: &Pubkey,
    resident_index: u32,
    resident_id: &str,
) -> Instruction {
    let resident = pda::resident(grid, resident_id);
    build(
        accounts::RegisterResident {
            authority: *authority,
            grid: *grid,
            resident,
            resident_entry: pda::resident_entry(grid, resident_index),
            mint: pda::mint(grid),
            coins: pda::coins(&resident),
            token_program: token::ID,
            system_program: system_program::ID,
        },
        instruction::RegisterResident {
            resident_id: resident_id.to_string(),
        },
    )
}

/// `resident` (the funder, signed by `authority`) moves `amount_units` to `meter`.
pub fn fund(
    authority: &Pubkey,
    grid: &Pubkey,
    resident: &Pubkey,
    meter: &Pubkey,
    amount_units: u64,
) -> Instruction {
    build(
        accounts::Fund {
            authority: *authority,
            grid: *grid,
            resident: *resident,
            coins: pda::coins(resident),
            meter: *meter,
            vault: pda::vault(grid),
            pool: pda::pool(grid),
            token_program: token::ID,
        },
        instruction::Fund { amount_units },
    )
}

/// Moves a producer meter's earnings to `owner`, the meter's owning resident.
pub fn collect_earnings(grid: &Pubkey, meter: &Pubkey, owner: &Pubkey) -> Instruction {
    build(
        accounts::CollectEarnings {
            grid: *grid,
            meter: *meter,
            owner: *owner,
            coins: pda::coins(owner),
            vault: pda::vault(grid),
            token_program: token::ID,
        },
        instruction::CollectEarnings {},
    )
}

pub fn request_withdrawal(
    authority: &Pubkey,
    grid: &Pubkey,
    resident: &Pubkey,
    amount_units: u64,
) -> Instruction {
    build(
        accounts::RequestWithdrawal {
            authority: *authority,
            grid: *grid,
            resident: *resident,
            coins: pda::coins(resident),
            escrow: pda::escrow(grid),
            token_program: token::ID,
        },
        instruction::RequestWithdrawal { amount_units },
    )
}

pub fn cancel_withdrawal(authority: &Pubkey, grid: &Pubkey, resident: &Pubkey) -> Instruction {
    build(
        accounts::CancelWithdrawal {
            authority: *authority,
            grid: *grid,
            resident: *resident,
            coins: pda::coins(resident),
            escrow: pda::escrow(grid),
            token_program: token::ID,
        },
        instruction::CancelWithdrawal {},
    )
}

/// Signed by the meter's `gateway`; `payer` pays the fee and, for an epoch's first report,
/// the epoch account's rent (returned when the epoch is closed).
pub fn report(
    gateway: &Pubkey,
    payer: &Pubkey,
    grid: &Pubkey,
    meter: &Pubkey,
    epoch: u64,
    wh: u64,
) -> Instruction {
    build(
        accounts::Report {
            gateway: *gateway,
            payer: *payer,
            grid: *grid,
            meter: *meter,
            epoch_account: pda::epoch(grid, epoch),
            system_program: system_program::ID,
        },
        instruction::Report { epoch, wh },
    )
}

/// One settlement batch: `meters` are the epoch's meters to settle in this call.
pub fn settle(grid: &Pubkey, epoch: u64, meters: &[Pubkey]) -> Instruction {
    let mut ix = build(
        accounts::Settle {
            grid: *grid,
            epoch_account: pda::epoch(grid, epoch),
            vault: pda::vault(grid),
            pool: pda::pool(grid),
            treasury: pda::treasury(grid),
            token_program: token::ID,
        },
        instruction::Settle { epoch },
    );
    ix.accounts
        .extend(meters.iter().map(|m| AccountMeta::new(*m, false)));
    ix
}

pub fn close_epoch(grid: &Pubkey, epoch: u64, rent_payer: &Pubkey) -> Instruction {
    build(
        accounts::CloseEpoch {
            grid: *grid,
            epoch_account: pda::epoch(grid, epoch),
            rent_payer: *rent_payer,
        },
        instruction::CloseEpoch { epoch },
    )
}

/// Signed by the grid's oracle: positive cents mint, negative cents burn escrowed coins.
pub fn add_fiat(
    oracle: &Pubkey,
    grid: &Pubkey,
    resident: &Pubkey,
    amount_cents: i64,
    payment_id: &str,
) -> Instruction {
    build(
        accounts::AddFiat {
            oracle: *oracle,
            grid: *grid,
            resident: *resident,
            coins: pda::coins(resident),
            mint: pda::mint(grid),
            escrow: pda::escrow(grid),
            receipt: pda::receipt(grid, payment_id),
            token_program: token::ID,
            system_program: system_program::ID,
        },
        instruction::AddFiat {
            amount_cents,
            payment_id: payment_id.to_string(),
        },
    )
}

/// Signed by the grid's oracle before it creates a payout: locks the escrowed coins the
/// payout of `amount_cents` will burn. `payout_ref` is the utility's id for that payout.
pub fn lock_withdrawal(
    oracle: &Pubkey,
    grid: &Pubkey,
    resident: &Pubkey,
    amount_cents: u64,
    payout_ref: &str,
) -> Instruction {
    build(
        accounts::LockWithdrawal {
            oracle: *oracle,
            grid: *grid,
            resident: *resident,
            receipt: pda::receipt(grid, payout_ref),
            system_program: system_program::ID,
        },
        instruction::LockWithdrawal {
            amount_cents,
            payout_ref: payout_ref.to_string(),
        },
    )
}

/// Signed by the grid's oracle when a payout failed: returns the coins locked for it.
pub fn return_withdrawal(
    oracle: &Pubkey,
    grid: &Pubkey,
    resident: &Pubkey,
    amount_cents: u64,
    payment_id: &str,
) -> Instruction {
    build(
        accounts::ReturnWithdrawal {
            oracle: *oracle,
            grid: *grid,
            resident: *resident,
            coins: pda::coins(resident),
            escrow: pda::escrow(grid),
            receipt: pda::receipt(grid, payment_id),
            token_program: token::ID,
            system_program: system_program::ID,
        },
        instruction::ReturnWithdrawal {
            amount_cents,
            payment_id: payment_id.to_string(),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builders_are_pure_and_mark_signers() {
        let gateway = Pubkey::new_unique();
        let payer = Pubkey::new_unique();
        let grid = pda::grid("g");
        let meter = pda::meter(&grid, "pole-1");
        let a = report(&gateway, &payer, &grid, &meter, 7, 1_500);
        assert_eq!(a, report(&gateway, &payer, &grid, &meter, 7, 1_500));
        assert!(a.accounts[0].is_signer && !a.accounts[0].is_writable);
        assert!(a.accounts[1].is_signer && a.accounts[1].is_writable);
        assert_eq!(a.accounts[4].pubkey, pda::epoch(&grid, 7));
    }

    #[test]
    fn settle_appends_meters_writable_and_unsigned() {
        let grid = pda::grid("g");
        let meters: Vec<Pubkey> = (0..3)
            .map(|i| pda::meter(&grid, &format!("m{i}")))
            .collect();
        let ix = settle(&grid, 3, &meters);
        let tail = &ix.accounts[ix.accounts.len() - 3..];
        for (meta, key) in tail.iter().zip(&meters) {
            assert_eq!(meta.pubkey, *key);
            assert!(meta.is_writable && !meta.is_signer);
        }
    }
}
