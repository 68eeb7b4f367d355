//! What a resident's sales answer to beyond their coins: where payouts go (the processor
//! account the resident bound, a change of it waiting for the grid's payout notice), the holds
//! on coins bought by card, and the debt a refund or a lost dispute leaves.

use anchor_lang::prelude::*;

use crate::constants::MAX_PAYOUT_ACCOUNT_LEN;
use crate::error::EnergyError;
use crate::math::{SafeAdd, SafeSub};
use crate::state::{Hold, Resident};

/// A processor account id as the program stores it: 1 to 32 bytes of letters, digits and `_`
/// (Stripe: `acct_1P…`).
pub fn validate_payout_account(account: &str) -> Result<()> {
    let valid = !account.is_empty()
        && account.len() <= MAX_PAYOUT_ACCOUNT_LEN
        && account
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_');
    require!(valid, EnergyError::InvalidPayoutAccount);
    Ok(())
}

/// What binding a payout account did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PayoutBinding {
    /// The first account: in force at once.
    Bound,
    /// A change: in force at this time unless cancelled.
    Pending(i64),
    /// The account in force again: what waited is withdrawn.
    Withdrawn,
}

impl Resident {
    /// The payout account in force at `now`, if any.
    pub fn payout_account_at(&self, now: i64) -> Option<&str> {
        if !self.pending_payout_account.is_empty() && now >= self.payout_change_ts {
            Some(&self.pending_payout_account)
        } else {
            (!self.payout_account.is_empty()).then_some(self.payout_account.as_str())
        }
    }

    /// A change whose time has come becomes the account in force.
    fn roll_payout_account(&mut self, now: i64) {
        if !self.pending_payout_account.is_empty() && now >= self.payout_change_ts {
            self.payout_account = std::mem::take(&mut self.pending_payout_account);
            self.payout_change_ts = 0;
        }
    }

    /// Binds `account` for payouts: at once if none is bound, else after `notice_seconds`.
    pub fn bind_payout_account(
        &mut self,
        account: &str,
        now: i64,
        notice_seconds: u32,
    ) -> Result<PayoutBinding> {
        validate_payout_account(account)?;
        self.roll_payout_account(now);
        if self.payout_account.is_empty() {
            self.payout_account = account.to_string();
            return Ok(PayoutBinding::Bound);
        }
        if self.payout_account == account {
            self.pending_payout_account.clear();
            self.payout_change_ts = 0;
            return Ok(PayoutBinding::Withdrawn);
        }
        let at = now.safe_add(notice_seconds as i64)?;
        self.pending_payout_account = account.to_string();
        self.payout_change_ts = at;
        Ok(PayoutBinding::Pending(at))
    }

    /// The resident withdraws the change of payout account that waits.
    pub fn cancel_payout_change(&mut self, now: i64) -> Result<String> {
        self.roll_payout_account(now);
        require!(
            !self.pending_payout_account.is_empty(),
            EnergyError::NoPendingChange
        );
        self.payout_change_ts = 0;
        Ok(std::mem::take(&mut self.pending_payout_account))
    }

    /// Coins bought by card still held from sale at `now`.
    pub fn held_units(&self, now: i64) -> u64 {
        self.holds
            .iter()
            .filter(|h| h.until_ts > now)
            .map(|h| h.units)
            .fold(0u64, u64::saturating_add)
    }

    /// What of `coin_units` (the resident's coin account) may be sold at `now`.
    pub fn sellable_units(&self, coin_units: u64, now: i64) -> u64 {
        coin_units.saturating_sub(self.held_units(now))
    }

    /// Holds `units` just bought by card until `until_ts`: in a free (or expired) slot, else
    /// merged into the slot released last, which then waits for the later time.
    pub fn hold(&mut self, units: u64, until_ts: i64, now: i64) -> Result<()> {
        if units == 0 || until_ts <= now {
            return Ok(());
        }
        let slot = match self
            .holds
            .iter()
            .position(|h| h.units == 0 || h.until_ts <= now)
        {
            Some(free) => {
                self.holds[free] = Hold::default();
                free
            }
            None => (0..self.holds.len())
                .max_by_key(|i| self.holds[*i].until_ts)
                .unwrap_or(0),
        };
        let hold = &mut self.holds[slot];
        hold.units = hold.units.safe_add(units)?;
        hold.until_ts = hold.until_ts.max(until_ts);
        Ok(())
    }

    /// After coins left the resident's account (spent on meters, taken back), the held coins
    /// are the first spent: no more is held than the `coin_units` left, and what goes first
    /// is what would be released last.
    pub fn spend_held_first(&mut self, coin_units: u64, now: i64) {
        let mut excess = self.held_units(now).saturating_sub(coin_units);
        while excess > 0 {
            let Some(latest) = (0..self.holds.len())
                .filter(|i| self.holds[*i].until_ts > now && self.holds[*i].units > 0)
                .max_by_key(|i| self.holds[*i].until_ts)
            else {
                break;
            };
            let taken = excess.min(self.holds[latest].units);
            self.holds[latest].units -= taken;
            excess -= taken;
        }
    }

