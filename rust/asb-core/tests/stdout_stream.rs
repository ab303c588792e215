//! A backup to stdout, interrupted and continued by another run appending to the same
//! stream (as `-o - >> FILE` does): the runs' bytes, appended, are one backup with every
//! record once, under every layer. Its own test binary: it points this process's stdout
//! at a file.

use std::fs::OpenOptions;
use std::os::fd::AsRawFd;
use std::path::Path;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use asb_core::output::{FileStats, Output, Target};
use asb_core::{Entity, Layers, Record};
use sha2::{Digest, Sha256};

mod common;
use common::{all_layers, records, text_of};

extern "C" {
    fn dup(fd: i32) -> i32;
    fn dup2(old: i32, new: i32) -> i32;
}

fn digests_in(path: &Path, layers: &Layers) -> Vec<[u8; 20]> {
    let mut reader =
        asb_core::source::open_path(path, layers, Arc::new(AtomicU64::new(0))).unwrap();
    let mut digests = Vec::new();
    while let Some(e) = reader.next_entity().unwrap() {
        if let Entity::Record(r) = e {
            digests.push(r.digest);
        }
    }
    digests
}

/// One run: continues from `state` (or starts), writes `recs` in two jobs' appends, and
/// is interrupted (the accounts a state saves) or finishes (the accounts, complete).
fn run(
    layers: &Layers,
    state: Option<&[FileStats]>,
    recs: &[Record],
    last: bool,
) -> Vec<FileStats> {
    let out = match state {
        Some(files) => Output::resume(Target::Stdout, b"test", layers.clone(), files, 0),
        None => Output::new(Target::Stdout, b"test", layers.clone(), true, 0),
    }
    .unwrap();
    let half = recs.len() / 2;
    for part in [&recs[..half], &recs[half..]] {
        let mut job = out.job(false).unwrap();
        out.append(
            &mut job,
            &text_of(part),
            part.len() as u64,
            None,
            None,
            &mut Vec::new(),
        )
        .unwrap();
        // A job's end commits the shared stream: its bytes are out, and counted.
        out.release(job).unwrap();
    }
    if last {
        return out.finish().unwrap();
    }
    let files = out.files();
    std::mem::forget(out); // the run stops here
    files
}

#[test]
fn stdout_interrupted_twice_and_continued_appends_into_one_backup() {
    let recs = records(900, 5);
    let tmp = tempfile::tempdir().unwrap();
    let harness_stdout = unsafe { dup(1) };
    for (n, layers) in all_layers().iter().enumerate() {
        let path = tmp.path().join(format!("stream-{n}.asb"));
        let sink = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .unwrap();
        assert_eq!(unsafe { dup2(sink.as_raw_fd(), 1) }, 1);
        let first = run(layers, None, &recs[..300], false);
        assert_eq!(first[0].records, 300);
        assert_eq!(
            first[0].bytes,
            std::fs::metadata(&path).unwrap().len(),
            "every byte out is counted"
        );
        let second = run(layers, Some(&first), &recs[300..600], false);
        assert_eq!(second[0].records, 600);
        assert_eq!(second[0].bytes, std::fs::metadata(&path).unwrap().len());
        let token = second[0].resume.as_ref().unwrap();
        assert_eq!(
            &token[..16],
            &std::fs::read(&path).unwrap()[..16],
            "the token keeps the stream's head"
        );
        let done = run(layers, Some(&second), &recs[600..], true);
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(
            done[0].sha256.unwrap(),
            <[u8; 32]>::from(Sha256::digest(&bytes)),
            "the hash covers every run's bytes"
        );
        assert_eq!(done[0].records, 900);
        let all: Vec<_> = recs.iter().map(|r| r.digest).collect();
        assert_eq!(digests_in(&path, layers), all, "{}", layers.describe());
        // A state whose stream account does not match its hash state is refused.
        let mut bad = second.clone();
        bad[0].bytes += 1;
        assert!(Output::resume(Target::Stdout, b"test", layers.clone(), &bad, 0).is_err());
        drop(Output::resume(Target::Stdout, b"test", layers.clone(), &second, 0).unwrap());
        assert_eq!(
            bytes.len() as u64,
            std::fs::metadata(&path).unwrap().len(),
            "continuing writes nothing before records come"
        );
    }
    assert_eq!(unsafe { dup2(harness_stdout, 1) }, 1);
}
