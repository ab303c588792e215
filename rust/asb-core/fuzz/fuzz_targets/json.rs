//! A JSON line read the fast way (typed, for records) and the thorough way (a
//! `serde_json::Value`) gives the same entity or the same error.
//!
//! Input: one line of JSON (the seeds are record lines that `asbkit convert` writes).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|line: &[u8]| {
    if line.contains(&b'\n') {
        return; // one line at a time, as the converter reads them
    }
    let (fast, thorough) = asb_core::json::both_readings(line);
    assert_eq!(fast, thorough);
});
