//! Any bytes as a scan reply body: decoding never panics, and every record it accepts is
//! written as `.asb` text that reads back to a record writing the same text (what a backup
//! writes is what a restore reads).
#![no_main]

use std::io::Cursor;

use asb_core::write::encode_record;
use asb_core::{Entity, Header, Reader, Record};
use asb_wire::scan::{decode_reply, DecodeOptions, ScanOutcome};
use asb_wire::WireResult;
use libfuzzer_sys::fuzz_target;

fn check(rec: &Record) -> WireResult<()> {
    let mut text = Vec::new();
    if encode_record(&mut text, rec, false).is_err() {
        // Refused in words (a NUL in a name, a name too long): the backup stops there.
        return Ok(());
    }
    let mut file = Vec::new();
    asb_core::write::encode_header(&mut file, &Header::new(b"ns", false)).unwrap();
    file.extend_from_slice(&text);
    let mut reader = Reader::new(Cursor::new(file)).expect("our header reads");
    match reader.next_entity() {
        Ok(Some(Entity::Record(back))) => {
            let mut again = Vec::new();
            encode_record(&mut again, back, false).expect("what was read writes again");
            assert_eq!(again, text, "the text a backup writes must read back to the same record");
            assert_eq!(back.digest, rec.digest);
            assert_eq!(back.bin_count(), rec.bin_count());
        }
        other => panic!("a written record did not read back: {other:?}\n{}", String::from_utf8_lossy(&text)),
    }
    assert!(matches!(reader.next_entity(), Ok(None)), "one record, nothing after it");
    Ok(())
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, body)) = data.split_first() else { return };
    let opts = DecodeOptions { compact: flags & 1 == 1 };
    let mut rec = Record::new();
    let mut outcome = ScanOutcome::default();
    let mut sink = |r: &Record| check(r);
    let _ = decode_reply(body, opts, &mut rec, &mut outcome, &mut sink);
});
