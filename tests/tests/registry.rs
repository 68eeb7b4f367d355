//! Registration and enumeration: the grid's counters and directory entries list every
//! resident and meter in registration order, so clients need no `getProgramAccounts`.

use energy_utility::state::{DirectoryEntry, MeterKind};
use energy_utility_sdk::pda;
use energy_utility_tests::*;

#[tokio::test]
async fn residents_and_meters_are_listed_in_registration_order() {
    let mut g = TestGrid::start().await;
    let residents = ["angel", "bennie", "carlos"];
    for id in residents {
        g.add_resident(id).await;
    }
    let meters = [
        ("angel-roof", MeterKind::Producer, "angel"),
        ("carlos-house", MeterKind::Household, "carlos"),
        ("pole-1", MeterKind::Pole, "bennie"),
        ("stadium", MeterKind::Stadium, "bennie"),
    ];
    for (id, kind, owner) in meters {
        g.add_meter(id, kind, owner).await;
    }

    let grid = g.grid_state().await;
    assert_eq!(grid.resident_count, 3);
    assert_eq!(grid.meter_count, 4);
    for (i, id) in residents.iter().enumerate() {
        let entry: DirectoryEntry = g.account(&pda::resident_entry(&g.grid, i as u32)).await;
        assert_eq!(entry.grid, g.grid);
        assert_eq!(entry.target, g.resident(id).resident);
        assert_eq!(g.resident_state(id).await.index, i as u32);
    }
    for (i, (id, kind, owner)) in meters.iter().enumerate() {
        let entry: DirectoryEntry = g.account(&pda::meter_entry(&g.grid, i as u32)).await;
        assert_eq!(entry.target, g.meter(id).address);
        let meter = g.meter_state(id).await;
        assert_eq!(meter.index, i as u32);
        assert_eq!(meter.kind, *kind);
        assert_eq!(meter.owner, g.resident(owner).resident);
        assert_eq!(meter.id, *id);
    }
    assert!(!g.exists(&pda::meter_entry(&g.grid, 4)).await);
}
