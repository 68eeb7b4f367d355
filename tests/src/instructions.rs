//! One typed call per instruction, by who signs it (as `instructions/<caller>/` in the
//! program): the SDK's builder, the right signer from the community, and the bank's answer.

use anchor_lang::prelude::Pubkey;
use energy_utility::instructions::UpdateGridArgs;
use energy_utility::state::{Clawback, EpochStatus, MeterAct, MeterKind, Sale, SaleStatus};
use energy_utility_sdk::{fiat, instructions as ix, pda, settlement};
use solana_instruction::Instruction;
use solana_keypair::Keypair;
use solana_program_test::BanksClientError;
use solana_signer::Signer;
use solana_transaction::Transaction;

use crate::TestGrid;

/// What the bank answered to one transaction.
type Sent = Result<(), BanksClientError>;

// Who signs: one way to send an instruction for each caller.
impl TestGrid {
    /// Sends the instruction `build` makes for the admin's key, signed by the admin.
    async fn as_admin(&mut self, build: impl FnOnce(&Pubkey, &Pubkey) -> Instruction) -> Sent {
        let admin = self.admin.insecure_clone();
        let instruction = build(&admin.pubkey(), &self.grid);
        self.send(&[instruction], &[&admin]).await
    }

    /// Sends the instruction `build` makes for the oracle's key about `resident`'s account,
    /// signed by the oracle.
    async fn as_oracle(
        &mut self,
        resident: &str,
        build: impl FnOnce(&Pubkey, &Pubkey, &Pubkey) -> Instruction,
    ) -> Sent {
        let oracle = self.oracle.insecure_clone();
        let resident = self.resident(resident).resident;
        let instruction = build(&oracle.pubkey(), &self.grid, &resident);
        self.send(&[instruction], &[&oracle]).await
    }

    /// Sends the instruction `build` makes for `resident`'s wallet and account, signed by
    /// their wallet.
    async fn as_resident(
        &mut self,
        resident: &str,
        build: impl FnOnce(&Pubkey, &Pubkey, &Pubkey) -> Instruction,
    ) -> Sent {
        let actor = self.resident(resident);
        let wallet = actor.wallet.insecure_clone();
        let instruction = build(&wallet.pubkey(), &self.grid, &actor.resident);
        self.send(&[instruction], &[&wallet]).await
    }
}

// The admin.
impl TestGrid {
    pub async fn update_grid(&mut self, args: UpdateGridArgs) -> Sent {
        self.as_admin(|admin, grid| ix::update_grid(admin, grid, args))
            .await
    }

    pub async fn set_paused(&mut self, paused: bool) -> Sent {
        self.as_admin(|admin, grid| ix::set_paused(admin, grid, paused))
            .await
    }

    /// The admin alone rotates `meter`'s gateway (at once on a grid without notice).
    pub async fn rotate_gateway(&mut self, meter: &str, gateway: &Pubkey) -> Sent {
        let gateway = *gateway;
        self.change_meter(meter, MeterAct::RotateGateway { gateway }, false)
            .await
    }

    pub async fn set_meter_capacity(&mut self, meter: &str, capacity_w: u64) -> Sent {
        self.change_meter(meter, MeterAct::SetCapacity { capacity_w }, false)
            .await
    }

    pub async fn replace_meter_register(&mut self, meter: &str, register_wh: u64) -> Sent {
        self.change_meter(meter, MeterAct::ReplaceRegister { register_wh }, false)
            .await
    }

    /// The admin proposes `act` for `meter`; `with_owner`: the owner's wallet signs too.
    pub async fn change_meter(&mut self, meter: &str, act: MeterAct, with_owner: bool) -> Sent {
        let admin = self.admin.insecure_clone();
        let owner = self
            .resident(&self.meter(meter).owner)
            .wallet
            .insecure_clone();
        let instruction = self.change_meter_instruction(
            &admin.pubkey(),
            meter,
            act,
            with_owner.then_some(&owner),
        );
        let signers: Vec<&Keypair> = if with_owner {
            vec![&admin, &owner]
        } else {
            vec![&admin]
        };
        self.send(&[instruction], &signers).await
    }

