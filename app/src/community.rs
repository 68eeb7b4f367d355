//! The demo community: who lives where, what each meter is, and plausible hourly readings.

use energy_utility_sdk::accounts::MeterKind;

pub struct ResidentPlan {
    pub id: &'static str,
    /// Dollars of coins bought at the start.
    pub buys_usd_cents: u64,
}

pub struct MeterPlan {
    pub id: &'static str,
    pub kind: MeterKind,
    pub owner: &'static str,
    pub label: &'static str,
    /// Place on the map, 0..1 across and down.
    pub x: f64,
    pub y: f64,
    /// (funder, k) prepaid at the start.
    pub funding: &'static [(&'static str, u64)],
    /// Producers: peak capacity in W (shares of the production).
    pub capacity_w: u64,
    /// A prosumer's other register: the export side of a home's import meter, or its import
    /// side. Both sides share one gateway and are paired on chain.
    pub partner: Option<&'static str>,
}

impl MeterPlan {
    /// The nameplate registered on chain: producers' inverters four times their share (the
    /// demo's sun shines in the evening too), consumers the SDK's default for their kind.
    pub fn nameplate_w(&self) -> u64 {
        if self.kind == MeterKind::Producer {
            self.capacity_w * 4
        } else {
            energy_utility_sdk::meters::default_capacity_w(self.kind)
        }
    }
}

pub const RESIDENTS: &[ResidentPlan] = &[
    resident("angel", 300),
    resident("bennie", 300),
    resident("eve", 300),
    resident("carlos", 500),
    resident("danny", 500),
    resident("fay", 500),
    resident("gus", 150),
    resident("hana", 500),
    resident("hoa", 1_000),
    resident("tigers", 300),
    resident("ivy", 300),
    resident("jon", 300),
];

const fn resident(id: &'static str, buys_usd_cents: u64) -> ResidentPlan {
    ResidentPlan { id, buys_usd_cents }
}

const fn meter(
    id: &'static str,
    kind: MeterKind,
    owner: &'static str,
    label: &'static str,
    (x, y): (f64, f64),
    funding: &'static [(&'static str, u64)],
    capacity_w: u64,
) -> MeterPlan {
    MeterPlan {
        id,
        kind,
        owner,
        label,
        x,
        y,
        funding,
        capacity_w,
        partner: None,
    }
}

/// One side of a prosumer's bidirectional meter (see `MeterPlan::partner`).
const fn side(plan: MeterPlan, partner: &'static str) -> MeterPlan {
    MeterPlan {
        partner: Some(partner),
        ..plan
    }
}

#[rustfmt::skip]
pub const METERS: &[MeterPlan] = &[
    //    id              kind                  owner     label                            (x, y) on the map  funding (who, k)     capacity W
    meter("angel-roof",   MeterKind::Producer,  "angel",  "Angel's solar roof",            (0.14, 0.22), &[],                 5_000),
    meter("bennie-roof",  MeterKind::Producer,  "bennie", "Bennie's solar roof",           (0.42, 0.18), &[],                 4_000),
    meter("eve-roof",     MeterKind::Producer,  "eve",    "Eve's solar barn",              (0.82, 0.2),  &[],                 3_000),
    meter("carlos-house", MeterKind::Household, "carlos", "Carlos's house",                (0.18, 0.5),  &[("carlos", 20)],   0),
    meter("danny-house",  MeterKind::Household, "danny",  "Danny's house",                 (0.34, 0.52), &[("danny", 20)],    0),
    meter("fay-house",    MeterKind::Household, "fay",    "Fay's house",                   (0.5, 0.48),  &[("fay", 20)],      0),
    meter("gus-house",    MeterKind::Household, "gus",    "Gus's cabin",                   (0.66, 0.52), &[("gus", 2)],       0),
    meter("hana-house",   MeterKind::Household, "hana",   "Hana's house",                  (0.12, 0.8),  &[("hana", 20)],     0),
    meter("pole-1",       MeterKind::Pole,      "hoa",    "Elm Street light",              (0.26, 0.36), &[("hoa", 8)],       0),
    meter("pole-2",       MeterKind::Pole,      "hoa",    "Park path light",               (0.58, 0.34), &[("hoa", 8)],       0),
    meter("pole-3",       MeterKind::Pole,      "hoa",    "Driveway light by the field",   (0.78, 0.62), &[],                 0),
    meter("stadium",      MeterKind::Stadium,   "tigers", "Tigers' ballpark lights",       (0.6, 0.82),  &[("tigers", 12)],   0),
    // Two prosumer homes: a rooftop array and a household behind one bidirectional meter.
    side(meter("ivy-home",        MeterKind::Household, "ivy", "Ivy's home (drawn)",      (0.9, 0.44),  &[("ivy", 20)],      0),     "ivy-home-export"),
    side(meter("ivy-home-export", MeterKind::Producer,  "ivy", "Ivy's home (fed in)",     (0.93, 0.4),  &[],                 2_000), "ivy-home"),
    side(meter("jon-home",        MeterKind::Household, "jon", "Jon's home (drawn)",      (0.36, 0.84), &[("jon", 20)],      0),     "jon-home-export"),
    side(meter("jon-home-export", MeterKind::Producer,  "jon", "Jon's home (fed in)",     (0.39, 0.8),  &[],                 1_500), "jon-home"),
];

