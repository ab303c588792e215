//! Number text exactly as the C tools write and read it.

use std::io::Write as _;

/// Appends `v` as C `printf("%.17g")` prints it (glibc: `inf`, `-inf`, `nan`, `-nan`).
pub fn push_c_double(out: &mut Vec<u8>, v: f64) {
    if v.is_nan() {
        out.extend_from_slice(if v.is_sign_negative() {
            b"-nan"
        } else {
            b"nan"
        });
        return;
    }
    if v.is_sign_negative() {
        out.push(b'-');
    }
    let a = v.abs();
    if a.is_infinite() {
        out.extend_from_slice(b"inf");
        return;
    }
    if a == 0.0 {
        out.push(b'0');
        return;
    }
    let (digits, exp) = match digits17_exact(a) {
        Some((d, e)) => {
            let mut digits = [0u8; 17];
            digits.copy_from_slice(itoa::Buffer::new().format(d).as_bytes());
            (digits, e)
        }
        None => digits17_fmt(a),
    };
    let mut ndig = 17;
    while ndig > 1 && digits[ndig - 1] == b'0' {
        ndig -= 1;
    }
    let digits = &digits[..ndig];
    if !(-4..17).contains(&exp) {
        out.push(digits[0]);
        if digits.len() > 1 {
            out.push(b'.');
            out.extend_from_slice(&digits[1..]);
        }
        out.push(b'e');
        out.push(if exp < 0 { b'-' } else { b'+' });
        let e = exp.unsigned_abs();
        if e < 10 {
            out.push(b'0');
        }
        out.extend_from_slice(itoa::Buffer::new().format(e).as_bytes());
    } else if exp >= 0 {
        let int_len = exp as usize + 1;
        if digits.len() <= int_len {
            out.extend_from_slice(digits);
            out.extend(std::iter::repeat_n(b'0', int_len - digits.len()));
        } else {
            out.extend_from_slice(&digits[..int_len]);
            out.push(b'.');
            out.extend_from_slice(&digits[int_len..]);
        }
    } else {
        out.extend_from_slice(b"0.");
        out.extend(std::iter::repeat_n(b'0', (-exp - 1) as usize));
        out.extend_from_slice(digits);
    }
}

/// 17 significant digits of `a` (> 0, finite), correctly rounded (ties to even, as glibc),
/// through the standard formatter: exact for every double, but slow.
fn digits17_fmt(a: f64) -> ([u8; 17], i32) {
    let mut buf = [0u8; 40];
    let len = {
        let mut cur = std::io::Cursor::new(&mut buf[..]);
        write!(cur, "{a:.16e}").expect("buffer fits any double");
        cur.position() as usize
    };
    let text = &buf[..len];
    let e_at = text.iter().position(|&c| c == b'e').expect("exponent");
    let mut digits = [0u8; 17];
    digits[0] = text[0];
    digits[1..].copy_from_slice(&text[2..e_at]);
    (digits, parse_small_exp(&text[e_at + 1..]))
}

/// Powers of ten that are exact in a double.
pub(crate) const POW10_F64: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

const POW10: [u128; 39] = {
    let mut t = [1u128; 39];
    let mut i = 1;
    while i < 39 {
        t[i] = t[i - 1] * 10;
        i += 1;
    }
    t
};

/// `floor(m * 2^e * 10^k)` and how the dropped remainder compares with one half, in 128-bit
/// integers; `None` when they do not suffice.
fn scaled(m: u64, e: i32, k: i32) -> Option<(u128, std::cmp::Ordering)> {
    use std::cmp::Ordering;
    if k >= 0 {
        let p = (m as u128).checked_mul(*POW10.get(k as usize)?)?;
        if e >= 0 {
            if p.leading_zeros() <= e as u32 {
                return None;
            }
            return Some((p << e, Ordering::Less));
        }
        let s = (-e) as u32;
        if s >= 128 {
            return None;
        }
        let rem = p & ((1u128 << s) - 1);
        Some((p >> s, rem.cmp(&(1u128 << (s - 1)))))
    } else {
        if !(0..=74).contains(&e) {
            return None;
        }
        let n = (m as u128) << e;
        let div = *POW10.get((-k) as usize)?;
        Some((n / div, (2 * (n % div)).cmp(&div)))
    }
}

