//! A community grid: its keys, coin accounts, epoch clock, parameters and running totals.

use anchor_lang::prelude::*;

use crate::constants::*;
use crate::error::EnergyError;
use crate::math::{move_units, mul_div_ceil, SafeAdd, SafeSub};
use crate::state::{CreditRules, LocalTime, TimeOfUse, MAX_UTC_OFFSET_SECONDS};

/// Parameters that settle an epoch. A change applies from the next epoch, and each epoch
/// keeps a copy of the ones it was opened with.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq, InitSpace)]
pub struct EpochParams {
    /// The utility's hourly fee, in coin units per epoch.
    pub fee_units: u64,
    /// What consumers pay, in coin units per kWh: the base that `time_of_use` scales hour by
    /// hour. (An epoch's own copy holds the tariff of its hour, resolved when it opened.)
    pub tariff_units_per_kwh: u64,
    /// The most one meter may report for one epoch.
    pub max_wh_per_epoch: u64,
    /// How long after an epoch ends its late reports are still accepted.
    pub grace_seconds: u32,
    /// A consumer silent for this many closed epochs is disconnected until it reports again.
    pub max_silent_epochs: u32,
    /// Σproduced / Σconsumed of a settled epoch, in ‰, outside which it is flagged.
    pub loss_band_min_permille: u32,
    pub loss_band_max_permille: u32,
    /// The grid's local time: seconds east of UTC.
    pub utc_offset_seconds: i32,
    /// The tariff of each hour of a weekday and of a weekend day.
    pub time_of_use: TimeOfUse,
    /// Friendly hours, emergency credit, debt recovery.
    pub credit: CreditRules,
}

impl Default for EpochParams {
    fn default() -> Self {
        Self {
            fee_units: DEFAULT_FEE_UNITS,
            tariff_units_per_kwh: DEFAULT_TARIFF_UNITS_PER_KWH,
            max_wh_per_epoch: DEFAULT_MAX_WH_PER_EPOCH,
            grace_seconds: DEFAULT_GRACE_SECONDS,
            max_silent_epochs: DEFAULT_MAX_SILENT_EPOCHS,
            loss_band_min_permille: DEFAULT_LOSS_BAND_MIN_PERMILLE,
            loss_band_max_permille: DEFAULT_LOSS_BAND_MAX_PERMILLE,
            utc_offset_seconds: 0,
            time_of_use: TimeOfUse::FLAT,
            credit: CreditRules::default(),
        }
    }
}

impl EpochParams {
    pub fn validate(&self, epoch_seconds: u32, max_fee_units: u64) -> Result<()> {
        require!(self.fee_units <= max_fee_units, EnergyError::FeeAboveCap);
        require!(self.tariff_units_per_kwh > 0, EnergyError::InvalidTariff);
        require!(self.max_wh_per_epoch > 0, EnergyError::InvalidMeterLimit);
        require!(
            self.grace_seconds < epoch_seconds,
            EnergyError::InvalidGraceWindow
        );
        require!(
            self.max_silent_epochs > 0
                && self.loss_band_min_permille <= self.loss_band_max_permille,
            EnergyError::InvalidReadingRules
        );
        self.time_of_use.validate()?;
        self.credit.validate()?;
        require!(
            self.utc_offset_seconds.unsigned_abs() <= MAX_UTC_OFFSET_SECONDS as u32,
            EnergyError::InvalidCreditRules
        );
        // The largest possible bill, at the dearest hour, must fit in u64.
        let peak = self.tariff_at_permille(self.time_of_use.peak_permille())?;
        crate::math::consumption_cost_ceil(self.max_wh_per_epoch, peak)
            .ok_or(EnergyError::AmountTooLarge)?;
        Ok(())
    }

    /// The base tariff scaled by `permille`, rounded up (never below 1 unit per kWh).
    fn tariff_at_permille(&self, permille: u16) -> Result<u64> {
        mul_div_ceil(self.tariff_units_per_kwh, permille as u64, 1_000)
            .ok_or_else(|| error!(EnergyError::AmountTooLarge))
    }

    /// The grid's local time at `unix_ts`.
    pub fn local_time(&self, unix_ts: i64) -> LocalTime {
        LocalTime::at(unix_ts, self.utc_offset_seconds)
    }

