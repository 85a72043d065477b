"""The one storage interface: blobs with ETags, and queues with visibility timeouts."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


class StorageError(Exception):
    pass


class BlobNotFound(StorageError):
    pass


class PreconditionFailed(StorageError):
    """A conditional write or delete found the blob changed, missing, or (for only-if-new) present."""


class AppendBlobFull(StorageError):
    """The blob can take no more appends (Azure Storage: an append blob holds at most 50,000 blocks)."""


class MessageNotFound(StorageError):
    """The message is gone, or the pop receipt is stale (someone else received it since)."""


@dataclass(frozen=True)
class Blob:
    data: bytes
    etag: str


@dataclass(frozen=True)
class BlobInfo:
    name: str
    etag: str
    size: int
    last_modified: datetime


@dataclass(frozen=True)
class QueueMessage:
    id: str
    content: str
    dequeue_count: int
    pop_receipt: str
    inserted_on: datetime


class Storage(Protocol):
    def put_blob(
        self, container: str, name: str, data: bytes, *, if_match: str | None = None, only_if_new: bool = False
    ) -> str:
        """Write a blob and answer its new ETag. `if_match`: only over that version;
        `only_if_new`: only where no blob exists. Otherwise PreconditionFailed."""
        ...

    def append_blob(self, container: str, name: str, data: bytes, *, max_size: int | None = None) -> int:
        """Add `data` at the end of the blob, creating it if missing, as one indivisible write: appends of
        concurrent writers never interleave. Answers the offset `data` starts at; AppendBlobFull when the
        blob takes no more appends, or would grow past `max_size` bytes. A blob written with `put_blob` is
        not one to append to."""
        ...

    def get_blob(self, container: str, name: str) -> Blob: ...

    def read_blob_from(self, container: str, name: str, offset: int) -> bytes:
        """The blob's bytes from `offset` to its end (empty at or past the end): the tail of an append blob."""
        ...

    def list_blobs(self, container: str, prefix: str = "") -> Iterator[BlobInfo]:
        """Blobs whose name starts with `prefix`, in name order."""
        ...

    def delete_blob(self, container: str, name: str, *, if_match: str | None = None) -> bool:
        """True when a blob was deleted, False when there was none (PreconditionFailed on a stale ETag)."""
        ...

    def send_message(self, queue: str, content: str, *, visibility_delay: int = 0) -> str: ...

    def receive_messages(
        self, queue: str, *, max_messages: int = 1, visibility_timeout: int = 30
    ) -> list[QueueMessage]:
        """Visible messages, oldest first; each is hidden for `visibility_timeout` seconds and its
        dequeue count goes up by one."""
        ...

    def delete_message(self, queue: str, message: QueueMessage) -> None: ...

    def release_message(self, queue: str, message: QueueMessage, *, visibility_timeout: int = 0) -> QueueMessage:
        """Give a received message back: visible again after `visibility_timeout` seconds, its
        dequeue count kept (so a failing message still reaches the poison queue). Answers the message
        with its new pop receipt: releasing it for later while still working on it renews the lease."""
        ...

    def approximate_queue_length(self, queue: str) -> int:
        """How many messages the queue holds, hidden ones included (as Azure's approximate message count):
        a cheap call for metrics and health, never a read of the messages."""
        ...
