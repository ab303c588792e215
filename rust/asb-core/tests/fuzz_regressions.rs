//! Inputs found by fuzzing the reader (`rust/asb-core/fuzz`), kept in `tests/fuzz_cases/`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::path::PathBuf;

use asb_core::{Entity, Error, ErrorKind, Position, Reader, Writer};

/// Records the largest single allocation made by the current thread (tests run in parallel).
struct LargestAllocation;

thread_local! {
    static LARGEST: Cell<usize> = const { Cell::new(0) };
}

fn note(size: usize) {
    let _ = LARGEST.try_with(|l| l.set(l.get().max(size)));
}

unsafe impl GlobalAlloc for LargestAllocation {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        System.alloc(layout)
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        System.alloc_zeroed(layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(new_size);
        System.realloc(ptr, layout, new_size)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
}

#[global_allocator]
static ALLOCATOR: LargestAllocation = LargestAllocation;

fn case(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz_cases")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Reads the whole stream and returns the error it must end with.
fn read_error(text: &[u8]) -> Error {
    let mut reader = match Reader::new(text) {
        Ok(r) => r,
        Err(e) => return e,
    };
    loop {
        match reader.next_entity() {
            Ok(Some(_)) => {}
            Ok(None) => panic!("expected an error, the stream read cleanly"),
            Err(e) => return e,
        }
    }
}

fn assert_parse_error(name: &str, message: &str, line: u64, column: u64, offset: u64) {
    let e = read_error(&case(name));
    assert!(matches!(e.kind, ErrorKind::Parse), "{name}: {e}");
    assert!(e.message.contains(message), "{name}: {e}");
    assert_eq!(
        e.position,
        Some(Position {
            line,
            column,
            offset
        }),
        "{name}: {e}"
    );
}

// An error reported at the start of a value after the value's own LFs had moved the line
// start past it computed `offset - line_start` below zero: a panic with overflow checks, a
// column near 2^64 without. Found by the `read` target (digest case); the others are the same
// bug reached through the other places that fail at an earlier position.

#[test]
fn digest_spanning_lines_reports_its_own_line() {
    // The line ends after 8 of the 28 digest characters: reported at that LF.
    assert_parse_error(
        "digest_spans_lines.asb",
        "the digest must be 28 base64",
        4,
        13,
        52,
    );
}

#[test]
fn base64_value_spanning_lines_reports_the_bad_byte() {
    // The LF inside the base64 text is the invalid byte: line 7, after "- B blob 8 AA".
    assert_parse_error("base64_spans_lines.asb", "invalid base64", 7, 14, 85);
}

#[test]
fn escaped_lf_in_overlong_name_reports_the_byte_past_the_limit() {
    // The 32nd byte of the name, on the line after the escaped LF.
    assert_parse_error(
        "escaped_name_spans_lines.asb",
        "longer than 31 bytes",
        3,
        29,
        48,
    );
}

#[test]
fn header_version_spanning_lines_reports_line_one() {
    assert_parse_error(
        "version_spans_lines.asb",
        "unsupported backup file version",
        1,
        9,
        8,
    );
}

// A length declared in the text ("+ k S 4294967295 ...") made the reader grow its window to
// that size, zero-filled, before reading: 4 GiB of memory for a 32-byte input.

#[test]
fn declared_length_beyond_input_allocates_only_what_arrives() {
    let text = case("declared_length_beyond_input.asb");
    LARGEST.with(|l| l.set(0));
    let e = read_error(&text);
    let largest = LARGEST.with(|l| l.get());
    assert!(
        e.message
            .contains("unexpected end of file in the string key"),
        "{e}"
    );
    assert!(
        largest <= 4 << 20,
        "largest allocation {largest} bytes for a {}-byte input",
        text.len()
    );
}

// Whether a bad digest is "too long" (the byte after its 28 characters is not an LF) was
// decided without that byte when the reader's window ended right after the 28 characters, so
// the error changed with where the window happened to end. Found by the `window` target.

#[test]
fn digest_error_does_not_depend_on_the_window_edge() {
    // The reader's first window (`INITIAL_WINDOW` in src/read.rs).
    const WINDOW: usize = 1 << 20;
    let text = case("digest_too_long.asb");
    let plain = read_error(&text);
    assert!(
        plain.message.contains("expected end of line here"),
        "{plain}"
    );

    // The same text with a filler record in front, sized so the window ends after the digest.
    let header_len = b"Version 3.1\n# namespace test\n".len();
    let digest_end = text.windows(4).position(|w| w == b"+ d ").unwrap() + 4 + 28;
    let head = b"+ n test\n+ d 7JEZLUt/jONdXXjTS8ply6qqyWA=\n+ g 1\n+ t 0\n+ b 1\n- S f ";
    let filler_len = WINDOW - digest_end;
    let mut n = filler_len - head.len() - 2;
    while head.len() + n.to_string().len() + 2 + n > filler_len {
        n -= 1;
    }
    assert_eq!(
        head.len() + n.to_string().len() + 2 + n,
        filler_len,
        "filler length"
    );
    let mut padded = text[..header_len].to_vec();
    padded.extend_from_slice(head);
    padded.extend_from_slice(format!("{n} ").as_bytes());
    padded.resize(padded.len() + n, b'x');
    padded.push(b'\n');
    padded.extend_from_slice(&text[header_len..]);

    let edged = read_error(&padded);
    assert_eq!(edged.message, plain.message);
    let (p, e) = (plain.position.unwrap(), edged.position.unwrap());
    assert_eq!(
        (e.line, e.column, e.offset),
        (p.line + 6, p.column, p.offset + filler_len as u64)
    );
}

// A 3.0 file has no escapes, but a record's namespace and set end only at LF, so a space in
// them is read as is. The writer refused to write such a record back into a 3.0 file. Found
// by the `roundtrip` target.

#[test]
fn legacy_namespace_and_set_with_spaces_write_back() {
    let text = case("legacy_namespace_with_space.asb");
    let mut reader = Reader::new(&text[..]).unwrap();
    let mut writer = Writer::new(Vec::new(), &reader.header().clone()).unwrap();
    while let Some(entity) = reader.next_entity().unwrap() {
        let Entity::Record(rec) = entity else {
            panic!("records only")
        };
        assert_eq!(
            (rec.namespace(), rec.set()),
            (&b"te st"[..], Some(&b"de mo"[..]))
        );
        writer.write_record(rec).unwrap();
    }
    assert_eq!(writer.into_inner().unwrap(), text);
}