    /// The tariff of the hour `unix_ts` falls in, in coin units per kWh.
    pub fn tariff_at(&self, unix_ts: i64) -> u64 {
        let permille = self.time_of_use.permille_at(self.local_time(unix_ts));
        // Validated parameters never overflow here (`validate` checks the peak).
        self.tariff_at_permille(permille)
            .unwrap_or(self.tariff_units_per_kwh)
    }

    /// The dearest tariff of the week.
    pub fn peak_tariff(&self) -> u64 {
        self.tariff_at_permille(self.time_of_use.peak_permille())
            .unwrap_or(self.tariff_units_per_kwh)
    }

    /// Whether nobody is disconnected for lack of coins at `unix_ts`.
    pub fn is_friendly(&self, unix_ts: i64) -> bool {
        self.credit.is_friendly(self.local_time(unix_ts))
    }
}

/// What the payment oracle may do, set by the admin: a leaked oracle key mints at most
/// `mint_limit_units` at once, refilled at that many per `mint_window_seconds` (a token bucket:
/// a steady `mint_limit_units` per window, never more than that in one burst); and every payment
/// is remembered for `receipt_retention_seconds`, so a delivery of it is refused for as long as
/// it could still arrive.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq, InitSpace)]
pub struct OracleLimits {
    pub mint_limit_units: u64,
    pub mint_window_seconds: u32,
    pub receipt_retention_seconds: u32,
}

impl Default for OracleLimits {
    fn default() -> Self {
        Self {
            mint_limit_units: DEFAULT_MINT_LIMIT_UNITS,
            mint_window_seconds: DEFAULT_MINT_WINDOW_SECONDS,
            receipt_retention_seconds: DEFAULT_RECEIPT_RETENTION_SECONDS,
        }
    }
}

impl OracleLimits {
    pub fn validate(&self) -> Result<()> {
        require!(
            self.mint_limit_units > 0
                && self.mint_window_seconds > 0
                && self.receipt_retention_seconds >= MIN_RECEIPT_RETENTION_SECONDS,
            EnergyError::InvalidOracleLimits
        );
        Ok(())
    }

    /// A full mint budget, in the bucket's scaled units (coin units × window seconds).
    fn full_budget_scaled(&self) -> u128 {
        self.mint_limit_units as u128 * self.mint_window_seconds as u128
    }
}

/// How card-bought coins and payout accounts are guarded: coins bought by card can be sold only
/// `card_hold_seconds` after the purchase (a stolen card's coins are not cashed out before the
/// charge can be disputed), and a resident's change of payout account waits
/// `payout_notice_seconds`, during which they can cancel it.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq, InitSpace)]
pub struct PaymentRules {
    pub card_hold_seconds: u32,
    pub payout_notice_seconds: u32,
}

impl Default for PaymentRules {
    fn default() -> Self {
        Self {
            card_hold_seconds: DEFAULT_CARD_HOLD_SECONDS,
            payout_notice_seconds: DEFAULT_PAYOUT_NOTICE_SECONDS,
        }
    }
}

impl PaymentRules {
    pub fn validate(&self) -> Result<()> {
        require!(
            self.card_hold_seconds <= MAX_NOTICE_SECONDS
                && self.payout_notice_seconds <= MAX_NOTICE_SECONDS,
            EnergyError::InvalidNotice
        );
        Ok(())
    }
}

/// No parameter change is waiting.
pub const NO_PENDING_EPOCH: u64 = u64::MAX;

/// The grid's terms that are not per epoch, as a proposal names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Terms {
    pub coin_price_cents: u64,
    pub oracle: Pubkey,
    pub oracle_limits: OracleLimits,
    pub payment_rules: PaymentRules,
}

/// The grid's terms that are not per epoch — the coin price, the oracle's key and its limits —
/// as the admin proposed them, in force from `effective_ts` (the proposal's time plus the
/// grid's notice). A tightening of the oracle's mint limit does not wait.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq, InitSpace)]
pub struct GridChange {
    pub coin_price_cents: u64,
    pub oracle: Pubkey,
    pub oracle_limits: OracleLimits,
    pub payment_rules: PaymentRules,
    pub effective_ts: i64,
}