/// 17 significant digits of `a` (> 0, finite) as an integer in [10^16, 10^17) and the
/// decimal exponent, correctly rounded (ties to even); `None` outside the fast range.
fn digits17_exact(a: f64) -> Option<(u64, i32)> {
    digits17_exact_near(a, a.log10().floor() as i32)
}

/// As [`digits17_exact`], starting from a guess of the decimal exponent.
fn digits17_exact_near(a: f64, exp_guess: i32) -> Option<(u64, i32)> {
    use std::cmp::Ordering;
    const LOW: u128 = 10_000_000_000_000_000; // 10^16
    const HIGH: u128 = 100_000_000_000_000_000; // 10^17
    let bits = a.to_bits();
    let biased = ((bits >> 52) & 0x7ff) as i32;
    if biased == 0 {
        return None; // subnormal
    }
    let m = (bits & ((1u64 << 52) - 1)) | (1u64 << 52);
    let e = biased - 1075;
    let mut exp = exp_guess;
    for _ in 0..4 {
        let (q, half) = scaled(m, e, 16 - exp)?;
        if q >= HIGH {
            exp += 1;
            continue;
        }
        if q < LOW {
            exp -= 1;
            continue;
        }
        let up = match half {
            Ordering::Greater => true,
            Ordering::Equal => q & 1 == 1,
            Ordering::Less => false,
        };
        let d = q + up as u128;
        return Some(if d == HIGH {
            (LOW as u64, exp + 1)
        } else {
            (d as u64, exp)
        });
    }
    None
}

/// Is `text` exactly what [`push_c_double`] writes for `v` (which `text` reads as)? Plain
/// decimal text is checked digit by digit against the correctly rounded 17 digits, without
/// formatting; other forms are formatted and compared.
pub fn is_c_double_text(text: &[u8], v: f64) -> bool {
    match c_fixed_text_check(text, v) {
        Some(same) => same,
        None => {
            let mut c_form = Vec::with_capacity(32);
            push_c_double(&mut c_form, v);
            c_form == text
        }
    }
}

/// The check of [`is_c_double_text`] for `[-]digits[.digits]` text of a normal nonzero
/// double; `None` for anything else.
fn c_fixed_text_check(text: &[u8], v: f64) -> Option<bool> {
    let neg = text.first() == Some(&b'-');
    if neg != v.is_sign_negative() || v == 0.0 || !v.is_finite() {
        return None;
    }
    let body = &text[usize::from(neg)..];
    let (int_part, frac_part) = match body.iter().position(|&c| c == b'.') {
        Some(dot) => (&body[..dot], &body[dot + 1..]),
        None => (body, &body[body.len()..]),
    };
    if int_part.is_empty() || !int_part.iter().chain(frac_part).all(u8::is_ascii_digit) {
        return None;
    }
    // C writes no trailing '.', no trailing zeros after it, no leading zeros but "0.".
    if body.len() != int_part.len() && (frac_part.is_empty() || frac_part.last() == Some(&b'0')) {
        return Some(false);
    }
    let (sig_from, exp) = if int_part == b"0" {
        let zeros = frac_part.iter().take_while(|&&c| c == b'0').count();
        (int_part.len() + 1 + zeros, -(zeros as i32) - 1)
    } else if int_part[0] == b'0' {
        return Some(false);
    } else {
        (0, int_part.len() as i32 - 1)
    };
    if !(-4..17).contains(&exp) {
        return Some(false); // C would write an exponent
    }
    let mut sig = 0u64;
    let mut n = 0u32;
    for &c in body[sig_from..].iter().filter(|&&c| c != b'.') {
        if n == 17 {
            return Some(false); // C writes at most 17 significant digits
        }
        sig = sig * 10 + (c - b'0') as u64;
        n += 1;
    }
    let (digits, c_exp) = digits17_exact_near(v.abs(), exp)?;
    Some(c_exp == exp && digits == sig * 10u64.pow(17 - n))
}

fn parse_small_exp(t: &[u8]) -> i32 {
    let (neg, t) = match t.first() {
        Some(b'-') => (true, &t[1..]),
        _ => (false, t),
    };
    let mut v = 0i32;
    for &c in t {
        v = v * 10 + (c - b'0') as i32;
    }
    if neg {
        -v
    } else {
        v
    }
}

