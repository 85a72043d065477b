"""Start Azurite (installed from npm into node_modules) on loopback ports for the tests."""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
AZURITE = PROJECT / "node_modules" / ".bin" / "azurite"
# Azurite's documented, public development account; not a secret.
DEV_ACCOUNT = "devstoreaccount1"
DEV_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def connection_string(blob_port: int, queue_port: int) -> str:
    return (
        f"DefaultEndpointsProtocol=http;AccountName={DEV_ACCOUNT};AccountKey={DEV_KEY};"
        f"BlobEndpoint=http://127.0.0.1:{blob_port}/{DEV_ACCOUNT};"
        f"QueueEndpoint=http://127.0.0.1:{queue_port}/{DEV_ACCOUNT};"
    )


def _wait_for_port(port: int, process: subprocess.Popen, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"Azurite exited with code {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"Azurite did not listen on port {port} within {timeout} s")


def start_azurite(location: Path) -> tuple[subprocess.Popen, str]:
    blob_port, queue_port, table_port = free_port(), free_port(), free_port()
    with open(location / "azurite.log", "wb") as log:  # Popen keeps its own copy of the descriptor
        process = subprocess.Popen(
            [
                str(AZURITE),
                "--silent",
                "--skipApiVersionCheck",
                "--loose",
                "--location",
                str(location),
                "--blobHost",
                "127.0.0.1",
                "--blobPort",
                str(blob_port),
                "--queueHost",
                "127.0.0.1",
                "--queuePort",
                str(queue_port),
                "--tableHost",
                "127.0.0.1",
                "--tablePort",
                str(table_port),
            ],
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
    try:
        _wait_for_port(blob_port, process)
        _wait_for_port(queue_port, process)
    except RuntimeError:
        process.kill()
        raise
    return process, connection_string(blob_port, queue_port)


def stop_azurite(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGINT)  # Azurite closes its stores on SIGINT
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
