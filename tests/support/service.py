"""The service as a real subprocess: `python -m function_app serve` on a loopback port, for the tests
that drive it over HTTP (the SDK, requests, the edge client); and its command line, run once."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from function_app.storage import Storage
from function_app.storage.azure_storage import AzureStorage
from function_app.storage.local_folder import LocalFolderStorage

from .azurite import free_port

PROJECT = Path(__file__).resolve().parents[2]


def start_server(
    env: dict[str, str], log: Path, port: int | None = None, threads: int | None = None, project: Path = PROJECT
) -> tuple[subprocess.Popen, str]:
    """Serve on `port` (a free one by default); the log is appended to, so a restart keeps it whole. `project`:
    the checkout whose code serves (another one: a benchmark's baseline)."""
    port = port or free_port()
    more = ["--threads", str(threads)] if threads else []
    with open(log, "ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "function_app", "serve", "--port", str(port), *more],
            cwd=project,
            env={**os.environ, "PYTHONPATH": str(project), **env},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    endpoint = f"http://127.0.0.1:{port}"
    wait_until_serving(endpoint, process, log)
    return process, endpoint


def wait_until_serving(endpoint: str, process: subprocess.Popen, log: Path, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}:\n{log.read_text()}")
        try:
            requests.get(f"{endpoint}/api/openapi.json", timeout=1)
            return
        except requests.ConnectionError:
            time.sleep(0.2)
    raise RuntimeError(f"the server did not answer within {timeout} s:\n{log.read_text()}")


def stop_server(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def serving(env: dict[str, str], log: Path) -> Iterator[str]:
    """The server's URL while it serves with `env` (started and stopped around the block)."""
    process, url = start_server(env, log)
    try:
        yield url
    finally:
        stop_server(process)


def run_cli(*args: str, data: Path, **settings: str) -> subprocess.CompletedProcess:
    return run_checkout_cli(PROJECT, *args, data=data, **settings)


def run_checkout_cli(project: Path, *args: str, data: Path, **settings: str) -> subprocess.CompletedProcess:
    """The command line of `project`'s code (another checkout: a benchmark's baseline)."""
    env = {**os.environ, "STORAGE_DIR": str(data), "STORAGE_BACKEND": "local", **settings}
    return subprocess.run(
        [sys.executable, "-m", "function_app", *args], cwd=project, env=env, capture_output=True, text=True, timeout=300
    )


def served_storage(request: pytest.FixtureRequest, kind: str, folder: Path) -> tuple[dict[str, str], Storage]:
    """The server's storage settings and the same storage for the test: `local` (a folder in `folder`) or
    `azurite` (the session's Azurite)."""
    if kind == "local":
        return {"STORAGE_BACKEND": "local", "STORAGE_DIR": str(folder / "data")}, LocalFolderStorage(folder / "data")
    connection_string = request.getfixturevalue("azurite_connection_string")
    env = {"STORAGE_BACKEND": "azure", "AZURE_STORAGE_CONNECTION_STRING": connection_string}
    return env, AzureStorage(connection_string)


def keyed_session(key: str) -> requests.Session:
    """A session that sends the service's key with every request."""
    session = requests.Session()
    session.headers["Ocp-Apim-Subscription-Key"] = key
    return session


def visit_index_env(kind: str, folder: Path, request) -> dict[str, str]:
    """The storage settings of a server whose visit index is `kind`: "sqlite" (the local folder in `folder`) or
    "table" (the session's Azurite, from the pytest `request`)."""
    return served_storage(request, "local" if kind == "sqlite" else "azurite", folder)[0]
