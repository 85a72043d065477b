"""The annotated video, encoded on its own thread so that a slow encoder (1080p) never holds up the capture
loop, at the source's frame rate with each frame in its place in time: a frame lost on the way is filled
with the one before, so the video plays at the right speed.

The containers need no index at their end: Matroska (`.mkv`, the `mp4v` codec; OpenCV's pip wheels have
no H.264 encoder) and AVI (`.avi`, Motion JPEG) are readable up to their last second or so after a SIGKILL
or a power cut (what the muxer and the disk had not written yet is lost), and the file is synced to disk
every few seconds. An `.mp4` is unreadable until its index is written at the end, so it is refused."""

from __future__ import annotations

import math
import os
import threading
import time
from collections import deque
from pathlib import Path

import cv2
import numpy as np

from .stopping import join

FOURCC = {".mkv": "mp4v", ".avi": "MJPG"}
QUEUE_BYTES = 128 * 2**20  # frames waiting for the encoder: about 20 of 1080p, 0.7 s at 30 fps
SYNC_EVERY = 2.0  # seconds between syncs to disk: what a power cut can lose beyond the muxer's buffer
MAX_FILL = 5.0  # seconds: a longer gap (a camera away) is not filled with a frozen frame


class RecordingError(Exception):
    pass


def check_record_path(path: Path) -> None:
    suffix = path.suffix.lower()
    if suffix == ".mp4":
        raise RecordingError(
            f"Cannot record to {path.name}: an .mp4 is unreadable until it is finished, so a crash or a power cut "
            "would lose all of it; use .mkv (the same video, readable up to the last second) or .avi."
        )
    if suffix not in FOURCC:
        raise RecordingError(f"Cannot record to {path.name}: use a .mkv or .avi file name.")
    if not path.parent.is_dir():
        raise RecordingError(f"Cannot record to {path}: no folder {path.parent}.")


class Recorder:
    """`write(image, position)` queues a frame; the encoder thread opens the file on the first frame (its
    size is known then). When the encoder falls behind, a frame waits up to one frame's time for room and
    is then dropped (its place filled with the frame before); with `wait_when_full` the caller waits as long
    as it takes (a file read as fast as possible)."""

    def __init__(self, path: Path, fps: float, *, wait_when_full: bool = False):
        check_record_path(path)
        self.path = path
        self.fps = fps
        self.wait_when_full = wait_when_full
        self.frames = 0  # frames in the file, repeated ones included
        self.repeated = 0  # frames written again in the place of frames lost on the way
        self.dropped = 0  # frames not recorded: the encoder was behind, or the frame came too late
        self.error: str | None = None
        self._queue: deque[tuple[np.ndarray, int]] = deque()
        self._queued_bytes = 0
        self._last_position = -1  # of the frames offered, recorded or not: the video lasts until it
        self._closing = False
        self._discard = False  # close at once, without the frames still queued
        self._finished = False
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="recorder", daemon=True)
        self._thread.start()

    def write(self, image: np.ndarray, position: int) -> None:
        """Record `image` as frame `position` of the video (0, 1, ... at `fps`). Raises RecordingError if
        the file cannot be written."""
        # A camera's frame waits at most one frame's time for room: a loop that keeps making frames the
        # encoder has no room for would only take the CPU it needs.
        deadline = None if self.wait_when_full else time.monotonic() + 1 / self.fps
        with self._changed:
            self._last_position = max(self._last_position, position)
            while self._queued_bytes and self._queued_bytes + image.nbytes > QUEUE_BYTES and not self._finished:
                left = math.inf if deadline is None else deadline - time.monotonic()
                if left <= 0:
                    self.dropped += 1
                    return
                self._changed.wait(min(left, 1.0))
            if self.error:
                raise RecordingError(self.error)
            self._queue.append((image, position))
            self._queued_bytes += image.nbytes
            self._changed.notify_all()

    def close(self, hurry: threading.Event | None = None) -> None:
        """Encode the frames queued and finish the file; once `hurry` is set, finish it without them."""
        with self._changed:
            self._closing = True
            self._changed.notify_all()
        join(self._thread, math.inf, hurry)
        with self._changed:
            self._discard = True
            self._changed.notify_all()
        join(self._thread, math.inf)

    def _run(self) -> None:
        writer: cv2.VideoWriter | None = None
        last: np.ndarray | None = None
        next_position = 0
        synced = time.monotonic()
        try:
            while (item := self._next()) is not None:
                image, position = item
                if writer is None:
                    writer, next_position = self._open(image), position
                if position < next_position:  # late: its place is taken
                    with self._changed:
                        self.dropped += 1
                    continue
                if position - next_position > MAX_FILL * self.fps:
                    next_position = position
                self._repeat(writer, last, position - next_position)
                writer.write(image)
                self.frames, next_position, last = self.frames + 1, position + 1, image
                if time.monotonic() - synced >= SYNC_EVERY:
                    self._sync()
                    synced = time.monotonic()
            if writer is not None and not self._discard:  # the last frames offered were dropped: fill their places
                self._repeat(writer, last, self._last_position + 1 - next_position)
        except (cv2.error, RecordingError, OSError) as exc:
            self.error = f"Cannot record to {self.path}: {exc}"
        finally:
            if writer is not None:
                writer.release()
                self._sync()
            with self._changed:
                self._finished = True
                self._changed.notify_all()

    def _repeat(self, writer: cv2.VideoWriter, image: np.ndarray | None, count: int) -> None:
        """Write `image` again `count` times, in the places of frames lost before it."""
        if image is None:
            return
        for _ in range(min(count, round(MAX_FILL * self.fps))):
            writer.write(image)
            self.frames += 1
            self.repeated += 1

    def _next(self) -> tuple[np.ndarray, int] | None:
        """The next frame to encode; None once closing and nothing is left (or at once when hurried)."""
        with self._changed:
            self._changed.wait_for(lambda: self._queue or self._closing)
            if self._discard or not self._queue:
                self.dropped += len(self._queue)
                return None
            image, position = self._queue.popleft()
            self._queued_bytes -= image.nbytes
            self._changed.notify_all()
            return image, position

    def _open(self, image: np.ndarray) -> cv2.VideoWriter:
        height, width = image.shape[:2]
        fourcc = cv2.VideoWriter.fourcc(*FOURCC[self.path.suffix.lower()])
        writer = cv2.VideoWriter(str(self.path), fourcc, self.fps, (width, height))
        if not writer.isOpened():
            raise RecordingError("OpenCV cannot open it for writing")
        return writer

    def _sync(self) -> None:
        """Push what the encoder has written so far from the page cache to the disk."""
        descriptor = os.open(self.path, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
