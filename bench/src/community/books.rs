//! The books after a run, from the accounts: conservation exactly.

use super::*;

impl Community {
    /// Conservation over the whole run, from the accounts: producers' earnings + treasury +
    /// pool (the carry) = what consumers were charged.
    pub(super) async fn check_books(&self, out: &mut Outcome) -> Result<()> {
        let grid = self.grid_state().await?;
        let addresses: Vec<Pubkey> = self.meters.iter().map(|m| m.address).collect();
        let accounts = self.net.accounts(&addresses).await?;
        let (mut charged, mut earned, mut balances, mut debt) = (0u64, 0u64, 0u64, 0u64);
        for (m, account) in self.meters.iter().zip(&accounts) {
            let state: Meter = decode(account.as_ref(), "meter")?;
            ensure!(
                state.kind.is_producer() == m.producer,
                "a meter changed kind"
            );
            if m.producer {
                earned += state.lifetime_units;
            } else {
                charged += state.lifetime_units;
            }
            balances += state.balance_units;
            debt += state.debt_units;
        }
        let token = |key: Pubkey| async move {
            let accounts = self.net.accounts(&[key]).await?;
            decode::<TokenAccount>(accounts[0].as_ref(), "token account").map(|t| t.amount)
        };
        let treasury = token(pda::treasury(&self.grid)).await?;
        let pool = token(pda::pool(&self.grid)).await?;
        let vault = token(pda::vault(&self.grid)).await?;

        ensure!(debt == 0, "meters ran into debt: {debt} units");
        ensure!(
            charged == out.charged_units,
            "meters were charged {charged}, epochs recorded {}",
            out.charged_units
        );
        ensure!(
            earned == out.paid_units,
            "producers earned {earned}, epochs paid {}",
            out.paid_units
        );
        ensure!(
            treasury == out.fee_units,
            "treasury {treasury}, fees {}",
            out.fee_units
        );
        ensure!(
            grid.pool_in_flight_units == 0 && pool == grid.carry_units,
            "pool {pool} is not the carry {} (in flight {})",
            grid.carry_units,
            grid.pool_in_flight_units
        );
        ensure!(
            vault == balances && vault == grid.meter_balances_units,
            "vault {vault}, meter balances {balances}, grid {}",
            grid.meter_balances_units
        );
        if earned + treasury + pool != charged {
            bail!(
                "conservation violated: earned {earned} + treasury {treasury} + pool {pool} != charged {charged}"
            );
        }
        out.carry_units = pool;
        eprintln!(
            "  books: charged {charged} = producers {earned} + treasury {treasury} + pool carry {pool} (units)"
        );
        Ok(())
    }
}
