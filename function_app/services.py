"""The objects a host serves requests with, built once per process per configuration."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from .face_service import FaceService
from .settings import Settings
from .storage import Storage, create_storage

FACE_ENGINES = ("local", "dlib", "azure")


@dataclass(frozen=True)
class Services:
    settings: Settings
    storage: Storage  # the app's own: sightings, enrollment jobs, queues (and the local gallery)
    faces: FaceService


def create_face_service(settings: Settings, storage: Storage) -> FaceService:
    if settings.face_engine not in FACE_ENGINES:
        raise ValueError(f"Unknown FACE_ENGINE {settings.face_engine!r}: use one of {', '.join(FACE_ENGINES)}")
    if settings.face_engine == "azure":
        from .azure_face_service import AzureFaceService

        return AzureFaceService(settings)
    from .engines import create_engine
    from .local_face_service import LocalFaceService

    return LocalFaceService(storage, create_engine(settings), settings)


@functools.lru_cache(maxsize=4)
def services_for(settings: Settings) -> Services:
    storage = create_storage(settings)
    return Services(settings, storage, create_face_service(settings, storage))


def current_services() -> Services:
    """Services for the settings in the environment now (so tests can point them elsewhere)."""
    return services_for(Settings.from_env())
