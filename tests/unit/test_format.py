"""Accepted and rejected forms of the text format, located exactly."""

from __future__ import annotations

import io
import math
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from asbkit import AsbParseError, BackupReader, BackupWriter

from ..helpers.files import rewrite

HEAD = b"Version 3.1\n# namespace test\n"
REC = b"+ n test\n+ d 7JEZLUt/jONdXXjTS8ply6qqyWA=\n+ g 1\n+ t 0\n"


def entities(text: bytes) -> list[object]:
    return list(BackupReader(io.BytesIO(text)))


def canonical(text: bytes) -> bytes:
    return rewrite(io.BytesIO(text))


def bins(bin_lines: bytes, count: int = 1) -> list[tuple[str, str, object]]:
    (rec,) = entities(HEAD + REC + b"+ b %d\n" % count + bin_lines)
    return [(b.name, b.type, b.value) for b in rec.bins]


@pytest.mark.parametrize(
    ("text", "line", "column", "message"),
    [
        (b"Version 3.4\n", 1, 9, "unsupported backup file version"),
        (b"Version 3.1", 1, 12, "unexpected end of file"),
        (b"version 3.1\n", 1, 1, 'expected "V"'),
        (HEAD + b"# something\n", 3, 3, "unknown meta data line"),
        (HEAD + REC + b"+ b 1\n- I x \n", 8, 7, "integer"),  # C reads an empty number as 0
        (HEAD + REC + b"+ b 1\n- I x 1\\2\n", 8, 8, "integer"),  # C would drop the backslash
        (HEAD + REC + b"+ b 1\n- D x 1E5\n", 8, 8, "must be a number"),
        (HEAD + REC + b"+ b 1\n- U x 1\n", 8, 3, "LDT"),
        (HEAD + REC + b"+ b 1\n- Q x 1\n", 8, 3, "invalid bin type"),
        (HEAD + REC + b"+ b 1\n- Z x Y\n", 8, 7, "boolean"),
        (HEAD + REC + b"+ b 1\n- B x 3 abc\n", 8, 7, "multiple of 4"),
        (HEAD + REC + b"+ b 1\n- B x 4 ab*c\n", 8, 11, "invalid base64"),
        (HEAD + REC + b"+ b 2\n- I x 1\n", 9, 1, "unexpected end of file"),
        (HEAD + REC + b"+ b 1\n- S x 5 abc\n", 8, 9, "unexpected end of file"),
        (HEAD + REC + b"+ b 1\n- S x 2 abc\n", 8, 11, "expected end of line"),
        (HEAD + REC + b"+ b 1\n- I x 9223372036854775808\n", 8, 7, "64-bit"),
        (HEAD + REC + b"+ b 1\n- I averyveryverylongname 1\n", 8, 20, "longer than 15"),
        (HEAD + REC.replace(b"+ g 1", b"+ g 65536") + b"+ b 0\n", 5, 5, "out of range"),
        (HEAD + REC.replace(b"+ t 0", b"+ t -1") + b"+ b 0\n", 6, 5, "decimal digits"),
        (HEAD + REC.replace(b"yWA=", b"yWA") + b"+ b 0\n", 4, 32, "digest must be 28 base64"),
        (HEAD + REC + b"+ b 0\n# namespace test\n", 8, 1, "invalid start character"),
        (b"Version 3.0\n# namespace test\n* u L f.lua 1 x\n", 3, 1, "version 3.0"),
        (HEAD + b"* x foo\n", 3, 3, "invalid global line type"),
        (HEAD + b"* i test demo idx Q 1 bin S\n", 3, 19, "invalid index type"),
        (HEAD + b"* i test demo idx N 0\n", 3, 21, "at least one path"),
        (HEAD + b"* u L f.lua 10 abc\n", 3, 16, "unexpected end of file"),
        (HEAD + b"+ k Q 1\n" + REC, 3, 5, "invalid key type"),
        # C ends a token at NUL and fails on it; an escaped NUL it would silently cut.
        (HEAD + REC + b"+ b 1\n- I a\0b 1\n", 8, 6, "expected space"),
        (HEAD + REC + b"+ b 1\n- I a\\\0b 1\n", 8, 7, "NUL byte"),
        # A value may span lines: the error after it is counted on the right line.
        (HEAD + REC + b"+ b 2\n- S x 3 a\nb\n- Z y Q\n", 10, 7, "boolean"),
        (HEAD + REC + b"+ b 1\n- S x 3 a\nbcd\n", 9, 2, "expected end of line"),
    ],
)
def test_rejected_input_is_located(text: bytes, line: int, column: int, message: str) -> None:
    with pytest.raises(AsbParseError) as info:
        entities(text)
    err = info.value
    assert message in err.message, err.message
    assert (err.line, err.column) == (line, column), str(err)
    # The offset is consistent with line and column.
    lines = text.split(b"\n")
    assert err.offset == sum(len(x) + 1 for x in lines[: line - 1]) + column - 1


