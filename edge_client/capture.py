"""The camera side: a daemon thread reads the source at its own pace and keeps only the newest frame
(as Ultralytics' LoadStreams does), so a slow consumer never makes the camera wait or builds a
backlog. A camera or stream whose read fails is released and opened again with backoff; one that
does not open at all at start is tried again until `open_timeout`; a video file that ends is the end,
or starts again with `loop`."""

from __future__ import annotations

import logging
import math
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from .backoff import Backoff

log = logging.getLogger("edge_client")

Source = int | str  # a camera index, or a file path or stream URL
OPEN_TIMEOUT_MS = 5000  # a stream that does not open or deliver within this is treated as down
MIN_OPEN_TIMEOUT_MS = 500  # the shortest try at opening a stream, near the end of `open_timeout`


class SourceError(Exception):
    """The source cannot be opened at all (a missing file, a bad path): a setup error, not a drop."""


class SourceUnavailable(Exception):
    """A camera or stream that did not open within the open timeout after start (never opened, not a drop)."""


@dataclass(frozen=True, eq=False)
class Frame:
    index: int  # a video file's frame number; for a camera or stream, frames read since start
    number: int  # frames delivered by this reader so far, across reopens and loops (1, 2, ...)
    image: np.ndarray = field(repr=False)
    captured: float  # time.monotonic() when read
    captured_at: float  # time.time() when read


def parse_source(text: str) -> Source:
    """'0' is the first webcam; anything else is a file path or a URL (rtsp://, http://...)."""
    return int(text) if text.strip().isdigit() else text


def redact_url(text: str) -> str:
    """A stream URL without its user and password (rtsp://user:secret@host/ -> rtsp://***@host/)."""
    return re.sub(r"//[^/@]*@", "//***@", text)


def describe_source(source: Source) -> str:
    """For messages: 'camera 0', or 'source <path or URL without its password>'."""
    return f"camera {source}" if isinstance(source, int) else f"source {redact_url(source)}"


def is_live(source: Source) -> bool:
    """A camera index or a stream URL is live; a path is a video file."""
    return isinstance(source, int) or "://" in source


@contextmanager
def opencv_quiet() -> Iterator[None]:
    """OpenCV's errors only: a source that is not there makes it log a WARN line per backend it tried, before
    the client says so once, its own way."""
    level = cv2.utils.logging.getLogLevel()
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
    try:
        yield
    finally:
        cv2.utils.logging.setLogLevel(level)


def open_capture(source: Source, timeout_ms: int = OPEN_TIMEOUT_MS) -> cv2.VideoCapture | None:
    """The source opened, or None. A stream URL gets `timeout_ms` to open and OPEN_TIMEOUT_MS per read."""
    with opencv_quiet():
        if isinstance(source, str) and "://" in source:
            params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, timeout_ms, cv2.CAP_PROP_READ_TIMEOUT_MSEC, OPEN_TIMEOUT_MS]
            capture = cv2.VideoCapture(source, cv2.CAP_FFMPEG, params)
        else:
            capture = cv2.VideoCapture(source)
    if not capture.isOpened():
        capture.release()
        return None
    return capture


