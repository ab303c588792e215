"""Against s3s-fs, an S3 server that checks request signatures and payload checksums (skips
when it is not installed): wrong credentials, a wrong secret and a part damaged on the way
are refused in words that name bucket and key, and nothing that is not in the bucket is
reported as written."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from asbkit.io import write_synthetic

from ..helpers.faultproxy import FaultProxy, Faults
from ..helpers.s3_server import S3Server


def _filter(server: S3Server, src: Path, url: str, *flags: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "asbkit", "filter", str(src), url, "--s3-endpoint-override", server.endpoint, "--s3-max-retries", "1", *flags],
        capture_output=True, text=True, timeout=300, env={**os.environ, **(env or {})},
    )


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("big") / "big.asb"
    write_synthetic(path, 12 << 20, seed=11)  # three 5 MiB parts
    return path


@pytest.mark.parametrize("checksum", ["none", "sha256", "crc64"])
def test_signed_uploads_land_whole_with_each_checksum_mode(s3s_server: S3Server, big: Path, checksum: str) -> None:
    bucket = s3s_server.bucket("signed")
    p = _filter(s3s_server, big, f"s3://{bucket}/{checksum}.asb", "--s3-checksum", checksum)
    assert p.returncode == 0, p.stderr
    assert s3s_server.get(bucket, f"{checksum}.asb") == big.read_bytes()


def test_wrong_credentials_are_refused_in_words(s3s_server: S3Server, big: Path) -> None:
    bucket = s3s_server.bucket("creds")
    p = _filter(s3s_server, big, f"s3://{bucket}/k.asb", env={"AWS_ACCESS_KEY_ID": "nobody"})
    assert p.returncode != 0 and f"s3://{bucket}/k.asb" in p.stderr, p.stderr
    assert "access key" in p.stderr or "permission" in p.stderr, p.stderr
    p = _filter(s3s_server, big, f"s3://{bucket}/k.asb", env={"AWS_SECRET_ACCESS_KEY": "wrong-secret"})
    assert p.returncode != 0 and f"s3://{bucket}/k.asb" in p.stderr and "secret key is wrong" in p.stderr, p.stderr
    assert "wrote" not in p.stdout
    assert s3s_server.keys(bucket) == []


def _through(proxy: FaultProxy, big: Path, url: str) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            [sys.executable, "-m", "asbkit", "filter", str(big), url, "--s3-endpoint-override", f"http://{proxy.addr}", "--s3-max-retries", "1"],
            capture_output=True, text=True, timeout=300,
        )
    finally:
        proxy.close()


def test_parts_damaged_on_the_way_are_refused_by_the_store_and_sent_again(s3s_server: S3Server, big: Path) -> None:
    bucket = s3s_server.bucket("damaged")
    host, port = s3s_server.endpoint.rsplit("/", 1)[-1].split(":")
    # One byte flipped 5 MiB into each connection: inside a part's body, the store refuses
    # the part (its signed SHA-256 does not match) and it goes again on a new connection.
    proxy = FaultProxy((host, int(port)), Faults(corrupt_after_bytes=(5 << 20) + 4096, times=-1, downstream=False))
    p = _through(proxy, big, f"s3://{bucket}/d.asb")
    assert proxy.faulted >= 1, "the damage really happened"
    assert p.returncode == 0, p.stderr
    assert s3s_server.get(bucket, "d.asb") == big.read_bytes()


def test_a_part_damaged_on_every_try_stops_in_words_and_nothing_is_said_written(s3s_server: S3Server, big: Path) -> None:
    bucket = s3s_server.bucket("damagedalways")
    host, port = s3s_server.endpoint.rsplit("/", 1)[-1].split(":")
    # A byte flipped every 64 KiB of every connection: no part body gets through whole.
    proxy = FaultProxy((host, int(port)), Faults(corrupt_after_bytes=64 << 10, corrupt_every_bytes=64 << 10, times=-1, downstream=False))
    p = _through(proxy, big, f"s3://{bucket}/d.asb")
    assert proxy.faulted >= 1
    assert p.returncode != 0 and f"s3://{bucket}/d.asb" in p.stderr, p.stderr
    # s3s-fs 0.14 answers a payload that does not match its signed SHA-256 with a 500
    # (AWS: XAmzContentSHA256Mismatch, said as damage on the way): the part is named.
    assert "could not be uploaded" in p.stderr, p.stderr
    assert "wrote" not in p.stdout
    assert s3s_server.keys(bucket) == []  # (s3s-fs cannot list uploads; moto's tests check none is left)


def test_credentials_from_a_profile_as_the_aws_tools_find_them(s3s_server: S3Server, big: Path, tmp_path: Path) -> None:
    bucket = s3s_server.bucket("profiles")
    creds = tmp_path / "credentials"
    creds.write_text(
        "[default]\naws_access_key_id = nobody\naws_secret_access_key = nothing\n\n"
        f"[backup]\naws_access_key_id = {os.environ['AWS_ACCESS_KEY_ID']}\naws_secret_access_key = {os.environ['AWS_SECRET_ACCESS_KEY']}\n"
    )
    config = tmp_path / "config"
    config.write_text("[profile backup]\nregion = us-east-1\n")
    env = {k: v for k, v in os.environ.items() if k not in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE")}
    env.update(AWS_SHARED_CREDENTIALS_FILE=str(creds), AWS_CONFIG_FILE=str(config))
    run = lambda *flags: subprocess.run(
        [sys.executable, "-m", "asbkit", "filter", str(big), f"s3://{bucket}/p.asb", "--s3-endpoint-override", s3s_server.endpoint, "--s3-max-retries", "0", *flags],
        capture_output=True, text=True, timeout=300, env=env,
    )
    wrong = run()  # the default profile's keys are not the store's
    assert wrong.returncode != 0 and f"s3://{bucket}/p.asb" in wrong.stderr, wrong.stderr
    p = run("--s3-profile", "backup")
    assert p.returncode == 0, p.stderr
    assert s3s_server.get(bucket, "p.asb") == big.read_bytes()
    missing = run("--s3-profile", "nosuch")
    assert missing.returncode == 2 and "nosuch" in missing.stderr, missing.stderr
