//! The zstd and AES-CTR layers around the text, framed as C `asbackup` frames them.
//!
//! Encrypted file = AES-ECB(key, IV0) ‖ AES-CTR(key, counter from IV0 + 1) of the payload;
//! the payload is the zstd stream when compressed, else the text. The key is SHA-256 of the
//! key material (first 16 bytes for AES-128).

use std::io::{self, Cursor, Read, Write};

use aes::cipher::{BlockDecrypt, BlockEncrypt, KeyInit, KeyIvInit, StreamCipher};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

pub const ZSTD_MAGIC: [u8; 4] = [0x28, 0xB5, 0x2F, 0xFD];
const TEXT_MAGIC: &[u8] = b"Version ";
const HEAD_LEN: usize = 64;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cipher {
    Aes128,
    Aes256,
}

impl Cipher {
    pub fn name(self) -> &'static str {
        match self {
            Cipher::Aes128 => "aes128",
            Cipher::Aes256 => "aes256",
        }
    }

    /// The cipher `--encrypt` names (`aes128`, `aes256`).
    pub fn from_name(name: &str) -> Option<Cipher> {
        [Cipher::Aes128, Cipher::Aes256]
            .into_iter()
            .find(|c| c.name() == name)
    }

    fn other(self) -> Cipher {
        match self {
            Cipher::Aes128 => Cipher::Aes256,
            Cipher::Aes256 => Cipher::Aes128,
        }
    }
}

/// An AES key derived the way the C tool derives it.
#[derive(Clone)]
pub struct EncryptionKey {
    pub cipher: Cipher,
    digest: [u8; 32],
}

impl std::fmt::Debug for EncryptionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "EncryptionKey({}, <secret>)", self.cipher.name())
    }
}

impl EncryptionKey {
    /// `material` is the DER of the private key (PKCS#1 for RSA) or the bytes decoded from
    /// the key environment variable; the key is SHA-256 of it.
    pub fn from_material(cipher: Cipher, material: &[u8]) -> EncryptionKey {
        EncryptionKey {
            cipher,
            digest: Sha256::digest(material).into(),
        }
    }

    pub fn key_bytes(&self) -> &[u8] {
        match self.cipher {
            Cipher::Aes128 => &self.digest[..16],
            Cipher::Aes256 => &self.digest,
        }
    }

    fn with_cipher(&self, cipher: Cipher) -> EncryptionKey {
        EncryptionKey {
            cipher,
            digest: self.digest,
        }
    }
}

/// Which layers a file has.
#[derive(Clone, Debug, Default)]
pub struct Layers {
    pub zstd: bool,
    /// zstd level; 0 means the library default (3), as in the C tool.
    pub zstd_level: i32,
    pub encryption: Option<EncryptionKey>,
}

impl Layers {
    /// Neither compressed nor encrypted.
    pub fn is_plain(&self) -> bool {
        !self.zstd && self.encryption.is_none()
    }

    pub fn describe(&self) -> String {
        match (self.zstd, &self.encryption) {
            (false, None) => "plain".into(),
            (true, None) => "zstd".into(),
            (false, Some(k)) => k.cipher.name().into(),
            (true, Some(k)) => format!("zstd+{}", k.cipher.name()),
        }
    }
}

#[allow(clippy::large_enum_variant)] // one per stream, never moved in a hot loop
enum CtrCipher {
    Aes128(ctr::Ctr128BE<aes::Aes128>),
    Aes256(ctr::Ctr128BE<aes::Aes256>),
}

impl CtrCipher {
    fn new(key: &EncryptionKey, counter: &[u8; 16]) -> CtrCipher {
        match key.cipher {
            Cipher::Aes128 => CtrCipher::Aes128(ctr::Ctr128BE::<aes::Aes128>::new(
                key.key_bytes().into(),
                counter.into(),
            )),
            Cipher::Aes256 => CtrCipher::Aes256(ctr::Ctr128BE::<aes::Aes256>::new(
                key.key_bytes().into(),
                counter.into(),
            )),
        }
    }

