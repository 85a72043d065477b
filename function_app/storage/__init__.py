"""Storage backends behind one interface; `create_storage` picks one from the settings."""

from __future__ import annotations

from ..settings import Settings
from .base import (
    AppendBlobFull,
    Blob,
    BlobInfo,
    BlobNotFound,
    MessageNotFound,
    PreconditionFailed,
    QueueMessage,
    Storage,
    StorageError,
)


def create_storage(settings: Settings) -> Storage:
    if settings.storage_backend == "local":
        from .local_folder import LocalFolderStorage

        return LocalFolderStorage(settings.storage_dir)
    from .azure_storage import azure_storage_from_settings  # STORAGE_BACKEND=azure (Settings checks it)

    return azure_storage_from_settings(settings)


__all__ = [
    "AppendBlobFull",
    "Blob",
    "BlobInfo",
    "BlobNotFound",
    "MessageNotFound",
    "PreconditionFailed",
    "QueueMessage",
    "Storage",
    "StorageError",
    "create_storage",
]
