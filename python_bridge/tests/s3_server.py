"""A real S3-speaking server for the tests: moto's standalone server in a subprocess on loopback."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
from server_process import free_port

# moto accepts any credentials; boto3 needs some, and a region.
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "o16n-test", "AWS_SECRET_ACCESS_KEY": "o16n-test-secret",
               "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1"}


class S3Server:
    def __init__(self, log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> S3Server:
        moto = Path(sys.executable).with_name("moto_server")
        self.process = subprocess.Popen([str(moto), "-H", "127.0.0.1", "-p", str(self.port)],
                                        stdout=open(self.log, "ab"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                httpx.get(self.url, timeout=1)
                return self
            except httpx.TransportError:
                time.sleep(0.1)
        raise RuntimeError(f"moto_server did not start: {self.log.read_text()}")

    def client(self):  # noqa: ANN201 - a boto3 S3 client
        import boto3

        return boto3.client("s3", endpoint_url=self.url, **{
            "aws_access_key_id": CREDENTIALS["AWS_ACCESS_KEY_ID"],
            "aws_secret_access_key": CREDENTIALS["AWS_SECRET_ACCESS_KEY"], "region_name": "us-east-1"})

    def bucket(self, name: str) -> str:
        self.client().create_bucket(Bucket=name)
        return name

    def environment(self) -> dict[str, str]:
        """What an o16n node needs to use this server."""
        return {**CREDENTIALS, "O16N_S3_ENDPOINT_URL": self.url}

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)


def use_credentials() -> None:
    os.environ.update(CREDENTIALS)