/// Parses a double in the forms the C reader accepts (optional sign; `nan`, `inf`,
/// `infinity` in any case; or digits with at most one `.` and one lowercase `e`) plus Go's
/// `+Inf`/`NaN`. On failure, the index of the first byte that does not fit.
pub fn parse_double(t: &[u8]) -> Result<f64, usize> {
    let sign = usize::from(matches!(t.first(), Some(b'-' | b'+')));
    let neg = t.first() == Some(&b'-');
    let body = &t[sign..];
    if body.first().is_some_and(|c| c.is_ascii_alphabetic()) {
        let v = if body.eq_ignore_ascii_case(b"nan") {
            f64::NAN
        } else if body.eq_ignore_ascii_case(b"inf") || body.eq_ignore_ascii_case(b"infinity") {
            f64::INFINITY
        } else {
            return Err(sign);
        };
        return Ok(if neg { -v } else { v });
    }
    let mut seen_dot = false;
    let mut seen_e = false;
    let mut mantissa_digits = 0;
    let mut exp_digits = 0;
    let mut i = 0;
    while i < body.len() {
        match body[i] {
            b'0'..=b'9' => {
                if seen_e {
                    exp_digits += 1
                } else {
                    mantissa_digits += 1
                }
            }
            b'.' if !seen_dot && !seen_e => seen_dot = true,
            b'e' if !seen_e && mantissa_digits > 0 => {
                seen_e = true;
                if matches!(body.get(i + 1), Some(b'+' | b'-')) {
                    i += 1;
                }
            }
            _ => return Err(sign + i),
        }
        i += 1;
    }
    if mantissa_digits == 0 || (seen_e && exp_digits == 0) {
        return Err(t.len());
    }
    // SAFETY: every byte was checked above to be an ASCII digit, '.', 'e', '+' or '-'.
    let text = unsafe { std::str::from_utf8_unchecked(body) };
    // The standard parser is correctly rounded, as strtod is.
    let v: f64 = text.parse().map_err(|_| 0usize)?;
    Ok(if neg { -v } else { v })
}

/// Parses `-?[0-9]+` into an i64, rejecting overflow and empty text.
pub fn parse_i64(t: &[u8]) -> Option<i64> {
    let (neg, digits) = match t.first() {
        Some(b'-') => (true, &t[1..]),
        _ => (false, t),
    };
    if digits.is_empty() {
        return None;
    }
    let mut v: i64 = 0;
    for &c in digits {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        v = v.checked_mul(10)?;
        v = if neg {
            v.checked_sub(d as i64)?
        } else {
            v.checked_add(d as i64)?
        };
    }
    Some(v)
}

/// Parses `[0-9]+` into a u64 no larger than `max`.
pub fn parse_u64(t: &[u8], max: u64) -> Option<u64> {
    if t.is_empty() {
        return None;
    }
    let mut v: u64 = 0;
    for &c in t {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(d as u64)?;
    }
    (v <= max).then_some(v)
}

/// Integers written in decimal: their sign and magnitude.
pub(crate) trait DecimalInt: Copy {
    fn sign_and_magnitude(self) -> (bool, u64);
}

macro_rules! decimal_int {
    (unsigned: $($t:ty),*; signed: $($s:ty),*) => {
        $(impl DecimalInt for $t {
            #[inline(always)]
            fn sign_and_magnitude(self) -> (bool, u64) {
                (false, self as u64)
            }
        })*
        $(impl DecimalInt for $s {
            #[inline(always)]
            fn sign_and_magnitude(self) -> (bool, u64) {
                (self < 0, self.unsigned_abs() as u64)
            }
        })*
    };
}
decimal_int!(unsigned: u8, u16, u32, u64, usize; signed: i8, i64);

/// "00" to "99".
static DIGIT_PAIRS: [u8; 200] = {
    let mut t = [0u8; 200];
    let mut i = 0;
    while i < 100 {
        t[2 * i] = b'0' + (i / 10) as u8;
        t[2 * i + 1] = b'0' + (i % 10) as u8;
        i += 1;
    }
    t
};

/// The two digits of `v` (below 100) as the bytes of a little-endian word.
#[inline(always)]
pub(crate) fn digit_pair(v: usize) -> u16 {
    u16::from_le_bytes([DIGIT_PAIRS[2 * v], DIGIT_PAIRS[2 * v + 1]])
}

