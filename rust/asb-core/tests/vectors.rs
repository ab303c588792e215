//! The upstream vectors (`../shared/vectors`) through the core reader and writer.

use std::io::Read;
use std::path::PathBuf;

use asb_core::layers::{open_reader, LayeredWriter};
use asb_core::{Cipher, EncryptionKey, Entity, ErrorKind, Key, Layers, Reader, Value, Writer};

fn vectors() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/vectors")
}

fn read_vector(rel: &str) -> Vec<u8> {
    std::fs::read(vectors().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// DER body of a PKCS#1 PEM: the key material the C tool hashes.
fn pkcs1_der(rel: &str) -> Vec<u8> {
    let pem = String::from_utf8(read_vector(rel)).unwrap();
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    base64_simd::STANDARD
        .decode_to_vec(body.as_bytes())
        .unwrap()
}

/// Parses a whole stream and writes it back with the C writer's forms.
fn rewrite(text: &[u8]) -> Vec<u8> {
    let mut reader = Reader::new(text).unwrap();
    let mut writer = Writer::new(Vec::new(), &reader.header().clone()).unwrap();
    while let Some(entity) = reader.next_entity().unwrap() {
        match entity {
            Entity::Record(r) => writer.write_record(r).unwrap(),
            Entity::SecondaryIndex(s) => writer.write_sindex(&s).unwrap(),
            Entity::Udf(u) => writer.write_udf(&u).unwrap(),
        }
    }
    writer.into_inner().unwrap()
}

pub const WORKED_EXAMPLE: &[u8] = b"Version 3.1\n# namespace test\n# first-file\n\
* i test demo idx_age N 1 age N\n* i test  idx_tags L 1 tags S\n\
* u L hello.lua 32 function hello()\n  return 1\nend\n\n\
+ k S 5 alice\n+ n test\n+ d J7/lCxqosJ9pPsj/7c5Qt6b4XXk=\n+ s demo\n+ g 3\n+ t 0\n+ b 10\n\
- N gone\n- Z flag T\n- I age 42\n- D ratio 0.10000000000000001\n- S name 5 Alice\n\
- S my\\ bin 0 \n- B blob 8 AAECAw==\n- G loc 36 {\"type\":\"Point\",\"coordinates\":[1,2]}\n\
- L tags 8 kqFhoWI=\n- M m 8 gaFrAQ==\n\
+ k I 12345\n+ n test\n+ d MPuLddL9IM5lWFedZKP+g9KTaJI=\n+ g 1\n+ t 500000000\n+ b 1\n- I v -7\n\
+ k B! 4 \x00\xffab\n+ n test\n+ d 6PwJ4/v/twYVahR7CrobAPP2UWY=\n+ s demo\n+ g 2\n+ t 0\n+ b 1\n- B! raw 3 a\nb\n";

#[test]
fn upstream_file_reads_and_writes_back_byte_identical() {
    let text = read_vector("tools-backup/test/test_backup_file.asb");
    let mut reader = Reader::new(&text[..]).unwrap();
    assert_eq!(reader.header().namespace(), Some(&b"test"[..]));
    assert!(reader.header().first_file());
    let Some(Entity::Record(rec)) = reader.next_entity().unwrap() else {
        panic!("record expected")
    };
    assert_eq!(rec.key(), Some(Key::Str(b"key1")));
    assert_eq!(rec.set(), Some(&b"demo"[..]));
    assert_eq!((rec.generation, rec.void_time), (1, 428179113));
    let bins: Vec<_> = rec.bins().collect();
    assert_eq!(bins[0], (&b"foo"[..], Value::Int(123)));
    assert_eq!(bins[1], (&b"bar"[..], Value::Str(b"abc")));
    assert_eq!(bins[2], (&b"baz"[..], Value::Bool(true)));
    assert!(reader.next_entity().unwrap().is_none());
    assert_eq!(rewrite(&text), text);
}

#[test]
fn worked_example_round_trips_and_counts_lines_inside_values() {
    assert_eq!(WORKED_EXAMPLE.len(), 625);
    assert_eq!(rewrite(WORKED_EXAMPLE), WORKED_EXAMPLE);
    let mut reader = Reader::new(WORKED_EXAMPLE).unwrap();
    let mut kinds = Vec::new();
    while let Some(e) = reader.next_entity().unwrap() {
        kinds.push(match e {
            Entity::Record(r) => format!("record:{}", r.bin_count()),
            Entity::SecondaryIndex(s) => format!("index:{}", String::from_utf8_lossy(&s.name)),
            Entity::Udf(u) => format!("udf:{}", u.content.len()),
        });
    }
    assert_eq!(
        kinds,
        [
            "index:idx_age",
            "index:idx_tags",
            "udf:32",
            "record:10",
            "record:1",
            "record:1"
        ]
    );
    // 42 LFs in all, 4 of them inside the UDF body and the raw blob.
    assert_eq!(reader.position().line, 43);
    assert_eq!(reader.position().column, 1);
}

#[test]
fn bad_upstream_file_fails_at_line_13_column_3() {
    let text = read_vector("tools-backup/test/test_bad_backup_file.asb");
    let mut reader = Reader::new(&text[..]).unwrap();
    let err = reader.next_entity().unwrap_err();
    let pos = err.position.unwrap();
    assert_eq!((pos.line, pos.column), (13, 3), "{err}");
    assert_eq!(pos.offset, text.len() as u64 - 8);
    assert!(err.message.contains("invalid bin type \"x\""), "{err}");
}

#[test]
fn missing_final_lf_is_an_error() {
    let text = read_vector("tools-backup/test/test_backup_file.asb");
    let mut reader = Reader::new(&text[..text.len() - 1]).unwrap();
    let err = reader.next_entity().unwrap_err();
    assert!(err.message.contains("unexpected end of file"), "{err}");
    assert_eq!(err.position.unwrap().line, 13);
}

fn decode_layers(file: &[u8], layers: &Layers) -> asb_core::Result<Vec<u8>> {
    let mut out = Vec::new();
    open_reader(file, layers)?.read_to_end(&mut out)?;
    Ok(out)
}

fn test_key(cipher: Cipher) -> EncryptionKey {
    EncryptionKey::from_material(cipher, &pkcs1_der("tools-backup/test/test_key.pem"))
}

#[test]
fn key_derivation_matches_the_c_tool() {
    let key = test_key(Cipher::Aes256);
    let hex: String = key.key_bytes().iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(
        hex,
        "84a1baf3fe4111b646cf2e688b1585018989ad61973ed302a56be2fe8cadb6a2"
    );
    assert_eq!(test_key(Cipher::Aes128).key_bytes(), &key.key_bytes()[..16]);
}

#[test]
fn every_generated_vector_decodes_to_the_upstream_text() {
    let plain = read_vector("tools-backup/test/test_backup_file.asb");
    let cases: [(&str, bool, Option<Cipher>); 6] = [
        ("test_backup_file.zstd.asb", true, None),
        ("test_backup_file.zstd-multiframe.asb", true, None),
        ("test_backup_file.aes128.asb", false, Some(Cipher::Aes128)),
        ("test_backup_file.aes256.asb", false, Some(Cipher::Aes256)),
        (
            "test_backup_file.zstd.aes128.asb",
            true,
            Some(Cipher::Aes128),
        ),
        (
            "test_backup_file.zstd.aes256.asb",
            true,
            Some(Cipher::Aes256),
        ),
    ];
    for (name, zstd, cipher) in cases {
        let layers = Layers {
            zstd,
            zstd_level: 0,
            encryption: cipher.map(test_key),
        };
        let file = read_vector(&format!("generated/{name}"));
        assert_eq!(decode_layers(&file, &layers).unwrap(), plain, "{name}");
    }
}

fn layer_error(file: &str, zstd: bool, key: Option<EncryptionKey>) -> String {
    let layers = Layers {
        zstd,
        zstd_level: 0,
        encryption: key,
    };
    let err = decode_layers(&read_vector(file), &layers).unwrap_err();
    assert!(matches!(err.kind, ErrorKind::Layer), "{err}");
    err.message
}

#[test]
fn wrong_layer_options_are_named() {
    let z = "generated/test_backup_file.zstd.asb";
    let a256 = "generated/test_backup_file.aes256.asb";
    let za128 = "generated/test_backup_file.zstd.aes128.asb";
    assert!(layer_error(z, false, None).contains("pass --compress zstd"));
    assert!(
        layer_error("tools-backup/test/test_backup_file.asb", true, None)
            .contains("drop --compress")
    );
    assert!(layer_error(a256, false, None).contains("probably encrypted"));
    assert!(
        layer_error(a256, false, Some(test_key(Cipher::Aes128))).contains("encrypted with aes256")
    );
    assert!(
        layer_error(za128, false, Some(test_key(Cipher::Aes128))).contains("pass --compress zstd")
    );
    assert!(layer_error(z, true, Some(test_key(Cipher::Aes128))).contains("not encrypted"));
    let wrong = EncryptionKey::from_material(
        Cipher::Aes256,
        &pkcs1_der("tools-backup/test/test_key2.pem"),
    );
    assert!(layer_error(a256, false, Some(wrong)).contains("key is not the one"));
}

#[test]
fn layered_writer_round_trips_every_combination() {
    let plain = read_vector("tools-backup/test/test_backup_file.asb");
    for zstd in [false, true] {
        for cipher in [None, Some(Cipher::Aes128), Some(Cipher::Aes256)] {
            let layers = Layers {
                zstd,
                zstd_level: 0,
                encryption: cipher.map(test_key),
            };
            let mut w = LayeredWriter::new(Vec::new(), &layers).unwrap();
            std::io::Write::write_all(&mut w, &plain).unwrap();
            let file = w.finish().unwrap();
            assert_eq!(
                decode_layers(&file, &layers).unwrap(),
                plain,
                "{}",
                layers.describe()
            );
        }
    }
}
