"""What a restore reports: every record read counted by outcome, the indexes and UDFs, and
the first records not written."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..control import RestoreCounters


class NamedRecord:
    """A record a report names: its base64 digest, and its set and user key (as --key takes
    it: S:text, I:number, B:base64) when it has them."""

    digest: str
    set: str | None
    key: str | None

    def where(self) -> str:
        """`digest (set s1, key S:user-5)`."""
        named = [f"set {self.set}"] if self.set else []
        named += [f"key {self.key}"] if self.key else []
        return self.digest + (f" ({', '.join(named)})" if named else "")


@dataclass
class Failure(NamedRecord):
    """A record not written, and why."""

    digest: str
    result_code: int | None
    message: str
    set: str | None = None
    key: str | None = None


@dataclass
class RestoreReport:
    server_version: str | None = None
    namespace: str | None = None
    files: list[str] = field(default_factory=list)
    records_read: int = 0
    expired: int = 0
    skipped: int = 0
    err_ignored: int = 0
    inserted: int = 0
    updated: int = 0
    existed: int = 0
    fresher: int = 0
    failed: int = 0
    #: Read but neither written nor counted otherwise: only when the restore stopped early.
    not_written: int = 0
    retries: int = 0
    udfs: int = 0
    indexes_created: int = 0
    indexes_matched: int = 0
    indexes_replaced: int = 0
    indexes_skipped: int = 0
    bytes_read: int = 0
    #: The inputs' size, when known (not for stdin without -:BYTES).
    total_bytes: int = 0
    duration_seconds: float = 0.0
    interrupted: bool = False
    #: The first records not written (or ignored), with why.
    failures: list[Failure] = field(default_factory=list)

    @property
    def indexes(self) -> int:
        return self.indexes_created + self.indexes_matched + self.indexes_replaced

    def started(self) -> bool:
        """Whether anything was read for writing (else a failure came before the first
        write, and only its error is said)."""
        return bool(self.records_read or self.udfs or self.indexes or self.indexes_skipped)

    def machine_summary(self) -> list[object]:
        """asrestore's SUMMARY fields; its format has a space before the inserted count."""
        return [self.udfs, self.indexes, self.records_read, self.expired, self.skipped, f"{self.err_ignored} ",
                self.inserted + self.updated, self.existed, self.fresher]

    def asrestore_lines(self) -> list[str]:
        """asrestore's own closing lines, which operators' scripts parse."""
        seconds = max(self.duration_seconds, 1e-9)
        per = self.bytes_read // self.records_read if self.records_read else 0
        lines = restore_counter_lines(counts_of(self), self.udfs, self.indexes, self.records_read / seconds, self.bytes_read / 1024 / seconds, per)
        if self.total_bytes and not self.interrupted:
            lines.append(f"{min(100, self.bytes_read * 100 // self.total_bytes)}% complete, ~0s remaining")
        return lines


#: A report's field for a counter, where their names differ (the others share theirs).
REPORT_NAMES = {"read": "records_read", "raw_bytes": "bytes_read"}


def _counter_fields(report: object, renamed: dict[str, str]) -> dict[str, str]:
    """Counter name -> the field of `report` that holds it (by REPORT_NAMES and `renamed`),
    for the counters it holds."""
    names = {**REPORT_NAMES, **renamed}
    return {n: names.get(n, n) for n in RestoreCounters.names() if hasattr(report, names.get(n, n))}


def take_counts(report: object, c: RestoreCounters, **renamed: str) -> None:
    """Sets every field of `report` that holds a counter to the counter's value."""
    for name, field_name in _counter_fields(report, renamed).items():
        setattr(report, field_name, getattr(c, name))


def counts_of(report: object, **renamed: str) -> RestoreCounters:
    """The counters a report holds (the others 0): `take_counts` the other way."""
    return RestoreCounters(**{name: getattr(report, f) for name, f in _counter_fields(report, renamed).items()})


def restore_counter_lines(c: RestoreCounters, udfs: int, indexes: int, rec_s: float, kib_s: float, per_record: int) -> list[str]:
    """asrestore's two counter lines (its progress and its closing words): its 'inserted'
    is every record written, its 'failed' the existing and fresher ones."""
    return [
        f"{udfs} UDF file(s), {indexes} secondary index(es), {c.read} record(s) "
        f"({int(rec_s)} rec/s, {int(kib_s)} KiB/s, {per_record} B/rec, retries: {c.retries})",
        f"Expired {c.expired} : skipped {c.skipped} : err_ignored {c.err_ignored} : "
        f"inserted {c.inserted + c.updated}: failed {c.existed + c.fresher} "
        f"(existed {c.existed} , fresher {c.fresher})",
    ]


