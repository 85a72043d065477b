"""`python -m function_app serve`: the Functions app on localhost, without Core Tools."""

from __future__ import annotations

import logging
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser
from waitress.server import BaseWSGIServer, create_server
from waitress.task import ErrorTask
from waitress.utilities import Error

from ..api.auth import check_key, configured_keys
from ..errors import Unauthorized
from ..runtime import current_runtime
from ..settings import Settings
from .functions import app_functions
from .host_config import HostConfig
from .routes import Router
from .worker import QueueWorker
from .wsgi import INTERNAL_ERROR, TOO_LARGE, FunctionsWsgiApp, error_body

log = logging.getLogger("function_app.local_host")
MAX_REQUEST_BODY = 100 * 1024 * 1024  # as the Functions host limits it
# Bytes read from a socket at a time (waitress' default: 8 KB). A camera's 640×360 JPEG (27-48 KB on the dev
# video) took 4 to 6 turns of the server's loop, each a select over every connection; now one or two (measured:
# 0.49 ms of the server's CPU a request before, 0.43 after).
RECV_BYTES = 64 * 1024


def ensure_api_key(settings: Settings) -> Settings:
    """With no FACE_API_KEY set, make one and keep it in STORAGE_DIR/api-key (readable by the
    owner only), so a first `scripts/run` works and the key is never printed."""
    if configured_keys(settings):
        return settings
    path = Path(settings.storage_dir) / "api-key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_urlsafe(24))
    os.environ["FACE_API_KEY"] = path.read_text().strip()
    log.warning("FACE_API_KEY is not set: using the key in %s", path)
    return Settings.from_env()


class _EnvelopeErrorTask(ErrorTask):
    """Waitress' own answers (a body over its limit, a request it cannot parse, an app that failed before
    answering) in the Face API's error envelope, as the app's, instead of waitress' plain text."""

    def execute(self) -> None:
        error = self.request.error  # type: ignore[attr-defined]  # the stubs call the request an Error
        known = {413: TOO_LARGE, 500: INTERNAL_ERROR, 401: (Unauthorized.code, error.body)}
        code, message = known.get(error.code, ("BadArgument", f"{error.reason}: {error.body}."))
        body = error_body(code, message)
        self.status = f"{error.code} {error.reason}"
        self.response_headers = [*self.response_headers, ("Content-Type", "application/json")]
        self.set_close_on_finish()
        self.content_length = len(body)
        self.write(body)


class _EnvelopeChannel(HTTPChannel):
    error_task_class = _EnvelopeErrorTask


class _KeyRefused(Error):
    code = 401
    reason = "Unauthorized"


def _key_checking_channel(settings: Settings) -> type[HTTPChannel]:
    """A channel that checks the key as soon as a request's headers are in: a request with a body and without
    a valid key is answered 401 then, its body never read (the app checks the key again, for bodiless ones)."""

    class KeyCheckingParser(HTTPRequestParser):
        key_checked = False

        def received(self, data: bytes) -> int:
            consumed = super().received(data)
            if self.headers_finished and not self.completed and not self.key_checked:
                self.key_checked = True
                try:
                    check_key(settings, lambda name: self.headers.get(name.upper().replace("-", "_")))
                except Unauthorized as refused:
                    self.error = _KeyRefused(refused.message)
                    self.completed = True
            return consumed

    class KeyCheckingChannel(_EnvelopeChannel):
        parser_class = KeyCheckingParser

    return KeyCheckingChannel


def create_wsgi_server(
    app: FunctionsWsgiApp, host: str, port: int, threads: int, settings: Settings | None = None
) -> BaseWSGIServer:
    """Waitress serving `app`, every answer in the envelope. Waitress refuses a body of its limit or more (and
    answers before reading it); its limit is one byte over the app's, so a body of exactly the app's limit passes.
    With `settings`, a body sent without a valid key is refused before it is read, too."""
    server = create_server(
        app,
        host=host,
        port=port,
        threads=threads,
        max_request_body_size=app.max_body + 1,
        recv_bytes=RECV_BYTES,
        ident="function_app",
    )
    if not isinstance(server, BaseWSGIServer):  # one host and port: one socket, one server
        raise RuntimeError(f"Expected one server listening on {host}:{port}, got {type(server).__name__}")
    server.channel_class = _key_checking_channel(settings) if settings else _EnvelopeChannel
    return server


@dataclass
class LocalHost:
    """The WSGI server and the queue worker of one local host."""

    server: BaseWSGIServer
    worker: QueueWorker

    @property
    def url(self) -> str:
        host, port = self.server.getsockname()
        return f"http://{host}:{port}"

    def run(self) -> None:
        self.worker.start()
        try:
            self.server.run()
        finally:
            self.worker.stop()

    def close(self) -> None:
        self.worker.stop()
        self.server.close()


def create_host(host: str = "127.0.0.1", port: int = 7071, threads: int = 4) -> LocalHost:
    """Build the host for the settings in the environment (port 0: any free port)."""
    settings = ensure_api_key(Settings.from_env())
    config = HostConfig.load()
    runtime = current_runtime()  # loads the models before the first request
    app = FunctionsWsgiApp(Router(app_functions(), config.route_prefix), MAX_REQUEST_BODY)
    return LocalHost(
        create_wsgi_server(app, host, port, threads, settings), QueueWorker(app_functions(), runtime.storage, config)
    )


def serve(host: str = "127.0.0.1", port: int = 7071, threads: int = 4) -> None:
    local = create_host(host, port, threads)
    settings = Settings.from_env()
    log.info(
        "Serving on %s (engine %s, storage %s); API at /face/v1.0, OpenAPI at /api/openapi.json",
        local.url,
        settings.face_engine,
        settings.storage_backend,
    )
    local.run()
