//! Record digest: RIPEMD-160(set ‖ key particle type ‖ key bytes), as the C client computes it.

use ripemd::{Digest, Ripemd160};

use crate::model::Key;

pub fn compute_digest(set: &[u8], key: &Key<'_>) -> [u8; 20] {
    let mut h = Ripemd160::new();
    h.update(set);
    match *key {
        Key::Int(v) => {
            h.update([1u8]);
            h.update(v.to_be_bytes());
        }
        Key::Double(v) => {
            h.update([2u8]);
            h.update(v.to_bits().to_be_bytes());
        }
        Key::Str(s) => {
            h.update([3u8]);
            h.update(s);
        }
        Key::Bytes { bytes, .. } => {
            h.update([4u8]);
            h.update(bytes);
        }
    }
    h.finalize().into()
}

/// Partition of a digest (0..4096): its first two bytes as little-endian u16, masked.
pub fn partition_id(digest: &[u8; 20]) -> u16 {
    u16::from_le_bytes([digest[0], digest[1]]) & 0x0FFF
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(d: [u8; 20]) -> String {
        base64_simd::STANDARD.encode_to_string(d)
    }

    #[test]
    fn digests_match_the_spec_examples() {
        assert_eq!(
            b64(compute_digest(b"demo", &Key::Str(b"key1"))),
            "7JEZLUt/jONdXXjTS8ply6qqyWA="
        );
        assert_eq!(
            b64(compute_digest(b"demo", &Key::Str(b"alice"))),
            "J7/lCxqosJ9pPsj/7c5Qt6b4XXk="
        );
        assert_eq!(
            b64(compute_digest(b"", &Key::Int(12345))),
            "MPuLddL9IM5lWFedZKP+g9KTaJI="
        );
        let raw = Key::Bytes {
            bytes: &[0x00, 0xff, 0x61, 0x62],
            compact: true,
        };
        assert_eq!(
            b64(compute_digest(b"demo", &raw)),
            "6PwJ4/v/twYVahR7CrobAPP2UWY="
        );
    }
}
