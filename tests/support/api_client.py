"""Call the app's HTTP functions in-process, routed exactly as the local host routes them."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import azure.functions as func
import pytest

from function_app.local_host.functions import app_functions
from function_app.local_host.host_config import HostConfig
from function_app.local_host.routes import Router
from function_app.local_host.worker import QueueWorker
from function_app.storage import Storage

_router = None
# Settings that would point the in-process app elsewhere than its local engine and a folder.
OUTSIDE_SETTINGS = ("FACE_ENGINE", "AZURE_FACE_ENDPOINT", "AZURE_FACE_KEY", "AZURE_STORAGE_CONNECTION_STRING")


def use_local_app(env: pytest.MonkeyPatch, key: str, storage_dir: Path) -> None:
    """Settings for the in-process app: the local engine, a storage folder of its own, this key."""
    for name in OUTSIDE_SETTINGS:
        env.delenv(name, raising=False)
    env.setenv("FACE_API_KEY", key)
    env.setenv("STORAGE_BACKEND", "local")
    env.setenv("STORAGE_DIR", str(storage_dir))


def router() -> Router:
    global _router
    if _router is None:
        _router = Router(app_functions(), HostConfig.load().route_prefix)
    return _router


def queue_worker(storage: Storage) -> QueueWorker:
    """The app's queue functions on this storage, run when asked (`drain`), messages visible at once."""
    return QueueWorker(app_functions(), storage, HostConfig(visibility_timeout=0))


def drain(worker: QueueWorker) -> None:
    """Run the queue functions until the queues are empty, as the host's worker would."""
    for _ in range(20):
        if worker.run_once() == 0:
            return


@dataclass
class Reply:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    mimetype: str = ""

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def error_code(self) -> str:
        return self.json()["error"]["code"]


class InProcessClient:
    def __init__(self, key: str | None):
        self.key = key

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        json_body: Any = None,
        data: bytes = b"",
        content_type: str = "application/octet-stream",
        headers: dict[str, str] | None = None,
    ) -> Reply:
        match = router().match(method, path)
        assert match is not None and match.function is not None, f"no function for {method} {path}"
        all_headers = {"Ocp-Apim-Subscription-Key": self.key} if self.key else {}
        if json_body is not None:
            data, content_type = json.dumps(json_body).encode(), "application/json"
        all_headers["Content-Type"] = content_type
        all_headers.update(headers or {})
        request = func.HttpRequest(
            method,
            f"http://localhost{path}" + (f"?{urlencode(params)}" if params else ""),
            headers=all_headers,
            params=params or {},
            route_params=match.route_params,
            body=data,
        )
        response = match.function.get_user_function()(request)
        return Reply(response.status_code, response.get_body(), dict(response.headers), response.mimetype)

    def get(self, path: str, **kw) -> Reply:
        return self.request("GET", path, **kw)

    def post(self, path: str, **kw) -> Reply:
        return self.request("POST", path, **kw)

    def put(self, path: str, **kw) -> Reply:
        return self.request("PUT", path, **kw)

    def patch(self, path: str, **kw) -> Reply:
        return self.request("PATCH", path, **kw)

    def delete(self, path: str, **kw) -> Reply:
        return self.request("DELETE", path, **kw)
