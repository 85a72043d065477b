"""The capture loop: shows (or records) every frame the reader delivers at camera speed, hands the
newest one to the sender whenever it is idle, and draws the last answer's boxes on the frames that
follow, until the next answer."""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
import threading
import time

import cv2

from .backend import FaceBackend
from .backoff import Backoff
from .capture import Frame, FrameReader, SourceUnavailable
from .events_bridge import EventsBridge
from .overlay import draw_faces, draw_status
from .recorder import Recorder
from .results import Answer, ResultsWriter
from .sender import FrameSender, SendSettings
from .settings import RunSettings
from .stats import RateMeter, RunStats
from .visits import VisitTally

log = logging.getLogger("edge_client")
WINDOW = "edge_client"
# A window the user can resize (to fit a 1080p source on a smaller screen) that keeps the picture's proportions.
WINDOW_FLAGS = cv2.WINDOW_NORMAL | cv2.WINDOW_KEEPRATIO
WINDOW_FIRST_SIZE = (1280, 720)  # a larger source opens scaled down to fit within this
DEFAULT_RECORD_FPS = 25.0  # for a camera that does not tell its frame rate


class FatalBackendError(Exception):
    pass


class NoWindowSupport(Exception):
    pass


NO_GUI = (
    "This OpenCV has no window support (opencv-python-headless): use --headless, or for a window install "
    "opencv-python instead (pip uninstall opencv-python-headless && pip install opencv-python)."
)


def check_window_support() -> None:
    """Raise NoWindowSupport unless a window can be opened here. Called before the source is opened,
    so a run that could never show anything stops at once instead of first waiting for a camera.

    The build information comes first: the pinned opencv-python-headless is built without any GUI
    backend and says so ("GUI: NONE"); reading that is certain, costs nothing and opens nothing. A
    build with a GUI is then asked for the window itself (the one the loop shows frames in), which
    raises cv2.error where it cannot be made. On Linux a display is checked first: the Qt backend of
    the opencv-python wheels aborts the whole process when it cannot reach one, rather than raising."""
    gui = re.search(r"^\s*GUI:[ \t]*(\S*)", cv2.getBuildInformation(), re.MULTILINE)
    if gui and gui.group(1).upper() == "NONE":
        raise NoWindowSupport(NO_GUI)
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        raise NoWindowSupport("No display for a window (neither DISPLAY nor WAYLAND_DISPLAY is set): use --headless.")
    try:
        cv2.namedWindow(WINDOW, WINDOW_FLAGS)
    except cv2.error:
        raise NoWindowSupport(NO_GUI) from None


def first_window_size(width: int, height: int) -> tuple[int, int]:
    """The window's size at first: the frame's, scaled down (proportions kept) to fit WINDOW_FIRST_SIZE."""
    scale = min(1.0, WINDOW_FIRST_SIZE[0] / width, WINDOW_FIRST_SIZE[1] / height)
    return round(width * scale), round(height * scale)


