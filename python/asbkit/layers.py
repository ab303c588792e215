"""Which zstd/AES layers a backup has, as the C tools' flags say it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .errors import AsbKeyError
from .keys import material_from_env, material_from_file

CIPHERS = ("aes128", "aes256")


@dataclass(frozen=True)
class Layers:
    """`--compress`, `--encrypt` and the key options of asbackup/asrestore."""

    compress: str | None = None
    encrypt: str | None = None
    key_file: str | None = None
    key_env: str | None = None
    compression_level: int = 0

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

    def codec_args(self) -> dict[str, Any]:
        """Keyword arguments for the codec's Reader, Writer and Scanner."""
        material = None
        if self.key_file:
            material = material_from_file(self.key_file)
        elif self.key_env:
            material = material_from_env(self.key_env)
        return {
            "zstd": self.compress == "zstd",
            "cipher": self.encrypt,
            "key_material": material,
        }
