//! Reading the program's accounts: one, many (100 a request), a grid's directory, a grid's
//! accounts of one type.

use anchor_lang::prelude::Pubkey;
use anchor_lang::AccountDeserialize;
use anchor_spl::token::TokenAccount;

use super::{rpc_error, Client, Result, ACCOUNTS_PER_REQUEST};
use crate::accounts::{DirectoryEntry, Epoch, Grid, Meter, Resident, Sale};
use crate::error::SdkError;
use crate::pda;

impl Client {
    pub async fn lamports(&self, address: &Pubkey) -> Result<u64> {
        self.rpc.get_balance(address).await.map_err(rpc_error)
    }

    /// Decodes the account at `address`, or `None` if there is none.
    pub async fn account<T: AccountDeserialize>(&self, address: &Pubkey) -> Result<Option<T>> {
        Ok(self.accounts(&[*address]).await?.pop().flatten())
    }

    /// Decodes many accounts, 100 per request.
    pub async fn accounts<T: AccountDeserialize>(
        &self,
        addresses: &[Pubkey],
    ) -> Result<Vec<Option<T>>> {
        let mut out = Vec::with_capacity(addresses.len());
        for chunk in addresses.chunks(ACCOUNTS_PER_REQUEST) {
            let accounts = self
                .rpc
                .get_multiple_accounts(chunk)
                .await
                .map_err(rpc_error)?;
            for (address, account) in chunk.iter().zip(accounts) {
                out.push(match account {
                    None => None,
                    Some(account) => Some(
                        T::try_deserialize(&mut account.data.as_slice()).map_err(|e| {
                            SdkError::Invalid(format!("account {address} does not decode: {e}"))
                        })?,
                    ),
                });
            }
        }
        Ok(out)
    }

    /// The grid named `name`, with its terms as in force at the cluster's time: a change the
    /// admin proposed whose notice has passed shows as applied (as every instruction reads
    /// it), even before anyone wrote it down with `apply_grid_changes`.
    pub async fn grid(&self, name: &str) -> Result<(Pubkey, Grid)> {
        let address = pda::grid(name);
        let grid = self
            .grid_in_force(&address)
            .await?
            .ok_or(SdkError::NotFound {
                what: "grid",
                id: name.to_string(),
            })?;
        Ok((address, grid))
    }

    /// The grid at `address` and the cluster's clock, read together; the grid's due changes
    /// applied to the copy.
    async fn grid_in_force(&self, address: &Pubkey) -> Result<Option<Grid>> {
        let clock = solana_sdk_ids::sysvar::clock::ID;
        let accounts = self
            .rpc
            .get_multiple_accounts(&[*address, clock])
            .await
            .map_err(rpc_error)?;
        let [grid, clock] = <[_; 2]>::try_from(accounts)
            .map_err(|_| SdkError::Rpc("the cluster answered for other accounts".into()))?;
        let Some(grid) = grid else {
            return Ok(None);
        };
        let mut grid = Grid::try_deserialize(&mut grid.data.as_slice())
            .map_err(|e| SdkError::Invalid(format!("grid {address} does not decode: {e}")))?;
        if let Some(now) = clock.as_ref().and_then(|c| clock_time(&c.data)) {
            // Only what is due applies; a grid whose clock is before genesis keeps its terms.
            let _ = grid.roll_changes(now);
        }
        Ok(Some(grid))
    }

    pub async fn resident(&self, grid: &Pubkey, id: &str) -> Result<(Pubkey, Resident)> {
        self.named(pda::resident(grid, id), "resident", id).await
    }

    pub async fn meter(&self, grid: &Pubkey, id: &str) -> Result<(Pubkey, Meter)> {
        self.named(pda::meter(grid, id), "meter", id).await
    }

    /// The meter at `address` (a prosumer's other side, known by its address).
    pub async fn meter_at(&self, address: &Pubkey) -> Result<Meter> {
        self.named(*address, "meter", &address.to_string())
            .await
            .map(|(_, meter)| meter)
    }

    /// The account at `address`, or `NotFound` naming it as the `what` called `id`.
    async fn named<T: AccountDeserialize>(
        &self,
        address: Pubkey,
        what: &'static str,
        id: &str,
    ) -> Result<(Pubkey, T)> {
        let account = self.account(&address).await?.ok_or(SdkError::NotFound {
            what,
            id: id.to_string(),
        })?;
        Ok((address, account))
    }

    pub async fn epoch(&self, grid: &Pubkey, epoch: u64) -> Result<Option<Epoch>> {
        self.account(&pda::epoch(grid, epoch)).await
    }

    /// Every meter of the grid, in registration order, through its directory.
    pub async fn meters(&self, grid: &Pubkey, count: u32) -> Result<Vec<(Pubkey, Meter)>> {
        let entries: Vec<Pubkey> = (0..count).map(|i| pda::meter_entry(grid, i)).collect();
        self.listed(&entries).await
    }

    /// Every resident of the grid, in registration order, through its directory.
    pub async fn residents(&self, grid: &Pubkey, count: u32) -> Result<Vec<(Pubkey, Resident)>> {
        let entries: Vec<Pubkey> = (0..count).map(|i| pda::resident_entry(grid, i)).collect();
        self.listed(&entries).await
    }

