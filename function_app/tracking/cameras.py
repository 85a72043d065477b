"""Each camera's tracking state in storage, `cameras/<cameraId>.json`, so that any instance of the app can
take any frame: a frame reads the state, and writes it back only over the version it read (ETag); when
another instance wrote in between, the frame is tracked again on the newer state. After a restart the state
is read back, and tracks and visits go on where they were.

Within one process the frames of a camera are tracked one at a time (a lock per camera), and the state
last written is kept in memory with its ETag: a frame then costs one write and no read, unless another
instance wrote meanwhile (the write fails on the ETag, and the state is read again)."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass

from ..errors import DamagedRecord
from ..storage import BlobNotFound, Storage
from ..storage.layout import CAMERAS_CONTAINER
from ..storage.records import parse_record
from .state import CameraState

log = logging.getLogger(__name__)
SUFFIX = ".json"


@dataclass(frozen=True)
class LoadedState:
    state: CameraState | None  # None: the camera has no state yet (or it was damaged)
    etag: str | None  # the version read; None: none stored (then it is written only if still none)


class CameraStates:
    def __init__(self, storage: Storage):
        self.storage = storage
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()
        self._written: dict[str, tuple[str, bytes]] = {}  # camera → (ETag, data) of this process's last write

    def lock(self, camera: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(camera, threading.Lock())

    def load(self, camera: str, *, fresh: bool = False) -> LoadedState:
        """The camera's state; `fresh`: read from storage even when this process wrote it last."""
        cached = None if fresh else self._written.get(camera)
        if cached is not None:
            etag, data = cached
        else:
            try:
                blob = self.storage.get_blob(CAMERAS_CONTAINER, camera + SUFFIX)
            except BlobNotFound:
                return LoadedState(None, None)
            etag, data = blob.etag, blob.data
        try:
            return LoadedState(parse_record(data, f"{CAMERAS_CONTAINER}/{camera}{SUFFIX}", CameraState.from_dict), etag)
        except DamagedRecord as damaged:  # tracking starts afresh; the visits already written stay
            log.warning("%s Tracking of this camera starts afresh.", damaged.message)
            return LoadedState(None, etag)

    def save(self, state: CameraState, etag: str | None) -> None:
        """Write over version `etag` (None: only if none exists); PreconditionFailed when it changed."""
        data = json.dumps(state.to_dict(), separators=(",", ":")).encode()
        name = state.camera + SUFFIX
        try:
            new_etag = self.storage.put_blob(CAMERAS_CONTAINER, name, data, if_match=etag, only_if_new=etag is None)
        except Exception:
            self._written.pop(state.camera, None)
            raise
        self._written[state.camera] = (new_etag, data)

    def cameras(self) -> Iterator[str]:
        for info in self.storage.list_blobs(CAMERAS_CONTAINER):
            if info.name.endswith(SUFFIX):
                yield info.name[: -len(SUFFIX)]