#[account]
#[derive(InitSpace)]
pub struct Grid {
    #[max_len(MAX_ID_LEN)]
    pub name: String,
    pub admin: Pubkey,
    /// The payment processor's webhook signer: the only key that can mint or burn for fiat.
    pub oracle: Pubkey,
    pub mint: Pubkey,
    pub vault: Pubkey,
    pub pool: Pubkey,
    pub treasury: Pubkey,
    pub escrow: Pubkey,
    /// Start of epoch 0 (aligned down to a multiple of `epoch_seconds`).
    pub genesis_ts: i64,
    /// Fixed at creation so epoch numbers stay a pure function of time.
    pub epoch_seconds: u32,
    /// Parameters in force from `params_from_epoch` on.
    pub params: EpochParams,
    pub params_from_epoch: u64,
    /// Parameters of the epochs before `params_from_epoch`. A late report can open the
    /// previous epoch's account after a change took effect; it must get that epoch's own
    /// parameters (tariff, grace window), not the new ones.
    pub prior_params: EpochParams,
    pub pending_params: EpochParams,
    /// First epoch `pending_params` apply to, or `NO_PENDING_EPOCH`.
    pub pending_from_epoch: u64,
    /// The preset dollar price of one coin `k`, in US cents.
    pub coin_price_cents: u64,
    pub paused: bool,
    pub resident_count: u32,
    pub meter_count: u32,
    /// Σ meter balances (prepaid coins and unclaimed earnings): what the vault must hold.
    pub meter_balances_units: u64,
    /// Coins in the pool not yet owed to any epoch: rounding remainders, pools of epochs
    /// without producers, repaid debts. The next epoch to pay producers takes them.
    pub carry_units: u64,
    /// Coins charged into the pool by epochs whose producers are not all paid yet.
    pub pool_in_flight_units: u64,
    /// Σ resident escrows: what the escrow account must hold.
    pub escrow_units: u64,
    /// The highest fee `update_grid` may set, fixed at creation.
    pub max_fee_units: u64,
    pub oracle_limits: OracleLimits,
    /// The mint budget left at `mint_budget_ts`, in coin units × window seconds (so that
    /// refills of a fraction of a unit per second are never rounded away).
    pub mint_budget_scaled: u128,
    pub mint_budget_ts: i64,
    /// The latest payment time of any receipt closed so far: a payment dated at or before it
    /// is refused whatever the retention is now, since its receipt may be gone.
    pub receipts_closed_through_ts: i64,
    /// Silence counts from this epoch on: the epoch the grid was last resumed in (a paused
    /// grid refuses every report, so the epochs of a pause are nobody's silence).
    pub silence_from_epoch: u64,
    /// How long what the admin alone changes waits before it applies (the grid's economics, a
    /// resident's meter, a new producer's earnings): fixed at creation, so residents know the
    /// rule they joined under.
    pub notice_seconds: u32,
    /// The price, oracle or oracle limits the admin proposed, waiting for their notice to end.
    pub pending_change: Option<GridChange>,
    /// The wallet the admin offered its role to (a multisig, say); it becomes the admin when
    /// it accepts. `Pubkey::default()` when no handover is offered.
    pub pending_admin: Pubkey,
    /// The card hold and the payout account notice.
    pub payment_rules: PaymentRules,
    /// First epoch of `prior_params`: with `older_peak_tariff_units_per_kwh`, what lets a
    /// reading that covers many epochs be billed at the highest tariff among them.
    pub prior_from_epoch: u64,
    /// The highest tariff of every parameter set before `prior_from_epoch`.
    pub older_peak_tariff_units_per_kwh: u64,
    pub bump: u8,
}

impl Grid {
    /// The epoch that contains `now`.
    pub fn epoch_at(&self, now: i64) -> Result<u64> {
        let elapsed = now
            .checked_sub(self.genesis_ts)
            .filter(|e| *e >= 0)
            .ok_or(EnergyError::ClockBeforeGenesis)?;
        Ok(elapsed as u64 / self.epoch_seconds as u64)
    }

    /// Unix time at which `epoch` ends (exclusive).
    pub fn epoch_end(&self, epoch: u64) -> Result<i64> {
        epoch
            .checked_add(1)
            .and_then(|e| e.checked_mul(self.epoch_seconds as u64))
            .and_then(|s| i64::try_from(s).ok())
            .and_then(|s| s.checked_add(self.genesis_ts))
            .ok_or_else(|| error!(EnergyError::MathOverflow))
    }

