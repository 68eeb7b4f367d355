//! The grid under test and its community: starting a bank with a grid, registering residents
//! and meters by name, and the design's seeded community.

use std::collections::BTreeMap;

use anchor_lang::prelude::Pubkey;
use energy_utility::instructions::{InitializeGridArgs, RegisterMeterArgs};
use energy_utility::state::{EpochParams, Grid, MeterKind, PaymentRules};
use energy_utility_sdk::{instructions as ix, pda};
use solana_keypair::Keypair;
use solana_program_test::{BanksClientError, ProgramTestContext};
use solana_signer::Signer;

use crate::{program_test, DEFAULT_TEST_CAPACITY_W, K, KWH, START_TS};

/// A resident: their wallet, their resident account and their coin account.
pub struct Actor {
    pub wallet: Keypair,
    pub resident: Pubkey,
    pub coins: Pubkey,
}

/// A meter and the gateway key that signs its reports.
pub struct MeterRef {
    pub address: Pubkey,
    pub gateway: Keypair,
    pub kind: MeterKind,
    pub owner: String,
}

/// A grid in a running bank, with its admin, oracle, residents and meters by name.
pub struct TestGrid {
    pub ctx: ProgramTestContext,
    pub admin: Keypair,
    pub oracle: Keypair,
    pub name: String,
    pub grid: Pubkey,
    pub now: i64,
    pub residents: BTreeMap<String, Actor>,
    pub meters: BTreeMap<String, MeterRef>,
    /// Purchases made by `buy`, numbering their payment ids.
    pub(crate) payments: u64,
}

/// Registration arguments for a meter at the test community's place, with a 1 MW capacity
/// and a register starting at zero.
pub fn meter_args(id: &str, kind: MeterKind, gateway: &Pubkey, label: &str) -> RegisterMeterArgs {
    RegisterMeterArgs {
        meter_id: id.to_string(),
        kind,
        gateway: *gateway,
        label: label.to_string(),
        latitude_micro: 45_000_000,
        longitude_micro: -73_000_000,
        capacity_w: DEFAULT_TEST_CAPACITY_W,
        register_wh: 0,
    }
}

impl TestGrid {
    /// A grid named "green-valley" with the design's defaults, except that what the admin
    /// changes applies without notice (tests of the notice start with `start_with_notice`) and
    /// coins bought by card are sellable at once (tests of the hold set one).
    pub async fn start() -> Self {
        Self::start_with(EpochParams::default()).await
    }

    pub async fn start_with(params: EpochParams) -> Self {
        Self::start_grid(params, 0).await
    }

    /// A grid whose admin's changes wait `notice_seconds` (the design's default is 72 hours).
    pub async fn start_with_notice(notice_seconds: u32) -> Self {
        Self::start_grid(EpochParams::default(), notice_seconds).await
    }

    async fn start_grid(params: EpochParams, notice_seconds: u32) -> Self {
        let ctx = program_test().start_with_context().await;
        let mut grid = Self::from_context(ctx, "green-valley");
        grid.set_time(START_TS).await;
        grid.init_grid(params, notice_seconds).await;
        grid
    }

    /// The design's community: Angel and Bennie produce; Carlos and Danny consume. Everyone
    /// has bought 20 k ($2.00 at $0.10 per k), and the consumers have prepaid 10 k each.
    pub async fn seed_community() -> Self {
        Self::populate(Self::start().await).await
    }

    /// The design's community on a grid with `notice_seconds` of notice, its producers
    /// earning already (the clock moved past their notice).
    pub async fn seed_community_with_notice(notice_seconds: u32) -> Self {
        let mut g = Self::populate(Self::start_with_notice(notice_seconds).await).await;
        let earns = g.meter_state("angel-roof").await.earns_from_epoch;
        g.enter_epoch(earns).await;
        g
    }

    async fn populate(mut g: Self) -> Self {
        for id in ["angel", "bennie", "carlos", "danny"] {
            g.add_resident(id).await;
            g.buy(id, 200).await;
        }
        g.add_meter("angel-roof", MeterKind::Producer, "angel")
            .await;
        g.add_meter("bennie-roof", MeterKind::Producer, "bennie")
            .await;
        g.add_meter("carlos-house", MeterKind::Household, "carlos")
            .await;
        g.add_meter("danny-house", MeterKind::Household, "danny")
            .await;
        g.fund("carlos", "carlos-house", 10 * K)
            .await
            .expect("fund carlos");
        g.fund("danny", "danny-house", 10 * K)
            .await
            .expect("fund danny");
        g
    }

