"""A storage that counts what is read through it: whole blobs (get_blob) and tails (read_blob_from, with their
offsets), so that a test or a benchmark can say what a training read."""

from __future__ import annotations

from collections import Counter
from typing import Any

from function_app.storage import Storage
from function_app.storage.base import Blob


class CountingStorage:
    def __init__(self, storage: Storage):
        self.storage = storage
        self.blobs_read: Counter[str] = Counter()
        self.tails_read: list[tuple[str, int]] = []
        self.bytes_read = 0

    def get_blob(self, container: str, name: str) -> Blob:
        self.blobs_read[name] += 1
        blob = self.storage.get_blob(container, name)
        self.bytes_read += len(blob.data)
        return blob

    def read_blob_from(self, container: str, name: str, offset: int) -> bytes:
        self.tails_read.append((name, offset))
        data = self.storage.read_blob_from(container, name, offset)
        self.bytes_read += len(data)
        return data

    @property
    def reads(self) -> int:
        """Blob reads of either kind."""
        return sum(self.blobs_read.values()) + len(self.tails_read)

    def forget(self) -> None:
        self.blobs_read.clear()
        self.tails_read.clear()
        self.bytes_read = 0

    def __getattr__(self, name: str) -> Any:  # everything else as the storage does it
        return getattr(self.storage, name)