    /// Unix time at which `epoch` starts.
    pub fn epoch_start(&self, epoch: u64) -> Result<i64> {
        epoch
            .checked_mul(self.epoch_seconds as u64)
            .and_then(|s| i64::try_from(s).ok())
            .and_then(|s| s.checked_add(self.genesis_ts))
            .ok_or_else(|| error!(EnergyError::MathOverflow))
    }

    /// The parameters `epoch` opens with: those in force for it, its tariff resolved for the
    /// hour it starts in (time of use).
    pub fn params_opening(&self, epoch: u64) -> Result<EpochParams> {
        let mut params = self.params_for(epoch);
        params.tariff_units_per_kwh = params.tariff_at(self.epoch_start(epoch)?);
        Ok(params)
    }

    /// Whether nobody is disconnected for lack of coins at `now` (friendly hours, holidays).
    pub fn is_friendly_at(&self, now: i64) -> bool {
        self.epoch_at(now)
            .map(|epoch| self.params_for(epoch).is_friendly(now))
            .unwrap_or(false)
    }

    /// Parameters in force for `epoch`. Reports reach back one epoch at most (the grace
    /// window is shorter than an epoch), and `prior_params` covers that epoch.
    pub fn params_for(&self, epoch: u64) -> EpochParams {
        if epoch >= self.pending_from_epoch {
            self.pending_params
        } else if epoch >= self.params_from_epoch {
            self.params
        } else {
            self.prior_params
        }
    }

    /// Makes a pending change current once its epoch has come, keeping the parameters it
    /// replaces for the epochs before it.
    pub fn roll_params(&mut self, current_epoch: u64) {
        if current_epoch >= self.pending_from_epoch {
            self.older_peak_tariff_units_per_kwh = self
                .older_peak_tariff_units_per_kwh
                .max(self.prior_params.peak_tariff());
            self.prior_params = self.params;
            self.prior_from_epoch = self.params_from_epoch;
            self.params = self.pending_params;
            self.params_from_epoch = self.pending_from_epoch;
            self.pending_from_epoch = NO_PENDING_EPOCH;
        }
    }

    /// The parameters the latest proposal leads to: the pending ones if a change waits, else
    /// those in force. A new proposal starts from them.
    pub fn latest_params(&self) -> EpochParams {
        if self.pending_from_epoch == NO_PENDING_EPOCH {
            self.params
        } else {
            self.pending_params
        }
    }

    /// The highest tariff of the epochs `first..=last`, each at its hour's tariff (time of
    /// use): what a reading covering them is billed at, so that reporting late never costs
    /// less than reporting on time. Exact over the parameter sets the grid keeps (before, in
    /// force, pending) for spans up to `TARIFF_SCAN_EPOCHS` epochs (or a week of hours); a
    /// longer span pays each set's dearest hour, and a reading reaching back beyond the sets
    /// pays the dearest hour any earlier set had.
    ///
    /// Compute: at most `TARIFF_SCAN_EPOCHS` hours are looked at per set, three sets: about
    /// 500 × 40 CU ≈ 20k CU in the worst case (a gateway back after days of silence); a report
    /// on time looks at one hour.
    pub fn highest_tariff(&self, first: u64, last: u64) -> u64 {
        let mut tariff = 0;
        if first < self.prior_from_epoch {
            tariff = self.older_peak_tariff_units_per_kwh;
        }
        let spans = [
            (
                self.prior_from_epoch,
                self.params_from_epoch,
                self.prior_params,
            ),
            (self.params_from_epoch, self.pending_from_epoch, self.params),
            (self.pending_from_epoch, u64::MAX, self.pending_params),
        ];
        for (from, until, params) in spans {
            // The set applies to epochs `from..until`; does it meet `first..=last`?
            if from < until && first < until && last >= from {
                let (a, b) = (first.max(from), last.min(until - 1));
                tariff = tariff.max(self.highest_tariff_of(&params, a, b));
            }
        }
        tariff
    }

