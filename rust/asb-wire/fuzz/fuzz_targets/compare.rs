//! Bin comparison of `asbkit verify` on arbitrary bytes: lists and maps are parsed as
//! msgpack (lengths are only claims), so it must never panic, loop or allocate wildly,
//! and it must be reflexive and symmetric.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&kind, rest)) = data.split_first() else { return };
    let ptype = [19u8, 20, 23, 4][kind as usize % 4];
    let cut = rest.first().map_or(0, |&c| c as usize % (rest.len().max(1)));
    let (a, b) = rest.split_at(cut);
    assert!(asb_wire::verify::same_value(ptype, a, a));
    assert_eq!(asb_wire::verify::same_value(ptype, a, b), asb_wire::verify::same_value(ptype, b, a));
});
