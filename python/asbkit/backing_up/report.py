"""What a backup reports: its files, counts and where it stands."""

from __future__ import annotations

from dataclasses import dataclass, field

from .estimate import Estimate


@dataclass
class BackupFile:
    name: str
    records: int
    bytes: int
    sha256: str | None


@dataclass
class ShardReport:
    """One shard of a backup run on Dask: its partitions, where it ran, what it wrote."""

    number: int
    #: The node that mastered its partitions when planned.
    node: str
    partitions: int
    estimate: int
    records: int = 0
    bytes: int = 0
    #: Its last run's seconds (a shard continued after a lost worker: the continuation's).
    seconds: float = 0.0
    worker: str | None = None
    #: Continued from its saved state (its worker was lost, or the run was continued).
    continued: bool = False
    #: Finished before this run (continued): taken from its manifest, not run again.
    already_done: bool = False

    @property
    def records_per_second(self) -> float:
        return self.records / self.seconds if self.seconds else 0.0


@dataclass
class BackupReport:
    namespace: str
    records: int = 0
    bytes: int = 0
    text_bytes: int = 0
    indexes: int = 0
    udfs: int = 0
    files: list[BackupFile] = field(default_factory=list)
    duration_seconds: float = 0.0
    server_version: str | None = None
    manifest: str | None = None
    #: Written when the backup stopped before its end: continue with `--continue` it.
    state_file: str | None = None
    interrupted: bool = False
    estimate: Estimate | None = None
    #: A backup run on Dask: its shards, and the planner's balance (largest shard's
    #: estimate over the mean).
    shards: list[ShardReport] = field(default_factory=list)
    balance: float | None = None

    def started(self) -> bool:
        """Whether the backup wrote anything (else only its error is said)."""
        return bool(self.files or self.records)

    def summary_line(self) -> str:
        """asbackup's own last line, which scripts parse."""
        per = self.bytes // self.records if self.records else 0
        return (
            f"Backed up {self.records} record(s), {self.indexes} secondary index(es), "
            f"{self.udfs} UDF file(s), {self.bytes} byte(s) in total (~{per} B/rec)"
        )
