//! Sensible meter nameplates: the capacity a meter gets when its installer names none.

use crate::accounts::MeterKind;

/// A meter's default capacity in watts, by kind: a solar roof's 10 kW inverter, a house's
/// 20 kW service, a street light's 1 kW lamp, a ballpark's 500 kW floodlights, 50 kW else.
pub fn default_capacity_w(kind: MeterKind) -> u64 {
    match kind {
        MeterKind::Producer => 10_000,
        MeterKind::Household => 20_000,
        MeterKind::Pole => 1_000,
        MeterKind::Stadium => 500_000,
        MeterKind::Other => 50_000,
    }
}
