//! What the reader-comparing targets (`window`, `mapped`) share: reading every entity and
//! standing each for its encoding.

use asb_core::write::{encode_record, encode_sindex, encode_udf};
use asb_core::{Entity, Position, Reader};

/// The entities read (each as its encoding) and how reading ended.
#[derive(Debug, PartialEq)]
pub struct Outcome {
    pub entities: Vec<Vec<u8>>,
    pub error: Option<(String, Option<Position>)>,
    /// Lines read by the end (0 after an error).
    pub lines: u64,
}

impl Outcome {
    pub fn failed(e: asb_core::Error) -> Outcome {
        Outcome { entities: Vec::new(), error: Some((e.message, e.position)), lines: 0 }
    }
}

/// Reads the rest of `reader`. An entity stands for its encoding; one the writer refuses
/// stands for the refusal (the `roundtrip` target judges refusals).
pub fn read_rest<R: std::io::Read>(reader: &mut Reader<R>) -> Outcome {
    let mut entities = Vec::new();
    let legacy = reader.header().version.is_legacy();
    loop {
        let mut out = Vec::new();
        let encoded = match reader.next_entity() {
            Ok(Some(Entity::Record(r))) => encode_record(&mut out, r, legacy),
            Ok(Some(Entity::SecondaryIndex(s))) => encode_sindex(&mut out, &s),
            Ok(Some(Entity::Udf(u))) => encode_udf(&mut out, &u),
            Ok(None) => return Outcome { entities, error: None, lines: reader.lines_read() },
            Err(e) => return Outcome { entities, ..Outcome::failed(e) },
        };
        if let Err(e) = encoded {
            out = format!("refused: {}", e.message).into_bytes();
        }
        entities.push(out);
    }
}
