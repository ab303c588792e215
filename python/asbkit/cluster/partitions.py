"""Which partitions a backup reads, cut into jobs as asbackup cuts them: `-X` ranges and
digests, `-D` after-digest, `-l` node lists, and `--parallel` dividing one range evenly."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

N_PARTITIONS = 4096


def partition_of(digest: bytes) -> int:
    return (digest[0] | digest[1] << 8) & 0x0FFF


@dataclass(frozen=True)
class PartitionRange:
    begin: int
    count: int
    #: Start the first partition strictly after this digest (`-X` digest, `-D`).
    after: bytes | None = None

    @property
    def pids(self) -> list[int]:
        return list(range(self.begin, self.begin + self.count))

    def describe(self) -> str:
        if self.after is not None:
            return f"partition {self.begin} after digest {base64.b64encode(self.after).decode()}" + (
                f" and {self.count - 1} more" if self.count > 1 else ""
            )
        if self.count == 1:
            return f"partition {self.begin}"
        return f"partitions {self.begin}-{self.begin + self.count - 1}"


def _digest(text: str, flag: str) -> bytes:
    try:
        d = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        d = b""
    if len(d) != 20:
        raise ValueError(f"{flag} {text!r}: a digest is the base64 of 20 bytes (28 characters)")
    return d


def parse_partition_list(text: str) -> list[PartitionRange]:
    """`-X begin[-count],…` or base64 digests (that partition, after the digest)."""
    out: list[PartitionRange] = []
    for item in (t.strip() for t in text.split(",")):
        if not item:
            continue
        if len(item) == 28 and not item.replace("-", "").isdigit():
            d = _digest(item, "-X/--partition-list")
            out.append(PartitionRange(partition_of(d), 1, d))
            continue
        begin_text, sep, count_text = item.partition("-")
        if not begin_text.isdigit() or (sep and not count_text.isdigit()):
            raise ValueError(f"-X/--partition-list {item!r}: write begin[-count] or a base64 digest")
        begin, count = int(begin_text), int(count_text) if sep else 1
        if begin >= N_PARTITIONS:
            raise ValueError(f"-X/--partition-list {item!r}: partitions go from 0 to 4095")
        if count < 1 or begin + count > N_PARTITIONS:
            raise ValueError(f"-X/--partition-list {item!r}: begin + count must be at most 4096")
        out.append(PartitionRange(begin, count))
    if not out:
        raise ValueError("-X/--partition-list is empty")
    out.sort(key=lambda r: r.begin)
    for a, b in zip(out, out[1:], strict=False):
        if b.begin < a.begin + a.count:
            raise ValueError(f"-X/--partition-list: {a.describe()} and {b.describe()} overlap")
    return out


def after_digest_range(text: str) -> PartitionRange:
    """`-D`: the digest's partition after it, and every partition after that one."""
    d = _digest(text, "-D/--after-digest")
    pid = partition_of(d)
    return PartitionRange(pid, N_PARTITIONS - pid, d)


def jobs_for(ranges: list[PartitionRange], parallel: int) -> list[PartitionRange]:
    """One job per range; a single range is divided evenly into `parallel` jobs (its digest,
    if any, stays with the job holding that partition)."""
    if len(ranges) != 1:
        return ranges
    r = ranges[0]
    n = max(1, min(parallel, r.count))
    jobs = []
    for i in range(n):
        begin = r.begin + r.count * i // n
        end = r.begin + r.count * (i + 1) // n
        after = r.after if r.after is not None and begin == r.begin else None
        jobs.append(PartitionRange(begin, end - begin, after))
    return jobs
