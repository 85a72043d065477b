"""Face ids from detect, remembered for a time to live so that identify and verify can use them,
as Azure does (24 hours by default). One small blob per face: every instance sees them."""

from __future__ import annotations

import base64
import json
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from ...clock import iso, utc_now
from ...errors import BadArgument, FaceNotFound
from ...storage import BlobNotFound, Storage
from ...storage.layout import FACE_IDS_CONTAINER as CONTAINER

DEFAULT_TTL = 86400
MIN_TTL, MAX_TTL = 60, 86400


@dataclass(frozen=True)
class RememberedFace:
    face_id: str
    embedding: np.ndarray
    expires: datetime

    def to_record(self) -> bytes:
        vector = base64.b64encode(self.embedding.astype(np.float32).tobytes()).decode()
        return json.dumps({"faceId": self.face_id, "embedding": vector, "expires": iso(self.expires)}).encode()

    @classmethod
    def from_record(cls, data: bytes) -> RememberedFace:
        record = json.loads(data)
        vector = np.frombuffer(base64.b64decode(record["embedding"]), dtype=np.float32)
        return cls(record["faceId"], vector, datetime.fromisoformat(record["expires"]))


def check_ttl(ttl: int) -> int:
    if not MIN_TTL <= ttl <= MAX_TTL:
        raise BadArgument(f"faceIdTimeToLive must be between {MIN_TTL} and {MAX_TTL} seconds.")
    return ttl


log = logging.getLogger(__name__)


class FaceIdStore:
    def __init__(self, storage: Storage):
        self.storage = storage

    def remember(self, embeddings: list[np.ndarray], ttl: int = DEFAULT_TTL) -> list[str]:
        expires = utc_now() + timedelta(seconds=check_ttl(ttl))
        ids = []
        for vector in embeddings:
            face = RememberedFace(str(uuid.uuid4()), vector, expires)
            self.storage.put_blob(CONTAINER, f"{face.face_id}.json", face.to_record())
            ids.append(face.face_id)
        return ids

    def recall(self, face_id: str) -> np.ndarray:
        """The embedding of a face id that has not expired; FaceNotFound otherwise."""
        try:
            name = f"{uuid.UUID(str(face_id))}.json"
            face = RememberedFace.from_record(self.storage.get_blob(CONTAINER, name).data)
        except (ValueError, TypeError, AttributeError, BlobNotFound):
            raise FaceNotFound(f"Face {face_id} is not found: face ids come from detect.") from None
        if face.expires <= utc_now():
            raise FaceNotFound(f"Face {face_id} has expired: detect the face again.")
        return face.embedding

    def purge_expired(self) -> int:
        """Delete the records whose time to live has passed; answer how many."""
        now, purged = utc_now(), 0
        for info in list(self.storage.list_blobs(CONTAINER)):
            try:
                face = RememberedFace.from_record(self.storage.get_blob(CONTAINER, info.name).data)
            except BlobNotFound:
                continue
            except (ValueError, KeyError, TypeError):  # damaged: a face id nobody can use; one never stops the rest
                log.warning("Face id record %s/%s is damaged: deleted.", CONTAINER, info.name)
                face = None
            if (face is None or face.expires <= now) and self.storage.delete_blob(CONTAINER, info.name):
                purged += 1
        return purged
