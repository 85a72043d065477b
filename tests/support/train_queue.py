"""The train-requests messages of one group or large face list, handled or dropped as the queue function would,
leaving the other tests' messages where they are (Azurite's queue is shared by the session's tests)."""

from __future__ import annotations

import json
from collections.abc import Callable

from function_app.faceapi import FaceApi
from function_app.faceapi.local.embedding_journal import BUCKETS
from function_app.faceapi.local.training import handle_training_message
from function_app.models import TrainingStatus
from function_app.storage import Storage
from function_app.storage.layout import GALLERY_CONTAINER, TRAIN_QUEUE

from .counting_storage import CountingStorage


def _is_for(content: str, owner: dict[str, str]) -> bool:
    """`owner`: the message's id field and value, {"personGroupId": ...} or {"largeFaceListId": ...}."""
    message = json.loads(content)
    return all(message.get(field) == value for field, value in owner.items())


def run_one(storage: Storage, api: FaceApi, owner: dict[str, str]) -> None:
    """Handle the owner's next train-requests message as the queue function does."""
    for message in storage.receive_messages(TRAIN_QUEUE, max_messages=32, visibility_timeout=5):
        if _is_for(message.content, owner):
            handle_training_message(api, message.content)
            storage.delete_message(TRAIN_QUEUE, message)
            return
        storage.release_message(TRAIN_QUEUE, message)
    raise AssertionError(f"no train-requests message for {owner}")


def drain(storage: Storage, owner: dict[str, str]) -> None:
    """Leave no message for the owner on the queue."""
    for message in storage.receive_messages(TRAIN_QUEUE, max_messages=32, visibility_timeout=5):
        if _is_for(message.content, owner):
            storage.delete_message(TRAIN_QUEUE, message)
        else:
            storage.release_message(TRAIN_QUEUE, message)


def journal_reads(counting: CountingStorage) -> list[tuple[str, int]]:
    """The journal logs read (as tails) and from where."""
    return [(name, offset) for name, offset in counting.tails_read if "/journal/" in name]


def run_to_the_end(
    storage: Storage, api: FaceApi, owner: dict[str, str], status: Callable[[], TrainingStatus]
) -> TrainingStatus:
    """Handle the owner's messages one part at a time until its training stops running (a part per log at most)."""
    for _ in range(BUCKETS + 2):
        if status().status != "running":
            break
        run_one(storage, api, owner)
    return status()


def logs_done(storage: Storage, root: str) -> set[str]:
    """The logs a paused training's checkpoint has read."""
    checkpoint = storage.get_blob(GALLERY_CONTAINER, f"{root}training/checkpoint.json")
    return set(json.loads(checkpoint.data)["done"])