class CaptureLoop:
    def __init__(
        self, settings: RunSettings, stop: threading.Event | None = None, hurry: threading.Event | None = None
    ):
        """`stop` ends the run cleanly; `hurry`, set after it, ends it without waiting for the frame in flight
        or the frames still to be recorded."""
        self.settings = settings
        self.stop_event = stop or threading.Event()
        self.hurry = hurry or threading.Event()
        self.backend = FaceBackend(settings.backend.endpoint, settings.backend.key)
        realtime = settings.realtime and not settings.every
        self.reader = FrameReader(
            settings.source, realtime=realtime, loop=settings.loop, open_timeout=settings.open_timeout
        )
        self.sender = FrameSender(
            self.backend,
            SendSettings(
                settings.backend.group,
                settings.camera_id,
                settings.location,
                settings.width,
                settings.jpeg_quality,
                settings.key_retry,
            ),
            Backoff(initial=min(0.25, settings.max_backoff), maximum=settings.max_backoff),
        )
        self.results = ResultsWriter(settings.results)
        self.visits = VisitTally()
        self.events = EventsBridge(settings.events) if settings.events else None
        self.recorder: Recorder | None = None
        self.last_answer: Answer | None = None
        self.latencies: list[float] = []
        self.shown = 0
        self.answers = 0
        self._captured = RateMeter()
        self._answered = RateMeter()
        self._last_sent = 0.0
        self._first_captured: float | None = None

    def run(self) -> RunStats:
        """Run until the source ends, `stop_event` is set, 'q' is pressed in the window, or the
        backend refuses for good (FatalBackendError). Without window support (and not headless) it
        raises NoWindowSupport before opening the source; a camera or stream that does not open within
        `open_timeout` raises SourceUnavailable."""
        settings = self.settings
        if not settings.headless:
            check_window_support()
        self.reader.start()
        started = time.monotonic()
        if settings.record:
            # A file read as fast as possible waits for the encoder; a camera (or a file read like one) never does.
            wait = not self.reader.live and not self.reader.realtime
            self.recorder = Recorder(settings.record, self.reader.fps or DEFAULT_RECORD_FPS, wait_when_full=wait)
        self.sender.start()
        if self.events:  # its own thread: the loop never waits for the feed or the broker
            self.events.start()
        try:
            while not self.stop_event.is_set():
                if settings.duration and time.monotonic() - started >= settings.duration:
                    break
                frame = self.reader.next_frame(timeout=0.25)
                self._collect_answers()
                if frame is None:
                    if self.reader.ended:
                        if self.reader.error:
                            raise SourceUnavailable(self.reader.error)
                        break
                    continue
                self._captured.tick(frame.captured)
                self._send(frame)
                self._show(frame)
        finally:
            self.reader.stop()
            self.sender.stop(hurry=self.hurry)
            self._collect_answers()
            if self.recorder:
                self.recorder.close(self.hurry)
            self.results.close()
            if settings.visits:
                self.visits.write(settings.visits)
            self.backend.close()
            if self.events:
                self.events.stop(hurry=self.hurry)
            if not settings.headless:
                with contextlib.suppress(cv2.error):  # a build without windows has none to close
                    cv2.destroyAllWindows()
        return RunStats(
            time.monotonic() - started,
            self.reader.frames_read,
            self.shown,
            self.sender.sent,
            self.answers,
            self.sender.failed,
            self.reader.reopens,
            tuple(self.latencies),
            self.recorder.frames if self.recorder else 0,
            self.recorder.repeated if self.recorder else 0,
        )

    def _send(self, frame: Frame) -> None:
        every = self.settings.every
        if every:  # deterministic: every Nth frame of the file, each answered before the next frame
            if frame.index % every == 0:
                self._wait_for_sender()
                self.sender.offer(frame)
                self._wait_for_sender()
                self._collect_answers()
        elif self._due(frame) and self.sender.offer(frame):
            self._last_sent = frame.captured
        if self.sender.fatal:
            raise FatalBackendError(str(self.sender.fatal))

    def _due(self, frame: Frame) -> bool:
        return not self.settings.send_fps or frame.captured - self._last_sent >= 1 / self.settings.send_fps

    def _wait_for_sender(self) -> None:
        while not self.sender.wait_idle(0.25) and not self.stop_event.is_set() and not self.sender.fatal:
            pass

    def _collect_answers(self) -> None:
        for answer in self.sender.answers():
            self.results.write(answer)
            self.visits.add(answer)
            self.latencies.append(answer.latency_ms)
            self._answered.tick()
            self.answers += 1
            self.last_answer = answer

    def _show(self, frame: Frame) -> None:
        image = frame.image.copy()
        answer = self.last_answer
        if answer and frame.captured - answer.captured <= self.settings.hold:
            draw_faces(image, answer.result.faces)
        latency = f"{answer.latency_ms:.0f} ms" if answer else "-"
        status = (
            f"capture {self._captured.rate(frame.captured):.1f} fps  "
            f"recognized {self._answered.rate():.1f} fps  latency {latency}"
        )
        warning = None
        if self.sender.unavailable:
            warning = "backend unavailable: retrying"
        draw_status(image, status, warning)
        if self.recorder:
            self.recorder.write(image, self._position(frame, self.recorder.fps))
        if not self.settings.headless:
            try:
                if not self.shown:
                    cv2.resizeWindow(WINDOW, *first_window_size(image.shape[1], image.shape[0]))
                cv2.imshow(WINDOW, image)
                key = cv2.waitKey(1) & 0xFF
            except cv2.error:
                raise NoWindowSupport(
                    "This OpenCV cannot open a window (opencv-python-headless, or no display): "
                    "use --headless, or install opencv-python."
                ) from None
            if key in (ord("q"), 27):
                self.stop_event.set()
        self.shown += 1

    def _position(self, frame: Frame, fps: float) -> int:
        """The frame's place in a recording at `fps`: a file's frames one after the other (loops included); a
        live source's by when it was captured. A frame lost before the recorder leaves its place to be filled."""
        if not self.reader.live:
            return frame.number - 1
        if self._first_captured is None:
            self._first_captured = frame.captured
        return round((frame.captured - self._first_captured) * fps)
