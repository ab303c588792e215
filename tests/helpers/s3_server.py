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
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "asbkit-test", "AWS_SECRET_ACCESS_KEY": "asbkit-test-secret", "AWS_DEFAULT_REGION": "us-east-1"}


@dataclass
class S3Server:
    endpoint: str
    client: Any

    def flags(self) -> list[str]:
        return ["--s3-endpoint-override", self.endpoint]

    def bucket(self, name: str) -> str:
        """A new empty bucket (any left by an earlier test emptied first)."""
        try:
            self.client.create_bucket(Bucket=name)
        except self.client.exceptions.BucketAlreadyOwnedByYou:
            pass
        self.empty(name)  # us-east-1 answers 200 to a bucket made again
        return name

    def empty(self, bucket: str) -> None:
        for key in self.keys(bucket):
            self.client.delete_object(Bucket=bucket, Key=key)
        for up in self.uploads(bucket):
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


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    try:
        import boto3
        import moto.server  # noqa: F401 (only to know it is there)
    except ImportError as exc:
        pytest.skip(f"the S3 tests need moto[server] and boto3 (pip install '.[test]'): {exc}")
    saved = {k: os.environ.get(k) for k in CREDENTIALS}
    os.environ.update(CREDENTIALS)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                pytest.fail("moto's S3 server did not start")
            time.sleep(0.1)
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
