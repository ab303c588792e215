"""Which zstd/AES layers a backup has, as the C tools' flags say it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypedDict

from ..errors import AsbKeyError
from ..spec import option
from .keys import material_from_env, material_from_file

CIPHERS = ("aes128", "aes256")
LAYERS = "layers (as asbackup/asrestore take them)"
#: The commands that write `.asb` files (the others read them).
WRITING = ("backup", "convert", "filter", "split")


class CodecLayers(TypedDict):
    """The layers as the codec takes them (`layers=`): zstd, its level when writing (0: its
    default), encryption as (cipher, key material) or None."""

    zstd: bool
    level: int
    encryption: tuple[str, bytes] | None


@dataclass(frozen=True)
class Layers:
    """`--compress`, `--encrypt` and the key options of asbackup/asrestore."""

    compress: str | None = option(
        "-z", "--compress", choices=["zstd"], group=LAYERS,
        help={"backup": "compress the files with zstd", "*": "the files are zstd-compressed"},
    )
    #: zstd's level when writing (0: its default, 3).
    compression_level: int = option(
        "--compression-level", type=int, default=0, metavar="N", contexts=WRITING,
        group={"backup": LAYERS, "*": None},
        help={"backup": "zstd level (0: default 3)", "convert": "zstd level when writing .asb (0: default 3)", "*": None},
    )
    encrypt: str | None = option(
        "-y", "--encrypt", choices=CIPHERS, group=LAYERS,
        help={"backup": "encrypt the files", "*": "the files are encrypted"},
    )
    key_file: str | None = option(
        "--encryption-key-file", metavar="PEM", group=LAYERS,
        help={"backup": "private key to derive the encryption key from", "*": "private key the backup was encrypted with"},
    )
    key_env: str | None = option("--encryption-key-env", metavar="VAR", group=LAYERS, help="environment variable holding the base64 key")

    def __post_init__(self) -> None:
        if self.compress not in (None, "zstd"):
            raise ValueError(f"unknown compression {self.compress!r} (only zstd exists)")
        if self.encrypt is not None and self.encrypt not in CIPHERS:
            raise ValueError(f"unknown encryption {self.encrypt!r} (aes128 or aes256)")
        if self.encrypt and not (self.key_file or self.key_env):
            raise AsbKeyError(
                f"--encrypt {self.encrypt} needs --encryption-key-file or --encryption-key-env"
            )
        if (self.key_file or self.key_env) and not self.encrypt:
            raise AsbKeyError("an encryption key was given without --encrypt aes128|aes256")
        if self.key_file and self.key_env:
            raise AsbKeyError("give --encryption-key-file or --encryption-key-env, not both")

    def describe(self) -> str:
        parts = [p for p in (self.compress, self.encrypt) if p]
        return "+".join(parts) or "plain"

    def codec_args(self) -> CodecLayers:
        """The layers as the codec takes them (its `layers=` argument): zstd, its level, and
        encryption as (cipher, key material) or None."""
        encryption = None
        if self.encrypt:
            material = material_from_file(self.key_file) if self.key_file else material_from_env(self.key_env or "")
            encryption = (self.encrypt, material)
        return {"zstd": self.compress == "zstd", "level": self.compression_level, "encryption": encryption}
