"""The storage queues that carry slow work, and training through them.

The HTTP call queues a message and answers 202 at once; a queue-triggered function does the
work. Failed messages are retried and, after the host's maxDequeueCount, moved to the poison
twin of their queue (`<queue>-poison`). Handling a message twice does no harm: training
rebuilds the same index, enrollment skips photos already enrolled.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

from .errors import BadArgument, PersonGroupNotFound
from .gallery import Gallery
from .storage import Storage
from .training import TrainingStatus, mark_training_requested

if TYPE_CHECKING:
    from .face_service import FaceService

TRAIN_QUEUE = "train-requests"
ENROLL_QUEUE = "enroll-requests"

log = logging.getLogger(__name__)


def poison_queue(queue: str) -> str:
    return f"{queue}-poison"


def send_json(storage: Storage, queue: str, payload: dict[str, Any]) -> None:
    storage.send_message(queue, json.dumps(payload, separators=(",", ":")))


def parse_message(content: str | bytes, *required: str) -> dict[str, Any]:
    """A queue message's JSON; a message that can never be handled raises BadArgument."""
    try:
        payload = json.loads(content)
    except (ValueError, UnicodeDecodeError):
        raise BadArgument("The queue message is not JSON.") from None
    if not isinstance(payload, dict) or any(not isinstance(payload.get(k), str) for k in required):
        raise BadArgument(f"The queue message needs the fields {', '.join(required)}.")
    return payload


def request_training(gallery: Gallery, group_id: str) -> TrainingStatus:
    """Mark the group's training as running and queue it."""
    status = mark_training_requested(gallery, group_id)
    send_json(gallery.storage, TRAIN_QUEUE, {"personGroupId": group_id})
    return status


def handle_training_message(faces: FaceService, content: str | bytes) -> TrainingStatus | None:
    """Train the group a message names. A group deleted since has nothing left to train."""
    group_id = parse_message(content, "personGroupId")["personGroupId"]
    try:
        status = faces.train(group_id)
    except PersonGroupNotFound:
        log.info("Training of person group %s skipped: the group was deleted.", group_id)
        return None
    log.info("Training of person group %s: %s. %s", group_id, status.status, status.message or "")
    return status