    #[inline]
    fn apply(&mut self, data: &mut [u8]) {
        match self {
            CtrCipher::Aes128(c) => c.apply_keystream(data),
            CtrCipher::Aes256(c) => c.apply_keystream(data),
        }
    }
}

fn ecb(key: &EncryptionKey, block: &[u8; 16], encrypt: bool) -> [u8; 16] {
    let mut b = aes::Block::clone_from_slice(block);
    match key.cipher {
        Cipher::Aes128 => {
            let c = aes::Aes128::new(key.key_bytes().into());
            if encrypt {
                c.encrypt_block(&mut b)
            } else {
                c.decrypt_block(&mut b)
            }
        }
        Cipher::Aes256 => {
            let c = aes::Aes256::new(key.key_bytes().into());
            if encrypt {
                c.encrypt_block(&mut b)
            } else {
                c.decrypt_block(&mut b)
            }
        }
    }
    b.into()
}

fn next_counter(iv: &[u8; 16]) -> [u8; 16] {
    u128::from_be_bytes(*iv).wrapping_add(1).to_be_bytes()
}

/// Decrypts an AES-CTR layer.
pub struct AesCtrReader<R> {
    inner: R,
    cipher: CtrCipher,
}

impl<R: Read> AesCtrReader<R> {
    pub fn new(mut inner: R, key: &EncryptionKey) -> Result<AesCtrReader<R>> {
        let mut head = [0u8; 16];
        let got = read_up_to(&mut inner, &mut head)?;
        if got < 16 {
            return Err(Error::layer(format!(
                "the file is {got} bytes long, shorter than the 16-byte header of an encrypted backup"
            )));
        }
        let iv0 = ecb(key, &head, false);
        Ok(AesCtrReader {
            inner,
            cipher: CtrCipher::new(key, &next_counter(&iv0)),
        })
    }
}

impl<R: Read> Read for AesCtrReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.cipher.apply(&mut buf[..n]);
        Ok(n)
    }
}

/// Encrypts into an AES-CTR layer: writes AES-ECB(IV0), then the CTR stream from IV0 + 1.
pub struct AesCtrWriter<W: Write> {
    inner: W,
    cipher: CtrCipher,
    scratch: Vec<u8>,
}

impl<W: Write> AesCtrWriter<W> {
    /// IV0 as the C tool makes it: Unix time (big-endian u32) then 12 random bytes.
    pub fn new(inner: W, key: &EncryptionKey) -> Result<AesCtrWriter<W>> {
        let mut iv0 = [0u8; 16];
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as u32)
            .unwrap_or(0);
        iv0[..4].copy_from_slice(&now.to_be_bytes());
        getrandom::getrandom(&mut iv0[4..])
            .map_err(|e| Error::key(format!("no randomness for the IV: {e}")))?;
        AesCtrWriter::with_iv(inner, key, iv0)
    }

    pub fn with_iv(mut inner: W, key: &EncryptionKey, iv0: [u8; 16]) -> Result<AesCtrWriter<W>> {
        inner.write_all(&ecb(key, &iv0, true))?;
        Ok(AesCtrWriter {
            inner,
            cipher: CtrCipher::new(key, &next_counter(&iv0)),
            scratch: Vec::new(),
        })
    }

    /// Continues a file already `written` bytes long (its 16-byte head included), whose
    /// head is `head`: the keystream goes on where those bytes left it.
    pub fn resume(
        inner: W,
        key: &EncryptionKey,
        head: &[u8; 16],
        written: u64,
    ) -> Result<AesCtrWriter<W>> {
        use ctr::cipher::StreamCipherSeek;
        if written < 16 {
            return Err(Error::layer(
                "an encrypted file shorter than its 16-byte head cannot be continued",
            ));
        }
        let iv0 = ecb(key, head, false);
        let mut cipher = CtrCipher::new(key, &next_counter(&iv0));
        let offset = written - 16;
        match &mut cipher {
            CtrCipher::Aes128(c) => c.seek(offset),
            CtrCipher::Aes256(c) => c.seek(offset),
        }
        Ok(AesCtrWriter {
            inner,
            cipher,
            scratch: Vec::new(),
        })
    }

    pub fn into_inner(self) -> W {
        self.inner
    }

    pub fn get_ref(&self) -> &W {
        &self.inner
    }

    pub fn get_mut(&mut self) -> &mut W {
        &mut self.inner
    }
}

