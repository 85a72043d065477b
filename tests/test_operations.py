"""Long-running operations (v1.1 and later) over the local folder and Azurite: a training's operation
follows the group's training, a finished one is succeeded, an unknown id is not found, and old records
are purged."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from function_app.clock import utc_now
from function_app.errors import OperationNotFound
from function_app.faceapi.group_kinds import LARGE_PERSON_GROUP as LARGE
from function_app.features.operations import KEEP_OPERATIONS, Operations, purge_operations


def test_a_training_operation_follows_the_training(local_api, storage, group_id, testdata):
    operations = Operations(storage, local_api)
    local_api.create_group(group_id, "large", kind=LARGE)
    person = local_api.create_person(group_id, "obama", kind=LARGE)
    local_api.add_face(group_id, person.person_id, (testdata / "people/obama/1.jpg").read_bytes(), kind=LARGE)
    local_api.request_training(group_id, kind=LARGE)
    operation_id = operations.training(group_id, LARGE)
    running = operations.status(operation_id)
    assert (running.status, running.finished) == ("running", None)
    local_api.train(group_id, kind=LARGE)
    done = operations.status(operation_id).to_dict()
    assert done["status"] == "succeeded" and done["finishedTime"] and "1 faces" in done["message"]
    local_api.delete_group(group_id, kind=LARGE)
    gone = operations.status(operation_id)
    assert gone.status == "failed" and "deleted" in (gone.message or "")


def test_finished_and_unknown_operations(local_api, storage):
    operations = Operations(storage, local_api)
    done = operations.status(operations.done("Face added."))
    assert (done.status, done.message) == ("succeeded", "Face added.")
    for unknown in (str(uuid.uuid4()), "not-an-id", "../../etc/passwd"):
        with pytest.raises(OperationNotFound):
            operations.status(unknown)


def test_old_operations_are_purged(local_api, storage):
    operations = Operations(storage, local_api)
    kept = operations.done()
    assert purge_operations(storage) == 0
    assert purge_operations(storage, now=utc_now() + KEEP_OPERATIONS + timedelta(minutes=1)) >= 1
    with pytest.raises(OperationNotFound):
        operations.status(kept)
