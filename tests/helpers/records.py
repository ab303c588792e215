"""Hypothesis strategies for arbitrary records (names and values as the C tools can carry
them), shared by the round-trip and the C differential tests."""

from __future__ import annotations

from hypothesis import strategies as st

from asbkit import Bin, Key, Record

BLOB_LETTERS = "BJCPRHEYML"


def text(max_size: int, min_size: int = 0) -> st.SearchStrategy[str]:
    """Arbitrary bytes but NUL (the C tools cannot carry it in names), shown as the API
    shows them: str with surrogate escapes."""
    return st.binary(min_size=min_size, max_size=max_size).map(
        lambda b: b.replace(b"\0", b"\1").decode("utf-8", "surrogateescape")
    )


doubles = st.floats(allow_nan=True, allow_infinity=True)

bins = st.one_of(
    st.builds(lambda n: Bin(n, "N", None), text(15)),
    st.builds(lambda n, v: Bin(n, "Z", v), text(15), st.booleans()),
    st.builds(lambda n, v: Bin(n, "I", v), text(15), st.integers(-(2**63), 2**63 - 1)),
    st.builds(lambda n, v: Bin(n, "D", v), text(15), doubles),
    st.builds(lambda n, t, v: Bin(n, t, v), text(15), st.sampled_from("SG"), text(60)),
    st.builds(
        lambda n, t, v, c: Bin(n, t, v, c), text(15), st.sampled_from(BLOB_LETTERS), st.binary(max_size=60), st.booleans()
    ),
)

keys = st.one_of(
    st.none(),
    st.builds(lambda v: Key("I", v), st.integers(-(2**63), 2**63 - 1)),
    st.builds(lambda v: Key("D", v), doubles),
    st.builds(lambda v: Key("S", v), text(40)),
    st.builds(lambda v, c: Key("B", v, c), st.binary(max_size=40), st.booleans()),
)

records = st.builds(
    lambda ns, digest, bs, s, k, g, t: Record(ns, digest, bs, set=s, key=k, generation=g, void_time=t),
    text(31),
    st.binary(min_size=20, max_size=20),
    st.lists(bins, max_size=6),
    st.one_of(st.none(), text(63)),
    keys,
    st.integers(0, 65535),
    st.integers(0, 2**32 - 1),
)
