"""The shards of a backup run on many hosts: the partitions cut into shards balanced by
size and grouped by the node that masters them, so each shard reads one node."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Shard:
    number: int
    pids: list[int]
    #: The node that mastered them when planned (a shard reads each partition from its
    #: master at the time, wherever that is).
    node: str
    #: Records expected (the node's master records per partition × partitions).
    estimate: int


def plan_shards(masters: dict[int, str], master_records: dict[str, int], shards: int, pids: list[int] | None = None) -> list[Shard]:
    """`shards` shards (about) of `pids` (all partitions): each node's partitions cut into
    shares in proportion to its records, at least one share for a node with partitions.
    Partitions with no master (a node down) are shared among the nodes' shards evenly:
    they are read from whoever masters them when the shard runs."""
    wanted = sorted(set(pids if pids is not None else range(4096)))
    by_node: dict[str, list[int]] = {}
    orphans: list[int] = []
    for pid in wanted:
        node = masters.get(pid)
        if node is None:
            orphans.append(pid)
        else:
            by_node.setdefault(node, []).append(pid)
    # A partition's size: its node's master records over the partitions it masters (the
    # digest hash spreads records evenly); an orphan's: the mean partition's.
    mastered = {n: sum(1 for m in masters.values() if m == n) for n in by_node}
    size = {pid: master_records.get(n, 0) / max(1, mastered[n]) for n, owned in by_node.items() for pid in owned}
    mean = sum(master_records.values()) / max(1, len(masters))
    names = sorted(by_node) or [""]
    by_node.setdefault(names[0], [])
    for i, pid in enumerate(orphans):
        by_node[names[i % len(names)]].append(pid)
        size[pid] = mean
    total = sum(size.values())
    shards = max(shards, sum(1 for n in names if by_node[n]))
    out: list[Shard] = []
    for n in names:
        owned = sorted(by_node[n])
        if not owned:
            continue
        share = sum(size[p] for p in owned) / total if total else len(owned) / len(wanted)
        k = max(1, min(len(owned), round(shards * share)))
        for i in range(k):
            chunk = owned[len(owned) * i // k : len(owned) * (i + 1) // k]
            out.append(Shard(len(out), chunk, n, round(sum(size[p] for p in chunk))))
    return out


def plan_slices(masters: dict[int, str], master_records: dict[str, int], shards: int, pids: list[int] | None = None) -> list[Shard]:
    """`shards` slices of `pids` (all partitions) of even size, each reading whichever
    nodes master its partitions: a run paced by -L/-N, whose shards must all run at once
    to keep the rate (shards that run one after another cannot share it evenly)."""
    wanted = sorted(set(pids if pids is not None else range(4096)))
    mastered: dict[str, int] = {}
    for node in masters.values():
        mastered[node] = mastered.get(node, 0) + 1
    mean = sum(master_records.values()) / max(1, len(masters))

    def size(pid: int) -> float:
        node = masters.get(pid)
        return master_records.get(node, 0) / max(1, mastered[node]) if node is not None else mean

    k = max(1, min(shards, len(wanted)))
    cuts = [wanted[len(wanted) * i // k : len(wanted) * (i + 1) // k] for i in range(k)]
    return [Shard(i, chunk, EVERY_NODE, round(sum(size(p) for p in chunk))) for i, chunk in enumerate(cuts)]


#: The node of a shard that reads partitions of several nodes.
EVERY_NODE = "*"


def balance(shards: list[Shard]) -> float:
    """The largest shard's estimate over the mean (1.0: perfectly even)."""
    sizes = [s.estimate for s in shards]
    mean = sum(sizes) / len(sizes) if sizes else 0
    return max(sizes) / mean if mean else 1.0
