//! `.asb` → JSON Lines → `.asb` gives back the same bytes.

use std::io::Write;
use std::path::PathBuf;

use asb_core::convert::{asb_to_jsonl, jsonl_to_asb, Counts, Filter};
use asb_core::Reader;

fn vector(rel: &str) -> Vec<u8> {
    std::fs::read(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/vectors")
            .join(rel),
    )
    .unwrap()
}

fn to_jsonl(text: &[u8], filter: &Filter) -> Vec<u8> {
    let mut reader = Reader::new(text).unwrap();
    let mut out = Vec::new();
    asb_to_jsonl(
        &mut reader,
        None,
        &mut out,
        filter,
        &mut Counts::default(),
        || Ok(()),
    )
    .unwrap();
    out
}

fn to_asb(jsonl: &[u8], filter: &Filter) -> Vec<u8> {
    jsonl_to_asb(
        jsonl,
        "<test>",
        |_| Ok(Vec::new()),
        filter,
        &mut Counts::default(),
    )
    .unwrap()
}

fn sample() -> Vec<u8> {
    std::fs::read(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/sample.asb"))
        .unwrap()
}

#[test]
fn vectors_round_trip_through_json_byte_for_byte() {
    for text in [vector("tools-backup/test/test_backup_file.asb"), sample()] {
        let jsonl = to_jsonl(&text, &Filter::default());
        assert_eq!(
            to_asb(&jsonl, &Filter::default()),
            text,
            "{}",
            String::from_utf8_lossy(&jsonl)
        );
    }
}

#[test]
fn synthetic_backup_round_trips_through_json() {
    let mut text = Vec::new();
    asb_core::synth::write_synthetic(&mut text, 2_000_000, 7).unwrap();
    let jsonl = to_jsonl(&text, &Filter::default());
    assert_eq!(to_asb(&jsonl, &Filter::default()), text);
}

/// Batches come back to the parser and are filled again in place: slots that held an index
/// or a UDF hold records the next time round, and the output is still the input's.
#[test]
fn reused_batches_keep_indexes_udfs_and_records_apart() {
    let mut records = Vec::new();
    asb_core::synth::write_synthetic(&mut records, 3_000_000, 11).unwrap();
    let body = records.splitn(4, |&b| b == b'\n').nth(3).unwrap().to_vec();
    let header_end = records.len() - body.len();
    let globals = b"* i bench demo idx_age N 1 age N\n* u L x.lua 3 a=1\n".to_vec();
    let text = [&records[..header_end], &globals[..], &body[..]].concat();
    let jsonl = to_jsonl(&text, &Filter::default());
    assert!(
        jsonl.split(|&b| b == b'\n').count() > 6 * 512 * 2,
        "several rounds of batches"
    );
    assert_eq!(to_asb(&jsonl, &Filter::default()), text);
}

#[test]
fn json_shows_values_for_people() {
    let jsonl = String::from_utf8(to_jsonl(&sample(), &Filter::default())).unwrap();
    let lines: Vec<&str> = jsonl.lines().collect();
    assert!(
        lines[0].starts_with(
            r#"{"type":"header","version":"3.1","namespace":"test","first_file":true"#
        ),
        "{}",
        lines[0]
    );
    assert!(
        lines[3].contains(r#""content":"function hello()\n  return 1\nend\n""#),
        "{}",
        lines[3]
    );
    let rec = lines[4];
    for part in [
        r#""key":{"t":"S","v":"alice"}"#,
        r#"{"name":"ratio","t":"D","v":0.1}"#,
        r#"{"name":"my bin","t":"S","v":""}"#,
        // The spec's hand-made list has no particle-type bytes; the view shows its text.
        r#"{"name":"tags","t":"L","v":"kqFhoWI=","view":["a","b"]}"#,
        r#"{"name":"m","t":"M","v":"gaFrAQ==","view":{"k":1}}"#,
        r#"{"name":"gone","t":"N","v":null}"#,
    ] {
        assert!(rec.contains(part), "{part} not in {rec}");
    }
    assert!(lines[5].contains(r#""expires":"2025-11-05T00:53:20Z""#));
    assert!(lines[6].contains(r#""key":{"t":"B","v":"AP9hYg==","compact":true}"#));
}

#[test]
fn filters_apply_while_converting() {
    let filter = Filter {
        sets: Some(vec![b"demo".to_vec()]),
        bins: Some(vec![b"age".to_vec(), b"raw".to_vec()]),
        namespace: Some((b"test".to_vec(), b"prod".to_vec())),
        max_records: Some(1),
        no_metadata: true,
        ..Filter::default()
    };
    let mut counts = Counts::default();
    let text = sample();
    let mut reader = Reader::new(&text[..]).unwrap();
    let mut out = Vec::new();
    asb_to_jsonl(
        &mut reader,
        Some("sample.asb"),
        &mut out,
        &filter,
        &mut counts,
        || Ok(()),
    )
    .unwrap();
    let text = String::from_utf8(out).unwrap();
    assert_eq!(
        counts,
        Counts {
            records: 1,
            skipped: 0,
            indexes: 0,
            udfs: 0
        }
    );
    assert_eq!(text.lines().count(), 2);
    assert!(text.contains(r#""file":"sample.asb","namespace":"prod""#));
    assert!(text.contains(r#""namespace":"prod","set":"demo""#));
    assert!(
        text.contains(r#""bins":[{"name":"age","t":"I","v":42}]"#),
        "{text}"
    );
    let back = to_asb(text.as_bytes(), &Filter::default());
    let mut w = Vec::new();
    w.write_all(b"Version 3.1\n# namespace prod\n# first-file\n")
        .unwrap();
    assert!(back.starts_with(&w));
}

#[test]
fn bad_json_is_located() {
    let good = to_jsonl(&sample(), &Filter::default());
    let mut lines: Vec<&[u8]> = good.split(|&b| b == b'\n').collect();
    lines[4] = br#"{"type":"record","namespace":"test"}"#;
    let bad = lines.join(&b'\n');
    let e = jsonl_to_asb(
        &bad[..],
        "in.jsonl",
        |_| Ok(Vec::new()),
        &Filter::default(),
        &mut Counts::default(),
    )
    .unwrap_err();
    assert_eq!(e.position.unwrap().line, 5);
    assert_eq!(e.path.as_deref(), Some("in.jsonl"));
    assert!(e.message.contains("missing \"digest\""), "{e}");
}

/// Base64 kept from the input is copied into JSON only where it is what encoding gives:
/// text with stray bits in its last character comes out re-encoded, as before.
#[test]
fn base64_text_is_copied_only_when_canonical() {
    let record = |digest: &str, blob: &str| {
        format!(
            "+ n test\n+ d {digest}\n+ g 1\n+ t 0\n+ b 2\n- B b {} {blob}\n- L l 4 kqEB\n",
            blob.len()
        )
    };
    let text = format!(
        "Version 3.1\n# namespace test\n{}{}",
        record("L4vA/rMZImCjThi9/gE3X4zIWAc=", "AAECAwQ="),
        // 'd' and 'R' carry low bits that decoding drops.
        record("L4vA/rMZImCjThi9/gE3X4zIWAd=", "QR=="),
    );
    // What the reader keeps: the canonical text, and nothing for the other record.
    let mut reader = Reader::new(text.as_bytes()).unwrap();
    reader.keep_b64_text(true);
    let mut kept = Vec::new();
    while reader.next_entity().unwrap().is_some() {
        let rec = reader.record();
        kept.push((
            rec.digest_text().is_some(),
            rec.blob_text(0).map(<[u8]>::to_vec),
        ));
    }
    assert_eq!(kept, [(true, Some(b"AAECAwQ=".to_vec())), (false, None)]);

    let jsonl = String::from_utf8(to_jsonl(text.as_bytes(), &Filter::default())).unwrap();
    let lines: Vec<serde_json::Value> = jsonl
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let field = |i: usize, f: &dyn Fn(&serde_json::Value) -> &serde_json::Value| {
        f(&lines[i]).as_str().unwrap().to_string()
    };
    assert_eq!(field(1, &|r| &r["digest"]), "L4vA/rMZImCjThi9/gE3X4zIWAc=");
    assert_eq!(field(1, &|r| &r["bins"][0]["v"]), "AAECAwQ=");
    assert_eq!(field(2, &|r| &r["digest"]), "L4vA/rMZImCjThi9/gE3X4zIWAc=");
    assert_eq!(field(2, &|r| &r["bins"][0]["v"]), "QQ==");
    assert_eq!(field(2, &|r| &r["bins"][1]["v"]), "kqEB");
    // Back to .asb: the canonical record as it was, the other one in canonical form.
    let back = String::from_utf8(to_asb(jsonl.as_bytes(), &Filter::default())).unwrap();
    let canonical = format!(
        "Version 3.1\n# namespace test\n{}{}",
        record("L4vA/rMZImCjThi9/gE3X4zIWAc=", "AAECAwQ="),
        record("L4vA/rMZImCjThi9/gE3X4zIWAc=", "QQ=="),
    );
    assert_eq!(back, canonical);
}

/// Lines the `json` fuzz target found reading differently the fast way and the `Value` way:
/// invalid UTF-8 inside fields the fast way skipped, and a record with two faults (the
/// `Value` way names the first in its order).
#[test]
fn json_fuzz_cases_read_the_same_both_ways() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz_cases");
    let mut cases = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "jsonl") {
            continue;
        }
        let line = std::fs::read(&path).unwrap();
        let (fast, thorough) = asb_core::json::both_readings(&line);
        assert!(fast.starts_with("error: "), "{}: {fast}", path.display());
        assert_eq!(fast, thorough, "{}", path.display());
        cases += 1;
    }
    assert_eq!(cases, 3);
}
