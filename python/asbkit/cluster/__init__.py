"""The cluster view, through the official `aerospike` client: connection, nodes, partition
ownership, info commands, the index and UDF definitions, and the filter expressions a
backup sends. Record streams are Rust's (`asbkit._codec`)."""

from .client import Cluster, ClusterConfig, Hosts, Node, TlsOptions, parse_hosts

__all__ = ["Cluster", "ClusterConfig", "Hosts", "Node", "TlsOptions", "parse_hosts"]
