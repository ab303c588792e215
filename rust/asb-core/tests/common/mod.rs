//! What the output tests share: every layer combination, records, their text.

use asb_core::synth::{synth_record, Rng};
use asb_core::write::encode_record;
use asb_core::{Cipher, EncryptionKey, Layers, Record};

/// Plain, zstd, AES-128, zstd with AES-256.
pub fn all_layers() -> Vec<Layers> {
    let key = |c| EncryptionKey::from_material(c, b"material");
    vec![
        Layers::default(),
        Layers {
            zstd: true,
            ..Layers::default()
        },
        Layers {
            encryption: Some(key(Cipher::Aes128)),
            ..Layers::default()
        },
        Layers {
            zstd: true,
            encryption: Some(key(Cipher::Aes256)),
            ..Layers::default()
        },
    ]
}

pub fn records(n: u64, seed: u64) -> Vec<Record> {
    let mut rng = Rng::new(seed);
    (0..n)
        .map(|i| {
            let mut r = Record::new();
            synth_record(&mut rng, i, b"test", &mut r);
            r
        })
        .collect()
}

pub fn text_of(recs: &[Record]) -> Vec<u8> {
    let mut out = Vec::new();
    for r in recs {
        encode_record(&mut out, r, false).unwrap();
    }
    out
}