    /// The highest tariff of `params` over the epochs `first..=last`.
    fn highest_tariff_of(&self, params: &EpochParams, first: u64, last: u64) -> u64 {
        if params.time_of_use == TimeOfUse::FLAT {
            return params.tariff_units_per_kwh;
        }
        let epochs = last - first + 1;
        let (Ok(start), Ok(last_start)) = (self.epoch_start(first), self.epoch_start(last)) else {
            return params.peak_tariff();
        };
        if epochs <= TARIFF_SCAN_EPOCHS {
            // Each epoch at the hour it starts in.
            return (first..=last)
                .map(|e| params.tariff_at(start + ((e - first) * self.epoch_seconds as u64) as i64))
                .max()
                .unwrap_or(0);
        }
        let hours = (last_start - start) / 3_600 + 1;
        if self.epoch_seconds as i64 > 3_600 || hours > TARIFF_SCAN_EPOCHS as i64 {
            return params.peak_tariff();
        }
        // Epochs shorter than an hour: every hour between the first start and the last holds
        // some epoch's start.
        let first_hour = start - start.rem_euclid(3_600);
        (0..hours)
            .map(|h| params.tariff_at(first_hour + h * 3_600))
            .max()
            .unwrap_or(0)
    }

    /// The first epoch a change proposed at `now` may apply to: the first that starts once the
    /// grid's notice has passed, and never the epoch in progress (it keeps the terms it
    /// opened with).
    pub fn first_epoch_after_notice(&self, now: i64) -> Result<u64> {
        let current = self.epoch_at(now)?;
        let ends = now.safe_add(self.notice_seconds as i64)?;
        let elapsed = (ends - self.genesis_ts) as u64;
        let epoch_seconds = self.epoch_seconds as u64;
        Ok(elapsed.div_ceil(epoch_seconds).max(current.safe_add(1)?))
    }

    /// When a change proposed at `now` takes effect: the grid's notice later.
    pub fn notice_ends_at(&self, now: i64) -> Result<i64> {
        now.safe_add(self.notice_seconds as i64)
    }

    /// The coin price in force at `now` (a proposed price once its notice has passed).
    pub fn coin_price_at(&self, now: i64) -> u64 {
        self.due_change(now)
            .map_or(self.coin_price_cents, |c| c.coin_price_cents)
    }

    /// The oracle's key in force at `now`.
    pub fn oracle_at(&self, now: i64) -> Pubkey {
        self.due_change(now).map_or(self.oracle, |c| c.oracle)
    }

    /// Whether `key` is the grid's oracle at the cluster's time.
    pub fn is_oracle_now(&self, key: &Pubkey) -> bool {
        Clock::get().is_ok_and(|clock| self.oracle_at(clock.unix_timestamp) == *key)
    }

    /// The oracle's limits in force at `now`.
    pub fn oracle_limits_at(&self, now: i64) -> OracleLimits {
        self.due_change(now)
            .map_or(self.oracle_limits, |c| c.oracle_limits)
    }

    /// The card hold and payout notice in force at `now`.
    pub fn payment_rules_at(&self, now: i64) -> PaymentRules {
        self.due_change(now)
            .map_or(self.payment_rules, |c| c.payment_rules)
    }

    fn due_change(&self, now: i64) -> Option<GridChange> {
        self.pending_change.filter(|c| c.effective_ts <= now)
    }

    /// Applies what the admin proposed once its notice has passed: the epoch parameters whose
    /// epoch has come, and the price, oracle and limits whose time has. Returns whether
    /// anything changed.
    pub fn roll_changes(&mut self, now: i64) -> Result<bool> {
        let params_due = self.epoch_at(now)? >= self.pending_from_epoch;
        self.roll_params(self.epoch_at(now)?);
        let Some(change) = self.due_change(now) else {
            return Ok(params_due);
        };
        self.coin_price_cents = change.coin_price_cents;
        self.oracle = change.oracle;
        self.payment_rules = change.payment_rules;
        if change.oracle_limits != self.oracle_limits {
            self.set_oracle_limits(change.oracle_limits, now)?;
        }
        self.pending_change = None;
        Ok(true)
    }