impl<W: Write> Write for AesCtrWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = buf.len().min(1 << 20);
        self.scratch.clear();
        self.scratch.extend_from_slice(&buf[..n]);
        self.cipher.apply(&mut self.scratch);
        // The keystream has advanced: all of it must reach the file.
        self.inner.write_all(&self.scratch)?;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

/// Turns zstd decoder failures into layer errors that say what happened.
struct ZstdErrors<R>(R);

impl<R: Read> Read for ZstdErrors<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf).map_err(|e| {
            if e.get_ref().is_some_and(|i| i.is::<Error>()) {
                return e;
            }
            let msg = if e.kind() == io::ErrorKind::UnexpectedEof {
                "the zstd stream ends in the middle of a frame: the file is truncated".to_string()
            } else {
                format!("the zstd stream is damaged: {e}")
            };
            Error::layer(msg).into()
        })
    }
}

fn looks_zstd(head: &[u8]) -> bool {
    // Also a skippable frame (magic 0x184D2A5?), which zstd readers accept.
    head.starts_with(&ZSTD_MAGIC)
        || (head.len() >= 4 && head[0] & 0xF0 == 0x50 && head[1..4] == [0x2A, 0x4D, 0x18])
}

/// A backup header, or text that is at least not random bytes (the parser then says
/// exactly what is wrong with it).
fn looks_text(head: &[u8]) -> bool {
    head.starts_with(TEXT_MAGIC)
        || (!head.is_empty()
            && head
                .iter()
                .all(|&b| b == b'\n' || b == b'\t' || (0x20..0x7f).contains(&b)))
}

/// What the start of a file says about its layers, in the words of the flags to use.
fn identify(head: &[u8]) -> &'static str {
    if head.is_empty() {
        "empty"
    } else if looks_text(head) {
        "plain"
    } else if looks_zstd(head) {
        "zstd"
    } else {
        "other"
    }
}

fn decrypt_head(head: &[u8], key: &EncryptionKey) -> Vec<u8> {
    if head.len() < 16 {
        return Vec::new();
    }
    let iv0 = ecb(key, head[..16].try_into().expect("16 bytes"), false);
    let mut rest = head[16..].to_vec();
    CtrCipher::new(key, &next_counter(&iv0)).apply(&mut rest);
    rest
}

const ENCRYPT_HINT: &str =
    "pass --encrypt aes128|aes256 with --encryption-key-file or --encryption-key-env";

