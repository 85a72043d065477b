"""Storage in a local folder: the embedded default. Safe across threads and processes on one
machine: writes go through a temporary file and an atomic rename while holding an advisory lock
on the container (or queue) folder."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from .base import (
    AppendBlobFull,
    Blob,
    BlobInfo,
    BlobNotFound,
    MessageNotFound,
    PreconditionFailed,
    QueueMessage,
)
from .names import InvalidBlobName, check_prefix, confined
from .outages import outages_as_unavailable

_TEMP_PREFIX = ".tmp-"
_LOCK_NAME = ".lock"


def _etag(stat: os.stat_result) -> str:
    return f'"{stat.st_mtime_ns:x}-{stat.st_size:x}"'


def _write_atomically(path: Path, data: bytes) -> os.stat_result:
    """Replace `path` with `data`. Call with the folder's lock held: each version gets an mtime
    strictly after the one it replaces, so the ETag (mtime + size) never repeats for a blob even
    when writes fall in the same clock tick."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        previous = path.stat().st_mtime_ns
    except FileNotFoundError:
        previous = 0
    temp = path.parent / f"{_TEMP_PREFIX}{uuid.uuid4().hex}"
    with open(temp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    version = max(time.time_ns(), previous + 1)
    os.utime(temp, ns=(version, version))
    os.replace(temp, path)
    return path.stat()


def _is_outage(exc: BaseException) -> bool:
    """An OS error that escaped the backend's own handling (a missing blob is BlobNotFound by then): a read-only,
    full, unmounted or failing disk."""
    return isinstance(exc, OSError)


@outages_as_unavailable(_is_outage)
class LocalFolderStorage:
    def __init__(self, root: str | os.PathLike[str]):
        self.root = Path(root).resolve()

    # -- blobs ---------------------------------------------------------------------------------
    def _container(self, container: str) -> Path:
        if not container or "/" in container or container.startswith("."):
            raise ValueError(f"Invalid container name {container!r}")
        return self.root / "blobs" / container

    def _blob_path(self, container: str, name: str) -> Path:
        if any(p.startswith(_TEMP_PREFIX) or p == _LOCK_NAME for p in name.split("/")):
            raise InvalidBlobName(f"Invalid blob name {name!r}")
        return confined(self._container(container), name)

    @contextlib.contextmanager
    def _locked(self, folder: Path):
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / _LOCK_NAME, "a+b") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def put_blob(
        self, container: str, name: str, data: bytes, *, if_match: str | None = None, only_if_new: bool = False
    ) -> str:
        path = self._blob_path(container, name)
        with self._locked(self._container(container)):
            current = self._current_etag(path)
            if only_if_new and current is not None:
                raise PreconditionFailed(f"Blob {name!r} already exists")
            if if_match is not None and current != if_match:
                raise PreconditionFailed(f"Blob {name!r} has changed or is gone")
            return _etag(_write_atomically(path, data))

    def append_blob(self, container: str, name: str, data: bytes, *, max_size: int | None = None) -> int:
        # The container's lock keeps appends whole against other threads and processes (O_APPEND alone
        # does not promise that a long write is not split) and off a blob that put_blob is replacing.
        path = self._blob_path(container, name)
        with self._locked(self._container(container)):
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o644)
            try:
                offset = os.fstat(fd).st_size
                if max_size is not None and offset + len(data) > max_size:
                    raise AppendBlobFull(f"Blob {name!r} would grow past {max_size} bytes")
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
                os.fdatasync(fd)
            finally:
                os.close(fd)
        return offset

    @staticmethod
    def _current_etag(path: Path) -> str | None:
        try:
            return _etag(path.stat())
        except FileNotFoundError:
            return None

    def get_blob(self, container: str, name: str) -> Blob:
        try:
            with open(self._blob_path(container, name), "rb") as f:
                return Blob(data=f.read(), etag=_etag(os.fstat(f.fileno())))
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            raise BlobNotFound(f"No blob {name!r} in {container!r}") from None

    def read_blob_from(self, container: str, name: str, offset: int) -> bytes:
        try:
            with open(self._blob_path(container, name), "rb") as f:
                f.seek(offset)
                return f.read()
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            raise BlobNotFound(f"No blob {name!r} in {container!r}") from None

    def list_blobs(self, container: str, prefix: str = "") -> Iterator[BlobInfo]:
        base = self._container(container)
        # Walk only the folder the prefix names, not the whole container.
        folder = check_prefix(prefix).rpartition("/")[0]
        start = confined(base, folder) if folder else base
        found = []
        for folder, dirs, files in os.walk(start):
            dirs[:] = [d for d in dirs if not d.startswith(".")]
            for file in files:
                if file.startswith(_TEMP_PREFIX) or file == _LOCK_NAME:
                    continue
                path = Path(folder) / file
                name = path.relative_to(base).as_posix()
                if not name.startswith(prefix):
                    continue
                try:
                    stat = path.stat()
                except FileNotFoundError:
                    continue  # deleted while listing
                found.append(BlobInfo(name, _etag(stat), stat.st_size, datetime.fromtimestamp(stat.st_mtime, UTC)))
        yield from sorted(found, key=lambda b: b.name)

    def delete_blob(self, container: str, name: str, *, if_match: str | None = None) -> bool:
        path = self._blob_path(container, name)
        with self._locked(self._container(container)):
            current = self._current_etag(path)
            if if_match is not None and current != if_match:
                raise PreconditionFailed(f"Blob {name!r} has changed or is gone")
            if current is None:
                return False
            path.unlink()
        self._prune_empty_folders(path.parent, self._container(container))
        return True

    @staticmethod
    def _prune_empty_folders(folder: Path, stop: Path) -> None:
        while folder != stop:
            try:
                folder.rmdir()
            except OSError:
                return  # not empty, or already gone
            folder = folder.parent

    # -- queues --------------------------------------------------------------------------------
    def _queue(self, queue: str) -> Path:
        if not queue or "/" in queue or queue.startswith("."):
            raise ValueError(f"Invalid queue name {queue!r}")
        return self.root / "queues" / queue

    def send_message(self, queue: str, content: str, *, visibility_delay: int = 0) -> str:
        now = time.time()
        message_id = f"{time.time_ns():020d}-{uuid.uuid4().hex}"
        record = {
            "id": message_id,
            "content": content,
            "insertedOn": now,
            "visibleAt": now + visibility_delay,
            "dequeueCount": 0,
            "popReceipt": "",
        }
        folder = self._queue(queue)
        with self._locked(folder):
            _write_atomically(folder / f"{message_id}.json", json.dumps(record).encode())
        return message_id

    def receive_messages(
        self, queue: str, *, max_messages: int = 1, visibility_timeout: int = 30
    ) -> list[QueueMessage]:
        folder = self._queue(queue)
        received: list[QueueMessage] = []
        with self._locked(folder):
            now = time.time()
            for path in sorted(folder.glob("*.json")):
                if len(received) >= max_messages:
                    break
                record = json.loads(path.read_bytes())
                if record["visibleAt"] > now:
                    continue
                record.update(
                    visibleAt=now + visibility_timeout,
                    dequeueCount=record["dequeueCount"] + 1,
                    popReceipt=uuid.uuid4().hex,
                )
                _write_atomically(path, json.dumps(record).encode())
                received.append(
                    QueueMessage(
                        id=record["id"],
                        content=record["content"],
                        dequeue_count=record["dequeueCount"],
                        pop_receipt=record["popReceipt"],
                        inserted_on=datetime.fromtimestamp(record["insertedOn"], UTC),
                    )
                )
        return received

    def _received_record(self, folder: Path, message: QueueMessage) -> dict:
        """The message's record, held under the queue's lock, if `message` still owns it."""
        try:
            record = json.loads((folder / f"{message.id}.json").read_bytes())
        except FileNotFoundError:
            raise MessageNotFound(f"Message {message.id} is not in queue {folder.name!r}") from None
        if record["popReceipt"] != message.pop_receipt:
            raise MessageNotFound(f"Message {message.id} was received again since; its pop receipt is stale")
        return record

    def delete_message(self, queue: str, message: QueueMessage) -> None:
        folder = self._queue(queue)
        with self._locked(folder):
            self._received_record(folder, message)
            (folder / f"{message.id}.json").unlink()

    def release_message(self, queue: str, message: QueueMessage, *, visibility_timeout: int = 0) -> QueueMessage:
        folder = self._queue(queue)
        with self._locked(folder):
            record = self._received_record(folder, message)
            record.update(visibleAt=time.time() + visibility_timeout, popReceipt=uuid.uuid4().hex)
            _write_atomically(folder / f"{message.id}.json", json.dumps(record).encode())
        return replace(message, pop_receipt=record["popReceipt"])

    def approximate_queue_length(self, queue: str) -> int:
        # A message is one file; no lock: a count taken while another process writes is approximate, as on Azure.
        folder = self._queue(queue)
        if not folder.is_dir():
            return 0
        return sum(1 for _ in folder.glob("*.json"))