    /// Proposes a new price, oracle or oracle limits, in force once the notice has passed.
    /// Tightening the mint limit (no bigger burst and no faster rate, the retention kept)
    /// applies at once: it only protects residents. A proposal back to the terms in force
    /// withdraws the pending one.
    pub fn propose_terms(&mut self, terms: Terms, now: i64) -> Result<()> {
        let Terms {
            coin_price_cents,
            oracle,
            oracle_limits,
            payment_rules,
        } = terms;
        require!(coin_price_cents > 0, EnergyError::InvalidCoinPrice);
        oracle_limits.validate()?;
        payment_rules.validate()?;
        let current = self.oracle_limits;
        // Tighter: no bigger burst, and no faster a sustained rate (limit per window).
        let tightening = oracle_limits.receipt_retention_seconds
            == current.receipt_retention_seconds
            && oracle_limits.mint_limit_units <= current.mint_limit_units
            && oracle_limits.mint_limit_units as u128 * current.mint_window_seconds as u128
                <= current.mint_limit_units as u128 * oracle_limits.mint_window_seconds as u128;
        if tightening && oracle_limits != current {
            self.set_oracle_limits(oracle_limits, now)?;
        }
        let unchanged = coin_price_cents == self.coin_price_cents
            && oracle == self.oracle
            && oracle_limits == self.oracle_limits
            && payment_rules == self.payment_rules;
        self.pending_change = (!unchanged).then_some(GridChange {
            coin_price_cents,
            oracle,
            oracle_limits,
            payment_rules,
            effective_ts: self.notice_ends_at(now)?,
        });
        // A grid without notice applies its changes at once.
        self.roll_changes(now)?;
        Ok(())
    }

    /// The terms the latest proposal leads to: the pending ones if a change waits.
    pub fn latest_terms(&self) -> Terms {
        match self.pending_change {
            Some(c) => Terms {
                coin_price_cents: c.coin_price_cents,
                oracle: c.oracle,
                oracle_limits: c.oracle_limits,
                payment_rules: c.payment_rules,
            },
            None => Terms {
                coin_price_cents: self.coin_price_cents,
                oracle: self.oracle,
                oracle_limits: self.oracle_limits,
                payment_rules: self.payment_rules,
            },
        }
    }

    /// Withdraws every change the admin proposed that has not taken effect yet.
    pub fn cancel_changes(&mut self, now: i64) -> Result<()> {
        self.roll_changes(now)?;
        self.pending_from_epoch = NO_PENDING_EPOCH;
        self.pending_params = self.params;
        self.pending_change = None;
        Ok(())
    }

    /// The first second at which reports for `epoch` are refused and it may be settled: the
    /// epoch's end plus the grace window of its parameters.
    pub fn reports_close_at(&self, epoch: u64, grace_seconds: u32) -> Result<i64> {
        self.epoch_end(epoch)?.safe_add(grace_seconds as i64)
    }

    /// Whether reports for `epoch` are still accepted at `now`: during the epoch and its
    /// grace window.
    pub fn accepts_reports(&self, epoch: u64, now: i64, grace_seconds: u32) -> Result<bool> {
        Ok(now < self.reports_close_at(epoch, grace_seconds)?)
    }

    /// The last epoch whose report window (the epoch and its own grace) has closed at `now`,
    /// if any. The grace is shorter than an epoch, so it is the previous epoch or the one
    /// before.
    pub fn last_closed_epoch(&self, now: i64) -> Option<u64> {
        let current = self.epoch_at(now).ok()?;
        let previous = current.checked_sub(1)?;
        let grace = self.params_for(previous).grace_seconds;
        if !self.accepts_reports(previous, now, grace).ok()? {
            Some(previous)
        } else {
            previous.checked_sub(1)
        }
    }

    /// Pauses the grid, or resumes it: silence counts again from the epoch it resumed in,
    /// since a paused grid refuses every report.
    pub fn set_paused(&mut self, paused: bool, now: i64) -> Result<()> {
        if self.paused && !paused {
            self.silence_from_epoch = self.epoch_at(now)?;
        }
        self.paused = paused;
        Ok(())
    }

    /// Whether a payment dated `event_ts` may apply at `now`: within the receipt retention
    /// window either way, so a receipt is only closed once its payment would be refused.
    pub fn accepts_payment_at(&self, event_ts: i64, now: i64) -> bool {
        let retention = self.oracle_limits.receipt_retention_seconds as i64;
        // A payment dated at or before a closed receipt's may be that receipt's: refused,
        // whatever the retention has become since.
        event_ts > self.receipts_closed_through_ts
            && event_ts
                .checked_add(retention)
                .is_some_and(|end| now <= end)
            && now
                .checked_add(retention)
                .is_some_and(|end| event_ts <= end)
    }

