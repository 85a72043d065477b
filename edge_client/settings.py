"""Every setting of the client in one place: its flag, its environment variable and its default.
Flags override the environment. The key is kept out of every repr, message and log line."""

from __future__ import annotations

import os
import re
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .events_bridge import BridgeSettings

DEFAULT_ENDPOINT = "http://127.0.0.1:7071"

# setting -> (environment variable, meaning); the README's table lists the same.
ENVIRONMENT = {
    "endpoint": ("FACE_ENDPOINT", f"the backend's base URL (default {DEFAULT_ENDPOINT})"),
    "key": ("FACE_API_KEY", "the backend's key, sent as Ocp-Apim-Subscription-Key"),
    "group": ("FACE_GROUP", "the person group to identify against, or to enroll into"),
    "camera_id": (
        "FACE_CAMERA_ID",
        "the camera's id: faces are tracked per camera, and it is written in the visit records "
        "(default: this host's name)",
    ),
}


def default_camera_id() -> str:
    """This host's name as the backend accepts a camera id: 1–64 of letters, digits, '_', '-', '.', ':'."""
    return re.sub(r"[^A-Za-z0-9_.:-]", "-", socket.gethostname())[:64] or "edge"


def from_environment(name: str, default: str = "") -> str:
    return os.environ.get(ENVIRONMENT[name][0], "") or default


class SettingsError(Exception):
    pass


@dataclass(frozen=True)
class BackendSettings:
    endpoint: str
    key: str = field(repr=False)
    group: str

    def check(self) -> None:
        if not self.key:
            raise SettingsError("No key: set FACE_API_KEY (or --key).")
        if not self.group:
            raise SettingsError("No person group: set FACE_GROUP (or --group).")
        if not re.match(r"^https?://[^/]+", self.endpoint):
            raise SettingsError(f"The endpoint must be an http:// or https:// URL, not {self.endpoint!r}.")


@dataclass(frozen=True)
class RunSettings:
    """One capture loop: where frames come from, how they are sent, what is written."""

    backend: BackendSettings
    source: int | str
    camera_id: str
    location: str | None = None
    send_fps: float = 0.0  # at most this many frames a second sent (0: as fast as the answers come)
    width: int = 640  # frames are shrunk to this width before sending (0: as captured)
    # 90, not 80: at 80 the dev video's frontal shot stayed Unknown, its frames' evidence just under the
    # open-set cut-off (85 and up named it from its third frame); 90 costs 26 KiB a 640×360 frame, 80 18 KiB.
    jpeg_quality: int = 90
    realtime: bool = True  # a video file is read at its own frame rate, like a camera
    every: int = 0  # a video file: send every Nth frame and wait for each answer (deterministic; not live)
    loop: bool = False  # a video file starts again at its end
    headless: bool = False
    record: Path | None = None
    results: Path | None = None
    visits: Path | None = None  # the run's visits, one JSON line each, written at its end
    max_backoff: float = 2.0  # the longest wait between tries while the backend is unavailable
    key_retry: float = 300.0  # seconds a key refused after answers is tried again (a key being rotated)
    hold: float = 1.0  # seconds an answer's boxes stay drawn on newer frames
    duration: float = 0.0  # stop after this many seconds (0: run until the source ends or Ctrl-C)
    open_timeout: float = 10.0  # a camera or stream that does not open within this at start fails (0: wait for ever)
    events: BridgeSettings | None = None  # --mqtt: the group's visit events published to a broker, on their own thread
