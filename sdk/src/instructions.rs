//! One pure builder per program instruction: same inputs, same `Instruction`.

use anchor_lang::prelude::{AccountMeta, Pubkey};
use anchor_lang::solana_program::instruction::Instruction;
use anchor_lang::{system_program, InstructionData, ToAccountMetas};
use anchor_spl::token;
pub use energy_utility::instructions::{InitializeGridArgs, RegisterMeterArgs, UpdateGridArgs};
pub use energy_utility::state::{Clawback, MeterAct};
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

/// The admin proposes `act` for `meter`, whose owning resident is `owner`. With
/// `owner_authority` (the owner's wallet, which then signs too) it applies at once; without,
/// after the grid's notice, unless the owner vetoes it.
pub fn change_meter(
    admin: &Pubkey,
    grid: &Pubkey,
    meter: &Pubkey,
    owner: &Pubkey,
    owner_authority: Option<&Pubkey>,
    act: MeterAct,
) -> Instruction {
    build(
        accounts::ChangeMeter {
            admin: *admin,
            grid: *grid,
            meter: *meter,
            owner: *owner,
            owner_authority: owner_authority.copied(),
            coins: pda::coins(owner),
            vault: pda::vault(grid),
            token_program: token::ID,
        },
        instruction::ChangeMeter { act },
    )
}

/// Signed by the admin: makes a consumer meter (`import_meter`) and a producer meter
/// (`export_meter`) of the same owner and gateway one prosumer's bidirectional meter; their
/// registers are reported together from then on (`report_prosumer`).
pub fn pair_meters(
    admin: &Pubkey,
    grid: &Pubkey,
    import_meter: &Pubkey,
    export_meter: &Pubkey,
) -> Instruction {
    build(
        accounts::PairMeters {
            admin: *admin,
            grid: *grid,
            import_meter: *import_meter,
            export_meter: *export_meter,
        },
        instruction::PairMeters {},
    )
}

/// Anyone applies the change proposed for `meter` once its notice has passed.
pub fn apply_meter_change(grid: &Pubkey, meter: &Pubkey, owner: &Pubkey) -> Instruction {
    build(
        accounts::ApplyMeterChange {
            grid: *grid,
            meter: *meter,
            owner: *owner,
            coins: pda::coins(owner),
            vault: pda::vault(grid),
            token_program: token::ID,
        },
        instruction::ApplyMeterChange {},
    )
}

/// The meter's owner (its wallet `authority` signs) turns down the change proposed for it.
pub fn veto_meter_change(
    authority: &Pubkey,
    grid: &Pubkey,
    meter: &Pubkey,
    owner: &Pubkey,
) -> Instruction {
    build(
        accounts::VetoMeterChange {
            authority: *authority,
            grid: *grid,
            meter: *meter,
            owner: *owner,
        },
        instruction::VetoMeterChange {},
    )
}

/// A meter's owner (`authority` of the resident `owner`), low on coins, takes the grid's
/// emergency credit for the meter: once per top-up cycle.
pub fn take_emergency_credit(
    authority: &Pubkey,
    grid: &Pubkey,
    meter: &Pubkey,
    owner: &Pubkey,
) -> Instruction {
    build(
        accounts::TakeEmergencyCredit {
            authority: *authority,
            grid: *grid,
            meter: *meter,
            owner: *owner,
        },
        instruction::TakeEmergencyCredit {},
    )
}

/// Anyone writes down the grid's proposed terms whose notice has passed.
pub fn apply_grid_changes(grid: &Pubkey) -> Instruction {
    build(
        accounts::ApplyGridChanges { grid: *grid },
        instruction::ApplyGridChanges {},
    )
}

/// The admin withdraws every proposed change that has not taken effect.
pub fn cancel_grid_changes(admin: &Pubkey, grid: &Pubkey) -> Instruction {
    build(
        accounts::CancelGridChanges {
            admin: *admin,
            grid: *grid,
        },
        instruction::CancelGridChanges {},
    )
}