    fn mint_budget_scaled_at(&self, now: i64) -> u128 {
        let limits = self.oracle_limits;
        // Time, not money: a clock that never moved back refills nothing.
        let elapsed = now.saturating_sub(self.mint_budget_ts).max(0) as u128;
        let refill = elapsed.saturating_mul(limits.mint_limit_units as u128);
        self.mint_budget_scaled
            .saturating_add(refill)
            .min(limits.full_budget_scaled())
    }

    /// Coin units the oracle may still mint at `now`.
    pub fn mint_budget_at(&self, now: i64) -> u64 {
        let window = self.oracle_limits.mint_window_seconds.max(1) as u128;
        (self.mint_budget_scaled_at(now) / window) as u64
    }

    /// Spends `units` of the mint budget, or refuses with `MintLimitExceeded`.
    pub fn take_mint_budget(&mut self, now: i64, units: u64) -> Result<()> {
        let budget = self.mint_budget_scaled_at(now);
        let cost = units as u128 * self.oracle_limits.mint_window_seconds as u128;
        require!(cost <= budget, EnergyError::MintLimitExceeded);
        self.mint_budget_scaled = budget - cost;
        self.mint_budget_ts = now;
        Ok(())
    }

    /// New oracle limits from `now`: the budget left keeps its coin units, up to the new limit.
    pub fn set_oracle_limits(&mut self, limits: OracleLimits, now: i64) -> Result<()> {
        limits.validate()?;
        let left_units = self.mint_budget_at(now).min(limits.mint_limit_units);
        self.oracle_limits = limits;
        self.mint_budget_scaled = left_units as u128 * limits.mint_window_seconds as u128;
        self.mint_budget_ts = now;
        Ok(())
    }

    /// Starts the oracle with a full mint budget.
    pub fn start_oracle_limits(&mut self, limits: OracleLimits, now: i64) -> Result<()> {
        limits.validate()?;
        self.oracle_limits = limits;
        self.mint_budget_scaled = limits.full_budget_scaled();
        self.mint_budget_ts = now;
        Ok(())
    }

    /// A receipt of a payment dated `event_ts` was closed: no payment dated at or before it
    /// applies again.
    pub fn record_closed_receipt(&mut self, event_ts: i64) {
        self.receipts_closed_through_ts = self.receipts_closed_through_ts.max(event_ts);
    }

    /// The receipt retention a receipt or sale made under `recorded_seconds` is kept for: the
    /// longer of that and the grid's at `now`, so a change of retention never shortens a
    /// receipt's life.
    pub fn retention_for(&self, recorded_seconds: u32, now: i64) -> u32 {
        recorded_seconds.max(self.oracle_limits_at(now).receipt_retention_seconds)
    }

    pub fn signer_seeds(&self) -> [&[u8]; 3] {
        [
            GRID_SEED,
            self.name.as_bytes(),
            std::slice::from_ref(&self.bump),
        ]
    }

    /// Registers one more resident; returns its index in the grid's directory.
    pub fn add_resident(&mut self) -> Result<u32> {
        let index = self.resident_count;
        self.resident_count = index.safe_add(1)?;
        Ok(index)
    }

    /// Registers one more meter; returns its index in the grid's directory.
    pub fn add_meter(&mut self) -> Result<u32> {
        let index = self.meter_count;
        self.meter_count = index.safe_add(1)?;
        Ok(index)
    }

    // The books: what each of the grid's token accounts owes. Every coin entering or leaving
    // the meters' balances (the vault), the pool or the escrow is recorded here, and a balance
    // that would go below zero names the broken book. A refused move changes nothing.

    /// Coins enter the meters' balances in the vault: a funding's deposit.
    pub fn credit_meters(&mut self, units: u64) -> Result<()> {
        self.meter_balances_units = self.meter_balances_units.safe_add(units)?;
        Ok(())
    }

    /// Coins leave the meters' balances for an owner's account: a refund, collected earnings.
    pub fn debit_meters(&mut self, units: u64) -> Result<()> {
        self.meter_balances_units = self
            .meter_balances_units
            .safe_sub(units, EnergyError::VaultShortfall)?;
        Ok(())
    }

    /// Coins that repaid a meter's debt enter the pool as carry: producers were already paid
    /// without them, so the next epoch that pays producers takes them.
    pub fn carry_repaid_debt(&mut self, units: u64) -> Result<()> {
        self.carry_units = self.carry_units.safe_add(units)?;
        Ok(())
    }