    /// `change_meter` of `act` for `meter`, signed by `admin` (who may not be the grid's) and,
    /// with `owner`, by that wallet as the owner's.
    pub fn change_meter_instruction(
        &self,
        admin: &Pubkey,
        meter: &str,
        act: MeterAct,
        owner: Option<&Keypair>,
    ) -> Instruction {
        let meter = self.meter(meter);
        let resident = self.resident(&meter.owner).resident;
        let owner = owner.map(|w| w.pubkey());
        ix::change_meter(
            admin,
            &self.grid,
            &meter.address,
            &resident,
            owner.as_ref(),
            act,
        )
    }

    /// Anyone applies the change proposed for `meter` once its notice has passed.
    pub async fn apply_meter_change(&mut self, meter: &str) -> Sent {
        let meter = self.meter(meter);
        let (address, owner) = (meter.address, self.resident(&meter.owner).resident);
        let grid = self.grid;
        self.send(&[ix::apply_meter_change(&grid, &address, &owner)], &[])
            .await
    }

    /// The meter's owner vetoes the change proposed for it.
    pub async fn veto_meter_change(&mut self, meter: &str) -> Sent {
        let meter = self.meter(meter);
        let address = meter.address;
        let owner = meter.owner.clone();
        self.as_resident(&owner, |wallet, grid, resident| {
            ix::veto_meter_change(wallet, grid, &address, resident)
        })
        .await
    }

    /// `resident` (the meter's owner, or someone else) takes the grid's emergency credit for
    /// `meter`, naming the meter's real owner account.
    pub async fn take_emergency_credit(&mut self, resident: &str, meter: &str) -> Sent {
        let meter = self.meter(meter);
        let address = meter.address;
        let owner = self.resident(&meter.owner.clone()).resident;
        self.as_resident(resident, |wallet, grid, _| {
            ix::take_emergency_credit(wallet, grid, &address, &owner)
        })
        .await
    }

    /// Anyone writes down the grid's proposed terms whose notice has passed.
    pub async fn apply_grid_changes(&mut self) -> Sent {
        let grid = self.grid;
        self.send(&[ix::apply_grid_changes(&grid)], &[]).await
    }

    pub async fn cancel_grid_changes(&mut self) -> Sent {
        self.as_admin(ix::cancel_grid_changes).await
    }

    pub async fn propose_admin(&mut self, new_admin: &Pubkey) -> Sent {
        self.as_admin(|admin, grid| ix::propose_admin(admin, grid, new_admin))
            .await
    }

    /// The admin moves `amount_units` of fees (0: all) from the treasury to `resident`.
    pub async fn collect_fees(&mut self, resident: &str, amount_units: u64) -> Sent {
        let resident = self.resident(resident).resident;
        self.as_admin(|admin, grid| ix::collect_fees(admin, grid, &resident, amount_units))
            .await
    }

    /// The admin retires a meter (at once on a grid without notice); its spare coins go to
    /// its owner.
    pub async fn deactivate_meter(&mut self, meter: &str) -> Sent {
        self.change_meter(meter, MeterAct::Deactivate, false).await
    }

    /// Retiring `meter`, signed by `admin` alone (who may not be the grid's).
    pub fn deactivate_instruction(&self, admin: &Pubkey, meter: &str) -> Instruction {
        self.change_meter_instruction(admin, meter, MeterAct::Deactivate, None)
    }

    /// The admin closes a retired meter whose readings are all settled.
    pub async fn close_meter(&mut self, meter: &str) -> Sent {
        let state = self.meter_state(meter).await;
        let owner = self.resident(&self.meter(meter).owner).resident;
        let address = self.meter(meter).address;
        self.as_admin(|admin, grid| {
            let (index, payer) = (state.index, &state.rent_payer);
            ix::close_meter(admin, grid, &address, index, &owner, payer)
        })
        .await
    }
}

// The payment oracle.
impl TestGrid {
    /// The oracle mints coins for `cents` paid by `resident`, under a fresh payment id.
    pub async fn buy(&mut self, resident: &str, cents: u64) {
        self.payments += 1;
        let payment_id = format!("evt_test_{}", self.payments);
        self.add_fiat(resident, cents, &payment_id)
            .await
            .expect("buy coins");
    }

