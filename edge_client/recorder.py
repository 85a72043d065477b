"""The annotated video, written as it is shown. `.mp4` is written with the `mp4v` codec (OpenCV's
pip wheels have no H.264 encoder) and `.avi` with Motion JPEG; `close()` finalizes the file, so a
recording stopped by Ctrl-C plays."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

FOURCC = {".mp4": "mp4v", ".avi": "MJPG"}


class RecordingError(Exception):
    pass


def check_record_path(path: Path) -> None:
    if path.suffix.lower() not in FOURCC:
        raise RecordingError(f"Cannot record to {path.name}: use a .mp4 or .avi file name.")
    if not path.parent.is_dir():
        raise RecordingError(f"Cannot record to {path}: no folder {path.parent}.")


class Recorder:
    """Opens the writer on the first frame (its size is known then)."""

    def __init__(self, path: Path, fps: float):
        check_record_path(path)
        self.path = path
        self.fps = fps
        self.frames = 0
        self._writer: cv2.VideoWriter | None = None

    def write(self, image: np.ndarray) -> None:
        if self._writer is None:
            height, width = image.shape[:2]
            fourcc = cv2.VideoWriter.fourcc(*FOURCC[self.path.suffix.lower()])
            self._writer = cv2.VideoWriter(str(self.path), fourcc, self.fps, (width, height))
            if not self._writer.isOpened():
                raise RecordingError(f"OpenCV cannot write {self.path}")
        self._writer.write(image)
        self.frames += 1

    def close(self) -> None:
        if self._writer is not None:
            self._writer.release()
            self._writer = None
