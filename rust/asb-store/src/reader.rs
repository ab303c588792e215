//! An object read from its start in ranged GETs, a few ranges ahead of the parser.
//! Memory: `AHEAD` ranges of `range` bytes per reader; requests of all readers together are
//! bounded by `max_downloads`. A range whose body stalls fails on the client's read timeout
//! and is asked for again from its start (its bytes are handed on only when whole).

use std::collections::VecDeque;
use std::io::{self, Read};
use std::sync::Arc;

use bytes::Bytes;
use object_store::aws::AmazonS3;
use object_store::path::Path as KeyPath;
use object_store::ObjectStoreExt;
use tokio::runtime::Runtime;
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;

/// Ranges asked for ahead of the one being read.
const AHEAD: usize = 4;
/// Tries of one range after `object_store`'s own retries gave up.
const RANGE_TRIES: usize = 3;

pub struct RangeReader {
    store: Arc<AmazonS3>,
    key: KeyPath,
    url: String,
    size: u64,
    range: u64,
    rt: Arc<Runtime>,
    permits: Arc<Semaphore>,
    /// Where the next range to ask for starts.
    next: u64,
    ahead: VecDeque<JoinHandle<object_store::Result<Bytes>>>,
    current: Bytes,
}

impl RangeReader {
    pub(crate) fn new(
        store: Arc<AmazonS3>,
        key: KeyPath,
        url: String,
        size: u64,
        range: u64,
        rt: Arc<Runtime>,
        permits: Arc<Semaphore>,
    ) -> RangeReader {
        RangeReader {
            store,
            key,
            url,
            size,
            range: range.max(1),
            rt,
            permits,
            next: 0,
            ahead: VecDeque::new(),
            current: Bytes::new(),
        }
    }

    fn ask_ahead(&mut self) {
        while self.ahead.len() < AHEAD && self.next < self.size {
            let start = self.next;
            let end = (start + self.range).min(self.size);
            self.next = end;
            let (store, key, permits) =
                (self.store.clone(), self.key.clone(), self.permits.clone());
            self.ahead.push_back(self.rt.spawn(async move {
                let _permit = permits.acquire_owned().await.expect("never closed");
                let mut tries = 0;
                loop {
                    let r = store.get_range(&key, start..end).await;
                    tries += 1;
                    match r {
                        Ok(b) if b.len() as u64 == end - start => return Ok(b),
                        Ok(b) => {
                            if tries >= RANGE_TRIES {
                                return Err(object_store::Error::Generic {
                                    store: "S3",
                                    source: format!(
                                        "asked for bytes {start}..{end}, got {} bytes",
                                        b.len()
                                    )
                                    .into(),
                                });
                            }
                        }
                        Err(e) if tries >= RANGE_TRIES => return Err(e),
                        Err(_) => {}
                    }
                }
            }));
        }
    }
}

impl Read for RangeReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.current.is_empty() {
            self.ask_ahead();
            let Some(task) = self.ahead.pop_front() else {
                return Ok(0);
            };
            let got = self
                .rt
                .block_on(task)
                .map_err(|e| io::Error::other(e.to_string()))?;
            self.current =
                got.map_err(|e| io::Error::other(format!("reading {} failed: {e}", self.url)))?;
            self.ask_ahead();
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        let _ = self.current.split_to(n);
        Ok(n)
    }
}

impl Drop for RangeReader {
    fn drop(&mut self) {
        for t in &self.ahead {
            t.abort();
        }
    }
}