    /// The oracle applies a payment of `cents` that happened now.
    pub async fn add_fiat(&mut self, resident: &str, cents: u64, payment_id: &str) -> Sent {
        let now = self.now;
        self.add_fiat_at(resident, cents, payment_id, now).await
    }

    /// The oracle applies a payment of `cents` the processor dates `event_ts`.
    pub async fn add_fiat_at(
        &mut self,
        resident: &str,
        cents: u64,
        payment_id: &str,
        event_ts: i64,
    ) -> Sent {
        self.as_oracle(resident, |oracle, grid, resident| {
            ix::add_fiat(oracle, grid, resident, cents, payment_id, event_ts)
        })
        .await
    }

    /// The oracle locks sale `number` for a payout of `cents` (to the account the sale names).
    pub async fn lock_withdrawal(&mut self, resident: &str, number: u32, cents: u64) -> Sent {
        let sale = self.sale_address(resident, number).await;
        self.as_oracle(resident, |oracle, grid, resident| {
            ix::lock_withdrawal(oracle, grid, resident, &sale, cents)
        })
        .await
    }

    /// The processor refunded (or a card holder disputed) `total_cents` of `resident`'s
    /// purchase `payment_id` so far; the resident's sales not yet locked are passed along.
    pub async fn claw_back(
        &mut self,
        resident: &str,
        payment_id: &str,
        kind: Clawback,
        total_cents: u64,
    ) -> Sent {
        let state = self.resident_state(resident).await;
        let address = self.resident(resident).resident;
        let mut sales = Vec::new();
        for number in 0..state.sale_count {
            let sale = pda::sale(&address, state.index, number);
            let open: Option<Sale> = self.account_if_any(&sale).await;
            if open.is_some_and(|s| s.status == SaleStatus::Requested) {
                sales.push(sale);
            }
        }
        self.as_oracle(resident, |oracle, grid, resident| {
            ix::claw_back(
                oracle,
                grid,
                resident,
                payment_id,
                kind,
                total_cents,
                &sales,
            )
        })
        .await
    }

    /// The oracle restores the coins of `resident`'s purchase `payment_id` whose dispute was won.
    pub async fn restore_dispute(&mut self, resident: &str, payment_id: &str) -> Sent {
        self.as_oracle(resident, |oracle, grid, resident| {
            ix::restore_dispute(oracle, grid, resident, payment_id)
        })
        .await
    }

    /// The oracle reports sale `number`'s payout paid.
    pub async fn payout_paid(&mut self, resident: &str, number: u32, payout_id: &str) -> Sent {
        let sale = self.sale_address(resident, number).await;
        self.as_oracle(resident, |oracle, grid, resident| {
            ix::payout_paid(oracle, grid, resident, &sale, payout_id)
        })
        .await
    }

    /// The oracle reports sale `number`'s payout failed (or canceled).
    pub async fn payout_failed(&mut self, resident: &str, number: u32, payout_id: &str) -> Sent {
        let sale = self.sale_address(resident, number).await;
        self.as_oracle(resident, |oracle, grid, resident| {
            ix::payout_failed(oracle, grid, resident, &sale, payout_id)
        })
        .await
    }

    /// A sale of `amount_units` to the test bank account, locked by the oracle for what they
    /// are worth now. Returns the sale's number.
    pub async fn lock_sale(&mut self, resident: &str, amount_units: u64) -> u32 {
        let number = self.request_sale(resident, amount_units).await;
        let price = self.grid_state().await.coin_price_at(self.now);
        let cents = fiat::quote_payout_cents(amount_units, price).expect("quote");
        self.lock_withdrawal(resident, number, cents)
            .await
            .expect("lock withdrawal");
        number
    }

    /// A whole sale of `amount_units` for what they are worth now: requested, locked, and the
    /// payout paid. Returns the sale's number.
    pub async fn sell(&mut self, resident: &str, amount_units: u64, payout: &str) -> u32 {
        let number = self.lock_sale(resident, amount_units).await;
        self.payout_paid(resident, number, payout)
            .await
            .expect("payout paid");
        number
    }
}

