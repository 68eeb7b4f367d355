//! What the admin may change about a resident's meter, and the rule that guards each change:
//! with the owner's signature it applies at once; without it, only after the grid's notice,
//! visible on the meter meanwhile, and the owner may veto it. Each of these acts changes what
//! the meter is billed or paid (who reports for it, where its register counts from, how much
//! it may report, whether it is served at all).

use anchor_lang::prelude::*;

use crate::error::EnergyError;
use crate::state::Meter;

#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq, InitSpace)]
pub enum MeterAct {
    /// A new gateway key reports for the meter (a new device, or a compromised one).
    RotateGateway { gateway: Pubkey },
    /// The meter was swapped (or its register reset): readings go on from `register_wh`.
    ReplaceRegister { register_wh: u64 },
    /// A new nameplate capacity: the most its readings may carry per hour.
    SetCapacity { capacity_w: u64 },
    /// Retire the meter: disconnected for good, its spare coins back to its owner.
    Deactivate,
}

impl MeterAct {
    pub fn validate(&self) -> Result<()> {
        if let MeterAct::SetCapacity { capacity_w } = self {
            require!(*capacity_w > 0, EnergyError::InvalidCapacity);
        }
        Ok(())
    }
}

/// A change the admin proposed without the owner's signature.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq, InitSpace)]
pub struct PendingMeterChange {
    pub act: MeterAct,
    /// When it may be applied: the proposal's time plus the grid's notice.
    pub effective_ts: i64,
}

impl Meter {
    /// Records `act` to apply at `effective_ts`, replacing any change still waiting (whose
    /// notice would have ended sooner: a replacement never applies earlier).
    pub fn propose_change(&mut self, act: MeterAct, effective_ts: i64) -> Result<()> {
        act.validate()?;
        self.check_applicable(&act)?;
        self.pending_change = Some(PendingMeterChange { act, effective_ts });
        Ok(())
    }

    /// The waiting change, taken off the meter once its notice has ended at `now`.
    pub fn take_due_change(&mut self, now: i64) -> Result<MeterAct> {
        let change = self.pending_change.ok_or(EnergyError::NoPendingChange)?;
        require!(now >= change.effective_ts, EnergyError::ChangeNotDue);
        self.pending_change = None;
        Ok(change.act)
    }

    /// The owner turns the waiting change down.
    pub fn veto_change(&mut self) -> Result<MeterAct> {
        let change = self
            .pending_change
            .take()
            .ok_or(EnergyError::NoPendingChange)?;
        Ok(change.act)
    }

    /// Whether `act` can apply to the meter as it is: only an active meter is replaced or
    /// retired, and not while energy waits to become a reading.
    pub fn check_applicable(&self, act: &MeterAct) -> Result<()> {
        match act {
            MeterAct::ReplaceRegister { .. } | MeterAct::Deactivate => {
                require!(self.active, EnergyError::MeterInactive);
                require!(
                    !self.has_deferred_energy(),
                    EnergyError::MeterHasDeferredEnergy
                );
            }
            MeterAct::RotateGateway { .. } | MeterAct::SetCapacity { .. } => {}
        }
        Ok(())
    }

    /// Applies `act`. Returns the coins leaving the meter for its owner (a retirement's).
    pub fn apply_change(&mut self, act: &MeterAct) -> Result<u64> {
        act.validate()?;
        match *act {
            MeterAct::RotateGateway { gateway } => self.gateway = gateway,
            MeterAct::ReplaceRegister { register_wh } => self.replace_register(register_wh)?,
            MeterAct::SetCapacity { capacity_w } => self.capacity_w = capacity_w,
            MeterAct::Deactivate => return self.retire(),
        }
        Ok(0)
    }
}
