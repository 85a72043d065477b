"""Stopping on Ctrl-C or SIGTERM: the first finishes cleanly (the frame in flight is awaited, the frames
queued are recorded, the recording is finished), the second at once (the recording is still finished,
without waiting for anything else), a third exits on the spot. Never a traceback."""

from __future__ import annotations

import logging
import os
import signal
import threading
import time

log = logging.getLogger("edge_client")

EXIT_INTERRUPTED = 130  # a shell's code for a process ended by Ctrl-C


class StopRequest:
    def __init__(self) -> None:
        self.stop = threading.Event()  # finish cleanly
        self.hurry = threading.Event()  # finish at once

    def install(self) -> StopRequest:
        """Handle SIGINT and SIGTERM in this (the main) thread."""
        signal.signal(signal.SIGINT, self._handle)
        signal.signal(signal.SIGTERM, self._handle)
        return self

    def _handle(self, signum: int, _frame: object) -> None:
        name = signal.Signals(signum).name
        if not self.stop.is_set():
            log.info("stopping (%s); again to stop at once", name)
            self.stop.set()
        elif not self.hurry.is_set():
            log.warning("stopping at once (%s): the recording is finished without waiting for the rest", name)
            self.hurry.set()
        else:
            log.warning("stopped (%s)", name)
            os._exit(EXIT_INTERRUPTED)


def join(thread: threading.Thread, timeout: float, hurry: threading.Event | None = None) -> None:
    """Wait for `thread` to end: `timeout` seconds at most, and no longer once `hurry` is set."""
    deadline = time.monotonic() + timeout
    while thread.is_alive() and not (hurry is not None and hurry.is_set()):
        left = deadline - time.monotonic()
        if left <= 0:
            return
        thread.join(min(left, 0.05))