/// Decimal digits of `v` (1 to 20).
#[inline(always)]
fn decimal_len(v: u64) -> usize {
    // log10 from log2 (1233 / 4096 ~ log10(2)), then one comparison to correct it.
    let guess = (((64 - (v | 1).leading_zeros()) * 1233) >> 12) as usize;
    guess + usize::from((v | 1) as u128 >= POW10[guess])
}

/// Writes the digits straight into `out`, two at a time from the right. (Formatting into a
/// buffer and copying it stalls: wide loads of bytes just stored in pairs cannot be
/// forwarded from the stores.)
#[inline]
pub(crate) fn push_decimal(out: &mut Vec<u8>, v: impl DecimalInt) {
    let (negative, mut m) = v.sign_and_magnitude();
    out.reserve(21);
    if negative {
        out.push(b'-');
    }
    let n = decimal_len(m);
    let len = out.len();
    // SAFETY: 21 bytes were reserved (at most a sign and 20 digits); every write lands in
    // out[len..len + n], and all of those are written before the length covers them.
    unsafe {
        let dst = out.as_mut_ptr().add(len);
        let mut end = n;
        while m >= 100 {
            let pair = (m % 100) as usize * 2;
            m /= 100;
            end -= 2;
            std::ptr::copy_nonoverlapping(DIGIT_PAIRS.as_ptr().add(pair), dst.add(end), 2);
        }
        if m >= 10 {
            std::ptr::copy_nonoverlapping(DIGIT_PAIRS.as_ptr().add(m as usize * 2), dst, 2);
        } else {
            *dst = b'0' + m as u8;
        }
        out.set_len(len + n);
    }
}

#[cfg(test)]
// Tie cases are written with every digit, to show what they test.
#[allow(clippy::excessive_precision)]
mod tests {
    use super::*;

    /// The digit-by-digit check agrees with formatting and comparing, on C's own text, on
    /// the shortest text (as Go writes it), and on near misses.
    #[test]
    fn c_text_check_matches_formatting() {
        let mut rng = crate::synth::Rng::new(3);
        let mut checked = 0;
        for i in 0..200_000u64 {
            let v = match i % 4 {
                0 => f64::from_bits(rng.next_u64()),
                1 => (rng.below(1 << 40) as f64) / 10f64.powi(rng.below(12) as i32),
                2 => rng.below(100_000) as f64 / 8.0,
                _ => (rng.next_u64() as f64) * 10f64.powi(rng.below(40) as i32 - 20),
            };
            if !v.is_finite() {
                continue;
            }
            let mut c = Vec::new();
            push_c_double(&mut c, v);
            let shortest = ryu::Buffer::new().format_finite(v).as_bytes().to_vec();
            let mut padded = c.clone();
            if padded.contains(&b'.') && !padded.contains(&b'e') {
                padded.push(b'0');
            }
            for text in [c.clone(), shortest, padded] {
                if parse_double(&text).ok().map(f64::to_bits) != Some(v.to_bits()) {
                    continue;
                }
                assert_eq!(
                    is_c_double_text(&text, v),
                    text == c,
                    "{v:?} {:?}",
                    String::from_utf8_lossy(&text)
                );
                checked += 1;
            }
        }
        assert!(checked > 300_000, "{checked}");
    }

