//! Places other than the local file system (object storage), seen through one trait so the
//! codec reads and writes them as it does files, with no networking in this crate: a store
//! crate implements [`Remote`] and installs it for its URL scheme (`s3://`).
//!
//! A remote object is written as a [`DurableWrite`]: the bytes become durable in pieces
//! (multipart parts), cut only where a commit ended, so the durable length is always a
//! point a backup can be continued from; the token describes that point. A backup's object
//! is sealed when full (every part up) and completed only after a saved state lists it as
//! complete with its token, so a backup killed in between completes it when continued.

use std::io::{Read, Write};
use std::sync::{Arc, RwLock};

use sha2::digest::consts::U64;
use sha2::digest::generic_array::GenericArray;

use crate::error::{Error, Result};

/// One object of a listing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The whole URL (`s3://bucket/key`).
    pub url: String,
    pub size: u64,
}

/// What a store of another scheme offers. URLs are whole (`s3://bucket/key`).
pub trait Remote: Send + Sync {
    /// Reads an object from its start, ahead of the reader in ranged requests.
    fn open(&self, url: &str) -> Result<Box<dyn Read + Send>>;
    /// The size of an object, None when there is none.
    fn size(&self, url: &str) -> Result<Option<u64>>;
    /// Objects whose keys start with the URL's key, with their sizes, sorted by key.
    fn list(&self, url: &str) -> Result<Vec<Entry>>;
    /// A whole (small) object, None when there is none.
    fn get(&self, url: &str) -> Result<Option<Vec<u8>>>;
    /// Puts a whole (small) object in one request: it replaces the old one at once.
    fn put(&self, url: &str, bytes: &[u8]) -> Result<()>;
    fn delete(&self, url: &str) -> Result<()>;
    /// A new object, written in parts.
    fn create(&self, url: &str) -> Result<Box<dyn DurableWrite>>;
    /// An object left unfinished at a durable point (`token` from [`DurableWrite::token`]),
    /// written on from there; returns the writer, the first 16 bytes of the object and the
    /// hash state at that point.
    fn resume(
        &self,
        url: &str,
        token: &[u8],
    ) -> Result<(Box<dyn DurableWrite>, [u8; 16], StreamHash)>;
    /// Gives up an unfinished object (aborts its upload).
    fn abort(&self, url: &str, token: &[u8]) -> Result<()>;
    /// Makes a sealed object whole (`token` from [`DurableWrite::seal`]); an object already
    /// completed by that upload is fine.
    fn complete(&self, url: &str, token: &[u8]) -> Result<()>;
}

/// An object being written. Bytes are held until a commit point lets them go out.
pub trait DurableWrite: Write + Send {
    /// Everything written so far ends at a point the backup can continue from; `hash` is
    /// the SHA-256 state of the object's bytes up to here. The writer may send what it holds.
    fn commit_point(&mut self, hash: &StreamHash) -> Result<()>;
    /// How many bytes from the start the store holds for certain (always a commit point).
    fn durable(&mut self) -> Result<u64>;
    /// What [`Remote::resume`] needs to go on from the durable point; None before any.
    fn token(&self) -> Option<Vec<u8>>;
    /// Sends the rest and makes the object whole.
    fn finish(self: Box<Self>) -> Result<()>;
    /// Sends the rest and waits for every part, without making the object whole yet: what
    /// [`Remote::complete`] needs to do it, once a saved state says so (None: the object
    /// was small enough to be put whole at once, and is there).
    fn seal(self: Box<Self>) -> Result<Option<Vec<u8>>>;
    /// Gives the object up: nothing of it is left in the store.
    fn abort(self: Box<Self>) -> Result<()>;
}

static REMOTES: RwLock<Vec<(String, Arc<dyn Remote>)>> = RwLock::new(Vec::new());

/// Makes `remote` the store of URLs starting `scheme://` (replacing one installed before).
pub fn install(scheme: &str, remote: Arc<dyn Remote>) {
    let mut all = REMOTES.write().unwrap_or_else(|p| p.into_inner());
    all.retain(|(s, _)| s != scheme);
    all.push((scheme.to_string(), remote));
}

/// The scheme of a URL (`s3` of `s3://b/k`), None for a local path.
pub fn scheme_of(path: &str) -> Option<&str> {
    let (scheme, _) = path.split_once("://")?;
    (!scheme.is_empty() && scheme.bytes().all(|b| b.is_ascii_alphanumeric())).then_some(scheme)
}

/// Whether a path names a remote object rather than a local file.
pub fn is_remote(path: &str) -> bool {
    scheme_of(path).is_some()
}

/// The store for a URL, or an error saying none is set up for its scheme.
pub fn remote_for(url: &str) -> Result<Arc<dyn Remote>> {
    let scheme = scheme_of(url).ok_or_else(|| Error::value(format!("{url} is not a URL")))?;
    let all = REMOTES.read().unwrap_or_else(|p| p.into_inner());
    all.iter()
        .find(|(s, _)| s == scheme)
        .map(|(_, r)| r.clone())
        .ok_or_else(|| {
            Error::value(format!(
                "{url}: no object store is set up for {scheme}:// (only s3:// is supported)"
            ))
            .with_path(url.to_string())
        })
}

/// Joins a name to a remote "directory" (a key prefix), with one `/` between.
pub fn join(dir: &str, name: &str) -> String {
    if dir.ends_with('/') {
        format!("{dir}{name}")
    } else {
        format!("{dir}/{name}")
    }
}

