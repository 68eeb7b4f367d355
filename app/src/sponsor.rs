//! Residents who hold no SOL: `deu serve --sponsor-keypair` pays the fees (and the rent of the
//! accounts the acts create) of the grid program's resident instructions it sponsors, and only
//! those. The resident's wallet still signs as the acting party; the server adds the sponsor's
//! signature as fee payer when it relays the transaction, after checking:
//!
//! - a legacy transaction whose fee payer is the sponsor, with no compute-budget instruction
//!   (no priority fee drains the sponsor);
//! - every instruction is the grid program's resident act ([`SPONSORED`]) or a memo;
//! - the sponsor appears in none of their accounts except where the act's rent payer is
//!   (`register_resident`, `request_withdrawal`) or where rent comes back (`cancel_withdrawal`,
//!   `close_resident`);
//! - one resident act a transaction, within a budget per signing wallet and per resident
//!   ([`DEFAULT_BUDGET`]: 10 at once, then one every 2 minutes) and, for registrations (whose
//!   rent the sponsor lends until the resident closes), one across all wallets
//!   ([`REGISTRATIONS`]): past it the answer is 429 and nothing is signed.
//!
//! The rent comes back to the sponsor when the accounts close (the program records who paid).

use std::time::Duration;

use anchor_lang::prelude::Pubkey;
use anchor_lang::Discriminator;
use axum::http::StatusCode;
use energy_utility_sdk::instructions::{self, SaleRequest, MEMO_PROGRAM_ID};
use energy_utility_sdk::program::instruction as program;
use energy_utility_sdk::{pda, PROGRAM_ID};
use solana_keypair::Keypair;
use solana_signer::Signer;
use solana_transaction::versioned::VersionedTransaction;
use solana_transaction::Instruction;

use crate::error::ApiError;
use crate::guard::{Buckets, Budget};

/// A wallet holding less than this is sponsored (when the server sponsors at all).
pub const SPONSOR_BELOW_LAMPORTS: u64 = 10_000_000;

/// How many sponsored transactions a wallet, and a resident, may send.
pub const DEFAULT_BUDGET: Budget = Budget {
    burst: 10,
    every: Duration::from_secs(120),
};

/// Sponsored registrations across every wallet: 20 at once, then one every 3 minutes.
pub const REGISTRATIONS: Budget = Budget {
    burst: 20,
    every: Duration::from_secs(180),
};

/// One sponsored act: its name, and where in its accounts the resident and the sponsor stand.
struct Act {
    name: &'static str,
    discriminator: &'static [u8],
    /// The resident (or the meter's owner) the act is for.
    resident_at: usize,
    /// Where the sponsor may stand: the rent payer, or the account rent returns to.
    sponsor_at: Option<usize>,
}

/// Where `key` stands in `ix`'s accounts.
fn position(ix: &Instruction, key: &Pubkey) -> usize {
    ix.accounts
        .iter()
        .position(|a| a.pubkey == *key)
        .expect("the builder names it")
}

