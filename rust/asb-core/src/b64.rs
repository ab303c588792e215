//! Base64 decoding as the C tools accept it: standard alphabet, `=` padding, length a
//! multiple of 4. Unused low bits of the last character are not checked (C does not check
//! them either), so non-canonical text decodes instead of failing.

const INVALID: u8 = 0xFF;

static DECODE: [u8; 256] = {
    let mut t = [INVALID; 256];
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut i = 0;
    while i < 64 {
        t[alphabet[i] as usize] = i as u8;
        i += 1;
    }
    t
};

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Appends standard padded base64 of `bytes`. Short inputs (most blobs, every digest) are
/// encoded by a plain loop; long ones by the SIMD encoder.
#[inline]
pub fn encode_append(bytes: &[u8], out: &mut Vec<u8>) {
    if bytes.len() >= SIMD_FROM {
        base64_simd::STANDARD.encode_append(bytes, out);
        return;
    }
    let full = bytes.len() / 3;
    let total = bytes.len().div_ceil(3) * 4;
    out.reserve(total);
    let start = out.len();
    let dst = out.spare_capacity_mut().as_mut_ptr().cast::<u8>();
    for (n, t) in bytes.chunks_exact(3).enumerate() {
        let v = (t[0] as u32) << 16 | (t[1] as u32) << 8 | t[2] as u32;
        let quad = [
            ALPHABET[(v >> 18) as usize & 63],
            ALPHABET[(v >> 12) as usize & 63],
            ALPHABET[(v >> 6) as usize & 63],
            ALPHABET[v as usize & 63],
        ];
        // SAFETY: n * 4 + 4 <= total, reserved above.
        unsafe { dst.add(n * 4).cast::<[u8; 4]>().write_unaligned(quad) };
    }
    let rest = &bytes[full * 3..];
    if !rest.is_empty() {
        let b1 = rest.get(1).copied().unwrap_or(0);
        let v = (rest[0] as u32) << 16 | (b1 as u32) << 8;
        let quad = [
            ALPHABET[(v >> 18) as usize & 63],
            ALPHABET[(v >> 12) as usize & 63],
            if rest.len() == 2 {
                ALPHABET[(v >> 6) as usize & 63]
            } else {
                b'='
            },
            b'=',
        ];
        // SAFETY: the last quartet ends at `total`, reserved above.
        unsafe { dst.add(full * 4).cast::<[u8; 4]>().write_unaligned(quad) };
    }
    // SAFETY: all `total` bytes were written above.
    unsafe { out.set_len(start + total) };
}

/// Per-position tables: a character's 6 bits already shifted into place in a big-endian word
/// whose low byte is spare; an invalid character sets that low byte, so one OR of four
/// lookups both assembles a quartet and flags any bad character in it.
const fn shifted_table(shift: u32) -> [u32; 256] {
    let mut t = [0xFFu32; 256];
    let mut i = 0;
    while i < 64 {
        t[ALPHABET[i] as usize] = (i as u32) << shift;
        i += 1;
    }
    t
}

static D0: [u32; 256] = shifted_table(26);
static D1: [u32; 256] = shifted_table(20);
static D2: [u32; 256] = shifted_table(14);
static D3: [u32; 256] = shifted_table(8);

/// Long inputs go through the SIMD decoder (which is strict about the unused bits and falls
/// back here when it refuses).
const SIMD_FROM: usize = 256;

/// Appends the decoded bytes of `text` to `out`; on error, the index of the first bad byte.
#[inline]
pub fn decode_append(text: &[u8], out: &mut Vec<u8>) -> Result<(), usize> {
    if text.len() >= SIMD_FROM {
        let before = out.len();
        if base64_simd::STANDARD.decode_append(text, out).is_ok() {
            return Ok(());
        }
        out.truncate(before);
    }
    decode_scalar(text, out)
}

/// True when `text` (valid padded base64) is what encoding its bytes gives back: the bits
/// the last character carries beyond the bytes are zero.
#[inline(always)]
pub fn is_canonical(text: &[u8]) -> bool {
    match text {
        [.., c, b'=', b'='] => DECODE[*c as usize] & 0x0f == 0,
        [.., c, b'='] => DECODE[*c as usize] & 0x03 == 0,
        _ => true,
    }
}

/// Decodes the 28 characters of a record digest (`+ d`) into its 20 bytes.
#[inline]
pub fn decode_digest(text: &[u8]) -> Option<[u8; 20]> {
    if text.len() != 28 || text[27] != b'=' {
        return None;
    }
    let mut out = [0u8; 21];
    for (n, q) in text.chunks_exact(4).enumerate() {
        let (a, b, c) = (
            DECODE[q[0] as usize],
            DECODE[q[1] as usize],
            DECODE[q[2] as usize],
        );
        let d = if n == 6 { 0 } else { DECODE[q[3] as usize] };
        if (a | b | c | d) & 0x80 != 0 {
            return None;
        }
        let v = (a as u32) << 18 | (b as u32) << 12 | (c as u32) << 6 | d as u32;
        out[n * 3..n * 3 + 3].copy_from_slice(&v.to_be_bytes()[1..]);
    }
    Some(out[..20].try_into().expect("20 bytes"))
}