/// Explains a mismatch between the layers given and the start of the file.
fn diagnose(head: &[u8], layers: &Layers) -> Option<String> {
    let raw = identify(head);
    if raw == "empty" {
        return Some("the file is empty (a backup starts with \"Version 3.1\")".into());
    }
    let Some(key) = &layers.encryption else {
        return match (raw, layers.zstd) {
            ("plain", false) | ("zstd", true) => None,
            ("zstd", false) => Some("this file is zstd-compressed: pass --compress zstd".into()),
            ("plain", true) => Some("this file is not compressed: drop --compress".into()),
            _ => {
                Some(format!(
                "this file starts neither with a backup header (\"Version 3.1\") nor with zstd \
                 data{}: it is probably encrypted ({ENCRYPT_HINT}), or it is not a backup file",
                if layers.zstd { "" } else { " (--compress zstd)" }
            ))
            }
        };
    };
    let wanted = if layers.zstd { "zstd" } else { "plain" };
    let decrypted = identify(&decrypt_head(head, key));
    if decrypted == wanted {
        return None;
    }
    match (raw, decrypted) {
        ("plain", _) => {
            return Some("this file is not encrypted (it is plain text): drop --encrypt".into())
        }
        ("zstd", _) => {
            return Some(format!(
                "this file is not encrypted (it is zstd-compressed): drop --encrypt{}",
                if layers.zstd {
                    ""
                } else {
                    " and pass --compress zstd"
                }
            ))
        }
        (_, "zstd") => {
            return Some("the decrypted data is zstd-compressed: pass --compress zstd".into())
        }
        (_, "plain") => {
            return Some("the decrypted data is not compressed: drop --compress".into())
        }
        _ => {}
    }
    if head.len() < 16 + 4 {
        return Some(format!(
            "the file is {} bytes long, too short for an encrypted backup",
            head.len()
        ));
    }
    let other = key.with_cipher(key.cipher.other());
    let with_other = identify(&decrypt_head(head, &other));
    if with_other == "plain" || with_other == "zstd" {
        return Some(format!(
            "this file is encrypted with {}, not {}: pass --encrypt {}{}",
            other.cipher.name(),
            key.cipher.name(),
            other.cipher.name(),
            match (with_other, layers.zstd) {
                ("zstd", false) => " and --compress zstd",
                ("plain", true) => " and drop --compress",
                _ => "",
            }
        ));
    }
    Some(format!(
        "decrypting with the given key does not give a backup: the key is not the one this \
         file was encrypted with (wrong --encryption-key-file or --encryption-key-env), or the \
         file is not a {} backup",
        layers.describe()
    ))
}

/// Wraps a raw file stream in the decryption and decompression layers, after checking that
/// the start of the file fits them (and saying which flag is wrong when it does not).
/// What is wrong with the layer options for a file that starts with `head`, as an error.
pub fn check_start(head: &[u8], layers: &Layers) -> Result<()> {
    match diagnose(&head[..head.len().min(HEAD_LEN)], layers) {
        Some(problem) => Err(Error::layer(problem)),
        None => Ok(()),
    }
}

pub fn open_reader<'a>(
    mut raw: impl Read + Send + 'a,
    layers: &Layers,
) -> Result<Box<dyn Read + Send + 'a>> {
    let mut head = vec![0u8; HEAD_LEN];
    let got = read_up_to(&mut raw, &mut head)?;
    head.truncate(got);
    check_start(&head, layers)?;
    let stream: Box<dyn Read + Send + 'a> = Box::new(Cursor::new(head).chain(raw));
    let stream: Box<dyn Read + Send + 'a> = match &layers.encryption {
        Some(key) => Box::new(AesCtrReader::new(stream, key)?),
        None => stream,
    };
    if layers.zstd {
        let decoder = zstd::stream::read::Decoder::new(stream)
            .map_err(|e| Error::layer(format!("cannot start zstd: {e}")))?;
        Ok(Box::new(ZstdErrors(decoder)))
    } else {
        Ok(stream)
    }
}

enum Stage<W: Write> {
    Plain(W),
    Aes(AesCtrWriter<W>),
    Zstd(ZstdFrames<W>),
    ZstdAes(ZstdFrames<AesCtrWriter<W>>),
}

fn zstd_encoder<T: Write>(w: T, level: i32) -> Result<ZstdFrames<T>> {
    ZstdFrames::new(w, level)
}

/// Text of one zstd frame; each is compressed whole.
const ZSTD_FRAME: usize = 4 << 20;

/// zstd as a series of frames of [`ZSTD_FRAME`] bytes of text, each compressed in one call
/// over contiguous input. Streaming compression of small writes goes through zstd's slower
/// external-dictionary matcher (about half the speed, measured); the frames decode as one
/// stream, as the C tools read them.
pub struct ZstdFrames<W: Write> {
    out: W,
    text: Vec<u8>,
    packed: Vec<u8>,
    cctx: zstd::bulk::Compressor<'static>,
}

impl<W: Write> ZstdFrames<W> {
    fn new(out: W, level: i32) -> Result<ZstdFrames<W>> {
        let cctx = zstd::bulk::Compressor::new(level)
            .map_err(|e| Error::layer(format!("cannot start zstd: {e}")))?;
        Ok(ZstdFrames {
            out,
            text: Vec::with_capacity(ZSTD_FRAME),
            packed: Vec::new(),
            cctx,
        })
    }