/// A small deterministic generator (xorshift64*), so a demo replays the same day.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed | 1)
    }

    /// A number in `low..=high`.
    pub fn between(&mut self, low: u64, high: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let r = self.0.wrapping_mul(0x2545_f491_4f6c_dd1d);
        low + r % (high - low + 1)
    }
}

/// What a consumer draws in one hour of the day, in Wh (0 when disconnected: its relay is open).
pub fn consumption_wh(kind: MeterKind, hour_of_day: u64, rng: &mut Rng) -> u64 {
    let evening = (17..23).contains(&hour_of_day);
    let night = !(6..18).contains(&hour_of_day);
    match kind {
        MeterKind::Household if evening => rng.between(900, 1_800),
        MeterKind::Household => rng.between(250, 800),
        MeterKind::Pole if night => rng.between(90, 140),
        MeterKind::Pole => rng.between(0, 10),
        MeterKind::Stadium if evening => rng.between(4_000, 7_000),
        MeterKind::Stadium => rng.between(200, 600),
        MeterKind::Other => rng.between(100, 500),
        MeterKind::Producer => 0,
    }
}

/// Splits production (10 % above consumption: the grid's losses) among producers by capacity.
/// The last producer takes the rounding remainder, so the total is exact.
pub fn production_wh(consumed_wh: u64, capacities_w: &[u64]) -> Vec<u64> {
    let total = consumed_wh + consumed_wh / 10;
    let capacity: u64 = capacities_w.iter().sum();
    if capacity == 0 {
        return vec![0; capacities_w.len()];
    }
    let mut shares: Vec<u64> = capacities_w
        .iter()
        .map(|c| (total as u128 * *c as u128 / capacity as u128) as u64)
        .collect();
    let given: u64 = shares.iter().sum();
    if let Some(last) = shares.last_mut() {
        *last += total - given;
    }
    shares
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn production_is_ten_percent_above_consumption_exactly() {
        let shares = production_wh(10_001, &[5_000, 4_000, 3_000]);
        assert_eq!(shares.iter().sum::<u64>(), 11_001);
        assert_eq!(shares[0], 11_001 * 5 / 12);
        assert_eq!(production_wh(500, &[]), Vec::<u64>::new());
    }

    #[test]
    fn readings_are_plausible_and_repeatable() {
        let mut a = Rng::new(7);
        let mut b = Rng::new(7);
        for hour in 0..24 {
            let wh = consumption_wh(MeterKind::Household, hour, &mut a);
            assert_eq!(wh, consumption_wh(MeterKind::Household, hour, &mut b));
            assert!((250..=1_800).contains(&wh));
        }
        let every_meter_placed = METERS
            .iter()
            .all(|m| (0.0..=1.0).contains(&m.x) && (0.0..=1.0).contains(&m.y));
        assert!(every_meter_placed);
        assert!(METERS
            .iter()
            .all(|m| RESIDENTS.iter().any(|r| r.id == m.owner)));
    }
}