def test_every_bin_type_reads() -> None:
    lines = (
        b"- N n\n- Z z F\n- I i -42\n- D d 2.5\n- S s 3 a b\n- X x 4 YWI=\n- G g 2 {}\n"
        b"- B b 4 AAE=\n- J j 4 AAE=\n- C c 4 AAE=\n- P p 4 AAE=\n- R r 4 AAE=\n- H h 4 AAE=\n"
        b"- E e 4 AAE=\n- Y y 4 AAE=\n- M m 4 gA==\n- L l 4 kA==\n- B! bb 2 \n\n\n"
    )
    got = bins(lines, 18)
    assert got == [
        ("n", "N", None), ("z", "Z", False), ("i", "I", -42), ("d", "D", 2.5), ("s", "S", "a b"),
        ("x", "S", "ab"), ("g", "G", "{}"), ("b", "B", b"\0\1"), ("j", "J", b"\0\1"),
        ("c", "C", b"\0\1"), ("p", "P", b"\0\1"), ("r", "R", b"\0\1"), ("h", "H", b"\0\1"),
        ("e", "E", b"\0\1"), ("y", "Y", b"\0\1"), ("m", "M", b"\x80"), ("l", "L", b"\x90"),
        ("bb", "B", b"\n\n"),
    ]


@pytest.mark.parametrize(
    ("text", "value"),
    [
        (b"0.10000000000000001", 0.1),
        (b"0.1", 0.1),
        (b"1.234567e+06", 1234567.0),
        (b"inf", math.inf),
        (b"+Inf", math.inf),
        (b"-inf", -math.inf),
        (b"-Infinity", -math.inf),
        (b"1e-05", 1e-05),
        (b"007", 7.0),
        (b".5", 0.5),
        (b"1.", 1.0),
        (b"-.5", -0.5),
        (b"00.5", 0.5),
        (b"+1", 1.0),
        (b"1e+3", 1000.0),
        (b"123456789012345.6", 123456789012345.6),
        (b"0.000000000000000000001", 1e-21),
        (b"33332.285714285717", 33332.285714285717),
    ],
)
def test_double_forms_of_c_and_go(text: bytes, value: float) -> None:
    ((_, _, got),) = bins(b"- D d " + text + b"\n")
    assert got == value


def test_negative_zero_keeps_its_sign() -> None:
    ((_, _, got),) = bins(b"- D d -0\n")
    assert got == 0.0 and math.copysign(1, got) == -1


@pytest.mark.parametrize(("text", "negative"), [(b"nan", False), (b"-nan", True), (b"NaN", False)])
def test_nan_keeps_its_sign(text: bytes, negative: bool) -> None:
    ((_, _, got),) = bins(b"- D d " + text + b"\n")
    assert math.isnan(got)
    assert (struct.pack(">d", got)[0] >> 7 == 1) == negative


@pytest.mark.parametrize(
    ("given", "written"),
    [
        (b"- X x 4 YWI=\n", b"- S x 2 ab\n"),
        (b"- I x 007\n", b"- I x 7\n"),
        (b"- I x -0\n", b"- I x 0\n"),
        (b"- D x 0.1\n", b"- D x 0.10000000000000001\n"),
        (b"- D x NaN\n", b"- D x nan\n"),
        (b"- D x +Inf\n", b"- D x inf\n"),
        (b"- S! x 1 a\n", b"- S x 1 a\n"),
        (b"- B x 4 QR==\n", b"- B x 4 QQ==\n"),
    ],
)
def test_other_accepted_forms_write_back_as_c_does(given: bytes, written: bytes) -> None:
    head = HEAD + REC + b"+ b 1\n"
    assert canonical(head + given) == head + written


def test_escapes_in_names_round_trip() -> None:
    text = (
        b"Version 3.1\n# namespace my\\ ns\n* i my\\ ns s\\\\et i\\\nx N 1 b\\ in S\n"
        b"+ n my\\ ns\n+ d 7JEZLUt/jONdXXjTS8ply6qqyWA=\n+ s s\\\\et\n+ g 1\n+ t 0\n+ b 1\n"
        b"- S b\\\nin\\\\Nam\\ e 1 x\n"
    )
    idx, rec = entities(text)
    assert (idx.namespace, idx.set, idx.name, idx.paths) == ("my ns", "s\\et", "i\nx", [("b in", "S")])
    assert (rec.namespace, rec.set, rec.bins[0].name) == ("my ns", "s\\et", "b\nin\\Nam e")
    assert canonical(text) == text


def test_go_extensions_are_accepted() -> None:
    text = (
        b"Version 3.2\n# first-file\n# namespace test\n"
        b"* e test demo expidx N 1 age N kwGTUQKk\n"
        b"* i test demo setidx S 1  E\n"
        b"* i test demo ctxidx N 1 age N lhABI8zIIqMDaWQ=\n"
    )
    e, s, c = entities(text)
    assert e.expression == "kwGTUQKk" and e.context is None
    assert (s.index_type, s.paths) == ("S", [("", "E")])
    assert c.context == "lhABI8zIIqMDaWQ="
    assert canonical(text) == text