    /// Sale checks the resident's own books make: no debt owed, and the coins not on hold.
    pub fn check_sellable(&self, units: u64, coin_units: u64, now: i64) -> Result<()> {
        require!(self.debt_units == 0, EnergyError::ResidentInDebt);
        require!(
            units <= self.sellable_units(coin_units, now),
            EnergyError::CoinsOnHold
        );
        Ok(())
    }

    /// Records coins taken back that the resident no longer held.
    pub fn owe(&mut self, units: u64) -> Result<()> {
        self.debt_units = self.debt_units.safe_add(units)?;
        Ok(())
    }

    /// Repays debt from `units` coming in; returns the part that repaid it.
    pub fn repay_debt(&mut self, units: u64) -> Result<u64> {
        let repaid = units.min(self.debt_units);
        self.debt_units = self
            .debt_units
            .safe_sub(repaid, EnergyError::ConservationViolated)?;
        Ok(repaid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::constants::HOLD_SLOTS;
    use crate::state::tests::refused;

    fn resident() -> Resident {
        Resident {
            grid: Pubkey::new_unique(),
            authority: Pubkey::new_unique(),
            id: "zoe".into(),
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
    fn the_first_payout_account_binds_at_once_and_a_change_waits_its_notice() {
        let mut r = resident();
        assert_eq!(r.payout_account_at(0), None);
        assert_eq!(
            r.bind_payout_account("acct_1", 100, 50).unwrap(),
            PayoutBinding::Bound
        );
        assert_eq!(r.payout_account_at(100), Some("acct_1"));
        assert_eq!(
            r.bind_payout_account("acct_2", 200, 50).unwrap(),
            PayoutBinding::Pending(250)
        );
        assert_eq!(r.payout_account_at(249), Some("acct_1"));
        assert_eq!(r.payout_account_at(250), Some("acct_2"));
        // Cancelled before it applies, the first account stays.
        assert_eq!(r.cancel_payout_change(249).unwrap(), "acct_2");
        assert_eq!(r.payout_account_at(1_000), Some("acct_1"));
        refused(r.cancel_payout_change(1_000), EnergyError::NoPendingChange);
        // A change that came into force cannot be cancelled any more.
        r.bind_payout_account("acct_3", 300, 50).unwrap();
        refused(r.cancel_payout_change(400), EnergyError::NoPendingChange);
        assert_eq!(
            (r.payout_account.as_str(), r.pending_payout_account.as_str()),
            ("acct_3", "")
        );
        refused(
            r.bind_payout_account("acct-4!", 500, 50),
            EnergyError::InvalidPayoutAccount,
        );
        refused(
            r.bind_payout_account("", 500, 50),
            EnergyError::InvalidPayoutAccount,
        );
    }

    #[test]
    fn coins_bought_by_card_are_held_and_spent_first() {
        let mut r = resident();
        r.hold(10, 1_000, 0).unwrap();
        r.hold(5, 2_000, 10).unwrap();
        assert_eq!(r.held_units(500), 15);
        // 20 coins in the account, 15 held: 5 sellable, until the holds pass.
        assert_eq!(r.sellable_units(20, 500), 5);
        assert_eq!(r.sellable_units(20, 1_000), 15);
        assert_eq!(r.sellable_units(20, 2_000), 20);
        // 8 coins spent on meters: the held ones go first, the latest hold first.
        r.spend_held_first(12, 500);
        assert_eq!(r.held_units(500), 12);
        assert_eq!((r.holds[0].units, r.holds[1].units), (10, 2));
        assert_eq!(r.sellable_units(12, 500), 0);
        refused(r.check_sellable(1, 12, 500), EnergyError::CoinsOnHold);
        r.check_sellable(2, 12, 1_000).unwrap();
    }

    #[test]
    fn more_purchases_than_slots_merge_into_the_latest_hold() {
        let mut r = resident();
        for i in 0..HOLD_SLOTS as i64 {
            r.hold(1, 1_000 + i, 0).unwrap();
        }
        r.hold(7, 5_000, 1).unwrap();
        assert_eq!(r.held_units(2), HOLD_SLOTS as u64 + 7);
        assert_eq!(
            r.holds[HOLD_SLOTS - 1],
            Hold {
                units: 8,
                until_ts: 5_000
            }
        );
        // An expired hold's slot is reused.
        r.hold(2, 9_000, 1_000).unwrap();
        assert_eq!(
            r.holds[0],
            Hold {
                units: 2,
                until_ts: 9_000
            }
        );
    }

    #[test]
    fn debt_blocks_sales_and_is_repaid_first() {
        let mut r = resident();
        r.owe(30).unwrap();
        refused(r.check_sellable(1, 100, 0), EnergyError::ResidentInDebt);
        assert_eq!(r.repay_debt(20).unwrap(), 20);
        assert_eq!(r.repay_debt(50).unwrap(), 10);
        assert_eq!(r.debt_units, 0);
        r.check_sellable(1, 100, 0).unwrap();
    }
}
