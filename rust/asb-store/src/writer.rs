//! An object written as a multipart upload whose parts end only at commit points.
//!
//! The bytes after the last part wait in memory; at a commit point, once they reach the
//! part size, they go up as the next part while the scan goes on. The durable length is
//! the end of the longest run of finished parts from the start: always a commit point,
//! so a backup killed at any moment continues from there, in the same upload, with the
//! part numbers after it (a part sent again replaces the one of the same number).
//! Memory: the parts in flight (at most `max_uploads`, shared by every object) plus each
//! open object's waiting bytes (below a part plus one commit).

use std::io::{self, Write};
use std::sync::Arc;

use asb_core::error::{Error, Result};
use asb_core::remote::{DurableWrite, StreamHash};
use bytes::Bytes;
use object_store::aws::AmazonS3;
use object_store::multipart::{MultipartStore, PartId};
use object_store::path::Path as KeyPath;
use object_store::{MultipartId, ObjectStoreExt, PutPayload};
use serde::{Deserialize, Serialize};
use tokio::runtime::Runtime;
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;

use crate::store_error;

/// Extra tries of a part after `object_store`'s own retries gave up.
const PART_TRIES: usize = 3;

enum PartState {
    InFlight(JoinHandle<object_store::Result<PartId>>),
    Done(String),
}

struct Part {
    /// The object's length where this part ends, and the hash state there.
    end: u64,
    hash: StreamHash,
    state: PartState,
}

/// What a saved state keeps of an unfinished object.
#[derive(Serialize, Deserialize)]
struct Token {
    upload: String,
    head: String,
    /// ETag and end of each finished part, from the first.
    parts: Vec<(String, u64)>,
    hash: String,
}

pub struct PartWriter {
    store: Arc<AmazonS3>,
    key: KeyPath,
    url: String,
    part_size: usize,
    rt: Arc<Runtime>,
    permits: Arc<Semaphore>,
    upload: Option<MultipartId>,
    head: Vec<u8>,
    written: u64,
    tail: Vec<u8>,
    parts: Vec<Part>,
}

impl PartWriter {
    pub(crate) fn new(
        store: Arc<AmazonS3>,
        key: KeyPath,
        url: String,
        part_size: usize,
        rt: Arc<Runtime>,
        permits: Arc<Semaphore>,
    ) -> PartWriter {
        PartWriter {
            store,
            key,
            url,
            part_size,
            rt,
            permits,
            upload: None,
            head: Vec::with_capacity(16),
            written: 0,
            tail: Vec::new(),
            parts: Vec::new(),
        }
    }

    pub(crate) fn resume(
        store: Arc<AmazonS3>,
        key: KeyPath,
        url: String,
        part_size: usize,
        rt: Arc<Runtime>,
        permits: Arc<Semaphore>,
        token: &[u8],
    ) -> Result<(PartWriter, [u8; 16], StreamHash)> {
        let t = parse_token(&url, token)?;
        let hash = StreamHash::from_bytes(&hex_decode(&t.hash).ok_or_else(|| damaged(&url))?)?;
        let head_bytes = hex_decode(&t.head).ok_or_else(|| damaged(&url))?;
        let mut head = [0u8; 16];
        let n = head_bytes.len().min(16);
        head[..n].copy_from_slice(&head_bytes[..n]);
        let end = t.parts.last().map(|p| p.1).unwrap_or(0);
        if end != hash.len() {
            return Err(damaged(&url));
        }
        let mut w = PartWriter::new(store, key, url, part_size, rt, permits);
        w.upload = Some(t.upload);
        w.head = head_bytes;
        w.written = end;
        w.parts = t
            .parts
            .into_iter()
            .map(|(etag, end)| Part {
                end,
                // Only the last part's state is ever needed again.
                hash: hash.clone(),
                state: PartState::Done(etag),
            })
            .collect();
        Ok((w, head, hash))
    }

    fn upload_id(&mut self) -> Result<MultipartId> {
        if let Some(id) = &self.upload {
            return Ok(id.clone());
        }
        let id = self
            .rt
            .block_on(self.store.create_multipart(&self.key))
            .map_err(|e| store_error(&self.url, "cannot start the upload of", e))?;
        self.upload = Some(id.clone());
        Ok(id)
    }

    /// Sends the waiting bytes as the next part (blocks while `max_uploads` are in flight).
    fn cut(&mut self, hash: &StreamHash) -> Result<()> {
        let id = self.upload_id()?;
        let permit = self
            .rt
            .block_on(self.permits.clone().acquire_owned())
            .expect("the semaphore is never closed");
        let body = Bytes::from(std::mem::take(&mut self.tail));
        let (store, key, idx) = (self.store.clone(), self.key.clone(), self.parts.len());
        let task = self.rt.spawn(async move {
            let _permit = permit;
            let mut tries = 0;
            loop {
                let r = store
                    .put_part(&key, &id, idx, PutPayload::from(body.clone()))
                    .await;
                tries += 1;
                if r.is_ok() || tries >= PART_TRIES {
                    return r;
                }
            }
        });
        self.parts.push(Part {
            end: self.written,
            hash: hash.clone(),
            state: PartState::InFlight(task),
        });
        Ok(())
    }