class FrameReader:
    """Reads `source` in a daemon thread; `next_frame()` hands out the newest frame not yet taken.

    - live (a camera, a stream; or any source with `live=True`): read as fast as it delivers; a
      failed read releases it and opens it again after a backoff delay, for ever, until `stop()`.
      One that does not open at start is tried again with backoff for `open_timeout` seconds (0:
      for ever); then the reader ends with `error` saying why.
    - a video file with `realtime` (the default): read at the file's frame rate, like a camera.
    - a video file with `realtime=False`: every frame is handed out, in order (the reader waits
      for each to be taken), as fast as the consumer takes them.
    """

    def __init__(
        self,
        source: Source,
        *,
        live: bool | None = None,
        realtime: bool = True,
        loop: bool = False,
        backoff: Backoff | None = None,
        open_timeout: float = 0.0,
    ):
        self.source = source
        self.live = is_live(source) if live is None else live
        self.realtime = realtime
        self.loop = loop
        self.backoff = backoff or Backoff(initial=0.5, maximum=5.0)
        self.open_timeout = open_timeout  # a live source not opened within this many s of start() fails (0: never)
        self.error: str | None = None  # why the reader ended early: a live source that never opened
        self.fps = 0.0  # the source's frame rate as it reports it (0 when unknown)
        self.size = (0, 0)  # width, height
        self.frames_read = 0
        self.reopens = 0
        self.started = 0.0
        self._latest: Frame | None = None
        self._taken = True
        self._ended = False
        self._stopping = threading.Event()
        self._changed = threading.Condition()
        self._capture: cv2.VideoCapture | None = None
        self._thread = threading.Thread(target=self._run, name="frame-reader", daemon=True)

    def start(self) -> FrameReader:
        """Open the source and start reading. A video file that cannot be opened raises SourceError;
        a camera or stream that is not there yet is waited for (the reader keeps trying, for
        `open_timeout` seconds if set, then ends with `error`)."""
        self.started = time.monotonic()
        self._capture = open_capture(self.source, self._open_timeout_ms(self.started + self._open_window()))
        if self._capture is None and not self.live:
            where = Path(str(self.source))
            reason = "no such file" if not where.exists() else "not a video OpenCV can read"
            raise SourceError(f"Cannot open the video {self.source}: {reason}.")
        if self._capture is not None:
            self._describe(self._capture)
        self._thread.start()
        return self

    def next_frame(self, timeout: float) -> Frame | None:
        """The newest frame not yet taken, waiting up to `timeout` s for one; None if none came
        (or the source ended: see `ended`)."""
        with self._changed:
            ready = self._changed.wait_for(lambda: not self._taken or self._ended or self._stopping.is_set(), timeout)
            if not ready or self._taken:
                return None
            self._taken = True
            self._changed.notify_all()
            return self._latest

    @property
    def ended(self) -> bool:
        """The source ended (a video file without loop; a live source that never opened: see `error`)
        and its last frame was taken."""
        with self._changed:
            return self._ended and self._taken

    def capture_fps(self) -> float:
        elapsed = time.monotonic() - self.started
        return self.frames_read / elapsed if elapsed > 0 else 0.0

    def stop(self, timeout: float = 2.0) -> None:
        """Stop reading, waiting for the reader thread `timeout` s at most (a stream's read can take longer:
        see `reading`). Even when hurried: a file or camera stops within a frame."""
        self._stopping.set()
        with self._changed:
            self._changed.notify_all()
        self._thread.join(timeout)

    @property
    def reading(self) -> bool:
        """The reader thread is still in OpenCV (a stream's read waits up to OPEN_TIMEOUT_MS)."""
        return self._thread.is_alive()

    def _describe(self, capture: cv2.VideoCapture) -> None:
        fps = capture.get(cv2.CAP_PROP_FPS)
        self.fps = fps if 0 < fps < 1000 else 0.0
        self.size = (int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)), int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT)))

    def _run(self) -> None:
        capture, index, opened_at = self._capture, 0, time.monotonic()
        try:
            if capture is None:  # a live source not there at start (start() raised for a file)
                capture = self._wait_for_source()
                if capture is None:  # stopped, or gave up (self.error)
                    return
                index, opened_at = 0, time.monotonic()
            while not self._stopping.is_set():
                if capture is None:
                    capture = self._reopen()
                    index, opened_at = 0, time.monotonic()
                    continue
                ok, image = capture.read()
                if not ok:
                    capture.release()
                    capture = None
                    if not self.live and not self.loop:
                        break
                    if self.live:
                        self._wait_after_failure(f"reading {self._name()} failed")
                    continue
                self.backoff.reset()
                if self.realtime and not self.live and self.fps:
                    self._stopping.wait(max(0.0, opened_at + index / self.fps - time.monotonic()))
                frame_index = index if not self.live else self.frames_read
                self._publish(Frame(frame_index, self.frames_read + 1, image, time.monotonic(), time.time()))
                index += 1
        finally:
            if capture is not None:
                capture.release()
            with self._changed:
                self._ended = True
                self._changed.notify_all()

    def _open_window(self) -> float:
        return self.open_timeout if self.open_timeout > 0 else math.inf

    def _open_timeout_ms(self, deadline: float) -> int:
        """A stream's time to open: OPEN_TIMEOUT_MS, or less near the deadline, so that the time spent
        opening a source that is not there stays close to `open_timeout`."""
        left_ms = (deadline - time.monotonic()) * 1000
        return int(min(OPEN_TIMEOUT_MS, max(MIN_OPEN_TIMEOUT_MS, left_ms)))

    def _wait_for_source(self) -> cv2.VideoCapture | None:
        """A live source that did not open at start: try again with backoff until it opens, until
        `stop()`, or until `open_timeout` s after start() (None, and `error` says why)."""
        deadline = self.started + self._open_window()
        tries = 1  # start() tried once
        while not self._stopping.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                self.error = (
                    f"Cannot open {self._name()}: it did not open within {self.open_timeout:g} s ({tries} tries); "
                    "check that it is connected and its index or URL (--open-timeout sets how long to try)."
                )
                return None
            delay = min(self.backoff.next_delay(), left)
            log.warning("opening %s failed; trying again in %.1f s", self._name(), delay)
            if self._stopping.wait(delay):
                return None
            capture = open_capture(self.source, self._open_timeout_ms(deadline))
            tries += 1
            if capture is not None:
                self._describe(capture)
                log.info("%s opened", self._name())
                return capture
        return None

    def _reopen(self) -> cv2.VideoCapture | None:
        capture = open_capture(self.source)
        if capture is None:
            self._wait_after_failure(f"opening {self._name()} failed")
            return None
        self.reopens += 1
        self._describe(capture)
        log.info("%s opened again", self._name())
        return capture

    def _wait_after_failure(self, what: str) -> None:
        delay = self.backoff.next_delay()
        log.warning("%s; trying again in %.1f s", what, delay)
        self._stopping.wait(delay)

    def _name(self) -> str:
        return describe_source(self.source)

    def _publish(self, frame: Frame) -> None:
        with self._changed:
            if not (self.live or self.realtime):  # every frame, in order: wait until the last one was taken
                self._changed.wait_for(lambda: self._taken or self._stopping.is_set())
            self._latest, self._taken = frame, False
            self.frames_read += 1
            self._changed.notify_all()