    /// The design's worked example for `epoch`: consumers 3 and 2 kWh, producers 3 and 2.5.
    pub async fn report_seed_example(&mut self, epoch: u64) {
        for (meter, wh) in [
            ("carlos-house", 3 * KWH),
            ("danny-house", 2 * KWH),
            ("angel-roof", 3 * KWH),
            ("bennie-roof", 2_500),
        ] {
            self.report(meter, epoch, wh).await.expect("report");
        }
    }

    /// A second grid in the same bank (for cross-grid attacks), without notice.
    pub async fn add_grid(&mut self, name: &str) -> Pubkey {
        let args = InitializeGridArgs {
            notice_seconds: 0,
            ..InitializeGridArgs::with_defaults(name, self.oracle.pubkey())
        };
        let admin = self.admin.insecure_clone();
        self.send(&[ix::initialize_grid(&admin.pubkey(), args)], &[&admin])
            .await
            .expect("initialize second grid");
        pda::grid(name)
    }

    fn from_context(ctx: ProgramTestContext, name: &str) -> Self {
        Self {
            ctx,
            admin: Keypair::new(),
            oracle: Keypair::new(),
            name: name.to_string(),
            grid: pda::grid(name),
            now: START_TS,
            residents: BTreeMap::new(),
            meters: BTreeMap::new(),
            payments: 0,
        }
    }

    async fn init_grid(&mut self, params: EpochParams, notice_seconds: u32) {
        let admin = self.admin.insecure_clone();
        let oracle = self.oracle.pubkey();
        self.airdrop(&admin.pubkey(), 10_000_000_000).await;
        self.airdrop(&oracle, 10_000_000_000).await;
        let args = InitializeGridArgs {
            params,
            notice_seconds,
            payment_rules: PaymentRules {
                card_hold_seconds: 0,
                ..PaymentRules::default()
            },
            ..InitializeGridArgs::with_defaults(&self.name, oracle)
        };
        self.send(&[ix::initialize_grid(&admin.pubkey(), args)], &[&admin])
            .await
            .expect("initialize grid");
    }

    /// `wallet` registers the resident `id` on `grid` (this one or another in the bank), at
    /// that grid's next directory index.
    pub async fn register_resident(
        &mut self,
        wallet: &Keypair,
        grid: &Pubkey,
        id: &str,
    ) -> Result<(), BanksClientError> {
        let index = self.account::<Grid>(grid).await.resident_count;
        let instruction =
            ix::register_resident(&wallet.pubkey(), &wallet.pubkey(), grid, index, id);
        self.send(&[instruction], &[wallet]).await
    }

    /// `admin` registers a meter with `args` for `owner` on `grid` (this one or another in the
    /// bank), at that grid's next directory index.
    pub async fn register_meter(
        &mut self,
        admin: &Keypair,
        grid: &Pubkey,
        owner: &Pubkey,
        args: RegisterMeterArgs,
    ) -> Result<(), BanksClientError> {
        let index = self.account::<Grid>(grid).await.meter_count;
        let instruction = ix::register_meter(&admin.pubkey(), grid, owner, index, args);
        self.send(&[instruction], &[admin]).await
    }

    pub async fn add_resident(&mut self, id: &str) -> Pubkey {
        let wallet = Keypair::new();
        self.airdrop(&wallet.pubkey(), 1_000_000_000).await;
        self.add_resident_with(id, wallet).await
    }

    /// The utility's own resident account, registered with the admin's wallet: where its
    /// fees go.
    pub async fn add_utility(&mut self) -> Pubkey {
        let admin = self.admin.insecure_clone();
        self.add_resident_with("utility", admin).await
    }

    /// Registers `id` with `wallet`, and binds its payout account (`test_payout_account`).
    /// A resident whose wallet holds no SOL: `sponsor` pays the rent of its accounts (and the
    /// context payer the fees). Returns its address.
    pub async fn add_sponsored_resident(&mut self, id: &str, sponsor: &Keypair) -> Pubkey {
        self.add_resident_paid(id, Keypair::new(), Some(sponsor))
            .await
    }

    async fn add_resident_with(&mut self, id: &str, wallet: Keypair) -> Pubkey {
        self.add_resident_paid(id, wallet, None).await
    }

