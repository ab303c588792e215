"""A real S3 API server on loopback for the object storage tests: moto's server mode, in a
process of its own (so the test process's GIL never stands between the store and the
server), reached over TCP by asbkit's Rust store, by the CLI in subprocesses, and by boto3
to look at what landed. Skips, saying why, when moto is not installed."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

#: Credentials the test server takes (moto checks none; s3s-fs would).
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "asbkit-test", "AWS_SECRET_ACCESS_KEY": "asbkit-test-secret", "AWS_DEFAULT_REGION": "us-east-1",
    # Never ask an instance metadata service for credentials: only loopback is reached here.
    "AWS_EC2_METADATA_DISABLED": "true",
}


@dataclass
class S3Server:
    endpoint: str
    client: Any
    #: s3s-fs has no ListMultipartUploads.
    lists_uploads: bool = True

    def flags(self) -> list[str]:
        return ["--s3-endpoint-override", self.endpoint]

    def bucket(self, name: str) -> str:
        """A new empty bucket (any left by an earlier test emptied first)."""
        try:
            self.client.create_bucket(Bucket=name)
        except (self.client.exceptions.BucketAlreadyOwnedByYou, self.client.exceptions.BucketAlreadyExists):
            pass
        self.empty(name)  # us-east-1 answers 200 to a bucket made again
        return name

    def empty(self, bucket: str) -> None:
        for key in self.keys(bucket):
            self.client.delete_object(Bucket=bucket, Key=key)
        for up in self.uploads(bucket) if self.lists_uploads else []:
            self.client.abort_multipart_upload(Bucket=bucket, Key=up["Key"], UploadId=up["UploadId"])

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        out: list[str] = []
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            out += [o["Key"] for o in page.get("Contents", [])]
        return sorted(out)

    def uploads(self, bucket: str) -> list[dict[str, Any]]:
        return list(self.client.list_multipart_uploads(Bucket=bucket).get("Uploads", []))

    def get(self, bucket: str, key: str) -> bytes:
        return bytes(self.client.get_object(Bucket=bucket, Key=key)["Body"].read())

    def put(self, bucket: str, key: str, data: bytes) -> None:
        self.client.put_object(Bucket=bucket, Key=key, Body=data)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for(server: subprocess.Popen[bytes], port: int, what: str) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                pytest.fail(f"{what} did not start")
            time.sleep(0.1)


@pytest.fixture(scope="session")
def s3s_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """s3s-fs (crates.io: `cargo install s3s-fs --features binary`), which checks request
    signatures and payload checksums, on loopback with the test credentials."""
    import shutil

    binary = shutil.which("s3s-fs")
    if binary is None:
        pytest.skip("s3s-fs is not installed (cargo install s3s-fs@0.14.1 --features binary): the signature and checksum tests need it")
    import boto3

    os.environ.update(CREDENTIALS)
    port = _free_port()
    root = tmp_path_factory.mktemp("s3s")
    server = subprocess.Popen(
        [binary, "--host", "127.0.0.1", "--port", str(port), "--access-key", CREDENTIALS["AWS_ACCESS_KEY_ID"], "--secret-key", CREDENTIALS["AWS_SECRET_ACCESS_KEY"], str(root)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    _wait_for(server, port, "s3s-fs")
    endpoint = f"http://127.0.0.1:{port}"
    client = boto3.client(
        "s3", endpoint_url=endpoint, region_name="us-east-1",
        aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"], aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )
    try:
        yield S3Server(endpoint, client, lists_uploads=False)
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    try:
        import boto3
        import moto.server  # noqa: F401 (only to know it is there)
    except ImportError as exc:
        pytest.skip(f"the S3 tests need moto[server] and boto3 (pip install '.[test]'): {exc}")
    saved = {k: os.environ.get(k) for k in CREDENTIALS}
    os.environ.update(CREDENTIALS)
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    _wait_for(server, port, "moto's S3 server")
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    from asbkit.io import s3

    s3.configure(s3.S3Options(s3_endpoint_override=endpoint))
    try:
        yield S3Server(endpoint, client)
    finally:
        server.terminate()
        server.wait(timeout=10)
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