    /// Integers come out as itoa writes them, at every length and at the edges.
    #[test]
    fn integers_are_written_as_itoa_writes_them() {
        let mut values: Vec<i64> = vec![0, 1, -1, 9, 10, 99, 100, i64::MIN, i64::MAX];
        let mut p = 1i64;
        for _ in 0..18 {
            p *= 10;
            values.extend([p - 1, p, p + 1, -p, -(p - 1), -(p + 1)]);
        }
        let mut x = 88172645463325252u64;
        for _ in 0..100_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            values.push(x as i64);
            values.push((x >> (x % 64)) as i64);
        }
        for v in values {
            let mut out = b"x".to_vec();
            push_decimal(&mut out, v);
            assert_eq!(&out[1..], itoa::Buffer::new().format(v).as_bytes());
        }
        for v in [
            0u64,
            9,
            10,
            99,
            100,
            u64::MAX,
            u64::MAX / 10,
            10_000_000_000_000_000_000,
        ] {
            let mut out = Vec::new();
            push_decimal(&mut out, v);
            assert_eq!(out, itoa::Buffer::new().format(v).as_bytes());
        }
        for v in [i8::MIN, -1, 0, i8::MAX] {
            let mut out = Vec::new();
            push_decimal(&mut out, v);
            assert_eq!(out, v.to_string().as_bytes());
        }
    }

    fn c(v: f64) -> String {
        let mut out = Vec::new();
        push_c_double(&mut out, v);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn c_double_text_matches_glibc() {
        // Expected strings are glibc printf("%.17g") output.
        assert_eq!(c(0.1), "0.10000000000000001");
        assert_eq!(c(1.5), "1.5");
        assert_eq!(c(1e300), "1.0000000000000001e+300");
        assert_eq!(c(-2.0), "-2");
        assert_eq!(c(0.0), "0");
        assert_eq!(c(-0.0), "-0");
        assert_eq!(c(1e16), "10000000000000000");
        assert_eq!(c(1e17), "1e+17");
        assert_eq!(c(0.0001), "0.0001");
        assert_eq!(c(0.00001), "1.0000000000000001e-05");
        assert_eq!(c(123456.789), "123456.789");
        assert_eq!(c(5e-324), "4.9406564584124654e-324");
        assert_eq!(c(f64::MAX), "1.7976931348623157e+308");
        assert_eq!(c(f64::INFINITY), "inf");
        assert_eq!(c(f64::NEG_INFINITY), "-inf");
        assert_eq!(c(f64::NAN), "nan");
        assert_eq!(c(-f64::NAN), "-nan");
        assert_eq!(c(1.0 / 3.0), "0.33333333333333331");
        // Exact ties at the 17th digit: glibc rounds them to even.
        assert_eq!(c(1000000000000000.25), "1000000000000000.2");
        assert_eq!(c(1000000000000000.75), "1000000000000000.8");
        assert_eq!(c(2.5e-7), "2.4999999999999999e-07");
    }

    #[test]
    fn fast_digits_match_the_exact_formatter() {
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        let check = |v: f64| {
            if v.is_finite() && v > 0.0 {
                if let Some(fast) = digits17_exact(v) {
                    let (digits, exp) = digits17_fmt(v);
                    let want: u64 = std::str::from_utf8(&digits).unwrap().parse().unwrap();
                    assert_eq!(fast, (want, exp), "{v:e}");
                }
            }
        };
        // Ties at the 17th digit round to even, as glibc does.
        for v in [
            1000000000000000.25,
            1000000000000000.75,
            0.1,
            1.0 / 3.0,
            9.999999999999999e22,
            1e-6,
            1e22,
            123456.789,
        ] {
            check(v);
        }
        let n = if cfg!(debug_assertions) {
            200_000
        } else {
            2_000_000
        };
        for i in 0..n {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            check(f64::from_bits(x));
            check((x % 1_000_000_007) as f64 / (1 + i % 977) as f64);
            check((x >> 11) as f64 * 1e-9);
        }
    }

    #[test]
    fn doubles_parse_c_and_go_forms() {
        assert_eq!(parse_double(b"0.10000000000000001"), Ok(0.1));
        assert_eq!(parse_double(b"1.234567e+06"), Ok(1234567.0));
        assert_eq!(parse_double(b"+Inf"), Ok(f64::INFINITY));
        assert_eq!(parse_double(b"-infinity"), Ok(f64::NEG_INFINITY));
        assert!(parse_double(b"NaN").unwrap().is_nan());
        assert!(parse_double(b"-nan").unwrap().is_sign_negative());
        assert_eq!(parse_double(b"1E5"), Err(1), "C rejects uppercase E");
        assert_eq!(parse_double(b""), Err(0));
        assert_eq!(parse_double(b"1.2.3"), Err(3));
        assert_eq!(parse_double(b"1e"), Err(2));
        assert_eq!(parse_double(b"."), Err(1));
        assert_eq!(parse_double(b"-12ab"), Err(3));
    }

    #[test]
    fn integers_check_range() {
        assert_eq!(parse_i64(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_i64(b"9223372036854775808"), None);
        assert_eq!(parse_i64(b"007"), Some(7));
        assert_eq!(parse_i64(b""), None);
        assert_eq!(parse_i64(b"-"), None);
        assert_eq!(parse_i64(b"1\\2"), None);
        assert_eq!(parse_u64(b"65535", 65535), Some(65535));
        assert_eq!(parse_u64(b"65536", 65535), None);
    }
}
