//! A resident: a wallet registered under a human-readable id, with its coin account and the
//! books of its sales.

use anchor_lang::prelude::*;

use crate::constants::{HOLD_SLOTS, MAX_ID_LEN, MAX_PAYOUT_ACCOUNT_LEN};
use crate::error::EnergyError;
use crate::math::{move_units, SafeAdd, SafeSub};

#[account]
#[derive(InitSpace)]
pub struct Resident {
    pub grid: Pubkey,
    /// The wallet that signs for this resident.
    pub authority: Pubkey,
    #[max_len(MAX_ID_LEN)]
    pub id: String,
    /// The resident's coin account (owned by the grid PDA, moved only by the program).
    pub coins: Pubkey,
    /// Coins of sales the resident requested and may still cancel (Σ `Requested` sales).
    pub escrow_units: u64,
    /// Coins of sales locked for a payout in flight (Σ `Locked` sales): burned when the payout
    /// is paid, returned when it fails or is canceled.
    pub locked_units: u64,
    /// Registration order within the grid, for enumeration.
    pub index: u32,
    /// Sales requested so far: the next sale's number.
    pub sale_count: u32,
    /// Meters the resident owns: it can close only when it owns none (a new resident under
    /// its id would otherwise inherit them).
    pub meters_owned: u32,
    /// Sale accounts not closed yet (requested, locked, or ended within the retention).
    pub open_sales: u32,
    /// The processor account the resident's sales are paid to (Stripe: a Connect account,
    /// `acct_…`), bound by the resident's own signature; empty until bound.
    #[max_len(MAX_PAYOUT_ACCOUNT_LEN)]
    pub payout_account: String,
    /// A change of payout account the resident signed, in force from `payout_change_ts`
    /// unless they cancel it first; empty when none waits.
    #[max_len(MAX_PAYOUT_ACCOUNT_LEN)]
    pub pending_payout_account: String,
    pub payout_change_ts: i64,
    /// Coins a refund or a lost dispute took back that the resident no longer held: repaid
    /// first from later purchases and earnings; no sale while any is owed.
    pub debt_units: u64,
    /// Coins bought by card, sellable only once their hold has passed.
    pub holds: [Hold; HOLD_SLOTS],
    /// Who paid the rent of the resident's accounts (its wallet, or a utility that sponsors
    /// residents who hold no SOL): closing returns it to them.
    pub rent_payer: Pubkey,
    pub bump: u8,
}

/// Coins bought by card at one time, held from sale until `until_ts`.
#[derive(
    AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, Default, PartialEq, Eq, InitSpace,
)]
pub struct Hold {
    pub units: u64,
    pub until_ts: i64,
}

impl Resident {
    /// Books a new sale of `units`: set aside, cancellable. Returns the sale's number.
    pub fn set_aside(&mut self, units: u64) -> Result<u32> {
        let escrow_units = self.escrow_units.safe_add(units)?;
        let open_sales = self.open_sales.safe_add(1)?;
        let number = self.sale_count;
        self.sale_count = number.safe_add(1)?;
        self.escrow_units = escrow_units;
        self.open_sales = open_sales;
        Ok(number)
    }

    /// A requested sale cancelled: its coins go back to the resident, and its account closes.
    pub fn cancel(&mut self, units: u64) -> Result<()> {
        self.escrow_units = self
            .escrow_units
            .safe_sub(units, EnergyError::VaultShortfall)?;
        self.close_sale()
    }

    /// Coins of a requested sale taken back by a refund or dispute: they leave the escrow.
    pub fn release_escrow(&mut self, units: u64) -> Result<()> {
        self.escrow_units = self
            .escrow_units
            .safe_sub(units, EnergyError::VaultShortfall)?;
        Ok(())
    }

    /// A sale's account closed.
    pub fn close_sale(&mut self) -> Result<()> {
        self.open_sales = self
            .open_sales
            .safe_sub(1, EnergyError::ConservationViolated)?;
        Ok(())
    }

    /// A meter registered to this resident.
    pub fn add_meter(&mut self) -> Result<()> {
        self.meters_owned = self.meters_owned.safe_add(1)?;
        Ok(())
    }

    /// One of its meters closed.
    pub fn remove_meter(&mut self) -> Result<()> {
        self.meters_owned = self
            .meters_owned
            .safe_sub(1, EnergyError::ConservationViolated)?;
        Ok(())
    }

    /// Whether the resident may close: no coins in its account (`coin_units`), nothing in the
    /// escrow, no meter and no sale account left.
    pub fn check_empty(&self, coin_units: u64) -> Result<()> {
        require!(
            coin_units == 0
                && self.escrowed_units()? == 0
                && self.meters_owned == 0
                && self.open_sales == 0
                && self.debt_units == 0,
            EnergyError::ResidentNotEmpty
        );
        Ok(())
    }

    /// A requested sale locked for a payout: no longer cancellable.
    pub fn lock(&mut self, units: u64) -> Result<()> {
        move_units(
            &mut self.escrow_units,
            &mut self.locked_units,
            units,
            EnergyError::VaultShortfall,
        )
    }