    /// Registers `wallet` as resident `id` (its rent paid by `sponsor`, or by the wallet) and
    /// binds its test payout account.
    async fn add_resident_paid(
        &mut self,
        id: &str,
        wallet: Keypair,
        sponsor: Option<&Keypair>,
    ) -> Pubkey {
        let grid = self.grid;
        let index = self.account::<Grid>(&grid).await.resident_count;
        let payer = sponsor.map_or_else(|| wallet.pubkey(), |s| s.pubkey());
        let register = ix::register_resident(&wallet.pubkey(), &payer, &grid, index, id);
        let bind = ix::set_payout_account(
            &wallet.pubkey(),
            &grid,
            &pda::resident(&grid, id),
            &crate::test_payout_account(id),
        );
        let mut signers = vec![&wallet];
        signers.extend(sponsor);
        self.send(&[register, bind], &signers)
            .await
            .expect("register the resident and bind its payout account");
        let resident = pda::resident(&grid, id);
        self.residents.insert(
            id.to_string(),
            Actor {
                wallet,
                resident,
                coins: pda::coins(&resident),
            },
        );
        resident
    }

    /// A meter with a capacity of 1 MW (the grid's default per-epoch limit is 1 MWh, so the
    /// capacity never binds unless a test asks) and a register starting at zero.
    pub async fn add_meter(&mut self, id: &str, kind: MeterKind, owner: &str) -> Pubkey {
        self.add_meter_with(id, kind, owner, DEFAULT_TEST_CAPACITY_W, 0)
            .await
    }

    pub async fn add_meter_with(
        &mut self,
        id: &str,
        kind: MeterKind,
        owner: &str,
        capacity_w: u64,
        register_wh: u64,
    ) -> Pubkey {
        let gateway = Keypair::new();
        let args = RegisterMeterArgs {
            capacity_w,
            register_wh,
            ..meter_args(id, kind, &gateway.pubkey(), &format!("{kind:?} of {owner}"))
        };
        self.add_meter_from_args(owner, gateway, args).await
    }

    /// The admin registers a meter with `args` for the resident `owner`, and the harness
    /// names it by its id; `gateway` (funded here) signs its reports.
    pub async fn add_meter_from_args(
        &mut self,
        owner: &str,
        gateway: Keypair,
        args: RegisterMeterArgs,
    ) -> Pubkey {
        self.airdrop(&gateway.pubkey(), 1_000_000_000).await;
        let owner_address = self.resident(owner).resident;
        let admin = self.admin.insecure_clone();
        let grid = self.grid;
        let (id, kind) = (args.meter_id.clone(), args.kind);
        self.register_meter(&admin, &grid, &owner_address, args)
            .await
            .expect("register meter");
        let address = pda::meter(&grid, &id);
        self.meters.insert(
            id,
            MeterRef {
                address,
                gateway,
                kind,
                owner: owner.to_string(),
            },
        );
        address
    }

    /// A prosumer's bidirectional meter behind one gateway: `<home>-import` (a household
    /// meter) and `<home>-export` (a producer meter), registered with the same owner and
    /// gateway key, then paired by the admin.
    pub async fn add_prosumer(
        &mut self,
        home: &str,
        owner: &str,
        capacity_w: u64,
    ) -> (Pubkey, Pubkey) {
        let gateway = Keypair::new();
        let mut sides = Vec::new();
        for (suffix, kind) in [
            ("import", MeterKind::Household),
            ("export", MeterKind::Producer),
        ] {
            let args = RegisterMeterArgs {
                capacity_w,
                ..meter_args(
                    &format!("{home}-{suffix}"),
                    kind,
                    &gateway.pubkey(),
                    &format!("{home} ({suffix})"),
                )
            };
            sides.push(
                self.add_meter_from_args(owner, gateway.insecure_clone(), args)
                    .await,
            );
        }
        self.pair_meters(&format!("{home}-import"), &format!("{home}-export"))
            .await
            .expect("pair the prosumer's meters");
        (sides[0], sides[1])
    }

    pub fn resident(&self, id: &str) -> &Actor {
        self.residents
            .get(id)
            .unwrap_or_else(|| panic!("no resident {id}"))
    }

    pub fn meter(&self, id: &str) -> &MeterRef {
        self.meters
            .get(id)
            .unwrap_or_else(|| panic!("no meter {id}"))
    }
}
