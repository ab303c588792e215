"""The package's version (the Rust extension's, set by maturin from the crate: no metadata
lookup at import)."""

from ._codec import __version__

__all__ = ["__version__"]
