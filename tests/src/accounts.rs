//! Reading the chain back: program accounts decoded, coin balances, and the check that every
//! minted coin is somewhere the grid accounts for.

use anchor_lang::prelude::Pubkey;
use anchor_lang::AccountDeserialize;
use anchor_spl::token::{Mint, TokenAccount};
use energy_utility::state::{Epoch, Grid, Meter, Resident, Sale};
use energy_utility_sdk::pda;

use crate::TestGrid;

impl TestGrid {
    pub async fn account<T: AccountDeserialize>(&mut self, address: &Pubkey) -> T {
        self.account_if_any(address)
            .await
            .unwrap_or_else(|| panic!("no account at {address}"))
    }

    /// The account at `address` decoded, or `None` when there is none.
    pub async fn account_if_any<T: AccountDeserialize>(&mut self, address: &Pubkey) -> Option<T> {
        let account = self
            .ctx
            .banks_client
            .get_account(*address)
            .await
            .expect("get account")?;
        Some(T::try_deserialize(&mut account.data.as_slice()).expect("decode account"))
    }

    pub async fn exists(&mut self, address: &Pubkey) -> bool {
        self.ctx
            .banks_client
            .get_account(*address)
            .await
            .expect("get account")
            .is_some()
    }

    pub async fn lamports(&mut self, address: &Pubkey) -> u64 {
        self.ctx
            .banks_client
            .get_balance(*address)
            .await
            .expect("balance")
    }

    pub async fn grid_state(&mut self) -> Grid {
        let grid = self.grid;
        self.account(&grid).await
    }

    pub async fn meter_state(&mut self, id: &str) -> Meter {
        let address = self.meter(id).address;
        self.account(&address).await
    }

    pub async fn meter_state_at(&mut self, address: &Pubkey) -> Meter {
        self.account(address).await
    }

    pub async fn resident_state(&mut self, id: &str) -> Resident {
        let address = self.resident(id).resident;
        self.account(&address).await
    }

    pub async fn epoch_state(&mut self, epoch: u64) -> Epoch {
        let address = pda::epoch(&self.grid, epoch);
        self.account(&address).await
    }

    pub async fn sale_state(&mut self, resident: &str, number: u32) -> Sale {
        let address = self.sale_address(resident, number).await;
        self.account(&address).await
    }

    /// The address of `resident`'s sale `number`.
    pub async fn sale_address(&mut self, resident: &str, number: u32) -> Pubkey {
        let address = self.resident(resident).resident;
        let index = self.resident_state(resident).await.index;
        pda::sale(&address, index, number)
    }

    pub async fn token_amount(&mut self, token_account: &Pubkey) -> u64 {
        let account: TokenAccount = self.account(token_account).await;
        account.amount
    }

    /// Coins in a resident's own account.
    pub async fn coins(&mut self, resident: &str) -> u64 {
        let coins = self.resident(resident).coins;
        self.token_amount(&coins).await
    }

    /// Coins in one of the grid's own token accounts, named by its address function.
    async fn grid_coins(&mut self, account: fn(&Pubkey) -> Pubkey) -> u64 {
        let address = account(&self.grid);
        self.token_amount(&address).await
    }

    pub async fn treasury(&mut self) -> u64 {
        self.grid_coins(pda::treasury).await
    }

    pub async fn pool(&mut self) -> u64 {
        self.grid_coins(pda::pool).await
    }

    pub async fn vault(&mut self) -> u64 {
        self.grid_coins(pda::vault).await
    }

    pub async fn escrow(&mut self) -> u64 {
        self.grid_coins(pda::escrow).await
    }

    pub async fn supply(&mut self) -> u64 {
        let address = pda::mint(&self.grid);
        let mint: Mint = self.account(&address).await;
        mint.supply
    }

    /// Checks, exactly, that every coin ever minted is somewhere the grid accounts for:
    /// residents' accounts, the vault (= Σ meter balances), the pool (= carry + in flight),
    /// the escrow (= Σ escrows) and the treasury.
    pub async fn assert_books_balance(&mut self) {
        let grid = self.grid_state().await;
        let mut meter_sum = 0;
        let meters: Vec<Pubkey> = self.meters.values().map(|m| m.address).collect();
        for address in &meters {
            meter_sum += self.meter_state_at(address).await.balance_units;
        }
        let mut resident_coins = 0;
        let mut escrows = 0;
        let ids: Vec<String> = self.residents.keys().cloned().collect();
        for id in &ids {
            resident_coins += self.coins(id).await;
            let resident = self.resident_state(id).await;
            escrows += resident.escrow_units + resident.locked_units;
        }
        let (vault, pool, escrow, treasury) = (
            self.vault().await,
            self.pool().await,
            self.escrow().await,
            self.treasury().await,
        );
        assert_eq!(vault, meter_sum, "vault backs every meter balance");
        assert_eq!(vault, grid.meter_balances_units);
        assert_eq!(pool, grid.carry_units + grid.pool_in_flight_units);
        assert_eq!(escrow, escrows, "escrow backs every resident escrow");
        assert_eq!(escrow, grid.escrow_units);
        assert_eq!(
            self.supply().await,
            resident_coins + vault + pool + escrow + treasury,
            "every minted coin is accounted for"
        );
    }
}