    /// Compresses what is buffered as one frame (nothing when empty).
    fn end_frame(&mut self) -> io::Result<()> {
        if self.text.is_empty() {
            return Ok(());
        }
        self.packed.clear();
        self.packed
            .reserve(zstd::zstd_safe::compress_bound(self.text.len()));
        self.cctx.compress_to_buffer(&self.text, &mut self.packed)?;
        self.out.write_all(&self.packed)?;
        self.text.clear();
        Ok(())
    }

    fn finish(mut self) -> io::Result<W> {
        self.end_frame()?;
        Ok(self.out)
    }

    fn get_ref(&self) -> &W {
        &self.out
    }

    fn get_mut(&mut self) -> &mut W {
        &mut self.out
    }
}

impl<W: Write> Write for ZstdFrames<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_all(buf)?;
        Ok(buf.len())
    }

    fn write_all(&mut self, mut buf: &[u8]) -> io::Result<()> {
        while !buf.is_empty() {
            let room = ZSTD_FRAME - self.text.len();
            let n = room.min(buf.len());
            self.text.extend_from_slice(&buf[..n]);
            buf = &buf[n..];
            if self.text.len() >= ZSTD_FRAME {
                self.end_frame()?;
            }
        }
        Ok(())
    }

    /// Pushes out what is compressed; buffered text waits for its frame.
    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// The write side of the layers; call [`LayeredWriter::finish`] to end them properly.
pub struct LayeredWriter<W: Write> {
    stage: Stage<W>,
}

impl<W: Write> LayeredWriter<W> {
    pub fn new(out: W, layers: &Layers) -> Result<LayeredWriter<W>> {
        let level = layers.zstd_level;
        let stage = match (&layers.encryption, layers.zstd) {
            (None, false) => Stage::Plain(out),
            (Some(k), false) => Stage::Aes(AesCtrWriter::new(out, k)?),
            (None, true) => Stage::Zstd(zstd_encoder(out, level)?),
            (Some(k), true) => Stage::ZstdAes(zstd_encoder(AesCtrWriter::new(out, k)?, level)?),
        };
        Ok(LayeredWriter { stage })
    }

    /// Continues a file that already holds `written` bytes of these layers (`head`: its
    /// first 16 bytes, needed when encrypted): a compressed file goes on with a new zstd
    /// frame, an encrypted one with the keystream where it stopped.
    pub fn resume(
        out: W,
        layers: &Layers,
        head: &[u8; 16],
        written: u64,
    ) -> Result<LayeredWriter<W>> {
        let level = layers.zstd_level;
        let stage = match (&layers.encryption, layers.zstd) {
            (None, false) => Stage::Plain(out),
            (Some(k), false) => Stage::Aes(AesCtrWriter::resume(out, k, head, written)?),
            (None, true) => Stage::Zstd(zstd_encoder(out, level)?),
            (Some(k), true) => Stage::ZstdAes(zstd_encoder(
                AesCtrWriter::resume(out, k, head, written)?,
                level,
            )?),
        };
        Ok(LayeredWriter { stage })
    }

    /// Ends the current zstd frame (the next write starts a new one) and pushes everything
    /// written so far into the raw stream: what it holds then is a whole, readable file.
    pub fn end_frame(&mut self) -> Result<()> {
        match &mut self.stage {
            Stage::Zstd(z) => z.end_frame()?,
            Stage::ZstdAes(z) => z.end_frame()?,
            _ => {}
        }
        self.flush()?;
        Ok(())
    }

    /// The raw stream under the layers.
    pub fn get_ref(&self) -> &W {
        match &self.stage {
            Stage::Plain(w) => w,
            Stage::Aes(a) => a.get_ref(),
            Stage::Zstd(z) => z.get_ref(),
            Stage::ZstdAes(z) => z.get_ref().get_ref(),
        }
    }