// Residents.
impl TestGrid {
    pub async fn fund(&mut self, funder: &str, meter: &str, amount_units: u64) -> Sent {
        let meter = self.meter(meter).address;
        self.as_resident(funder, |wallet, grid, resident| {
            ix::fund(wallet, grid, resident, &meter, amount_units)
        })
        .await
    }

    /// The resident sells `amount_units` (paid to its bound payout account), accepting no less
    /// than they are worth now; returns the new sale's number.
    pub async fn request_withdrawal(
        &mut self,
        resident: &str,
        amount_units: u64,
    ) -> Result<u32, BanksClientError> {
        let price = self.grid_state().await.coin_price_at(self.now);
        let min_cents = fiat::quote_payout_cents(amount_units, price).unwrap_or(0);
        self.request_withdrawal_for(resident, amount_units, min_cents)
            .await
    }

    /// The resident sells `amount_units` for at least `min_cents`.
    pub async fn request_withdrawal_for(
        &mut self,
        resident: &str,
        amount_units: u64,
        min_cents: u64,
    ) -> Result<u32, BanksClientError> {
        let number = self.resident_state(resident).await.sale_count;
        let sale = self.sale_address(resident, number).await;
        let request = ix::SaleRequest {
            amount_units,
            min_cents,
        };
        self.as_resident(resident, |wallet, grid, resident| {
            ix::request_withdrawal(wallet, wallet, grid, resident, &sale, request)
        })
        .await
        .map(|_| number)
    }

    /// The resident sells `amount_units`; returns the sale's number.
    pub async fn request_sale(&mut self, resident: &str, amount_units: u64) -> u32 {
        self.request_withdrawal(resident, amount_units)
            .await
            .expect("request withdrawal")
    }

    /// The resident binds `account` for its payouts (at once the first time, after the grid's
    /// payout notice for a change).
    pub async fn set_payout_account(&mut self, resident: &str, account: &str) -> Sent {
        self.as_resident(resident, |wallet, grid, resident| {
            ix::set_payout_account(wallet, grid, resident, account)
        })
        .await
    }

    /// The resident withdraws the change of payout account that waits.
    pub async fn cancel_payout_account_change(&mut self, resident: &str) -> Sent {
        self.as_resident(resident, ix::cancel_payout_account_change)
            .await
    }

    /// The resident takes back their sale `number`.
    pub async fn cancel_withdrawal(&mut self, resident: &str, number: u32) -> Sent {
        let sale = self.sale_address(resident, number).await;
        let rent_payer = self.sale_state(resident, number).await.rent_payer;
        self.as_resident(resident, |wallet, grid, resident| {
            ix::cancel_withdrawal(wallet, grid, resident, &sale, &rent_payer)
        })
        .await
    }

    /// An empty resident closes its accounts.
    pub async fn close_resident(&mut self, resident: &str) -> Sent {
        let state = self.resident_state(resident).await;
        let (index, rent_payer) = (state.index, state.rent_payer);
        self.as_resident(resident, |wallet, grid, resident| {
            ix::close_resident(wallet, grid, resident, index, &rent_payer)
        })
        .await
    }
}

// Gateways and the permissionless crank.
impl TestGrid {
    /// The meter's gateway reports that it used (or produced) `wh` since its last report: its
    /// register moved that much from the last register the chain holds. The context payer
    /// pays.
    pub async fn report(&mut self, meter: &str, epoch: u64, wh: u64) -> Sent {
        let register = self.meter_state(meter).await.last_register_wh + wh;
        self.report_register(meter, epoch, register).await
    }

    /// The meter's gateway reports the meter's cumulative register for `epoch`.
    pub async fn report_register(&mut self, meter: &str, epoch: u64, register_wh: u64) -> Sent {
        let tx = self.report_transaction(meter, epoch, register_wh).await?;
        self.ctx.banks_client.process_transaction(tx).await
    }

    /// The gateway's report of the meter's cumulative register for `epoch`, signed under the
    /// latest blockhash (the context payer pays) and not yet sent.
    pub async fn report_transaction(
        &mut self,
        meter: &str,
        epoch: u64,
        register_wh: u64,
    ) -> Result<Transaction, BanksClientError> {
        let meter = self.meter(meter);
        let gateway = meter.gateway.insecure_clone();
        let instruction = ix::report(
            &gateway.pubkey(),
            &self.ctx.payer.pubkey(),
            &self.grid,
            &meter.address,
            epoch,
            register_wh,
        );
        self.ctx.last_blockhash = self.ctx.banks_client.get_latest_blockhash().await?;
        Ok(self.transaction(&[instruction], &[&gateway]))
    }