fn bad_index(text: &[u8]) -> usize {
    text.iter()
        .position(|&c| DECODE[c as usize] == INVALID)
        .unwrap_or(0)
}

#[inline]
fn decode_scalar(text: &[u8], out: &mut Vec<u8>) -> Result<(), usize> {
    if !text.len().is_multiple_of(4) {
        return Err(text.len());
    }
    if text.is_empty() {
        return Ok(());
    }
    let pad = match text {
        [.., b'=', b'='] => 2,
        [.., b'='] => 1,
        _ => 0,
    };
    let body = text.len() - if pad > 0 { 4 } else { 0 };
    let quads = body / 4;
    out.reserve(quads * 3 + 4);
    let start = out.len();
    // Each quartet writes 4 bytes (the 4th is overwritten next), so no per-quartet bounds or
    // length bookkeeping; the 4 bytes of slack are reserved above.
    let dst = out.spare_capacity_mut().as_mut_ptr().cast::<u8>();
    for (n, q) in text[..body].chunks_exact(4).enumerate() {
        let v = D0[q[0] as usize] | D1[q[1] as usize] | D2[q[2] as usize] | D3[q[3] as usize];
        if v & 0xFF != 0 {
            return Err(n * 4 + bad_index(q));
        }
        // SAFETY: n * 3 + 4 <= quads * 3 + 4, all reserved above.
        unsafe {
            dst.add(n * 3)
                .cast::<[u8; 4]>()
                .write_unaligned(v.to_be_bytes())
        };
    }
    // SAFETY: the first quads * 3 spare bytes were written above.
    unsafe { out.set_len(start + quads * 3) };
    if pad > 0 {
        let q = &text[body..];
        let (a, b) = (DECODE[q[0] as usize], DECODE[q[1] as usize]);
        let c = if pad == 1 { DECODE[q[2] as usize] } else { 0 };
        if (a | b | c) & 0x80 != 0 {
            return Err(body + bad_index(q));
        }
        let v = (a as u32) << 18 | (b as u32) << 12 | (c as u32) << 6;
        out.push((v >> 16) as u8);
        if pad == 1 {
            out.push((v >> 8) as u8);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(t: &str) -> Result<Vec<u8>, usize> {
        let mut out = Vec::new();
        decode_append(t.as_bytes(), &mut out).map(|()| out)
    }

    #[test]
    fn decodes_padding_forms_and_tolerates_unused_bits() {
        assert_eq!(dec(""), Ok(vec![]));
        assert_eq!(dec("QUJD"), Ok(b"ABC".to_vec()));
        assert_eq!(dec("QUI="), Ok(b"AB".to_vec()));
        assert_eq!(dec("QQ=="), Ok(b"A".to_vec()));
        assert_eq!(dec("QR=="), Ok(b"A".to_vec()), "C ignores the unused bits");
        assert_eq!(dec("QUJ"), Err(3));
        assert_eq!(dec("QU=D"), Err(2));
        assert_eq!(dec("Q==="), Err(1));
        assert_eq!(dec("QUJD\nQUJ"), Err(4));
    }

    #[test]
    fn encoder_matches_the_simd_encoder_at_every_length() {
        let bytes: Vec<u8> = (0..700u32).map(|i| (i * 131 % 256) as u8).collect();
        for len in (0..40).chain([255, 256, 257, 699]) {
            let mut out = b"prefix".to_vec();
            encode_append(&bytes[..len], &mut out);
            let want = base64_simd::STANDARD.encode_to_string(&bytes[..len]);
            assert_eq!(&out[6..], want.as_bytes(), "length {len}");
        }
    }

    #[test]
    fn digests_decode_to_20_bytes() {
        let d = decode_digest(b"7JEZLUt/jONdXXjTS8ply6qqyWA=").unwrap();
        assert_eq!(
            base64_simd::STANDARD.encode_to_string(d),
            "7JEZLUt/jONdXXjTS8ply6qqyWA="
        );
        assert_eq!(decode_digest(b"7JEZLUt/jONdXXjTS8ply6qqyWA"), None);
        assert_eq!(decode_digest(b"7JEZLUt/jONdXXjTS8ply6qqyW=="), None);
        assert_eq!(decode_digest(b"7JEZLUt/jONdXXjTS8ply6qqy*A="), None);
    }

    #[test]
    fn long_inputs_match_the_scalar_path() {
        let bytes: Vec<u8> = (0..1000u32).map(|i| (i * 31 % 251) as u8).collect();
        let text = base64_simd::STANDARD.encode_to_string(&bytes);
        assert_eq!(dec(&text), Ok(bytes.clone()));
        let mut out = Vec::new();
        decode_scalar(text.as_bytes(), &mut out).unwrap();
        assert_eq!(out, bytes);
        let mut bad = text.clone().into_bytes();
        bad[700] = b'*';
        assert_eq!(dec(std::str::from_utf8(&bad).unwrap()), Err(700));
    }
}
