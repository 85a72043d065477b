"""The Face API behind one contract (base.FaceApi), answered by one of two backends that
FACE_ENGINE picks: `local` and `dlib` (faceapi/local, with that engine of engines/) or `azure`
(faceapi/azure, the Azure Face API)."""

from __future__ import annotations

from ..settings import Settings
from ..storage import Storage
from .base import FaceApi, recognize


def create_face_api(settings: Settings, storage: Storage) -> FaceApi:
    """The backend FACE_ENGINE names; imported on demand, so the Azure backend never loads a local engine."""
    if settings.face_engine == "azure":
        from .azure.service import AzureFaceApi

        return AzureFaceApi(settings)
    from ..engines import create_engine
    from .local.service import LocalFaceApi

    return LocalFaceApi(storage, create_engine(settings), settings)


__all__ = ["FaceApi", "create_face_api", "recognize"]