/// SHA-256 whose state can be saved and restored mid-stream (a backup continued from a
/// durable point goes on hashing from there without reading the object back). Uses the
/// `sha2` crate's compression function.
#[derive(Clone)]
pub struct StreamHash {
    state: [u32; 8],
    block: [u8; 64],
    filled: usize,
    total: u64,
}

const SHA256_IV: [u32; 8] = [
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
];

impl Default for StreamHash {
    fn default() -> Self {
        StreamHash::new()
    }
}

impl StreamHash {
    pub fn new() -> StreamHash {
        StreamHash {
            state: SHA256_IV,
            block: [0; 64],
            filled: 0,
            total: 0,
        }
    }

    /// Bytes hashed so far.
    pub fn len(&self) -> u64 {
        self.total
    }

    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    pub fn update(&mut self, mut data: &[u8]) {
        self.total += data.len() as u64;
        if self.filled > 0 {
            let k = (64 - self.filled).min(data.len());
            self.block[self.filled..self.filled + k].copy_from_slice(&data[..k]);
            self.filled += k;
            data = &data[k..];
            if self.filled < 64 {
                return;
            }
            sha2::compress256(
                &mut self.state,
                &[GenericArray::clone_from_slice(&self.block)],
            );
            self.filled = 0;
        }
        let whole = data.len() / 64 * 64;
        if whole > 0 {
            // SAFETY: GenericArray<u8, U64> is repr(transparent) over [u8; 64] (alignment 1),
            // so `whole` bytes are `whole / 64` blocks.
            let blocks: &[GenericArray<u8, U64>] =
                unsafe { std::slice::from_raw_parts(data.as_ptr().cast(), whole / 64) };
            sha2::compress256(&mut self.state, blocks);
        }
        let rest = &data[whole..];
        self.block[..rest.len()].copy_from_slice(rest);
        self.filled = rest.len();
    }

    pub fn finalize(&self) -> [u8; 32] {
        let mut h = self.clone();
        let bits = self.total.wrapping_mul(8);
        let mut pad = vec![0x80u8];
        let used = (self.total % 64) as usize;
        let zeros = if used < 56 { 55 - used } else { 119 - used };
        pad.extend(std::iter::repeat_n(0u8, zeros));
        pad.extend_from_slice(&bits.to_be_bytes());
        h.update(&pad);
        debug_assert_eq!(h.filled, 0);
        let mut out = [0u8; 32];
        for (i, w) in h.state.iter().enumerate() {
            out[i * 4..i * 4 + 4].copy_from_slice(&w.to_be_bytes());
        }
        out
    }

    /// 32 bytes of state, 8 of length, then the unhashed tail of the last block.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(40 + self.filled);
        for w in self.state {
            v.extend_from_slice(&w.to_be_bytes());
        }
        v.extend_from_slice(&self.total.to_be_bytes());
        v.extend_from_slice(&self.block[..self.filled]);
        v
    }

    pub fn from_bytes(b: &[u8]) -> Result<StreamHash> {
        let bad = || Error::value("a saved hash state is damaged");
        if b.len() < 40 || b.len() >= 40 + 64 {
            return Err(bad());
        }
        let mut state = [0u32; 8];
        for (i, w) in state.iter_mut().enumerate() {
            *w = u32::from_be_bytes(b[i * 4..i * 4 + 4].try_into().unwrap());
        }
        let total = u64::from_be_bytes(b[32..40].try_into().unwrap());
        let filled = b.len() - 40;
        if total % 64 != filled as u64 {
            return Err(bad());
        }
        let mut block = [0u8; 64];
        block[..filled].copy_from_slice(&b[40..]);
        Ok(StreamHash {
            state,
            block,
            filled,
            total,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    #[test]
    fn stream_hash_is_sha256_whatever_the_pieces_and_saved_midway() {
        let data: Vec<u8> = (0..300_000u32).map(|i| (i * 7 + i / 13) as u8).collect();
        for cuts in [
            vec![0usize],
            vec![1, 63, 64, 65],
            vec![55, 56, 57, 1000, 4096 + 3],
        ] {
            let mut h = StreamHash::new();
            let mut at = 0;
            for c in cuts {
                let c = c.min(data.len());
                if c > at {
                    h.update(&data[at..c]);
                    at = c;
                }
                h = StreamHash::from_bytes(&h.to_bytes()).unwrap();
            }
            h.update(&data[at..]);
            assert_eq!(h.finalize(), <[u8; 32]>::from(Sha256::digest(&data)));
        }
        for n in [0usize, 1, 55, 56, 63, 64, 119, 120, 128] {
            let mut h = StreamHash::new();
            h.update(&data[..n]);
            assert_eq!(
                h.finalize(),
                <[u8; 32]>::from(Sha256::digest(&data[..n])),
                "n={n}"
            );
        }
        assert!(StreamHash::from_bytes(&[0u8; 39]).is_err());
    }

    #[test]
    fn schemes_and_joins() {
        assert_eq!(scheme_of("s3://b/k"), Some("s3"));
        assert_eq!(scheme_of("/tmp/x"), None);
        assert_eq!(scheme_of("dir/a"), None);
        assert_eq!(join("s3://b/p", "x.asb"), "s3://b/p/x.asb");
        assert_eq!(join("s3://b/p/", "x.asb"), "s3://b/p/x.asb");
        assert!(remote_for("gs://b/k").is_err());
    }
}
