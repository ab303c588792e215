//! A JSON line read the fast way (typed, for records) and the thorough way (a
//! `serde_json::Value`) gives the same entity or the same error.
//!
//! Input: one line of JSON (the seeds are record lines that `asbkit convert` writes).
#![no_main]

use asb_core::json::{entity_from_json, entity_from_value, JsonEntity};
use asb_core::write::encode_record;
use asb_core::Record;
use libfuzzer_sys::fuzz_target;

fn outcome(line: &[u8], read: fn(&[u8], &mut Record) -> asb_core::Result<JsonEntity>) -> String {
    let mut rec = Record::new();
    match read(line, &mut rec) {
        Ok(JsonEntity::Record) => {
            let mut out = Vec::new();
            match encode_record(&mut out, &rec, false) {
                Ok(()) => String::from_utf8_lossy(&out).into_owned(),
                Err(e) => format!("refused: {}", e.message),
            }
        }
        Ok(other) => format!("{other:?}"),
        Err(e) => format!("error: {}", e.message),
    }
}

fuzz_target!(|line: &[u8]| {
    if line.contains(&b'\n') {
        return; // one line at a time, as the converter reads them
    }
    assert_eq!(outcome(line, entity_from_json), outcome(line, entity_from_value));
});