    /// The raw stream under the layers, to act on between writes (a commit point).
    pub fn get_mut(&mut self) -> &mut W {
        match &mut self.stage {
            Stage::Plain(w) => w,
            Stage::Aes(a) => a.get_mut(),
            Stage::Zstd(z) => z.get_mut(),
            Stage::ZstdAes(z) => z.get_mut().get_mut(),
        }
    }

    /// Ends the zstd frame, writes everything out and returns the raw stream.
    pub fn finish(self) -> Result<W> {
        let mut out = match self.stage {
            Stage::Plain(w) => w,
            Stage::Aes(a) => a.into_inner(),
            Stage::Zstd(z) => z.finish()?,
            Stage::ZstdAes(z) => z.finish()?.into_inner(),
        };
        out.flush()?;
        Ok(out)
    }
}

impl<W: Write> Write for LayeredWriter<W> {
    #[inline]
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &mut self.stage {
            Stage::Plain(w) => w.write(buf),
            Stage::Aes(w) => w.write(buf),
            Stage::Zstd(w) => w.write(buf),
            Stage::ZstdAes(w) => w.write(buf),
        }
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        match &mut self.stage {
            Stage::Plain(w) => w.write_all(buf),
            Stage::Aes(w) => w.write_all(buf),
            Stage::Zstd(w) => w.write_all(buf),
            Stage::ZstdAes(w) => w.write_all(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.stage {
            Stage::Plain(w) => w.flush(),
            Stage::Aes(w) => w.flush(),
            Stage::Zstd(w) => w.flush(),
            Stage::ZstdAes(w) => w.flush(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ciphers_by_their_flag_names() {
        assert_eq!(Cipher::from_name("aes128"), Some(Cipher::Aes128));
        assert_eq!(Cipher::from_name("aes256"), Some(Cipher::Aes256));
        assert_eq!(Cipher::from_name("AES128"), None);
    }

    #[test]
    fn ctr_counter_carries_across_all_128_bits() {
        assert_eq!(next_counter(&[0xff; 16]), [0; 16]);
        let mut iv = [0u8; 16];
        iv[7] = 0xff;
        iv[8..].fill(0xff);
        let n = next_counter(&iv);
        assert_eq!(n[..6], [0; 6]);
        assert_eq!(n[6], 1, "carry from the low 64 bits into the high half");
        assert_eq!(n[7..], [0; 9]);
        let mut iv = [0u8; 16];
        iv[15] = 0xff;
        assert_eq!(next_counter(&iv)[14..], [1, 0]);
    }

    #[test]
    fn keystream_wraps_at_2_pow_128_like_openssl() {
        let key = EncryptionKey::from_material(Cipher::Aes128, b"k");
        let mut iv0 = [0xff; 16];
        iv0[15] = 0xfe;
        let mut w = AesCtrWriter::with_iv(Vec::new(), &key, iv0).unwrap();
        w.write_all(&[0u8; 48]).unwrap();
        let file = w.into_inner();
        // Zero plaintext shows the keystream: E(ff..ff), E(0), E(1).
        assert_eq!(file[16..32], ecb(&key, &[0xff; 16], true));
        assert_eq!(file[32..48], ecb(&key, &[0; 16], true));
        let mut one = [0u8; 16];
        one[15] = 1;
        assert_eq!(file[48..64], ecb(&key, &one, true));
    }

    #[test]
    fn writer_output_decrypts_to_the_input_for_both_key_sizes() {
        for cipher in [Cipher::Aes128, Cipher::Aes256] {
            let key = EncryptionKey::from_material(cipher, b"material");
            let mut w = AesCtrWriter::with_iv(Vec::new(), &key, [0xff; 16]).unwrap();
            let text: Vec<u8> = (0..1000u32).map(|i| (i * 7) as u8).collect();
            w.write_all(&text[..5]).unwrap();
            w.write_all(&text[5..]).unwrap();
            let file = w.into_inner();
            assert_eq!(file.len(), 16 + text.len());
            let mut back = Vec::new();
            AesCtrReader::new(&file[..], &key)
                .unwrap()
                .read_to_end(&mut back)
                .unwrap();
            assert_eq!(back, text);
        }
    }
}