    async fn listed<T: AccountDeserialize>(&self, entries: &[Pubkey]) -> Result<Vec<(Pubkey, T)>> {
        let targets: Vec<Pubkey> = self
            .accounts::<DirectoryEntry>(entries)
            .await?
            .into_iter()
            .flatten()
            .map(|entry| entry.target)
            .collect();
        let accounts = self.accounts::<T>(&targets).await?;
        Ok(targets
            .into_iter()
            .zip(accounts)
            .filter_map(|(address, account)| account.map(|a| (address, a)))
            .collect())
    }

    /// The ids of the residents at `addresses`; an address that is no resident shows as itself.
    pub async fn resident_ids(
        &self,
        addresses: &[Pubkey],
    ) -> Result<std::collections::HashMap<Pubkey, String>> {
        let residents = self.accounts::<Resident>(addresses).await?;
        Ok(addresses
            .iter()
            .zip(residents)
            .map(|(a, r)| (*a, r.map_or_else(|| a.to_string(), |r| r.id)))
            .collect())
    }

    /// Coins in a token account (0 if it does not exist).
    pub async fn token_amount(&self, address: &Pubkey) -> Result<u64> {
        Ok(self
            .account::<TokenAccount>(address)
            .await?
            .map_or(0, |account| account.amount))
    }

    /// The hash of the cluster's genesis block: which cluster this is, whatever its URL says
    /// (see [`crate::fiat::Cluster::of_genesis`]).
    pub async fn genesis_hash(&self) -> Result<String> {
        self.rpc
            .get_genesis_hash()
            .await
            .map(|hash| hash.to_string())
            .map_err(rpc_error)
    }

    /// The cluster's clock (unix seconds), which epochs are computed from.
    pub async fn cluster_time(&self) -> Result<i64> {
        let clock = self
            .rpc
            .get_account(&solana_sdk_ids::sysvar::clock::ID)
            .await
            .map_err(rpc_error)?;
        clock_time(&clock.data)
            .ok_or_else(|| SdkError::Rpc("the clock sysvar does not decode".into()))
    }

    /// The addresses of the grid's meters, in registration order (from its directory).
    pub async fn meter_addresses(&self, grid: &Pubkey, meter_count: u32) -> Result<Vec<Pubkey>> {
        let entries: Vec<Pubkey> = (0..meter_count)
            .map(|i| pda::meter_entry(grid, i))
            .collect();
        Ok(self
            .accounts::<DirectoryEntry>(&entries)
            .await?
            .into_iter()
            .flatten()
            .map(|entry| entry.target)
            .collect())
    }

    /// The sales of the resident at `address` that still exist (ended ones are closed after
    /// the grid's receipt retention), oldest first, with their numbers.
    pub async fn sales(
        &self,
        address: &Pubkey,
        resident: &Resident,
    ) -> Result<Vec<(u32, Pubkey, Sale)>> {
        let sale_count = resident.sale_count;
        let addresses: Vec<Pubkey> = (0..sale_count)
            .map(|n| pda::sale(address, resident.index, n))
            .collect();
        let sales = self.accounts::<Sale>(&addresses).await?;
        Ok((0..sale_count)
            .zip(addresses)
            .zip(sales)
            .filter_map(|((n, address), sale)| sale.map(|s| (n, address, s)))
            .collect())
    }

    /// Every account of type `T` that belongs to `grid` (its first field), through
    /// `getProgramAccounts` filtered by the type's discriminator and the grid's address.
    pub async fn grid_accounts<T: AccountDeserialize + anchor_lang::Discriminator>(
        &self,
        grid: &Pubkey,
    ) -> Result<Vec<(Pubkey, T)>> {
        use solana_rpc_client_api::config::{RpcAccountInfoConfig, RpcProgramAccountsConfig};
        use solana_rpc_client_api::filter::{Memcmp, RpcFilterType};
        let config = RpcProgramAccountsConfig {
            filters: Some(vec![
                RpcFilterType::Memcmp(Memcmp::new_base58_encoded(0, T::DISCRIMINATOR)),
                RpcFilterType::Memcmp(Memcmp::new_base58_encoded(8, grid.as_ref())),
            ]),
            account_config: RpcAccountInfoConfig {
                encoding: Some(solana_rpc_client_api::response::UiAccountEncoding::Base64),
                ..RpcAccountInfoConfig::default()
            },
            with_context: None,
            sort_results: None,
        };
        #[allow(deprecated)]
        let accounts = self
            .rpc
            .get_program_accounts_with_config(&crate::PROGRAM_ID, config)
            .await
            .map_err(rpc_error)?;
        accounts
            .into_iter()
            .map(|(address, account)| {
                T::try_deserialize(&mut account.data.as_slice())
                    .map(|decoded| (address, decoded))
                    .map_err(|e| {
                        SdkError::Invalid(format!("account {address} does not decode: {e}"))
                    })
            })
            .collect()
    }

    /// The grid at `grid`, its terms as in force at the cluster's time (see `grid`).
    pub async fn grid_at(&self, grid: &Pubkey) -> Result<(Pubkey, Grid)> {
        let state = self.grid_in_force(grid).await?.ok_or(SdkError::NotFound {
            what: "grid",
            id: grid.to_string(),
        })?;
        Ok((*grid, state))
    }
}

/// The unix time in a clock sysvar's data.
fn clock_time(data: &[u8]) -> Option<i64> {
    let bytes: [u8; 8] = data.get(32..40)?.try_into().ok()?;
    Some(i64::from_le_bytes(bytes))
}
