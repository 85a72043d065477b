"""Each camera's tracking state in storage, `cameras/<cameraId>.json`, so that any instance of the app can
take any frame: a frame reads the state, and writes it back only over the version it read (ETag); when
another instance wrote in between, the frame is tracked again on the newer state. After a restart the state
is read back, and tracks and visits go on where they were.

Within one process the frames of a camera are tracked one at a time (a lock per camera), and its state is
kept in memory with the ETag of the version last read or written: a frame costs no read, and a write only
when it changed more than the tracks' boxes (tracker.py: FrameStep.persist), or a second after the last
write. When another instance wrote meanwhile, the write fails on the ETag and the frame is tracked again
on the state read afresh. From then on, for CONTENDED seconds, this process reads the camera's state
afresh and writes it for every frame: two instances taking turns on one camera each see the other's boxes
(kept only in memory, a box four frames old overlaps too little with a face that moves)."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

from ..errors import DamagedRecord
from ..storage import BlobNotFound, PreconditionFailed, Storage
from ..storage.layout import CAMERAS_CONTAINER
from ..storage.records import parse_record
from .state import CameraState

log = logging.getLogger(__name__)
SUFFIX = ".json"
CONTENDED = 60.0


@dataclass(frozen=True)
class LoadedState:
    state: CameraState | None  # None: the camera has no state yet (or it was damaged)
    etag: str | None  # the version read; None: none stored (then it is written only if still none)


class CameraStates:
    def __init__(self, storage: Storage):
        self.storage = storage
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()
        self._kept: dict[str, LoadedState] = {}  # camera → its state in memory, and the ETag it is based on
        self._contended: dict[str, float] = {}  # camera → until when (monotonic) another instance is assumed

    def lock(self, camera: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(camera, threading.Lock())

    def load(self, camera: str, *, fresh: bool = False) -> LoadedState:
        """The camera's state; `fresh`: read from storage even when this process keeps it. The caller may
        change it, then `save` or `keep` it (or `forget` it, when the change failed half-way)."""
        kept = None if fresh or self.contended(camera) else self._kept.get(camera)
        if kept is not None:
            return kept
        try:
            blob = self.storage.get_blob(CAMERAS_CONTAINER, camera + SUFFIX)
        except BlobNotFound:
            return LoadedState(None, None)
        where = f"{CAMERAS_CONTAINER}/{camera}{SUFFIX}"
        try:
            return LoadedState(parse_record(blob.data, where, CameraState.from_dict), blob.etag)
        except DamagedRecord as damaged:  # tracking starts afresh; the visits already written stay
            log.warning("%s Tracking of this camera starts afresh.", damaged.message)
            return LoadedState(None, blob.etag)

    def save(self, state: CameraState, etag: str | None) -> None:
        """Write over version `etag` (None: only if none exists); PreconditionFailed when it changed."""
        data = json.dumps(state.to_dict(), separators=(",", ":")).encode()
        try:
            new_etag = self.storage.put_blob(
                CAMERAS_CONTAINER, state.camera + SUFFIX, data, if_match=etag, only_if_new=etag is None
            )
        except PreconditionFailed:
            self.forget(state.camera)
            self._contended[state.camera] = time.monotonic() + CONTENDED
            raise
        except Exception:
            self.forget(state.camera)
            raise
        self._kept[state.camera] = LoadedState(state, new_etag)

    def contended(self, camera: str) -> bool:
        """Another instance wrote this camera's state lately: every frame reads and writes it."""
        return time.monotonic() < self._contended.get(camera, 0.0)

    def keep(self, state: CameraState, etag: str | None) -> None:
        """Keep the changed state in memory only, based on version `etag`."""
        self._kept[state.camera] = LoadedState(state, etag)

    def forget(self, camera: str) -> None:
        self._kept.pop(camera, None)

    def cameras(self) -> Iterator[str]:
        for info in self.storage.list_blobs(CAMERAS_CONTAINER):
            if info.name.endswith(SUFFIX):
                yield info.name[: -len(SUFFIX)]