/// The admin offers its role to `new_admin` (`Pubkey::default()` withdraws the offer).
pub fn propose_admin(admin: &Pubkey, grid: &Pubkey, new_admin: &Pubkey) -> Instruction {
    build(
        accounts::ProposeAdmin {
            admin: *admin,
            grid: *grid,
        },
        instruction::ProposeAdmin {
            new_admin: *new_admin,
        },
    )
}

/// The wallet the admin role was offered to takes it (it signs).
pub fn accept_admin(new_admin: &Pubkey, grid: &Pubkey) -> Instruction {
    build(
        accounts::AcceptAdmin {
            new_admin: *new_admin,
            grid: *grid,
        },
        instruction::AcceptAdmin {},
    )
}

/// An empty resident (its wallet `authority` signs) closes its accounts; `resident_index` is
/// its `Resident::index`.
pub fn close_resident(
    authority: &Pubkey,
    grid: &Pubkey,
    resident: &Pubkey,
    resident_index: u32,
    rent_payer: &Pubkey,
) -> Instruction {
    build(
        accounts::CloseResident {
            authority: *authority,
            grid: *grid,
            resident: *resident,
            coins: pda::coins(resident),
            resident_entry: pda::resident_entry(grid, resident_index),
            rent_payer: *rent_payer,
            token_program: token::ID,
        },
        instruction::CloseResident {},
    )
}

/// Closes a retired meter whose readings are all settled; `meter_index` is its directory
/// slot (`Meter::index`), `rent_payer` its `Meter::rent_payer`.
pub fn close_meter(
    admin: &Pubkey,
    grid: &Pubkey,
    meter: &Pubkey,
    meter_index: u32,
    owner: &Pubkey,
    rent_payer: &Pubkey,
) -> Instruction {
    build(
        accounts::CloseMeter {
            admin: *admin,
            grid: *grid,
            meter: *meter,
            meter_entry: pda::meter_entry(grid, meter_index),
            owner: *owner,
            coins: pda::coins(owner),
            vault: pda::vault(grid),
            pool: pda::pool(grid),
            rent_payer: *rent_payer,
            token_program: token::ID,
        },
        instruction::CloseMeter {},
    )
}

