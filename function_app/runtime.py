"""What a host serves with (the settings, the app's storage and the Face API), built once per process
per configuration."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from . import metrics
from .faceapi import FaceApi, create_face_api
from .features.frames import FrameTracker
from .settings import Settings
from .storage import Storage, create_storage
from .visits.index import create_visit_index
from .visits.store import VisitStore


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    storage: Storage  # the app's own: sightings, enrollment jobs, queues (and the local gallery)
    face_api: FaceApi
    visits: VisitStore  # the visit records and their index, on the same storage
    frames: FrameTracker  # the frame path: the cameras' tracks and visits


@functools.lru_cache(maxsize=4)
def runtime_for(settings: Settings) -> Runtime:
    storage = create_storage(settings)
    metrics.watch_queues(storage)  # the queue gauges read the latest runtime's storage
    face_api = create_face_api(settings, storage)
    visits = VisitStore(storage, create_visit_index(settings))
    return Runtime(settings, storage, face_api, visits, FrameTracker(face_api, storage, settings, visits))


def current_runtime() -> Runtime:
    """The runtime for the settings in the environment now (so tests can point them elsewhere)."""
    return runtime_for(Settings.from_env())
