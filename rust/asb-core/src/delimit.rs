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

/// First byte that ends a name or needs an escape. Names are short: 16 bytes at a time with
/// SSE2 (always there on x86-64), 8 at a time elsewhere, no SIMD search setup.
#[inline(always)]
pub fn find_name_end(window: &[u8], ends: Ends) -> Option<usize> {
    // A delimiter that is switched off is replaced by NUL, which always ends a name anyway.
    let pick = |on: bool, b: u8| if on { b } else { 0 };
    let (sp, lf, bs) = (
        pick(ends.space, b' '),
        pick(ends.lf, b'\n'),
        pick(ends.backslash, b'\\'),
    );
    let mut i = 0;
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::*;
        // SAFETY: SSE2 is part of x86-64; every load reads 16 bytes inside `window`.
        unsafe {
            let (vsp, vlf, vbs, vnul) = (
                _mm_set1_epi8(sp as i8),
                _mm_set1_epi8(lf as i8),
                _mm_set1_epi8(bs as i8),
                _mm_setzero_si128(),
            );
            while i + 16 <= window.len() {
                let v = _mm_loadu_si128(window.as_ptr().add(i).cast());
                let hits = _mm_or_si128(
                    _mm_or_si128(_mm_cmpeq_epi8(v, vsp), _mm_cmpeq_epi8(v, vlf)),
                    _mm_or_si128(_mm_cmpeq_epi8(v, vbs), _mm_cmpeq_epi8(v, vnul)),
                );
                let mask = _mm_movemask_epi8(hits) as u32;
                if mask != 0 {
                    return Some(i + mask.trailing_zeros() as usize);
                }
                i += 16;
            }
        }
    }
    while i + 8 <= window.len() {
        let w = u64::from_le_bytes(window[i..i + 8].try_into().expect("8 bytes"));
        let hits = bytes_equal(w, sp) | bytes_equal(w, lf) | bytes_equal(w, bs) | bytes_equal(w, 0);
        if hits != 0 {
            return Some(i + (hits.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    window[i..]
        .iter()
        .position(|&c| is_end(c, ends))
        .map(|n| i + n)
}

#[inline(always)]
pub fn is_end(c: u8, ends: Ends) -> bool {
    (c == b' ' && ends.space) || (c == b'\n' && ends.lf) || c == 0 || (c == b'\\' && ends.backslash)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_first_end_at_every_position_and_setting() {
        let mut x = 12345u64;
        for len in 0..70 {
            for _ in 0..200 {
                let bytes: Vec<u8> = (0..len)
                    .map(|_| {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        // Mostly letters, sometimes a delimiter or an escape.
                        match x % 40 {
                            0 => b' ',
                            1 => b'\n',
                            2 => b'\\',
                            3 => 0,
                            _ => b'a' + (x % 26) as u8,
                        }
                    })
                    .collect();
                for (space, lf, backslash) in [
                    (true, true, true),
                    (true, false, true),
                    (false, true, false),
                ] {
                    let ends = Ends {
                        space,
                        lf,
                        backslash,
                    };
                    let naive = bytes.iter().position(|&c| is_end(c, ends));
                    assert_eq!(find_name_end(&bytes, ends), naive, "{bytes:?} {ends:?}");
                }
            }
        }
    }
}
