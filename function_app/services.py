"""The objects a host serves requests with, built once per process per configuration."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from .engines import create_engine
from .face_api import FaceApi
from .gallery import Gallery
from .recognition import Recognizer
from .settings import Settings
from .storage import Storage, create_storage


@dataclass(frozen=True)
class Services:
    settings: Settings
    gallery: Gallery
    recognizer: Recognizer
    face_api: FaceApi

    @property
    def storage(self) -> Storage:
        return self.gallery.storage


@functools.lru_cache(maxsize=4)
def services_for(settings: Settings) -> Services:
    gallery = Gallery(create_storage(settings), create_engine(settings), settings)
    return Services(settings, gallery, Recognizer(gallery), FaceApi(gallery))


def current_services() -> Services:
    """Services for the settings in the environment now (so tests can point them elsewhere)."""
    return services_for(Settings.from_env())