/// The acts the server sponsors, their positions read from the SDK's own builders (one place
/// says where each account goes).
fn sponsored() -> Vec<Act> {
    let (wallet, sponsor, grid) = (
        Pubkey::new_unique(),
        Pubkey::new_unique(),
        Pubkey::new_unique(),
    );
    let resident = pda::resident(&grid, "r");
    let (meter, sale) = (Pubkey::new_unique(), Pubkey::new_unique());
    let request = SaleRequest {
        amount_units: 1,
        min_cents: 0,
    };
    let at = |ix: &Instruction| position(ix, &resident);
    let mut acts = Vec::new();
    let mut add = |name, discriminator, ix: Instruction, sponsor_at: bool| {
        acts.push(Act {
            name,
            discriminator,
            resident_at: at(&ix),
            sponsor_at: sponsor_at.then(|| position(&ix, &sponsor)),
        })
    };
    add(
        "register_resident",
        program::RegisterResident::DISCRIMINATOR,
        instructions::register_resident(&wallet, &sponsor, &grid, 0, "r"),
        true,
    );
    add(
        "fund",
        program::Fund::DISCRIMINATOR,
        instructions::fund(&wallet, &grid, &resident, &meter, 1),
        false,
    );
    add(
        "request_withdrawal",
        program::RequestWithdrawal::DISCRIMINATOR,
        instructions::request_withdrawal(&wallet, &sponsor, &grid, &resident, &sale, request),
        true,
    );
    add(
        "cancel_withdrawal",
        program::CancelWithdrawal::DISCRIMINATOR,
        instructions::cancel_withdrawal(&wallet, &grid, &resident, &sale, &sponsor),
        true,
    );
    add(
        "collect_earnings",
        program::CollectEarnings::DISCRIMINATOR,
        instructions::collect_earnings(&grid, &meter, &resident),
        false,
    );
    add(
        "set_payout_account",
        program::SetPayoutAccount::DISCRIMINATOR,
        instructions::set_payout_account(&wallet, &grid, &resident, "acct_x"),
        false,
    );
    add(
        "cancel_payout_account_change",
        program::CancelPayoutAccountChange::DISCRIMINATOR,
        instructions::cancel_payout_account_change(&wallet, &grid, &resident),
        false,
    );
    add(
        "veto_meter_change",
        program::VetoMeterChange::DISCRIMINATOR,
        instructions::veto_meter_change(&wallet, &grid, &meter, &resident),
        false,
    );
    add(
        "take_emergency_credit",
        program::TakeEmergencyCredit::DISCRIMINATOR,
        instructions::take_emergency_credit(&wallet, &grid, &meter, &resident),
        false,
    );
    add(
        "close_resident",
        program::CloseResident::DISCRIMINATOR,
        instructions::close_resident(&wallet, &grid, &resident, 0, &sponsor),
        true,
    );
    acts
}

/// The server's sponsoring key and the budgets it spends.
pub struct Sponsor {
    key: Keypair,
    acts: Vec<Act>,
    budget: Budget,
    wallets: Buckets<Pubkey>,
    residents: Buckets<Pubkey>,
    registrations: Buckets<()>,
}

impl Sponsor {
    pub fn new(key: Keypair, budget: Budget) -> Self {
        Self {
            key,
            acts: sponsored(),
            budget,
            wallets: Buckets::default(),
            residents: Buckets::default(),
            registrations: Buckets::default(),
        }
    }

    pub fn pubkey(&self) -> Pubkey {
        self.key.pubkey()
    }

    /// Checks that `tx` is a sponsored act within its budgets, then signs it as fee payer.
    /// Anything else is refused with why, and nothing is signed.
    pub fn sign(&self, tx: &mut VersionedTransaction) -> Result<(), ApiError> {
        let refuse = |why: &str| Err(ApiError::bad_request(format!("not sponsored: {why}")));
        if tx.version() != solana_transaction::versioned::TransactionVersion::LEGACY {
            return refuse("a sponsored transaction is a legacy one");
        }
        let message = &tx.message;
        let keys = message.static_account_keys();
        let sponsor = self.pubkey();
        if keys.first() != Some(&sponsor) {
            return refuse("its fee payer is not this server's sponsor");
        }
        let required = usize::from(message.header().num_required_signatures);
        let wallets: Vec<Pubkey> = keys.iter().take(required).skip(1).copied().collect();
        if wallets.is_empty() {
            return refuse("a resident's wallet must sign it");
        }
        let mut residents = Vec::new();
        let mut acts = 0;
        let mut registers = false;
        for ix in message.instructions() {
            let program = keys[usize::from(ix.program_id_index)];
            let accounts: Vec<usize> = ix.accounts.iter().map(|a| usize::from(*a)).collect();
            if program == MEMO_PROGRAM_ID {
                if accounts.contains(&0) {
                    return refuse("the sponsor signs no memo");
                }
                continue;
            }
            if program != PROGRAM_ID {
                return refuse("only the grid program's resident acts are sponsored");
            }
            let Some(act) = self
                .acts
                .iter()
                .find(|a| ix.data.starts_with(a.discriminator))
            else {
                return refuse(
                    "only resident acts (register, fund, sell, cancel, collect, …) are sponsored",
                );
            };
            let sponsor_elsewhere = accounts
                .iter()
                .enumerate()
                .any(|(i, k)| *k == 0 && Some(i) != act.sponsor_at);
            if sponsor_elsewhere {
                return refuse(&format!("{} names the sponsor where it may not", act.name));
            }
            registers |= act.name == "register_resident";
            match accounts.get(act.resident_at) {
                Some(k) => residents.push(keys[*k]),
                None => return refuse("the instruction is malformed"),
            }
            acts += 1;
        }
        if acts != 1 {
            return refuse("a sponsored transaction holds one resident act");
        }
        // Every other signer's signature first: a transaction naming someone's wallet without
        // its signature must not spend that wallet's budget.
        let valid = tx.verify_with_results();
        if valid.iter().skip(1).any(|ok| !ok) {
            return Err(ApiError::bad_request(
                "the transaction is not signed by every signer it needs",
            ));
        }
        // Budgets: every signing wallet and every resident named, each its own.
        let over = |wait: Duration, what: &str| {
            ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                format!(
                    "this {what} has used its sponsored transactions for now: try again in {} s",
                    wait.as_secs().max(1)
                ),
            )
        };
        for wallet in &wallets {
            self.wallets
                .spend(*wallet, self.budget)
                .map_err(|w| over(w, "wallet"))?;
        }
        for resident in &residents {
            self.residents
                .spend(*resident, self.budget)
                .map_err(|w| over(w, "resident"))?;
        }
        // New residents cost the sponsor their accounts' rent until they close: a budget of
        // their own, across every wallet.
        if registers {
            self.registrations
                .spend((), REGISTRATIONS)
                .map_err(|w| over(w, "server (new residents)"))?;
        }
        let signature = self.key.sign_message(&tx.message.serialize());
        tx.signatures[0] = signature;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use solana_transaction::Transaction;