    /// A locked sale's payout ended (paid: burned; failed: returned).
    pub fn unlock(&mut self, units: u64) -> Result<()> {
        self.locked_units = self
            .locked_units
            .safe_sub(units, EnergyError::VaultShortfall)?;
        Ok(())
    }

    /// The resident's coins in the grid's escrow: set aside or locked for a payout.
    pub fn escrowed_units(&self) -> Result<u64> {
        self.escrow_units.safe_add(self.locked_units)
    }

    /// Coins in the escrow belong to the resident's sales: their sum fits the grid's escrow
    /// total (a u64), and a resident who never requested a sale has none there.
    pub fn invariant(&self) -> Result<()> {
        let escrowed_units = self.escrowed_units()?;
        require!(
            self.sale_count > 0 || escrowed_units == 0,
            EnergyError::VaultShortfall
        );
        require!(
            self.open_sales <= self.sale_count,
            EnergyError::ConservationViolated
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::tests::refused;

    fn resident() -> Resident {
        Resident {
            grid: Pubkey::new_unique(),
            authority: Pubkey::new_unique(),
            id: "carlos".into(),
            coins: Pubkey::new_unique(),
            escrow_units: 0,
            locked_units: 0,
            index: 0,
            sale_count: 0,
            meters_owned: 0,
            open_sales: 0,
            payout_account: String::new(),
            pending_payout_account: String::new(),
            payout_change_ts: 0,
            debt_units: 0,
            holds: [Hold::default(); HOLD_SLOTS],
            rent_payer: Pubkey::default(),
            bump: 255,
        }
    }

    #[test]
    fn a_sale_is_set_aside_then_locked_then_unlocked() {
        let mut r = resident();
        assert_eq!(r.set_aside(5).unwrap(), 0);
        assert_eq!(r.set_aside(2).unwrap(), 1);
        assert_eq!((r.escrow_units, r.locked_units, r.sale_count), (7, 0, 2));
        r.lock(5).unwrap();
        assert_eq!((r.escrow_units, r.locked_units), (2, 5));
        r.cancel(2).unwrap();
        r.unlock(5).unwrap();
        assert_eq!((r.escrow_units, r.locked_units, r.sale_count), (0, 0, 2));
        r.invariant().unwrap();
    }

    #[test]
    fn setting_aside_beyond_u64_overflows() {
        let mut r = resident();
        r.set_aside(u64::MAX).unwrap();
        refused(r.set_aside(1), EnergyError::MathOverflow);
        r.sale_count = u32::MAX;
        r.escrow_units = 0;
        refused(r.set_aside(1), EnergyError::MathOverflow);
        assert_eq!((r.escrow_units, r.sale_count), (0, u32::MAX));
    }

    #[test]
    fn locking_beyond_u64_overflows() {
        let mut r = resident();
        r.set_aside(1).unwrap();
        r.locked_units = u64::MAX;
        refused(r.lock(1), EnergyError::MathOverflow);
        assert_eq!(r.escrow_units, 1);
    }

    #[test]
    fn cancelling_or_locking_more_than_is_set_aside_is_a_shortfall() {
        let mut r = resident();
        r.set_aside(3).unwrap();
        refused(r.cancel(4), EnergyError::VaultShortfall);
        refused(r.lock(4), EnergyError::VaultShortfall);
        assert_eq!((r.escrow_units, r.locked_units), (3, 0));
    }

    #[test]
    fn unlocking_more_than_is_locked_is_a_shortfall() {
        let mut r = resident();
        r.set_aside(3).unwrap();
        r.lock(3).unwrap();
        refused(r.unlock(4), EnergyError::VaultShortfall);
    }

    #[test]
    fn the_invariant_refuses_escrowed_coins_beyond_u64() {
        let mut r = resident();
        r.sale_count = 2;
        r.escrow_units = u64::MAX;
        r.locked_units = 1;
        refused(r.invariant(), EnergyError::MathOverflow);
    }

    #[test]
    fn the_invariant_refuses_escrowed_coins_without_a_sale() {
        let mut r = resident();
        r.escrow_units = 1;
        refused(r.invariant(), EnergyError::VaultShortfall);
        r.escrow_units = 0;
        r.locked_units = 1;
        refused(r.invariant(), EnergyError::VaultShortfall);
    }

    #[test]
    fn a_resident_is_empty_only_without_coins_escrow_meters_or_open_sales() {
        let mut r = resident();
        r.check_empty(0).unwrap();
        refused(r.check_empty(1), EnergyError::ResidentNotEmpty);
        r.add_meter().unwrap();
        refused(r.check_empty(0), EnergyError::ResidentNotEmpty);
        r.remove_meter().unwrap();
        r.set_aside(5).unwrap();
        refused(r.check_empty(0), EnergyError::ResidentNotEmpty);
        r.cancel(5).unwrap();
        assert_eq!((r.open_sales, r.sale_count), (0, 1));
        r.check_empty(0).unwrap();
        refused(r.close_sale(), EnergyError::ConservationViolated);
    }
}
