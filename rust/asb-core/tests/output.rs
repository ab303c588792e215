//! Backup output: rotation by size, parked files reused, commits that survive being cut
//! off right after them, and continuation from a committed length, under every layer.

use std::path::Path;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use asb_core::output::{FileStats, Output, Target};
use asb_core::synth::Rng;
use asb_core::{Entity, Layers};
use sha2::{Digest, Sha256};

mod common;
use common::{all_layers, records, text_of};

/// Digests of every record in `path`, read with `layers`, and whether it had first-file.
fn read_back(path: &Path, layers: &Layers) -> (Vec<[u8; 20]>, bool) {
    let mut reader =
        asb_core::source::open_path(path, layers, Arc::new(AtomicU64::new(0))).unwrap();
    let first = reader.header().first_file();
    let mut digests = Vec::new();
    while let Some(e) = reader.next_entity().unwrap() {
        if let Entity::Record(r) = e {
            digests.push(r.digest);
        }
    }
    (digests, first)
}

fn dir_target(dir: &Path, limit: u64) -> Target {
    Target::Directory {
        dir: dir.to_path_buf(),
        prefix: "test".into(),
        file_limit: limit,
    }
}

#[test]
fn directory_output_rotates_and_accounts_for_every_file() {
    for layers in all_layers() {
        let tmp_dir = tempdir();
        let tmp = tmp_dir.path();
        let out = Output::new(
            dir_target(tmp, 64 * 1024),
            b"test",
            layers.clone(),
            false,
            0,
        )
        .unwrap();
        // zstd writes whole frames of 4 MiB of text: enough records for a few of them.
        let recs = records(if layers.zstd { 40_000 } else { 3000 }, 7);
        let mut job = out.job(true).unwrap();
        for chunk in recs.chunks(50) {
            let text = text_of(chunk);
            out.append(
                &mut job,
                &text,
                chunk.len() as u64,
                Some(chunk[0].digest),
                Some(chunk[chunk.len() - 1].digest),
                &mut Vec::new(),
            )
            .unwrap();
            if out.is_full(&job) {
                let (committed, _) = out.commit(&mut job).unwrap();
                let committed = committed.expect("a local file is durable at each commit");
                out.rotate_if_full(&mut job).unwrap();
                // The closed file holds exactly the committed records (a zstd file may end
                // with an empty frame after them).
                let closed = out
                    .files()
                    .into_iter()
                    .find(|f| f.index == committed.index)
                    .unwrap();
                assert_eq!(closed.records, committed.records);
                assert!(closed.bytes >= committed.bytes && closed.bytes <= committed.bytes + 16);
                assert!(closed.sha256.is_some());
            }
        }
        out.release(job).unwrap();
        let files = out.finish().unwrap();
        assert!(files.len() > 2, "{} files", files.len());
        let mut seen = Vec::new();
        for (i, f) in files.iter().enumerate() {
            assert_eq!(f.index, i as u64);
            assert!(f.name.ends_with(&format!("test_{i:05}.asb")), "{}", f.name);
            let bytes = std::fs::read(&f.name).unwrap();
            assert_eq!(bytes.len() as u64, f.bytes);
            assert_eq!(f.sha256.unwrap(), <[u8; 32]>::from(Sha256::digest(&bytes)));
            let (digests, first) = read_back(Path::new(&f.name), &layers);
            assert_eq!(first, i == 0, "only the first file says first-file");
            assert_eq!(digests.len() as u64, f.records);
            assert_eq!(f.first_digest, digests.first().copied());
            assert_eq!(f.last_digest, digests.last().copied());
            seen.extend(digests);
        }
        let all: Vec<_> = recs.iter().map(|r| r.digest).collect();
        assert_eq!(seen, all, "{}", layers.describe());
    }
}