def test_legacy_3_0_does_not_unescape() -> None:
    text = b"Version 3.0\n# namespace test\n+ n test\n+ d 7JEZLUt/jONdXXjTS8ply6qqyWA=\n+ g 1\n+ t 0\n+ b 1\n- I a\\b 1\n"
    (rec,) = entities(text)
    assert rec.bins[0].name == "a\\b"
    assert canonical(text) == text


def test_empty_backup_and_non_utf8_names() -> None:
    assert entities(b"Version 3.1\n") == []
    assert entities(HEAD + b"# first-file\n") == []
    text = HEAD + REC + b"+ b 1\n- S \xff\xfe 2 \xc3\x28\n"
    (rec,) = entities(text)
    name, value = rec.bins[0].name, rec.bins[0].value
    assert name.encode("utf-8", "surrogateescape") == b"\xff\xfe"
    assert value.encode("utf-8", "surrogateescape") == b"\xc3\x28"
    assert canonical(text) == text


def test_unwritable_names_are_refused_and_leave_nothing() -> None:
    from asbkit import AsbWriteError, Bin, Record

    out = io.BytesIO()
    w = BackupWriter(out, "test", first_file=False)
    good = Record("test", bytes(20), [Bin("ok", "I", 1)])
    w.write(good)
    for bad in (
        Record("test", bytes(20), [Bin("a\0b", "I", 1)]),
        Record("test", bytes(20), [Bin("sixteen-bytes-xx", "I", 1)]),
        Record("n" * 32, bytes(20), []),
        Record("test", bytes(20), [], set="s" * 64),
    ):
        with pytest.raises(AsbWriteError):
            w.write(bad)
    w.write(good)
    w.close()
    assert [len(r.bins) for r in entities(out.getvalue())] == [1, 1]


@pytest.mark.parametrize("line", [b"# namespace test xx\n", b"# namespacetest\n", b"# namespace\n", b"# namespace a\\\n"])
def test_namespace_meta_lines_c_accepts_are_kept_as_read(line: bytes) -> None:
    text = b"Version 3.1\n" + line + b"# first-file\n"
    header = next(BackupReader(io.BytesIO(text)).files()).header
    assert header.namespace is None and header.first_file
    assert canonical(text) == text


@pytest.mark.parametrize("letter", list("BJCPRHEYML"))
def test_every_blob_letter_in_both_forms(letter: str) -> None:
    raw = b"a\nb \\"
    lines = b"- %s x 8 YQpiIFw=\n- %s! y 5 %s\n" % (letter.encode(), letter.encode(), raw)
    got = bins(lines, 2)
    assert got == [("x", letter, raw), ("y", letter, raw)]
    head = HEAD + REC + b"+ b 2\n"
    assert canonical(head + lines) == head + lines


@pytest.mark.parametrize(
    ("line", "value"),
    [(b"- N! n\n", None), (b"- Z! z T\n", True), (b"- I! i 5\n", 5), (b"- D! d 0.5\n", 0.5), (b"- G! g 2 {}\n", "{}")],
)
def test_compact_mark_on_other_letters_is_ignored(line: bytes, value: object) -> None:
    ((_, _, got),) = bins(line)
    assert got == value


@pytest.mark.parametrize(
    ("key_line", "key"),
    [
        (b"+ k I -17\n", ("I", -17, False)),
        (b"+ k D 2.5\n", ("D", 2.5, False)),
        (b"+ k S 3 a\nb\n", ("S", "a\nb", False)),
        (b"+ k X 4 YWI=\n", ("S", "ab", False)),
        (b"+ k B 4 AP8=\n", ("B", b"\x00\xff", False)),
        (b"+ k B! 2 \x00\xff\n", ("B", b"\x00\xff", True)),
    ],
)
def test_every_key_type(key_line: bytes, key: tuple[str, object, bool]) -> None:
    (rec,) = entities(HEAD + key_line + REC + b"+ b 0\n")
    assert (rec.key.type, rec.key.value, rec.key.compact) == key


@settings(max_examples=500, deadline=None)
@given(st.floats(allow_nan=False, allow_infinity=False), st.sampled_from(["%.17g", "%r", "%.3f", "%.10f", "%.1f", "%.0f"]))
def test_doubles_read_as_strtod_reads_them(value: float, fmt: str) -> None:
    text = (repr(value) if fmt == "%r" else fmt % value).encode()
    ((_, _, got),) = bins(b"- D d " + text + b"\n")
    want = float(text)
    assert got == want and math.copysign(1, got) == math.copysign(1, want), text


def test_a_writer_needs_a_namespace_or_a_header() -> None:
    with pytest.raises(TypeError, match="namespace or a header"):
        BackupWriter(io.BytesIO())
    out = io.BytesIO()
    header = next(BackupReader(io.BytesIO(HEAD + b"# first-file\n")).files()).header
    BackupWriter(out, header=header).close()
    assert out.getvalue() == HEAD + b"# first-file\n"
