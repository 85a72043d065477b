"""The network side: one frame in flight at most. The capture loop offers it the newest frame only
when the previous request has answered (and any backoff delay has passed); a frame that cannot be
sent is dropped, never queued: the next one is newer."""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass

import cv2
import numpy as np

from .backend import BackendError, BackendUnavailable, FaceBackend, RequestRefused, Unauthorized
from .backoff import Backoff
from .capture import Frame
from .results import Answer
from .stopping import join

log = logging.getLogger("edge_client")


@dataclass(frozen=True)
class SendSettings:
    group: str
    camera_id: str
    location: str | None = None
    width: int = 640  # frames wider than this are shrunk before sending (0: as captured)
    jpeg_quality: int = 90  # settings.RunSettings says why
    # A key refused (401/403) after answers may be a key being rotated: it is tried again, with backoff, for
    # this many seconds before the sender gives up. A key refused before any answer is wrong: it gives up at once.
    key_retry: float = 300.0


def encode_frame(image: np.ndarray, width: int, quality: int) -> tuple[bytes, float]:
    """JPEG bytes of the frame, shrunk to `width` if wider; and the factor from sent to captured pixels."""
    height, original = image.shape[:2]
    factor = 1.0
    if width and original > width:
        factor = original / width
        image = cv2.resize(image, (width, round(height / factor)), interpolation=cv2.INTER_AREA)
    ok, jpeg = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise ValueError("OpenCV could not encode the frame as JPEG")
    return jpeg.tobytes(), factor


class FrameSender:
    """Posts frames one at a time from its own thread; answers are collected with `answers()`."""

    def __init__(self, backend: FaceBackend, settings: SendSettings, backoff: Backoff | None = None):
        self.backend = backend
        self.settings = settings
        self.backoff = backoff or Backoff(initial=0.5, maximum=8.0)
        self.sent = 0
        self.answered = 0
        self.failed = 0
        self.unavailable: str | None = None  # why the backend is unavailable right now, None when it answers
        self.fatal: BackendError | None = None  # an error trying again will not fix (a wrong key, no such group)
        self._retry_at = 0.0
        self._frame: Frame | None = None  # the frame in flight
        self._answers: queue.SimpleQueue[Answer] = queue.SimpleQueue()
        self._last_refusal = ""
        self._key_refused_since: float | None = None  # the first of the refusals of the key in a row
        self._stopping = threading.Event()
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="frame-sender", daemon=True)

    def start(self) -> FrameSender:
        self._thread.start()
        return self

    @property
    def idle(self) -> bool:
        """Nothing in flight and no backoff delay running: a frame offered now is sent."""
        with self._changed:
            return self._frame is None and time.monotonic() >= self._retry_at and self.fatal is None

    def offer(self, frame: Frame) -> bool:
        """Send `frame` if idle; otherwise it is dropped (False)."""
        with self._changed:
            if self._frame is not None or time.monotonic() < self._retry_at or self.fatal is not None:
                return False
            self._frame = frame
            self._changed.notify_all()
            return True

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait until the frame in flight is answered and any backoff delay has passed."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._changed:
            while not self._stopping.is_set() and self.fatal is None:
                now = time.monotonic()
                if self._frame is None and now >= self._retry_at:
                    return True
                if deadline is not None and now >= deadline:
                    return False
                wait = max(self._retry_at - now, 0.0) if self._frame is None else 0.5
                self._changed.wait(min(wait, deadline - now) if deadline is not None else wait)
            return False

    def answers(self) -> list[Answer]:
        """The answers that came since the last call, oldest first."""
        found = []
        while True:
            try:
                found.append(self._answers.get_nowait())
            except queue.Empty:
                return found

    def stop(self, timeout: float = 5.0, hurry: threading.Event | None = None) -> None:
        """Stop after the frame in flight (waiting for it at most `timeout` s, and no longer once `hurry` is set)."""
        self._stopping.set()
        with self._changed:
            self._changed.notify_all()
        join(self._thread, timeout, hurry)

    def _run(self) -> None:
        while True:
            with self._changed:
                self._changed.wait_for(lambda: self._frame is not None or self._stopping.is_set())
                if self._frame is None:
                    return
                frame = self._frame
            answer = self._send(frame)
            with self._changed:
                self._frame = None
                self._changed.notify_all()
            if answer is not None:
                self._answers.put(answer)

    def _send(self, frame: Frame) -> Answer | None:
        settings = self.settings
        try:
            jpeg, factor = encode_frame(frame.image, settings.width, settings.jpeg_quality)
            self.sent += 1
            result = self.backend.identify_frame(settings.group, settings.camera_id, jpeg, settings.location)
        except BackendUnavailable as exc:
            self._failed(str(exc), at_least=exc.retry_after)
            return None
        except Unauthorized as exc:
            self._key_refused(exc)
            return None
        except RequestRefused as exc:
            if exc.status == 404:  # no such group, or a wrong endpoint: nothing to wait for
                self.fatal = exc
            else:
                self.unavailable = None  # it answered, and refused this frame
                if str(exc) != self._last_refusal:
                    log.error("the backend refused a frame: %s", exc)
                    self._last_refusal = str(exc)
                self._failed(None)
            return None
        if self.unavailable:
            log.warning("backend available again")
        if self._key_refused_since is not None:
            log.warning("the backend accepts the key again")
        self.unavailable = None
        self._last_refusal = ""
        self._key_refused_since = None
        self.backoff.reset()
        self.answered += 1
        latency_ms = (time.monotonic() - frame.captured) * 1000
        return Answer(frame.index, frame.captured_at, frame.captured, latency_ms, result.scaled(factor))

    def _key_refused(self, refusal: Unauthorized) -> None:
        """A wrong key from the start is fatal; after answers, it is tried again for `key_retry` seconds."""
        limit = self.settings.key_retry
        now = time.monotonic()
        if not self.answered:
            self.fatal = refusal
            return
        if self._key_refused_since is None:
            self._key_refused_since = now
            log.warning(
                "%s, after %d answers: trying again for %g s (a key being rotated?)", refusal, self.answered, limit
            )
        elif now - self._key_refused_since >= limit:
            self.fatal = Unauthorized(f"{refusal} (refused for {limit:g} s, after {self.answered} answers)")
            return
        self._failed(str(refusal))

    def _failed(self, unavailable: str | None, at_least: float = 0.0) -> None:
        self.failed += 1
        delay = max(self.backoff.next_delay(), at_least)
        with self._changed:
            self._retry_at = time.monotonic() + delay
        if unavailable:
            if self.unavailable is None or self.backoff.failures in (2, 4, 8) or self.backoff.failures % 16 == 0:
                log.warning("backend unavailable: %s; frames are dropped, next try in %.1f s", unavailable, delay)
            self.unavailable = unavailable
