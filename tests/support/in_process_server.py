"""A waitress server run in a thread of the test process, on a free loopback port, for the tests of the
local host's own HTTP answers (requests reach it over real sockets)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

from waitress import wasyncore
from waitress.server import BaseWSGIServer, MultiSocketServer


@contextlib.contextmanager
def serving(server: BaseWSGIServer | MultiSocketServer) -> Iterator[str]:
    """Serve until the block ends; answer the server's URL. Then stop it and close its sockets."""
    assert isinstance(server, BaseWSGIServer), "one host and port: one socket, one server"
    stop = threading.Event()
    sockets = server._map  # type: ignore[attr-defined]  # the dispatcher's socket map, not in the stubs

    def loop() -> None:
        while not stop.is_set():
            wasyncore.loop(timeout=0.05, map=sockets, count=1)

    thread = threading.Thread(target=loop, name="waitress", daemon=True)
    thread.start()
    try:
        host, port = server.getsockname()
        yield f"http://{host}:{port}"
    finally:
        stop.set()
        thread.join(timeout=10)
        server.task_dispatcher.shutdown()
        wasyncore.close_all(sockets)
