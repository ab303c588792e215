//! A stream that parses completely is written back with `Writer`; that output must parse
//! completely too, and writing it again must reproduce it byte for byte (the writer's output
//! is a fixed point of parse + write). Copying the base64 text the reader kept (as convert
//! and filter do) writes the same bytes as encoding the values again.
#![no_main]

use asb_core::{Entity, Reader, Writer};
use libfuzzer_sys::fuzz_target;

fn refused<T>(e: asb_core::Error) -> T {
    panic!("the writer refuses what the reader accepted: {e}")
}

/// Parses all of `text` and re-encodes it; `Err` with the parse error if any entity fails.
fn rewrite(text: &[u8], keep_b64_text: bool) -> Result<(Vec<u8>, usize), asb_core::Error> {
    let mut reader = Reader::new(text)?;
    reader.keep_b64_text(keep_b64_text);
    let header = reader.header().clone();
    let mut writer = Writer::new(Vec::new(), &header).unwrap_or_else(refused);
    let mut entities = 0;
    while let Some(entity) = reader.next_entity()? {
        entities += 1;
        match entity {
            Entity::Record(r) => writer.write_record(r),
            Entity::SecondaryIndex(s) => writer.write_sindex(&s),
            Entity::Udf(u) => writer.write_udf(&u),
        }
        .unwrap_or_else(refused);
    }
    assert_eq!(reader.offset(), text.len() as u64, "clean end before the end of the input");
    Ok((writer.into_inner().expect("writing to a Vec"), entities))
}

fuzz_target!(|data: &[u8]| {
    let Ok((first, entities)) = rewrite(data, false) else {
        return;
    };
    let (copied, _) = rewrite(data, true).expect("parsed once already");
    assert_eq!(first, copied, "kept base64 text differs from encoding the values");
    let (second, entities2) = match rewrite(&first, false) {
        Ok(r) => r,
        Err(e) => panic!(
            "writer output does not parse: {e}\noutput: {:?}",
            String::from_utf8_lossy(&first)
        ),
    };
    assert_eq!(entities, entities2, "entity count changed");
    if first != second {
        panic!(
            "writer output is not a fixed point\nfirst:  {:?}\nsecond: {:?}",
            String::from_utf8_lossy(&first),
            String::from_utf8_lossy(&second)
        );
    }
});
