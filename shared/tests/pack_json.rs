//! A framework pack read back from the JSON the server serves it as: what a device keeps of every
//! version it is sent, so it can open each visit in its own version offline.

mod common;

use accredit_shared::FrameworkPack;
use common::*;

fn round_trip(pack: &FrameworkPack) -> FrameworkPack {
    let served = serde_json::to_string(pack).unwrap();
    FrameworkPack::from_json(&served).unwrap()
}

#[test]
fn a_served_pack_reads_back_as_the_same_pack() {
    let shipped = FrameworkPack::from_toml(DEFAULT_PACK_TOML).unwrap();
    for pack in [shipped, test_pack(), test_pack_v2()] {
        let back = round_trip(&pack);
        assert_eq!(
            serde_json::to_value(&back).unwrap(),
            serde_json::to_value(&pack).unwrap(),
            "{}@{}",
            pack.id,
            pack.version
        );
        assert_eq!(back.criterion_count(), pack.criterion_count());
    }
    // The mapping survives, so the device can offer and make the move.
    let v2 = round_trip(&test_pack_v2());
    let mut lib = library();
    lib.insert(v2).unwrap();
    assert_eq!(
        lib.successor("test-pack", "1").map(|p| p.version.as_str()),
        Some("2")
    );
}

#[test]
fn a_served_pack_that_breaks_the_rules_is_refused_with_the_field() {
    let mut value = serde_json::to_value(test_pack_v2()).unwrap();
    value["migration"]["map"][0]["to"][0] = "safe.nowhere".into();
    let err = FrameworkPack::from_json(&value.to_string()).unwrap_err();
    assert!(err.to_string().contains("migration.map[0].to[0]"), "{err}");
    let err = FrameworkPack::from_json("{\"id\": 3}").unwrap_err();
    assert!(err.to_string().contains("invalid type"), "{err}");
}
