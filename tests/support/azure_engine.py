"""The Azure engine for real: a server on FACE_ENGINE=azure whose Face API is a second server on the
local engine, reached through the official SDK over real HTTP, with a throttling proxy between them
(Azure's 429s are the one part that cannot run here)."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from .face_api_proxy import FaceApiProxy
from .service import start_server, stop_server


@dataclass(frozen=True)
class AzureEngineServers:
    url: str  # the server on the Azure engine
    log: Path
    storage_dir: Path  # its own storage: sightings and enrollment jobs only
    upstream_url: str  # the "Azure Face API": a server on the local engine
    upstream_key: str
    upstream_log: Path
    proxy: FaceApiProxy


@contextlib.contextmanager
def azure_engine_servers(
    folder: Path, key: str, front_settings: dict[str, str] | None = None
) -> Iterator[AzureEngineServers]:
    """`front_settings`: more settings of the server on the Azure engine."""
    upstream_key = f"upstream-{uuid.uuid4().hex}"
    upstream_env = {"FACE_API_KEY": upstream_key, "STORAGE_BACKEND": "local", "STORAGE_DIR": str(folder / "upstream")}
    upstream, upstream_url = start_server(upstream_env, folder / "upstream.log")
    proxy = FaceApiProxy(upstream_url)
    front_env = {
        "FACE_API_KEY": key,
        "STORAGE_BACKEND": "local",
        "STORAGE_DIR": str(folder / "front"),
        "FACE_ENGINE": "azure",
        "AZURE_FACE_ENDPOINT": proxy.url,
        "AZURE_FACE_KEY": upstream_key,
        **(front_settings or {}),
    }
    try:
        front, url = start_server(front_env, folder / "front.log")
    except Exception:
        proxy.close()
        stop_server(upstream)
        raise
    try:
        yield AzureEngineServers(
            url, folder / "front.log", folder / "front", upstream_url, upstream_key, folder / "upstream.log", proxy
        )
    finally:
        stop_server(front)
        proxy.close()
        stop_server(upstream)
