"""`asbkit validate --deep`: digests recomputed, namespaces checked, duplicates found."""

from __future__ import annotations

import shutil
from pathlib import Path

from asbkit import Layers, _codec, validate
from asbkit.io import write_synthetic

from ..helpers.files import SAMPLE
from ..helpers.results import result_of


def test_clean_backup_passes(upstream_asb: Path) -> None:
    result = result_of(validate, [str(SAMPLE), str(upstream_asb)], deep=True)
    assert result.ok and result.exit_code == 0
    assert result.data.deep is not None and result.data.deep.keys_checked == 4
    assert result.data.deep.finding_counts == {}


def test_wrong_digest_is_located_at_its_record(tmp_path: Path) -> None:
    text = SAMPLE.read_bytes().replace(b"+ d MPuLddL9IM5lWFedZKP+g9KTaJI=", b"+ d AAAAddL9IM5lWFedZKP+g9KTaJI=")
    path = tmp_path / "bad.asb"
    path.write_bytes(text)
    result = result_of(validate, str(path), deep=True)
    assert result.exit_code == 1 and not result.errors
    (finding,) = result.data.deep.findings
    assert finding.kind == "digest_mismatch"
    record_start = text.index(b"+ k I 12345")
    assert (finding.line, finding.column, finding.offset) == (text[:record_start].count(b"\n") + 1, 1, record_start)
    assert "MPuLddL9IM5lWFedZKP+g9KTaJI=" in finding.message


def test_bytes_key_mismatch_is_its_own_kind(tmp_path: Path) -> None:
    text = SAMPLE.read_bytes().replace(b"+ d 6PwJ4/v/twYVahR7CrobAPP2UWY=", b"+ d 7JEZLUt/jONdXXjTS8ply6qqyWA=")
    path = tmp_path / "b.asb"
    path.write_bytes(text)
    result = result_of(validate, str(path), deep=True)
    assert result.data.deep.finding_counts == {"bytes_key_digest_mismatch": 1}
    assert "blob subtype" in result.data.deep.findings[0].message


def test_duplicates_and_namespaces_across_files(tmp_path: Path) -> None:
    shutil.copy(SAMPLE, tmp_path / "x_00000.asb")
    shutil.copy(SAMPLE, tmp_path / "x_00001.asb")
    other = SAMPLE.read_bytes().replace(b"namespace test", b"namespace prod").replace(b"+ n test", b"+ n prod")
    (tmp_path / "x_00002.asb").write_bytes(other.replace(b"+ d J7/", b"+ d J8/"))
    result = result_of(validate, str(tmp_path), deep=True)
    counts = result.data.deep.finding_counts
    assert counts["duplicate_digest"] == 5  # 3 from the copy, 2 from the renamed file
    assert counts["namespace_mismatch"] == 4  # its header and its 3 records
    assert counts["digest_mismatch"] == 1


def test_duplicates_found_when_digests_spill_to_disk(tmp_path: Path) -> None:
    path = tmp_path / "s.asb"
    write_synthetic(path, 1_000_000)
    for memory in (10, 10**9):
        deep = {"check_digests": True, "continue_after_errors": False, "max_issues": 100, "memory_digests": memory}
        summarizer = _codec.Summarizer(False, deep)
        plain = Layers().codec_args()
        summarizer.read(str(path), layers=plain)
        summarizer.read(str(path), layers=plain)
        summary = summarizer.result()
        assert summary.deep is not None
        assert summary.deep.issue_counts == {"duplicate_digest": summary.records // 2}, memory
        assert len(summary.deep.issues) == 100


def test_deep_goes_on_after_syntax_errors(tmp_path: Path) -> None:
    text = SAMPLE.read_bytes().replace(b"- I age 42", b"- Q age 42").replace(b"+ g 1\n", b"+ g x\n")
    path = tmp_path / "broken.asb"
    path.write_bytes(text)
    plain = result_of(validate, str(path))
    assert plain.errors and plain.errors[0].line == 19
    deep = result_of(validate, str(path), deep=True)
    assert not deep.errors and deep.exit_code == 1
    kinds = [(f.kind, f.line) for f in deep.data.deep.findings]
    assert kinds == [("parse_error", 19), ("parse_error", 30)]
    assert deep.data.records == 1, "the record after the damage is still read"
    first_only = result_of(validate, str(path), deep=True, max_errors=1)
    assert first_only.errors and first_only.errors[0].line == 19