    /// A legacy transaction of `ixs` paid by `payer`, unsigned.
    fn unsigned(ixs: &[Instruction], payer: &Pubkey) -> VersionedTransaction {
        let tx = Transaction::new_with_payer(ixs, Some(payer));
        VersionedTransaction::from(tx)
    }

    /// The same, signed by `wallet` (the fee payer's signature left for the sponsor).
    fn signed_by(ixs: &[Instruction], payer: &Pubkey, wallet: &Keypair) -> VersionedTransaction {
        let mut tx = Transaction::new_with_payer(ixs, Some(payer));
        tx.partial_sign(&[wallet], solana_hash::Hash::default());
        VersionedTransaction::from(tx)
    }

    fn refused(sponsor: &Sponsor, tx: &mut VersionedTransaction, why: &str) {
        let before = tx.signatures.clone();
        let err = sponsor.sign(tx).expect_err(why);
        assert!(err.message.contains(why), "{}", err.message);
        assert_eq!(tx.signatures, before, "nothing signed");
    }

    #[test]
    fn only_one_resident_act_with_the_sponsor_only_where_rent_is_gets_signed() {
        let sponsor = Sponsor::new(Keypair::new(), DEFAULT_BUDGET);
        let s = sponsor.pubkey();
        let zoe = Keypair::new();
        let (wallet, grid) = (zoe.pubkey(), pda::grid("g"));
        let resident = pda::resident(&grid, "zoe");
        let memo = instructions::signed_action_memo("a", &wallet);
        let fund = instructions::fund(&wallet, &grid, &resident, &Pubkey::new_unique(), 1);

        let mut ok = signed_by(&[fund.clone(), memo.clone()], &s, &zoe);
        sponsor.sign(&mut ok).unwrap();
        assert!(
            ok.verify_with_results()[0],
            "the sponsor's signature is valid"
        );

        // Paid by someone else: not the sponsor's to sign.
        refused(
            &sponsor,
            &mut unsigned(std::slice::from_ref(&fund), &wallet),
            "fee payer",
        );
        // The sponsor as the acting party (its coins would fund the meter).
        let as_sponsor = instructions::fund(&s, &grid, &resident, &Pubkey::new_unique(), 1);
        refused(
            &sponsor,
            &mut unsigned(&[as_sponsor, memo.clone()], &s),
            "names the sponsor",
        );
        // A transfer from the sponsor, a priority fee, an admin act, two acts at once.
        let steal = solana_system_interface::instruction::transfer(&s, &wallet, 1);
        refused(
            &sponsor,
            &mut unsigned(&[fund.clone(), steal, memo.clone()], &s),
            "only the grid program",
        );
        let mut priced = fund.clone();
        priced.program_id = anchor_lang::pubkey!("ComputeBudget111111111111111111111111111111");
        refused(
            &sponsor,
            &mut unsigned(&[priced, memo.clone()], &s),
            "only the grid program",
        );
        let admin = instructions::set_paused(&wallet, &grid, true);
        refused(
            &sponsor,
            &mut unsigned(&[admin, memo.clone()], &s),
            "only resident acts",
        );
        refused(
            &sponsor,
            &mut unsigned(&[fund.clone(), fund.clone(), memo.clone()], &s),
            "one resident act",
        );
        // A wallet must sign: the sponsor alone is no one acting.
        let collect = instructions::collect_earnings(&grid, &Pubkey::new_unique(), &resident);
        refused(
            &sponsor,
            &mut unsigned(&[collect], &s),
            "a resident's wallet must sign",
        );
    }