    /// The admin pairs a consumer meter and a producer meter into one prosumer's meter.
    pub async fn pair_meters(&mut self, import: &str, export: &str) -> Sent {
        let admin = self.admin.insecure_clone();
        let instruction = ix::pair_meters(
            &admin.pubkey(),
            &self.grid,
            &self.meter(import).address,
            &self.meter(export).address,
        );
        self.send(&[instruction], &[&admin]).await
    }

    /// A prosumer's gateway reports what both registers moved in `epoch` (Wh drawn and fed).
    pub async fn report_prosumer(
        &mut self,
        home: &str,
        epoch: u64,
        import_wh: u64,
        export_wh: u64,
    ) -> Sent {
        let import = format!("{home}-import");
        let export = format!("{home}-export");
        let import_register = self.meter_state(&import).await.last_register_wh + import_wh;
        let export_register = self.meter_state(&export).await.last_register_wh + export_wh;
        let instruction =
            self.report_prosumer_instruction(home, epoch, import_register, export_register);
        let gateway = self.meter(&import).gateway.insecure_clone();
        self.send(&[instruction], &[&gateway]).await
    }

    /// The prosumer's report of both cumulative registers for `epoch`, signed by its gateway.
    pub fn report_prosumer_instruction(
        &self,
        home: &str,
        epoch: u64,
        import_register_wh: u64,
        export_register_wh: u64,
    ) -> Instruction {
        let import = self.meter(&format!("{home}-import"));
        let export = self.meter(&format!("{home}-export"));
        ix::report_prosumer(
            &import.gateway.pubkey(),
            &self.ctx.payer.pubkey(),
            &self.grid,
            &ix::ProsumerMeters {
                import: import.address,
                export: export.address,
            },
            epoch,
            import_register_wh,
            export_register_wh,
        )
    }

    /// One settlement call over the named meters.
    pub async fn settle(&mut self, epoch: u64, meters: &[&str]) -> Sent {
        let addresses: Vec<Pubkey> = meters.iter().map(|m| self.meter(m).address).collect();
        let grid = self.grid;
        self.send(&[ix::settle(&grid, epoch, &addresses)], &[])
            .await
    }

    /// Settles `epoch` the way the crank does: the SDK's batches, in order.
    pub async fn settle_all(&mut self, epoch: u64) {
        let mut consumers = Vec::new();
        let mut producers = Vec::new();
        let meters: Vec<(Pubkey, MeterKind)> =
            self.meters.values().map(|m| (m.address, m.kind)).collect();
        for (address, kind) in meters {
            let state = self.meter_state_at(&address).await;
            if state.pending_wh(epoch).is_some() {
                if kind == MeterKind::Producer {
                    producers.push(address);
                } else {
                    consumers.push(address);
                }
            }
        }
        let grid = self.grid;
        for batch in settlement::plan_batches(&consumers, &producers) {
            self.send(&settlement::settle_transaction(&grid, epoch, &batch), &[])
                .await
                .expect("settle batch");
        }
        let state = self.epoch_state(epoch).await;
        assert_eq!(state.status, EpochStatus::Settled, "epoch {epoch} settled");
    }

    /// Anyone moves a producer meter's earnings to its owner's coin account.
    pub async fn collect(&mut self, meter: &str) -> Sent {
        let owner = self.resident(&self.meter(meter).owner).resident;
        let address = self.meter(meter).address;
        let grid = self.grid;
        self.send(&[ix::collect_earnings(&grid, &address, &owner)], &[])
            .await
    }

    /// Anyone disconnects a consumer meter that has been silent too long.
    pub async fn disconnect_silent(&mut self, meter: &str) -> Sent {
        let address = self.meter(meter).address;
        let grid = self.grid;
        self.send(&[ix::disconnect_silent(&grid, &address)], &[])
            .await
    }
}
