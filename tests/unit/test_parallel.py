"""Big plain files read in pieces on every core give exactly what reading them in order gives,
even when record-like lines inside values mislead the cuts."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from asbkit import AsbError, BackupWriter, Bin, Key, Layers, Record, Selection, _codec, compute_digest
from asbkit.io import write_synthetic

from ..helpers.results import as_data

# Small pieces so that a few hundred kB make many of them.
PIECES = [4096, 5003, 9000, 20000]


PLAIN = Layers().codec_args()
DEEP = {"check_digests": True, "continue_after_errors": False, "max_issues": 100, "memory_digests": _codec.DEFAULT_MEMORY_DIGESTS}


def scan(paths: list[Path], *, parallel: bool, piece_size: int = 4096, deep: bool = False) -> tuple[dict, Exception | None]:
    s = _codec.Summarizer(True, DEEP if deep else None)  # type: ignore[arg-type]
    error = None
    try:
        if parallel:
            s.read_paths([str(p) for p in paths], threads=3, layers=PLAIN, piece_size=piece_size)
        else:
            for p in paths:
                s.read(str(p), layers=PLAIN)
    except (AsbError, ValueError) as exc:
        error = exc
    return as_data(s.result()), error


def decoy_record(i: int, rng: random.Random, namespace: str = "test") -> Record:
    """A record whose values hold lines that look like record starts (and whole records)."""
    fake = f"x\n+ n {namespace}\n+ d {'A' * 27}=\n+ g 1\n+ t 0\n+ b 1\n- I a {i}\n"
    bins = [
        Bin("id", "I", i),
        Bin("decoy", "S", fake * rng.randint(0, 3)),
        Bin("keyish", "S", "\n+ k S 3 abc\n+ n " + namespace + "\n"),
        Bin("pad", "B", rng.randbytes(rng.randint(0, 300))),
    ]
    key = Key("S", f"user-{i}") if i % 3 else None
    digest = compute_digest("s", key) if key else rng.randbytes(20)
    return Record(namespace, digest, bins, set="s", key=key, generation=1 + i % 7, void_time=i * 1000)


def write(path: Path, records: list[Record], namespace: str = "test") -> Path:
    w = BackupWriter(str(path), namespace)
    for r in records:
        w.write(r)
    w.close()
    return path


@pytest.fixture(scope="module")
def decoy_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rng = random.Random(7)
    path = tmp_path_factory.mktemp("par") / "decoys.asb"
    return write(path, [decoy_record(i, rng) for i in range(1500)])


@pytest.mark.parametrize("piece_size", PIECES)
def test_pieces_match_reading_in_order(decoy_file: Path, piece_size: int) -> None:
    assert decoy_file.stat().st_size > 30 * piece_size, "the file must make many pieces"
    want, err = scan([decoy_file], parallel=False, deep=True)
    assert err is None
    got, err = scan([decoy_file], parallel=True, piece_size=piece_size, deep=True)
    assert err is None
    assert got == want
    assert got["records"] == 1500


def test_directory_of_cut_and_whole_files(tmp_path: Path, decoy_file: Path) -> None:
    small = write(tmp_path / "b.asb", [decoy_record(i, random.Random(i)) for i in range(3)])
    write_synthetic(tmp_path / "c.asb", 300_000, seed=3)
    paths = [decoy_file, small, tmp_path / "c.asb"]
    want, _ = scan(paths, parallel=False, deep=True)
    got, _ = scan(paths, parallel=True, deep=True)
    assert got == want
    assert [f["records"] for f in got["files"]] == [f["records"] for f in want["files"]]


def test_errors_are_those_of_reading_in_order(tmp_path: Path, decoy_file: Path) -> None:
    text = decoy_file.read_bytes()
    rng = random.Random(11)
    for _ in range(12):
        at = rng.randrange(len(text) // 3, len(text))
        broken = tmp_path / "broken.asb"
        broken.write_bytes(text[:at] + b"\x01" + text[at + 1 :])
        want, want_err = scan([broken], parallel=False)
        got, got_err = scan([broken], parallel=True, piece_size=5003)
        # A path is mapped; a file object goes through the reader's window: same errors.
        streamed = _codec.Summarizer(True, None)
        with open(broken, "rb") as f:
            try:
                streamed.read(f, layers=PLAIN)
                stream_err = None
            except (AsbError, ValueError) as exc:
                stream_err = exc
        assert (stream_err is None) == (want_err is None)
        if stream_err is not None:
            assert (stream_err.line, stream_err.column, stream_err.offset, str(stream_err)) == (
                want_err.line, want_err.column, want_err.offset, str(want_err))
        assert (want_err is None) == (got_err is None)
        if want_err is not None:
            assert type(got_err) is type(want_err)
            assert (got_err.line, got_err.column, got_err.offset, str(got_err)) == (
                want_err.line, want_err.column, want_err.offset, str(want_err))
        else:
            assert got == want


def test_deep_findings_in_later_pieces(tmp_path: Path) -> None:
    rng = random.Random(5)
    records = [decoy_record(i, rng) for i in range(900)]
    bad = records[700]
    records[700] = Record(bad.namespace, bytes(20), bad.bins, set=bad.set, key=Key("I", 1), generation=1)
    records[650] = decoy_record(650, rng, namespace="other")
    records[800] = records[100]  # a duplicate digest
    path = write(tmp_path / "findings.asb", records)
    want, _ = scan([path], parallel=False, deep=True)
    got, _ = scan([path], parallel=True, piece_size=4096, deep=True)
    assert got == want
    kinds = {i["kind"] for i in got["deep"]["issues"]}
    assert {"digest_mismatch", "namespace_mismatch", "duplicate_digest"} <= kinds, got["deep"]


def test_layered_files_are_read_whole(tmp_path: Path) -> None:
    path = tmp_path / "z.asb"
    write_synthetic(path, 400_000, seed=2, layers=Layers(compress="zstd"))
    zstd = Layers(compress="zstd").codec_args()
    s = _codec.Summarizer(True, None)
    s.read(str(path), layers=zstd)
    p = _codec.Summarizer(True, None)
    p.read_paths([str(path)], threads=2, layers=zstd, piece_size=4096)
    assert as_data(p.result()) == as_data(s.result())


def convert_both_ways(path: Path, tmp_path: Path, **selection: Any) -> tuple[tuple, tuple]:
    """JSON of `path` converted in pieces (by path) and in one stream (file object)."""
    args = {"layers": PLAIN, **Selection(**selection).codec_args()}
    results = []
    for label, source, pieces in (("pieces", str(path), (3, 5003)), ("stream", None, (1, _codec.CONVERT_PIECE_SIZE))):
        out = tmp_path / f"{label}.jsonl"
        try:
            if source is None:
                with open(path, "rb") as f:
                    counts = _codec.asb_to_jsonl([f], str(out), pieces=pieces, **args)
            else:
                counts = _codec.asb_to_jsonl([source], str(out), pieces=pieces, **args)
            results.append((out.read_bytes(), as_data(counts), None))
        except (AsbError, ValueError) as exc:
            results.append((None, None, (type(exc), str(exc), getattr(exc, "line", None), getattr(exc, "offset", None))))
    return results[0], results[1]


@pytest.mark.parametrize(
    "selection",
    [{}, {"sets": ["s"], "bins": ["id", "pad"]}, {"namespace": ("test", "renamed")}, {"keys": [("S", "user-100")]}],
)
def test_convert_in_pieces_is_byte_identical(decoy_file: Path, tmp_path: Path, selection: dict) -> None:
    pieces, stream = convert_both_ways(decoy_file, tmp_path, **selection)
    assert pieces[2] is None and stream[2] is None
    assert pieces[1] == stream[1]
    assert pieces[0] == stream[0]
    assert pieces[0].count(b"\n") == 1 + pieces[1]["records"]


def test_convert_in_pieces_fails_where_the_stream_fails(tmp_path: Path, decoy_file: Path) -> None:
    text = decoy_file.read_bytes()
    # A record of another namespace late in the file stops a namespace rename.
    rng = random.Random(3)
    other = write(tmp_path / "other.asb", [decoy_record(1, rng, namespace="zzz")], namespace="zzz").read_bytes()
    mixed = tmp_path / "mixed.asb"
    body = other.split(b"\n", 3)[3]  # the record without the header lines
    cut = text.index(b"\n+ k S 9 user-1400\n") + 1
    mixed.write_bytes(text[:cut] + body + text[cut:])
    pieces, stream = convert_both_ways(mixed, tmp_path, namespace=("test", "t2"))
    assert stream[2] is not None and "namespace" in stream[2][1]
    assert pieces[2] == stream[2]
    broken = tmp_path / "broken.asb"
    at = text.index(b"\n+ g ", len(text) * 4 // 5) + 3  # a generation line late in the file
    broken.write_bytes(text[:at] + b"q" + text[at + 1 :])
    pieces, stream = convert_both_ways(broken, tmp_path)
    assert stream[2] is not None
    assert pieces[2] == stream[2]


def test_indexes_and_udfs_before_the_records(tmp_path: Path) -> None:
    from asbkit import SecondaryIndex, Udf

    rng = random.Random(9)
    path = tmp_path / "meta.asb"
    w = BackupWriter(str(path), "test")
    w.write(SecondaryIndex("test", "s", "by_id", "N", [("id", "N")]))
    w.write(SecondaryIndex("test", "s", "by_tag", "L", [("tags", "S")]))
    # A UDF longer than a piece: the first cut falls inside it.
    w.write(Udf("big.lua", b"-- + n test\n" * 2000))
    for i in range(1200):
        w.write(decoy_record(i, rng))
    w.close()
    want, _ = scan([path], parallel=False)
    got, _ = scan([path], parallel=True, piece_size=4096)
    # Index objects compare by identity: compare what they hold.
    assert repr(got.pop("indexes")) == repr(want.pop("indexes"))
    assert got == want
    assert len(got["udfs"]) == 1
    pieces, stream = convert_both_ways(path, tmp_path)
    assert pieces == stream and pieces[1]["indexes"] == 2 and pieces[1]["udfs"] == 1