    #[test]
    fn an_act_its_wallet_did_not_sign_spends_none_of_that_wallets_budget() {
        let budget = Budget {
            burst: 1,
            every: Duration::from_secs(3_600),
        };
        let sponsor = Sponsor::new(Keypair::new(), budget);
        let s = sponsor.pubkey();
        let wallet = Keypair::new();
        let grid = pda::grid("g");
        let resident = pda::resident(&grid, "zoe");
        let ixs = [
            instructions::fund(&wallet.pubkey(), &grid, &resident, &Pubkey::new_unique(), 1),
            instructions::signed_action_memo("a", &wallet.pubkey()),
        ];
        // Someone names Zoe's wallet without its signature: refused, nothing signed or spent.
        let mut forged = unsigned(&ixs, &s);
        refused(&sponsor, &mut forged, "not signed by every signer");
        // Zoe's own, signed: her one sponsored act is still there.
        let mut signed = signed_by(&ixs, &s, &wallet);
        sponsor.sign(&mut signed).unwrap();
        assert!(signed.verify_with_results().iter().all(|ok| *ok));
    }

    #[test]
    fn a_wallet_past_its_budget_is_told_when_to_come_back_and_nothing_is_signed() {
        let budget = Budget {
            burst: 2,
            every: Duration::from_secs(3_600),
        };
        let sponsor = Sponsor::new(Keypair::new(), budget);
        let s = sponsor.pubkey();
        let zoe = Keypair::new();
        let (wallet, grid) = (zoe.pubkey(), pda::grid("g"));
        let resident = pda::resident(&grid, "zoe");
        let act = || {
            signed_by(
                &[
                    instructions::fund(&wallet, &grid, &resident, &Pubkey::new_unique(), 1),
                    instructions::signed_action_memo(&crate::action_id(), &wallet),
                ],
                &s,
                &zoe,
            )
        };
        sponsor.sign(&mut act()).unwrap();
        sponsor.sign(&mut act()).unwrap();
        let mut third = act();
        let err = sponsor.sign(&mut third).unwrap_err();
        assert_eq!(err.status, StatusCode::TOO_MANY_REQUESTS);
        assert!(
            err.message
                .contains("wallet has used its sponsored transactions"),
            "{}",
            err.message
        );
        assert_eq!(third.signatures[0], Default::default());
    }

    #[test]
    fn every_sponsored_act_names_its_resident_and_the_sponsor_only_where_rent_is() {
        let acts = sponsored();
        assert_eq!(acts.len(), 10);
        let register = acts.iter().find(|a| a.name == "register_resident").unwrap();
        assert_eq!((register.resident_at, register.sponsor_at), (3, Some(1)));
        let fund = acts.iter().find(|a| a.name == "fund").unwrap();
        assert_eq!((fund.resident_at, fund.sponsor_at), (2, None));
        let cancel = acts.iter().find(|a| a.name == "cancel_withdrawal").unwrap();
        assert_eq!(cancel.sponsor_at, Some(6));
    }
}
