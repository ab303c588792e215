//! Arbitrary bytes through the `.asb` text reader: it must return an error or `None`, never
//! panic, hang or allocate more than the input warrants.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(mut reader) = asb_core::Reader::new(data) else {
        return;
    };
    // Every entity consumes at least one byte, so this ends; the bound is a backstop.
    for _ in 0..=data.len() {
        match reader.next_entity() {
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => return,
        }
    }
    panic!("reader returned more entities than the input has bytes");
});