/// `resident_index` is the grid's `resident_count` before this registration.
///
/// `payer` pays the rent of the resident's accounts (the wallet itself, or a utility
/// sponsoring a wallet that holds no SOL) and gets it back when they close.
pub fn register_resident(
    authority: &Pubkey,
    payer: &Pubkey,
    grid: &Pubkey,
    resident_index: u32,
    resident_id: &str,
) -> Instruction {
    let resident = pda::resident(grid, resident_id);
    build(
        accounts::RegisterResident {
            authority: *authority,
            payer: *payer,
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

/// Moves a producer meter's earnings to `owner`, the meter's owning resident (repaying its
/// debt first, if it owes any).
pub fn collect_earnings(grid: &Pubkey, meter: &Pubkey, owner: &Pubkey) -> Instruction {
    build(
        accounts::CollectEarnings {
            grid: *grid,
            meter: *meter,
            owner: *owner,
            coins: pda::coins(owner),
            vault: pda::vault(grid),
            mint: pda::mint(grid),
            token_program: token::ID,
        },
        instruction::CollectEarnings {},
    )
}

/// The resident (its wallet `authority` signs) binds the processor account its sales are paid
/// to: at once the first time, after the grid's payout notice for a change.
pub fn set_payout_account(
    authority: &Pubkey,
    grid: &Pubkey,
    resident: &Pubkey,
    account: &str,
) -> Instruction {
    build(
        accounts::SetPayoutAccount {
            authority: *authority,
            grid: *grid,
            resident: *resident,
        },
        instruction::SetPayoutAccount {
            account: account.to_string(),
        },
    )
}

/// The resident withdraws the change of payout account that waits.
pub fn cancel_payout_account_change(
    authority: &Pubkey,
    grid: &Pubkey,
    resident: &Pubkey,
) -> Instruction {
    build(
        accounts::CancelPayoutAccountChange {
            authority: *authority,
            grid: *grid,
            resident: *resident,
        },
        instruction::CancelPayoutAccountChange {},
    )
}

/// Signed by the grid's oracle: the processor refunded (or a card holder disputed) `total_cents`
/// of the purchase `payment_id` of `resident`, so far. `sales` are the resident's sales not yet
/// locked, which give their coins when the resident's own do not suffice.
pub fn claw_back(
    oracle: &Pubkey,
    grid: &Pubkey,
    resident: &Pubkey,
    payment_id: &str,
    kind: Clawback,
    total_cents: u64,
    sales: &[Pubkey],
) -> Instruction {
    let mut ix = build(
        accounts::ClawBack {
            oracle: *oracle,
            grid: *grid,
            receipt: pda::receipt(grid, payment_id),
            resident: *resident,
            coins: pda::coins(resident),
            escrow: pda::escrow(grid),
            mint: pda::mint(grid),
            token_program: token::ID,
        },
        instruction::ClawBack {
            payment_id: payment_id.to_string(),
            kind,
            total_cents,
        },
    );
    ix.accounts
        .extend(sales.iter().map(|s| AccountMeta::new(*s, false)));
    ix
}

/// Signed by the grid's oracle: the dispute of `payment_id` was won, its coins go back.
pub fn restore_dispute(
    oracle: &Pubkey,
    grid: &Pubkey,
    resident: &Pubkey,
    payment_id: &str,
) -> Instruction {
    build(
        accounts::RestoreDispute {
            oracle: *oracle,
            grid: *grid,
            receipt: pda::receipt(grid, payment_id),
            resident: *resident,
            coins: pda::coins(resident),
            mint: pda::mint(grid),
            token_program: token::ID,
        },
        instruction::RestoreDispute {
            payment_id: payment_id.to_string(),
        },
    )
}

/// A resident's sale to request: what is sold and the least accepted (the dollars go to the
/// payout account the resident bound).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SaleRequest {
    pub amount_units: u64,
    /// The least the resident accepts, in cents (`fiat::quote_payout_cents` at today's price:
    /// a lock for less, after a price cut, is refused).
    pub min_cents: u64,
}

/// The resident (signed by `authority`, who pays the sale's rent) sells coins, to be paid to the
/// payout account it bound. `sale` is the new sale's address: `pda::sale(resident, its index,
/// its sale_count)`.
pub fn request_withdrawal(
    authority: &Pubkey,
    payer: &Pubkey,
    grid: &Pubkey,
    resident: &Pubkey,
    sale: &Pubkey,
    request: SaleRequest,
) -> Instruction {
    build(
        accounts::RequestWithdrawal {
            authority: *authority,
            payer: *payer,
            grid: *grid,
            resident: *resident,
            coins: pda::coins(resident),
            escrow: pda::escrow(grid),
            sale: *sale,
            token_program: token::ID,
            system_program: system_program::ID,
        },
        instruction::RequestWithdrawal {
            amount_units: request.amount_units,
            min_cents: request.min_cents,
        },
    )
}

/// The resident takes back their `sale`, if it is not locked for a payout yet; its rent goes
/// back to `rent_payer` (`Sale::rent_payer`).
pub fn cancel_withdrawal(
    authority: &Pubkey,
    grid: &Pubkey,
    resident: &Pubkey,
    sale: &Pubkey,
    rent_payer: &Pubkey,
) -> Instruction {
    build(
        accounts::CancelWithdrawal {
            authority: *authority,
            grid: *grid,
            resident: *resident,
            coins: pda::coins(resident),
            escrow: pda::escrow(grid),
            sale: *sale,
            rent_payer: *rent_payer,
            token_program: token::ID,
        },
        instruction::CancelWithdrawal {},
    )
}

/// Signed by the meter's `gateway`: the meter's cumulative register (Wh) for `epoch`. `payer`
/// pays the fee and, for an epoch's first report, the epoch account's rent (returned when the
/// epoch is closed).
pub fn report(
    gateway: &Pubkey,
    payer: &Pubkey,
    grid: &Pubkey,
    meter: &Pubkey,
    epoch: u64,
    register_wh: u64,
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
        instruction::Report { epoch, register_wh },
    )
}

/// A prosumer's bidirectional meter: its import side (a consumer meter) and its export side
/// (a producer meter), paired by `pair_meters`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProsumerMeters {
    pub import: Pubkey,
    pub export: Pubkey,
}

