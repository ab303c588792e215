//! Finding the bytes that end or need escaping in a name, a word at a time.

/// Bytes of a word equal to `b` get their top bit set (exact for the lowest such byte).
#[inline(always)]
fn bytes_equal(word: u64, b: u8) -> u64 {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let x = word ^ (LO * b as u64);
    x.wrapping_sub(LO) & !x & HI
}

/// Which bytes end a name. The C reader reads each field up to its own set of delimiters
/// (a record's namespace and set only end at LF, an index name only at SP, a bin name at
/// either), and any NUL ends a token too (it then fails on it).
#[derive(Clone, Copy, Debug)]
pub struct Ends {
    pub space: bool,
    pub lf: bool,
    /// Escapes: a backslash takes the next byte literally (not in version 3.0 files).
    pub backslash: bool,
}

/// The bytes a writer must escape (or refuse): SP, LF, backslash and NUL.
pub const SPECIAL: Ends = Ends {
    space: true,
    lf: true,
    backslash: true,
};

/// First byte that ends a name or needs an escape. Names are short, so this reads 8 bytes
/// at a time instead of paying a SIMD search's setup.
#[inline(always)]
pub fn find_name_end(window: &[u8], ends: Ends) -> Option<usize> {
    let mask = |on: bool| if on { u64::MAX } else { 0 };
    let (sp, lf, bs) = (mask(ends.space), mask(ends.lf), mask(ends.backslash));
    let mut i = 0;
    while i + 8 <= window.len() {
        let w = u64::from_le_bytes(window[i..i + 8].try_into().expect("8 bytes"));
        let hits = (bytes_equal(w, b' ') & sp)
            | (bytes_equal(w, b'\n') & lf)
            | bytes_equal(w, 0)
            | (bytes_equal(w, b'\\') & bs);
        if hits != 0 {
            return Some(i + (hits.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    window[i..].iter().position(|&c| is_end(c, ends)).map(|n| i + n)
}

#[inline(always)]
pub fn is_end(c: u8, ends: Ends) -> bool {
    (c == b' ' && ends.space) || (c == b'\n' && ends.lf) || c == 0 || (c == b'\\' && ends.backslash)
}