#[test]
fn a_committed_file_cut_after_its_commit_continues_into_a_whole_file() {
    for layers in all_layers() {
        let tmp_dir = tempdir();
        let tmp = tmp_dir.path();
        let recs = records(400, 3);
        let committed: Vec<FileStats>;
        {
            let out = Output::new(dir_target(tmp, 0), b"test", layers.clone(), false, 0).unwrap();
            let mut job = out.job(true).unwrap();
            out.append(
                &mut job,
                &text_of(&recs[..200]),
                200,
                None,
                None,
                &mut Vec::new(),
            )
            .unwrap();
            out.commit(&mut job).unwrap();
            committed = out.files();
            // Written but not committed, then "killed": these bytes must go.
            out.append(
                &mut job,
                &text_of(&recs[200..300]),
                100,
                None,
                None,
                &mut Vec::new(),
            )
            .unwrap();
            out.commit(&mut job).unwrap();
            std::mem::forget(job);
            std::mem::forget(out);
        }
        assert_eq!(committed.len(), 1);
        assert_eq!(committed[0].records, 200);
        let out =
            Output::resume(dir_target(tmp, 0), b"test", layers.clone(), &committed, 0).unwrap();
        let mut job = out.job(false).unwrap();
        out.append(
            &mut job,
            &text_of(&recs[200..]),
            200,
            None,
            None,
            &mut Vec::new(),
        )
        .unwrap();
        out.release(job).unwrap();
        let files = out.finish().unwrap();
        assert_eq!(files.len(), 1);
        let bytes = std::fs::read(&files[0].name).unwrap();
        assert_eq!(
            files[0].sha256.unwrap(),
            <[u8; 32]>::from(Sha256::digest(&bytes)),
            "hash covers the old and new bytes"
        );
        let (digests, _) = read_back(Path::new(&files[0].name), &layers);
        let all: Vec<_> = recs.iter().map(|r| r.digest).collect();
        assert_eq!(digests, all, "{}", layers.describe());
        assert_eq!(files[0].records, 400);
    }
}

#[test]
fn one_shared_file_takes_every_job() {
    let tmp_dir = tempdir();
    let tmp = tmp_dir.path();
    let path = tmp.join("one.asb");
    let out = Output::new(
        Target::File(path.clone()),
        b"test",
        Layers::default(),
        true,
        0,
    )
    .unwrap();
    let recs = records(100, 1);
    let mut a = out.job(true).unwrap();
    let mut b = out.job(false).unwrap();
    out.append(
        &mut a,
        &text_of(&recs[..50]),
        50,
        None,
        None,
        &mut Vec::new(),
    )
    .unwrap();
    out.append(
        &mut b,
        &text_of(&recs[50..]),
        50,
        None,
        None,
        &mut Vec::new(),
    )
    .unwrap();
    out.release(a).unwrap();
    out.release(b).unwrap();
    let files = out.finish().unwrap();
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].records, 100);
    let (digests, first) = read_back(&path, &Layers::default());
    assert!(first);
    assert_eq!(digests.len(), 100);
}

/// A directory removed when the test ends.
fn tempdir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("asbkit-output-")
        .tempdir()
        .unwrap()
}

#[test]
fn a_shared_file_commit_hands_back_every_jobs_marks() {
    use asb_core::output::Mark;
    let tmp_dir = tempdir();
    let tmp = tmp_dir.path();
    let out = Output::new(
        Target::File(tmp.join("one.asb")),
        b"test",
        Layers::default(),
        true,
        0,
    )
    .unwrap();
    let recs = records(4, 2);
    let mark = |i: usize| Mark {
        pid: i as u16,
        digest: recs[i].digest,
        records: 1,
        done: false,
    };
    let mut a = out.job(true).unwrap();
    let mut b = out.job(false).unwrap();
    out.append(
        &mut a,
        &text_of(&recs[..1]),
        1,
        None,
        None,
        &mut vec![mark(0)],
    )
    .unwrap();
    out.append(
        &mut b,
        &text_of(&recs[1..2]),
        1,
        None,
        None,
        &mut vec![mark(1)],
    )
    .unwrap();
    // Job a commits: the file now holds b's record too, so b's mark comes back with a's.
    let (_, marks) = out.commit(&mut a).unwrap();
    assert_eq!(marks, vec![mark(0), mark(1)]);
    let (_, again) = out.commit(&mut b).unwrap();
    assert!(again.is_empty());
}

#[test]
fn nice_paces_the_bytes_a_commit_writes() {
    // zstd holds text until a frame ends: a commit writes it all at once. -N counts those
    // bytes too (the next append waits for them), as it counts every byte written.
    let tmp_dir = tempdir();
    let layers = Layers {
        zstd: true,
        ..Layers::default()
    };
    let out = Output::new(
        dir_target(tmp_dir.path(), 0),
        b"test",
        layers,
        false,
        1 << 20,
    )
    .unwrap();
    let mut job = out.job(true).unwrap();
    // Random bytes do not compress: about 600 KiB reach the file at the commit.
    let mut rng = Rng::new(9);
    let mut text = Vec::new();
    while text.len() < 600 << 10 {
        text.extend(rng.next_u64().to_le_bytes());
    }
    out.append(&mut job, &text, 0, None, None, &mut Vec::new())
        .unwrap();
    out.commit(&mut job).unwrap();
    let start = std::time::Instant::now();
    out.append(&mut job, b"\n", 0, None, None, &mut Vec::new())
        .unwrap();
    let waited = start.elapsed();
    assert!(
        waited >= std::time::Duration::from_millis(400),
        "the commit's ~600 KiB at 1 MiB/s were not paced: {waited:?}"
    );
    out.release(job).unwrap();
}