/// Signed by a prosumer's `gateway`: both registers (Wh) of its bidirectional meter for
/// `epoch`, the import to the consumer side and the export to the producer side, taken
/// together or not at all.
pub fn report_prosumer(
    gateway: &Pubkey,
    payer: &Pubkey,
    grid: &Pubkey,
    meters: &ProsumerMeters,
    epoch: u64,
    import_wh: u64,
    export_wh: u64,
) -> Instruction {
    build(
        accounts::ReportProsumer {
            gateway: *gateway,
            payer: *payer,
            grid: *grid,
            import_meter: meters.import,
            export_meter: meters.export,
            epoch_account: pda::epoch(grid, epoch),
            system_program: system_program::ID,
        },
        instruction::ReportProsumer {
            epoch,
            import_wh,
            export_wh,
        },
    )
}

/// Permissionless: disconnects a consumer meter silent for the grid's `max_silent_epochs`.
pub fn disconnect_silent(grid: &Pubkey, meter: &Pubkey) -> Instruction {
    build(
        accounts::DisconnectSilent {
            grid: *grid,
            meter: *meter,
        },
        instruction::DisconnectSilent {},
    )
}

/// Records `table` as the lookup table listing the grid's meters `index * 256 ..` (admin).
pub fn record_lookup_table(
    admin: &Pubkey,
    grid: &Pubkey,
    index: u32,
    table: &Pubkey,
) -> Instruction {
    build(
        accounts::RecordLookupTable {
            admin: *admin,
            grid: *grid,
            table: *table,
            entry: pda::lookup_table_entry(grid, index),
            system_program: system_program::ID,
        },
        instruction::RecordLookupTable { index },
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

/// Signed by the grid's oracle for dollars paid in: mints `floor(cents × 10⁶ / price)` units
/// to `resident`. `event_ts` is when the processor says the payment happened.
pub fn add_fiat(
    oracle: &Pubkey,
    grid: &Pubkey,
    resident: &Pubkey,
    amount_cents: u64,
    payment_id: &str,
    event_ts: i64,
) -> Instruction {
    build(
        accounts::AddFiat {
            oracle: *oracle,
            grid: *grid,
            resident: *resident,
            coins: pda::coins(resident),
            mint: pda::mint(grid),
            receipt: pda::receipt(grid, payment_id),
            token_program: token::ID,
            system_program: system_program::ID,
        },
        instruction::AddFiat {
            amount_cents,
            payment_id: payment_id.to_string(),
            event_ts,
        },
    )
}

/// Signed by the grid's oracle before it pays the resident's `sale` (to the account the sale
/// names): `amount_cents` must be what the sale's coins are worth now (`quote_payout_cents`),
/// and no less than the resident accepted.
pub fn lock_withdrawal(
    oracle: &Pubkey,
    grid: &Pubkey,
    resident: &Pubkey,
    sale: &Pubkey,
    amount_cents: u64,
) -> Instruction {
    build(
        accounts::LockWithdrawal {
            oracle: *oracle,
            grid: *grid,
            resident: *resident,
            sale: *sale,
        },
        instruction::LockWithdrawal { amount_cents },
    )
}

/// Signed by the grid's oracle when the `sale`'s payout `payout_id` was paid: burns its coins.
pub fn payout_paid(
    oracle: &Pubkey,
    grid: &Pubkey,
    resident: &Pubkey,
    sale: &Pubkey,
    payout_id: &str,
) -> Instruction {
    build(
        accounts::PayoutPaid {
            oracle: *oracle,
            grid: *grid,
            resident: *resident,
            sale: *sale,
            mint: pda::mint(grid),
            escrow: pda::escrow(grid),
            token_program: token::ID,
        },
        instruction::PayoutPaid {
            payout_id: payout_id.to_string(),
        },
    )
}

/// Signed by the grid's oracle when the `sale`'s payout failed or was canceled (before or
/// after it was paid): its coins go back to the resident.
pub fn payout_failed(
    oracle: &Pubkey,
    grid: &Pubkey,
    resident: &Pubkey,
    sale: &Pubkey,
    payout_id: &str,
) -> Instruction {
    build(
        accounts::PayoutFailed {
            oracle: *oracle,
            grid: *grid,
            resident: *resident,
            coins: pda::coins(resident),
            sale: *sale,
            mint: pda::mint(grid),
            escrow: pda::escrow(grid),
            token_program: token::ID,
        },
        instruction::PayoutFailed {
            payout_id: payout_id.to_string(),
        },
    )
}

/// Permissionless, after the grid's receipt retention: returns a receipt's rent to its payer.
pub fn close_receipt(grid: &Pubkey, payment_id: &str, rent_payer: &Pubkey) -> Instruction {
    build(
        accounts::CloseReceipt {
            grid: *grid,
            receipt: pda::receipt(grid, payment_id),
            rent_payer: *rent_payer,
        },
        instruction::CloseReceipt {
            payment_id: payment_id.to_string(),
        },
    )
}

/// Permissionless, after the grid's receipt retention: returns an ended sale's rent.
pub fn close_sale(
    grid: &Pubkey,
    resident: &Pubkey,
    sale: &Pubkey,
    rent_payer: &Pubkey,
) -> Instruction {
    build(
        accounts::CloseSale {
            grid: *grid,
            resident: *resident,
            sale: *sale,
            rent_payer: *rent_payer,
        },
        instruction::CloseSale {},
    )
}

/// Signed by the admin: moves `amount_units` (0: all) of the treasury to `resident`, a
/// resident account of the admin's own wallet.
pub fn collect_fees(
    admin: &Pubkey,
    grid: &Pubkey,
    resident: &Pubkey,
    amount_units: u64,
) -> Instruction {
    build(
        accounts::CollectFees {
            admin: *admin,
            grid: *grid,
            resident: *resident,
            coins: pda::coins(resident),
            treasury: pda::treasury(grid),
            token_program: token::ID,
        },
        instruction::CollectFees { amount_units },
    )
}

/// The SPL Memo program (v3): on every cluster, and in the local bank.
pub const MEMO_PROGRAM_ID: Pubkey =
    anchor_lang::pubkey!("MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr");

/// A memo: `text` written to the transaction's logs; no account, no signer.
pub fn memo(text: &str) -> Instruction {
    Instruction {
        program_id: MEMO_PROGRAM_ID,
        accounts: Vec::new(),
        data: text.as_bytes().to_vec(),
    }
}

/// The memo that makes one intended action a transaction of its own (`deu:<action id>`): two
/// requests that build the same instructions within one block are otherwise the same signed
/// bytes, and the cluster runs them once. Costs one account key and a few hundred compute
/// units (the memo program checks the text is UTF-8 and logs it).
pub fn action_memo(action_id: &str) -> Instruction {
    memo(&format!("deu:{action_id}"))
}

/// The action memo signed by `signer` (the memo program checks the signature): a transaction
/// whose fee a sponsor pays still carries the acting wallet's signature, even for an act that
/// needs none (collecting earnings).
pub fn signed_action_memo(action_id: &str, signer: &Pubkey) -> Instruction {
    let mut ix = action_memo(action_id);
    ix.accounts
        .push(anchor_lang::prelude::AccountMeta::new_readonly(
            *signer, true,
        ));
    ix
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