    /// A consumer is charged: coins move from its balance into the pool, owed to the epoch's
    /// producers.
    pub fn charge_into_pool(&mut self, units: u64) -> Result<()> {
        move_units(
            &mut self.meter_balances_units,
            &mut self.pool_in_flight_units,
            units,
            EnergyError::VaultShortfall,
        )
    }

    /// An epoch starts paying producers: the whole carry joins what it owes them. Returns the
    /// carry taken.
    pub fn take_carry(&mut self) -> Result<u64> {
        let carried_units = self.carry_units;
        move_units(
            &mut self.carry_units,
            &mut self.pool_in_flight_units,
            carried_units,
            EnergyError::ConservationViolated,
        )?;
        Ok(carried_units)
    }

    /// The epoch's fee leaves the pool for the treasury.
    pub fn take_fee(&mut self, units: u64) -> Result<()> {
        self.pool_in_flight_units = self
            .pool_in_flight_units
            .safe_sub(units, EnergyError::ConservationViolated)?;
        Ok(())
    }

    /// A producer is paid: coins move from the pool into its meter's balance.
    pub fn pay_from_pool(&mut self, units: u64) -> Result<()> {
        move_units(
            &mut self.pool_in_flight_units,
            &mut self.meter_balances_units,
            units,
            EnergyError::ConservationViolated,
        )
    }

    /// An epoch is settled: what its producers were not paid stays in the pool as carry.
    pub fn carry_forward(&mut self, units: u64) -> Result<()> {
        move_units(
            &mut self.pool_in_flight_units,
            &mut self.carry_units,
            units,
            EnergyError::ConservationViolated,
        )
    }

    /// Coins a resident sets aside to sell enter the escrow.
    pub fn hold_in_escrow(&mut self, units: u64) -> Result<()> {
        self.escrow_units = self.escrow_units.safe_add(units)?;
        Ok(())
    }

    /// Coins leave the escrow: burned for a payout, or back to the resident who set them aside.
    pub fn release_from_escrow(&mut self, units: u64) -> Result<()> {
        self.escrow_units = self
            .escrow_units
            .safe_sub(units, EnergyError::VaultShortfall)?;
        Ok(())
    }

    /// What the pool owes: the carry, and the coins of epochs still paying their producers.
    pub fn pool_owed_units(&self) -> Result<u64> {
        self.carry_units.safe_add(self.pool_in_flight_units)
    }

    // Backing: each token account holds at least what the books say it owes (anyone may send
    // coins to a PDA's token account, so `>=`, never `==`).

    /// The vault backs every meter balance.
    pub fn check_vault(&self, vault_amount: u64) -> Result<()> {
        require!(
            vault_amount >= self.meter_balances_units,
            EnergyError::VaultShortfall
        );
        Ok(())
    }

    /// The pool backs the carry and every epoch still paying producers.
    pub fn check_pool(&self, pool_amount: u64) -> Result<()> {
        require!(
            pool_amount >= self.pool_owed_units()?,
            EnergyError::VaultShortfall
        );
        Ok(())
    }

    /// The escrow backs every resident's coins set aside or locked for a payout.
    pub fn check_escrow(&self, escrow_amount: u64) -> Result<()> {
        require!(
            escrow_amount >= self.escrow_units,
            EnergyError::VaultShortfall
        );
        Ok(())
    }

    /// What holds after every instruction that changes the grid: the pool's debts add up, the
    /// oracle's mint budget never exceeds its limit, and no fee in force or waiting is above
    /// the cap fixed at creation.
    pub fn invariant(&self) -> Result<()> {
        self.pool_owed_units()?;
        require!(
            self.notice_seconds <= MAX_NOTICE_SECONDS,
            EnergyError::InvalidNotice
        );
        require!(
            self.mint_budget_scaled <= self.oracle_limits.full_budget_scaled(),
            EnergyError::MintLimitExceeded
        );
        require!(
            [self.prior_params, self.params, self.pending_params]
                .iter()
                .all(|p| p.fee_units <= self.max_fee_units),
            EnergyError::FeeAboveCap
        );
        require!(
            self.prior_from_epoch <= self.params_from_epoch
                && self.params_from_epoch < self.pending_from_epoch,
            EnergyError::InvalidReadingRules
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests;
