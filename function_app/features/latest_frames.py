"""Each camera's latest frame and its answer, in memory only, for the web page's Camera tab: frames are personal
data, so none is written to storage and none outlives the process. Bounded: the LATEST_FRAME_CAMERAS cameras that
posted last (the least recent dropped first) and only frames younger than LATEST_FRAME_SECONDS are answered.
Keeping one costs the frame path a dict assignment under a lock."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from ..clock import iso
from ..errors import NoRecentFrame
from ..imaging import decode_upload, encode_jpeg
from ..settings import Settings

JPEG_START = b"\xff\xd8\xff"


class FrameAnswer(Protocol):
    """What the frame path answered (features/frames.py:FrameResult): turned into JSON only when asked for."""

    @property
    def faces(self) -> Sequence[object]: ...

    def to_dict(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class LatestFrame:
    camera: str
    person_group_id: str
    image: bytes  # as posted: a camera's JPEG is answered without a second encoding
    answer: FrameAnswer
    time: datetime  # when the frame was taken
    kept: float  # time.monotonic() when kept: its age, whatever the wall clock does

    def summary(self) -> dict[str, Any]:
        return {
            "cameraId": self.camera,
            "personGroupId": self.person_group_id,
            "time": iso(self.time),
            "faces": len(self.answer.faces),
        }

    def to_dict(self) -> dict[str, Any]:
        answer = self.answer.to_dict()
        return {**answer, "cameraId": self.camera, "personGroupId": self.person_group_id, "time": iso(self.time)}

    def jpeg(self, settings: Settings) -> bytes:
        """The frame as a JPEG: as posted, or encoded here (on the reading side) when a camera posted another
        format."""
        if self.image.startswith(JPEG_START):
            return self.image
        return encode_jpeg(decode_upload(self.image, settings).rgb)


class LatestFrames:
    def __init__(
        self,
        max_cameras: int,
        max_age_seconds: float,
        enabled: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.max_cameras = max_cameras
        self.max_age = max_age_seconds
        self.enabled = enabled
        self.clock = clock
        self._frames: OrderedDict[str, LatestFrame] = OrderedDict()  # least recently posted first
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> LatestFrames:
        return cls(settings.latest_frame_cameras, settings.latest_frame_seconds, settings.latest_frames == "on")

    def keep(self, camera: str, group_id: str, image: bytes, answer: FrameAnswer, moment: datetime) -> None:
        if not self.enabled:
            return
        with self._lock:
            self._frames[camera] = LatestFrame(camera, group_id, image, answer, moment, self.clock())
            self._frames.move_to_end(camera)
            while len(self._frames) > self.max_cameras:
                self._frames.popitem(last=False)
            self._drop_expired()

    def latest(self, camera: str) -> LatestFrame:
        """The camera's latest frame, or NoRecentFrame when it posted none within the age limit here."""
        with self._lock:
            self._drop_expired()
            found = self._frames.get(camera)
        if found is None:
            raise NoRecentFrame(self._why_none(camera))
        return found

    def recent(self) -> list[LatestFrame]:
        """The cameras' latest frames within the age limit, the latest posted first."""
        with self._lock:
            self._drop_expired()
            return list(reversed(self._frames.values()))

    def forget_expired(self) -> None:
        """Drop the frames past the age limit now (the silent cameras' timer calls it), so that none stays in memory
        when no frame or read comes to drop it."""
        with self._lock:
            self._drop_expired()

    def _drop_expired(self) -> None:
        """Oldest first, so only the expired ones are looked at (the lock is held)."""
        oldest = self.clock() - self.max_age
        while self._frames and next(iter(self._frames.values())).kept < oldest:
            self._frames.popitem(last=False)

    def _why_none(self, camera: str) -> str:
        if not self.enabled:
            return "No frame is kept: LATEST_FRAMES is off."
        return (
            f"Camera {camera!r} posted no frame to this instance in the last {self.max_age:g} seconds "
            "(with several instances, its frames may go to another one)."
        )
