//! Finding the bytes that end or need escaping in a name, a word at a time.

/// Bytes of a word equal to `b` get their top bit set (exact for the lowest such byte).
#[inline(always)]
fn bytes_equal(word: u64, b: u8) -> u64 {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let x = word ^ (LO * b as u64);
    x.wrapping_sub(LO) & !x & HI
}

/// First SP, LF, NUL or (unless legacy) backslash. NUL counts because the C reader ends a
/// token there (then fails on it). Names are short, so this reads 8 bytes at a
/// time instead of paying a SIMD search's setup.
#[inline]
pub fn find_name_end(window: &[u8], legacy: bool) -> Option<usize> {
    let escape_mask = if legacy { 0 } else { u64::MAX };
    let mut i = 0;
    while i + 8 <= window.len() {
        let w = u64::from_le_bytes(window[i..i + 8].try_into().expect("8 bytes"));
        let hits = bytes_equal(w, b' ')
            | bytes_equal(w, b'\n')
            | bytes_equal(w, 0)
            | (bytes_equal(w, b'\\') & escape_mask);
        if hits != 0 {
            return Some(i + (hits.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    window[i..]
        .iter()
        .position(|&c| c == b' ' || c == b'\n' || c == 0 || (!legacy && c == b'\\'))
        .map(|n| i + n)
}

