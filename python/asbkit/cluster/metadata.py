"""The cluster metadata a backup holds: secondary index and UDF definitions, read from the
cluster's `sindex-list` and `udf-list`/`udf-get` answers into the entities asbackup writes
into the first file."""

from __future__ import annotations

import base64
import logging
from typing import Any

import asbkit._codec as _codec

from ..errors import AsbClusterError
from .client import Cluster, info_fields

log = logging.getLogger("asbkit.cluster")

#: `sindex-list` index types (indextype=) and bin types (type=) → the `.asb` letters.
INDEX_TYPES = {"default": "N", "none": "N", "list": "L", "mapkeys": "K", "mapvalues": "V"}
PATH_TYPES = {"string": "S", "text": "S", "numeric": "N", "int signed": "N", "blob": "B", "geo2dsphere": "G", "geojson": "G"}


def cluster_metadata(
    cluster: Cluster, namespace: str, sets: list[str], *, indexes: bool = True, udfs: bool = True
) -> tuple[list[Any], list[Any]]:
    """The namespace's secondary indexes (of `sets` only, when given) and the cluster's UDFs,
    said in asbackup's words."""
    found_indexes: list[Any] = []
    found_udfs: list[Any] = []
    if indexes:
        reply = cluster.info_any(f"sindex-list:ns={namespace};b64=true").strip()
        entries = [e for e in reply.split(";") if e]
        index_set = index_sets(cluster, namespace, entries)
        parsed = [idx for idx in (parse_sindex(namespace, entry, index_set) for entry in entries) if idx is not None]
        found_indexes = [idx for idx in parsed if not sets or idx.set in sets]
        if parsed:
            log.info("Backing up %d secondary index(es)", len(parsed))
        else:
            log.info("No secondary indexes")
        if len(parsed) > len(found_indexes):
            log.info("Skipped %d index(es) with unwanted set(s)", len(parsed) - len(found_indexes))
    if udfs:
        reply = cluster.info_any("udf-list").strip()
        for entry in (e for e in reply.split(";") if e):
            fields = info_fields(entry, ",")
            name = fields.get("filename")
            if not name:
                continue
            got = cluster.info_any(f"udf-get:filename={name}").strip()
            parts = info_fields(got)
            if "content" not in parts:
                raise AsbClusterError(f"UDF {name}: the server did not return its content ({got[:80]})")
            found_udfs.append(_codec.Udf(name, base64.b64decode(parts["content"]), "L"))
    return found_indexes, found_udfs


#: What `sindex-list` says for an index without a set (8.x; older servers: `NULL`) — and
#: for an index on a set really named so.
NO_SET_WORDS = ("null", "NULL")


def index_sets(cluster: Cluster, namespace: str, entries: list[str]) -> dict[str, str | None]:
    """The set of each index whose `sindex-list` entry says `set=null`: none, or a set
    named `null`. `sindex-list` cannot tell them apart; the server's index definitions
    (`smd-show:module=sindex`, keys `ns|set|bin|…`, the set empty for none) can. Without
    them, a set named `null` that holds no index (`sets/NS/null`: `sindexes=0`) means none;
    otherwise the index is taken as on no set, and the log says so."""
    unclear = [f["indexname"] for f in (info_fields(e, ":") for e in entries) if f.get("set") in NO_SET_WORDS and "indexname" in f]
    if not unclear:
        return {}
    try:
        smd = cluster.info_any("smd-show:module=sindex").strip()
    except AsbClusterError:
        smd = ""
    found: dict[str, str | None] = {}
    for item in smd.split(";"):
        key, sep, name = item.rpartition("=")
        parts = key.split("|")
        if sep and len(parts) >= 3 and parts[0] == namespace and name in unclear:
            found[name] = parts[1] or None
    missing = [n for n in unclear if n not in found]
    if missing:
        held = 0
        for word in NO_SET_WORDS:
            try:
                held += int(info_fields(cluster.info_any(f"sets/{namespace}/{word}").strip().rstrip(";"), ":").get("sindexes", "0") or 0)
            except (AsbClusterError, ValueError):
                held = -1
                break
        if held != 0:
            log.warning(
                "secondary index(es) %s: the server lists them with set=null and a set named null has indexes: "
                "taken as indexes on no set", ", ".join(missing),
            )
        found.update({n: None for n in missing})
    return found


def parse_sindex(namespace: str, entry: str, sets: dict[str, str | None] | None = None) -> Any:
    """One `sindex-list` entry as a SecondaryIndex (`sets`: the set of the indexes that say
    `set=null`, from index_sets); None for an expression index."""
    fields = info_fields(entry, ":")
    name = fields.get("indexname")
    if not name:
        raise AsbClusterError(f"a secondary index without a name in sindex-list: {entry[:120]}")
    bin_name = fields.get("bin")
    if not bin_name or bin_name == "NULL":
        # An expression index: the C tool cannot write it either; said, not hidden.
        log.warning("secondary index %s has no bin (an expression index): not backed up", name)
        return None
    itype = INDEX_TYPES.get(fields.get("indextype", "default").lower())
    ptype = PATH_TYPES.get(fields.get("type", "").lower())
    if itype is None or ptype is None:
        raise AsbClusterError(f"secondary index {name}: unknown type {fields.get('indextype')}/{fields.get('type')}")
    set_name = fields.get("set")
    if set_name in NO_SET_WORDS:
        set_name = (sets or {}).get(name)
    ctx = fields.get("context")
    if ctx in (None, "null", "NULL"):
        ctx = None
    return _codec.SecondaryIndex(namespace, set_name or "", name, itype, [(bin_name, ptype)], ctx)