    /// Takes in the parts that finished; an error once a part failed for good.
    fn settle(&mut self, wait: bool) -> Result<()> {
        for (i, p) in self.parts.iter_mut().enumerate() {
            if let PartState::InFlight(h) = &mut p.state {
                if !wait && !h.is_finished() {
                    continue;
                }
                let r = self
                    .rt
                    .block_on(h)
                    .map_err(|e| Error::from(io::Error::other(e.to_string())))?;
                match r {
                    Ok(part) => p.state = PartState::Done(part.content_id),
                    Err(e) => {
                        return Err(store_error(
                            &self.url,
                            &format!("part {} could not be uploaded to", i + 1),
                            e,
                        ))
                    }
                }
            }
        }
        Ok(())
    }

    /// Finished parts from the first, up to the first still in flight.
    fn done_prefix(&self) -> usize {
        self.parts
            .iter()
            .take_while(|p| matches!(p.state, PartState::Done(_)))
            .count()
    }
}

impl Write for PartWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.head.len() < 16 {
            let k = (16 - self.head.len()).min(buf.len());
            self.head.extend_from_slice(&buf[..k]);
        }
        self.tail.extend_from_slice(buf);
        self.written += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl DurableWrite for PartWriter {
    fn commit_point(&mut self, hash: &StreamHash) -> Result<()> {
        debug_assert_eq!(hash.len(), self.written);
        self.settle(false)?;
        if self.tail.len() >= self.part_size {
            self.cut(hash)?;
        }
        Ok(())
    }

    fn durable(&mut self) -> Result<u64> {
        self.settle(false)?;
        let n = self.done_prefix();
        Ok(if n == 0 { 0 } else { self.parts[n - 1].end })
    }

    fn token(&self) -> Option<Vec<u8>> {
        let n = self.done_prefix();
        let upload = self.upload.clone()?;
        if n == 0 {
            return None;
        }
        let t = Token {
            upload,
            head: hex(&self.head),
            parts: self.parts[..n]
                .iter()
                .map(|p| match &p.state {
                    PartState::Done(etag) => (etag.clone(), p.end),
                    PartState::InFlight(_) => unreachable!("a done prefix"),
                })
                .collect(),
            hash: hex(&self.parts[n - 1].hash.to_bytes()),
        };
        serde_json::to_vec(&t).ok()
    }

    fn finish(self: Box<Self>) -> Result<()> {
        let (url, store, key, rt) = (
            self.url.clone(),
            self.store.clone(),
            self.key.clone(),
            self.rt.clone(),
        );
        match self.seal()? {
            None => Ok(()),
            Some(token) => complete(&store, &key, &url, &rt, &token),
        }
    }

    fn seal(mut self: Box<Self>) -> Result<Option<Vec<u8>>> {
        if self.upload.is_none() {
            // Never reached a part: one plain PUT, whole at once.
            let body = std::mem::take(&mut self.tail);
            return self
                .rt
                .block_on(self.store.put(&self.key, PutPayload::from(body)))
                .map(|_| None)
                .map_err(|e| store_error(&self.url, "cannot write", e));
        }
        if !self.tail.is_empty() {
            let hash = self
                .parts
                .last()
                .map(|p| p.hash.clone())
                .unwrap_or_default();
            self.cut(&hash)?;
        }
        self.settle(true)?;
        Ok(self.token())
    }

    fn abort(self: Box<Self>) -> Result<()> {
        (*self).abandon()
    }
}

impl PartWriter {
    fn abandon(mut self) -> Result<()> {
        for p in &self.parts {
            if let PartState::InFlight(h) = &p.state {
                h.abort();
            }
        }
        let Some(id) = self.upload.take() else {
            return Ok(());
        };
        match self.rt.block_on(self.store.abort_multipart(&self.key, &id)) {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(store_error(&self.url, "cannot abort the upload of", e)),
        }
    }
}

/// Completes a sealed upload; one already completed (its object there) is fine.
pub(crate) fn complete(
    store: &AmazonS3,
    key: &KeyPath,
    url: &str,
    rt: &Runtime,
    token: &[u8],
) -> Result<()> {
    let t = parse_token(url, token)?;
    let ids: Vec<PartId> = t
        .parts
        .iter()
        .map(|(etag, _)| PartId {
            content_id: etag.clone(),
        })
        .collect();
    let size = t.parts.last().map_or(0, |p| p.1);
    match rt.block_on(store.complete_multipart(key, &t.upload, ids)) {
        Ok(_) => Ok(()),
        Err(e) => match rt.block_on(store.head(key)) {
            // Completed before (a backup killed right after completing it).
            Ok(meta) if meta.size == size => Ok(()),
            _ => Err(store_error(url, "cannot complete the upload of", e)),
        },
    }
}

pub(crate) fn abort(
    store: &AmazonS3,
    key: &KeyPath,
    url: &str,
    rt: &Runtime,
    token: &[u8],
) -> Result<()> {
    let t = parse_token(url, token)?;
    match rt.block_on(store.abort_multipart(key, &t.upload)) {
        Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
        Err(e) => Err(store_error(url, "cannot abort the upload of", e)),
    }
}

fn parse_token(url: &str, token: &[u8]) -> Result<Token> {
    serde_json::from_slice(token).map_err(|_| damaged(url))
}

fn damaged(url: &str) -> Error {
    Error::value(format!(
        "the saved upload of {url} is damaged: start the backup again without -c"
    ))
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn hex_decode(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}
