"""Putting a backup's secondary indexes and UDFs on a cluster, as asrestore does:
a UDF is registered; an index that exists identically is left alone, one of the same name
that differs is dropped (waited out) and created again, a missing one is created."""

from __future__ import annotations

import base64
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from ..cluster.client import Cluster, info_fields
from ..cluster.metadata import NO_SET_WORDS, index_sets
from ..errors import AsbClusterError

log = logging.getLogger("asbkit.restore")

#: `.asb` letters → the words `sindex-create` takes.
INDEX_WORDS = {"N": "default", "L": "list", "K": "mapkeys", "V": "mapvalues"}
PATH_WORDS = {"N": "numeric", "S": "string", "B": "blob", "G": "geo2dsphere"}


@dataclass
class MetadataCounts:
    udfs: int = 0
    indexes_created: int = 0
    #: Already on the cluster exactly as in the backup: left alone.
    indexes_matched: int = 0
    #: On the cluster under the same name but different: dropped and created again.
    indexes_replaced: int = 0
    #: On sets that --set-list leaves out.
    indexes_skipped: int = 0
    replaced_names: list[str] = field(default_factory=list)

    @property
    def indexes(self) -> int:
        return self.indexes_created + self.indexes_matched + self.indexes_replaced


class MetadataApplier:
    """Applies indexes and UDFs as a restore meets them (or at the end with -L)."""

    def __init__(self, cluster: Cluster, namespace_map: tuple[str, str] | None, sets: list[str], timeout_s: float = 10.0) -> None:
        self.cluster = cluster
        self.rename = namespace_map
        self.sets = sets
        self.timeout_s = timeout_s
        self.counts = MetadataCounts()
        self._udfs: list[str] = []
        self._indexes: list[tuple[str, str]] = []

    def apply(self, entity: Any) -> None:
        if hasattr(entity, "content"):
            self.put_udf(entity)
        else:
            self.put_index(entity)

    def put_udf(self, udf: Any) -> None:
        content = base64.b64encode(bytes(udf.content)).decode()
        reply = self.cluster.info_any(
            f"udf-put:filename={udf.name};content={content};content-len={len(content)};udf-type=LUA;"
        ).strip()
        if reply.lower().startswith("error") or "error=" in reply:
            raise AsbClusterError(f"UDF {udf.name} could not be registered: {reply[:200]} (-F/--no-udfs leaves UDFs out)")
        self.counts.udfs += 1
        self._udfs.append(udf.name)
        log.info("Restoring UDF file %s (size %d)", udf.name, len(bytes(udf.content)))

    def _existing(self, namespace: str) -> dict[str, dict[str, str]]:
        """The namespace's indexes by name, as `sindex-list` describes them (but `set` empty
        for an index on no set, told from one on a set named `null`)."""
        reply = self.cluster.info_any(f"sindex-list:ns={namespace};b64=true").strip()
        entries = [e for e in reply.split(";") if e]
        sets = index_sets(self.cluster, namespace, entries)
        out = {}
        for entry in entries:
            fields = info_fields(entry, ":")
            if "indexname" in fields:
                if fields.get("set") in NO_SET_WORDS:
                    fields["set"] = sets.get(fields["indexname"]) or ""
                out[fields["indexname"]] = fields
        return out

    @staticmethod
    def _described(idx: Any) -> dict[str, str]:
        """How `sindex-list` would describe the backup's index."""
        bin_name, ptype = idx.paths[0] if idx.paths else ("", "N")
        return {
            "set": idx.set or "",
            "bin": bin_name if not idx.expression else "null",
            "type": PATH_WORDS.get(ptype, "?"),
            "indextype": INDEX_WORDS.get(idx.index_type, "?"),
            "context": idx.context or "null",
            "exp": idx.expression or "null",
        }

    def put_index(self, idx: Any) -> None:
        namespace = idx.namespace
        if self.rename and namespace == self.rename[0]:
            namespace = self.rename[1]
        if self.sets and (idx.set or "") not in self.sets:
            self.counts.indexes_skipped += 1
            return
        if idx.index_type == "S":
            self._set_index(namespace, idx)
            return
        found = self._existing(namespace).get(idx.name)
        want = self._described(idx)
        if found is not None and all(found.get(k, "null").lower() == v.lower() if k != "set" else found.get(k) == v for k, v in want.items()):
            self.counts.indexes_matched += 1
            log.info("secondary index %s exists as in the backup: left alone", idx.name)
            return
        if found is not None:
            log.warning("secondary index %s differs on the cluster: dropping and creating it as in the backup", idx.name)
            self._drop(namespace, idx.name)
            self.counts.indexes_replaced += 1
            self.counts.replaced_names.append(idx.name)
        else:
            self.counts.indexes_created += 1
        self._create(namespace, idx)
        self._indexes.append((namespace, idx.name))

    def _set_index(self, namespace: str, idx: Any) -> None:
        """A set index (absctl's `* i … S`): the set's enable-index switch."""
        stats = info_fields(self.cluster.info_any(f"sets/{namespace}/{idx.set}").strip().rstrip(";"), ":")
        if stats.get("enable-index") == "true":
            self.counts.indexes_matched += 1
            return
        reply = self.cluster.info_any(f"set-config:context=namespace;id={namespace};set={idx.set};enable-index=true").strip()
        if reply.lower() != "ok":
            raise AsbClusterError(f"the set index of {idx.set} could not be enabled: {reply[:200]}")
        self.counts.indexes_created += 1

    def _drop(self, namespace: str, name: str) -> None:
        reply = self.cluster.info_any(f"sindex-delete:namespace={namespace};indexname={name}").strip()
        if reply.lower().startswith("error") and ":201:" not in reply:
            raise AsbClusterError(f"secondary index {name} could not be dropped: {reply[:200]}")
        for _ in range(10):
            if name not in self._existing(namespace):
                return
            time.sleep(1.0)
        raise AsbClusterError(f"secondary index {name} was still there 10 s after it was dropped")

    def _create(self, namespace: str, idx: Any) -> None:
        if len(idx.paths) != 1:
            raise AsbClusterError(f"secondary index {idx.name} has {len(idx.paths)} paths; the server takes one")
        (bin_name, ptype), = idx.paths
        what = f"exp={idx.expression}" if idx.expression else f"bin={bin_name}"
        command = (
            f"sindex-create:namespace={namespace};"
            + (f"set={idx.set};" if idx.set else "")
            + f"indexname={idx.name};{what};type={PATH_WORDS[ptype]};indextype={INDEX_WORDS[idx.index_type]}"
            + (f";context={idx.context}" if idx.context else "")
        )
        reply = self.cluster.info_any(command).strip()
        if reply.lower() != "ok":
            raise AsbClusterError(f"secondary index {idx.name} could not be created: {reply[:200]} (-I/--no-indexes leaves indexes out)")
        log.info("created secondary index %s", idx.name)

    def wait(self) -> None:
        """`--wait`: every index built on every node, every UDF on every node."""
        deadline = time.monotonic() + max(self.timeout_s, 60.0)
        for namespace, name in self._indexes:
            while True:
                stats = self.cluster.info_all(f"sindex-stat:namespace={namespace};indexname={name}")
                if stats and all(info_fields(s).get("load_pct") == "100" for s in stats.values()):
                    break
                if time.monotonic() > deadline:
                    raise AsbClusterError(f"secondary index {name} was not built in time (--wait)")
                time.sleep(0.5)
        for udf in self._udfs:
            while True:
                lists = self.cluster.info_all("udf-list")
                if lists and all(f"filename={udf}," in s for s in lists.values()):
                    break
                if time.monotonic() > deadline:
                    raise AsbClusterError(f"UDF {udf} did not reach every node in time (--wait)")
                time.sleep(0.5)

