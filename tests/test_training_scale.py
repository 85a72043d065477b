"""Training that scales: a group's faces read from its journal in bulk, retraining reads only what changed,
deletes leave the index, groups made before the journal are migrated, and a training too long for one message
goes on from its checkpoint in the next (also in a new process). Real photos where the faces are faces; synthetic
embeddings where the test is about how much is read. Each test runs on a local folder and on Azurite."""

from __future__ import annotations

import json
import time
import uuid
from datetime import timedelta

import numpy as np
import pytest

from function_app.engines import embedding_layout
from function_app.errors import PersonGroupNotFound
from function_app.faceapi.local import index_chunks, journal_training
from function_app.faceapi.local.embedding_journal import EmbeddingJournal
from function_app.faceapi.local.gallery import LAYOUT_FIELD, EnrolledFace
from function_app.faceapi.local.matching import MatchRule, match_embeddings
from function_app.faceapi.local.service import LocalFaceApi
from function_app.faceapi.local.training import INDEX_NAME_SECONDS, MESSAGE_BUDGET
from function_app.imaging import decode_image
from function_app.models import FaceRectangle
from function_app.settings import Settings
from function_app.storage.layout import GALLERY_CONTAINER, GROUPS_CONTAINER

from .support.counting_storage import CountingStorage
from .support.recognition import recognize_bytes
from .support.train_queue import drain, journal_reads, logs_done, run_one, run_to_the_end


def _group(api: LocalFaceApi) -> str:
    group_id = f"scale-{uuid.uuid4().hex[:12]}"
    api.create_group(group_id, group_id)
    return group_id


def _enroll(api: LocalFaceApi, group_id: str, testdata, name: str) -> str:
    person_id = api.create_person(group_id, name).person_id
    for photo in sorted((testdata / "people" / name).iterdir()):
        api.add_face(group_id, person_id, photo.read_bytes())
    return person_id


def _face_records_read(counting: CountingStorage, group_id: str) -> int:
    return sum(n for name, n in counting.blobs_read.items() if name.startswith(f"{group_id}/faces/"))


def test_training_reads_the_journal_not_a_blob_a_face(counted, testdata):
    api, counting = counted
    group_id = _group(api)
    for name in ("obama", "biden", "kit_harington"):
        _enroll(api, group_id, testdata, name)
    counting.forget()
    status = api.train(group_id)
    assert (status.status, status.message) == ("succeeded", "Trained on 6 faces of 3 persons.")
    assert _face_records_read(counting, group_id) == 0
    logs = {name for name, _ in journal_reads(counting)}
    assert 1 <= len(logs) <= 3 and all(offset == 0 for _, offset in journal_reads(counting))
    named = [f.name for f in recognize_bytes(api, group_id, (testdata / "scenes/obama1.jpg").read_bytes())]
    assert "obama" in named


def test_adding_faces_then_retraining_reads_only_what_was_added(counted, testdata):
    api, counting = counted
    group_id = _group(api)
    for name in ("obama", "biden"):
        _enroll(api, group_id, testdata, name)
    assert api.train(group_id).status == "succeeded"
    first = api.trainer.load_index(group_id)
    first_chunks = json.loads(api.storage.get_blob(GALLERY_CONTAINER, first.training_id).data)["chunks"]
    sizes_before = EmbeddingJournal(api.storage).sizes(f"{group_id}/")

    alex = _enroll(api, group_id, testdata, "alex_lacamoire")
    counting.forget()
    assert api.train(group_id).message == "Trained on 6 faces of 3 persons."
    # One log grew (alex's), read from where the last training stopped; the other logs are not read at all.
    alex_log = EmbeddingJournal.log_of(f"{group_id}/", alex)
    assert journal_reads(counting) == [(alex_log, sizes_before.get(alex_log, 0))]
    assert _face_records_read(counting, group_id) == 0
    # The first training's chunks are kept; one chunk of the two new rows is added.
    manifest = json.loads(api.storage.get_blob(GALLERY_CONTAINER, api.trainer.load_index(group_id).training_id).data)
    assert manifest["chunks"][: len(first_chunks)] == first_chunks and len(manifest["chunks"]) == len(first_chunks) + 1
    named = [f.name for f in recognize_bytes(api, group_id, (testdata / "scenes/alex_lacamoire1.jpg").read_bytes())]
    assert "alex_lacamoire" in named
    # Nothing changed: nothing is read but the listing.
    counting.forget()
    assert api.train(group_id).status == "succeeded"
    assert journal_reads(counting) == []


def test_deleted_faces_and_persons_leave_the_index(counted, testdata):
    api, _ = counted
    group_id = _group(api)
    obama = _enroll(api, group_id, testdata, "obama")
    biden = _enroll(api, group_id, testdata, "biden")
    _enroll(api, group_id, testdata, "kit_harington")
    assert api.train(group_id).status == "succeeded"
    probe = (testdata / "scenes/obama1.jpg").read_bytes()
    assert "obama" in [f.name for f in recognize_bytes(api, group_id, probe)]

    api.delete_person(group_id, obama)
    face_id = api.get_person(group_id, biden).persisted_face_ids[0]
    api.delete_face(group_id, biden, face_id)
    status = api.train(group_id)
    assert status.message == "Trained on 3 faces of 2 persons."
    index = api.trainer.load_index(group_id)
    assert obama not in index.person_ids and len(index.embeddings) == 3
    assert sorted(np.diff([*index.person_starts, len(index.embeddings)])) == [1, 2]
    assert "obama" not in [f.name for f in recognize_bytes(api, group_id, probe)]
    # A renamed person is named anew by the next training.
    api.update_person(group_id, biden, name="joe")
    api.train(group_id)
    assert "joe" in list(api.trainer.load_index(group_id).person_names)


def test_a_large_index_is_assembled_memory_mapped_with_the_same_rows(counted, testdata):
    """Past MAPPED_FROM_BYTES the chunks are staged and the index assembled in temporary files (here from 0
    bytes): the same rows, persons and matches as in memory, over two chunks and a deleted face."""
    api, _ = counted
    group_id = _group(api)
    obama = _enroll(api, group_id, testdata, "obama")
    _enroll(api, group_id, testdata, "biden")
    assert api.train(group_id).status == "succeeded"
    _enroll(api, group_id, testdata, "kit_harington")
    api.delete_face(group_id, obama, api.get_person(group_id, obama).persisted_face_ids[0])
    assert api.train(group_id).message == "Trained on 5 faces of 3 persons."
    manifest_blob = api.trainer.load_index(group_id).training_id
    in_memory = index_chunks.load_index(api.storage, manifest_blob, "Train again.")
    mapped = index_chunks.load_index(api.storage, manifest_blob, "Train again.", mapped_from=0)
    assert isinstance(mapped.embeddings, np.memmap) and not isinstance(in_memory.embeddings, np.memmap)
    np.testing.assert_array_equal(mapped.embeddings, in_memory.embeddings)
    np.testing.assert_array_equal(mapped.person_starts, in_memory.person_starts)
    assert list(mapped.person_ids) == list(in_memory.person_ids) and list(mapped.person_names) == list(
        in_memory.person_names
    )
    rule = MatchRule(calibrated=True, match_threshold=0.6)
    image = (testdata / "scenes/obama1.jpg").read_bytes()
    probe = api.engine.detect(decode_image(image, max_bytes=1 << 24, max_side=4096))
    queries = np.stack([f.required_embedding() for f in probe])
    answered = match_embeddings(mapped, queries, rule=rule)
    assert answered == match_embeddings(in_memory, queries, rule=rule)
    assert "obama" in [c.name for found in answered for c in found]


def test_a_group_made_before_the_journal_is_migrated_by_its_first_training(counted, testdata):
    api, counting = counted
    group_id = _group(api)
    for name in ("obama", "biden"):
        _enroll(api, group_id, testdata, name)
    # What an older version left: face records, no journal, no layout in the group's record.
    for log in EmbeddingJournal(api.storage).sizes(f"{group_id}/"):
        api.storage.delete_blob(GALLERY_CONTAINER, log)
    record = json.loads(api.storage.get_blob(GROUPS_CONTAINER, f"{group_id}.json").data)
    del record[LAYOUT_FIELD]
    api.storage.put_blob(GROUPS_CONTAINER, f"{group_id}.json", json.dumps(record).encode())

    counting.forget()
    assert api.train(group_id).message == "Trained on 4 faces of 2 persons."
    assert _face_records_read(counting, group_id) == 4  # once, to migrate
    assert LAYOUT_FIELD in json.loads(api.storage.get_blob(GROUPS_CONTAINER, f"{group_id}.json").data)
    _enroll(api, group_id, testdata, "kit_harington")
    counting.forget()
    assert api.train(group_id).message == "Trained on 6 faces of 3 persons."
    assert _face_records_read(counting, group_id) == 0


def _synthetic_faces(api: LocalFaceApi, group_id: str, persons: int, faces_each: int) -> None:
    """Persons whose faces carry random unit embeddings, stored as an add stores them."""
    rng = np.random.default_rng(7)
    for p in range(persons):
        person_id = api.create_person(group_id, f"person {p}").person_id
        for _ in range(faces_each):
            embedding = rng.standard_normal(embedding_layout.size(fused=True)).astype(np.float32)
            face = EnrolledFace(
                str(uuid.uuid4()), person_id, None, FaceRectangle(0, 0, 100, 100), "high", embedding / 10
            )
            api.gallery.store_face(group_id, face, b"synthetic photo")


def test_a_training_past_its_message_time_goes_on_from_its_checkpoint_in_a_new_process(storage, engine):
    first_api = LocalFaceApi(storage, engine, Settings())
    group_id = _group(first_api)
    _synthetic_faces(first_api, group_id, persons=8, faces_each=3)
    first_api.trainer.message_budget = timedelta(0)  # every part reads one log, then pauses
    first_api.request_training(group_id)
    run_one(storage, first_api, {"personGroupId": group_id})
    paused = first_api.training_status(group_id)
    assert paused.status == "running" and paused.message and paused.message.startswith("Trained ")
    assert "of about" in paused.message

    # A new process (a restarted worker) goes on where the first stopped: it never reads that log again.
    counting = CountingStorage(storage)
    second_api = LocalFaceApi(counting, engine, Settings())
    read_first = logs_done(storage, f"{group_id}/")
    assert len(read_first) == 1
    second_api.trainer.message_budget = timedelta(0)
    owner = {"personGroupId": group_id}
    final = run_to_the_end(storage, second_api, owner, lambda: second_api.training_status(group_id))
    assert (final.status, final.message) == ("succeeded", "Trained on 24 faces of 8 persons.")
    assert not read_first & {name for name, _ in journal_reads(counting)}
    index = second_api.trainer.load_index(group_id)
    assert len(index.embeddings) == 24 and len(index.person_ids) == 8


def test_a_new_request_starts_afresh_and_removes_what_the_abandoned_part_wrote(storage, engine):
    api = LocalFaceApi(storage, engine, Settings())
    group_id = _group(api)
    _synthetic_faces(api, group_id, persons=6, faces_each=2)
    api.trainer.message_budget = timedelta(0)
    assert api.train(group_id).status == "running"  # paused after its first log
    checkpoint = storage.get_blob(GALLERY_CONTAINER, f"{group_id}/training/checkpoint.json")
    abandoned = set(json.loads(checkpoint.data)["written"])
    assert abandoned and abandoned <= _chunks(storage, group_id)

    api.trainer.message_budget = MESSAGE_BUDGET
    api.request_training(group_id)  # a new request: its training reads everything again
    final = api.train(group_id)
    assert (final.status, final.message) == ("succeeded", "Trained on 12 faces of 6 persons.")
    assert not abandoned & _chunks(storage, group_id)
    drain(storage, {"personGroupId": group_id})


def _chunks(storage, group_id: str) -> set[str]:
    return {b.name for b in storage.list_blobs(GALLERY_CONTAINER, f"{group_id}/training/chunks/")}


def test_a_worker_that_dies_mid_training_is_followed_by_one_going_on_from_its_last_chunk(storage, engine, monkeypatch):
    monkeypatch.setattr(journal_training, "CHUNK_ROWS", 4)  # a chunk (and a checkpoint) every few logs
    first_api = LocalFaceApi(storage, engine, Settings())
    group_id = _group(first_api)
    _synthetic_faces(first_api, group_id, persons=10, faces_each=2)
    read_tail = first_api.gallery.journal.read_tail
    reads = []

    def dies_at_the_sixth_log(name, offset):
        reads.append(name)
        if len(reads) > 5:
            raise RuntimeError("the worker died")
        return read_tail(name, offset)

    monkeypatch.setattr(first_api.gallery.journal, "read_tail", dies_at_the_sixth_log)
    first_api.request_training(group_id)
    with pytest.raises(RuntimeError):
        first_api.train(group_id)
    checkpoint = json.loads(storage.get_blob(GALLERY_CONTAINER, f"{group_id}/training/checkpoint.json").data)
    assert checkpoint["done"] and checkpoint["manifest"]["chunks"]

    counting = CountingStorage(storage)
    second_api = LocalFaceApi(counting, engine, Settings())  # the message again, in a new process
    final = second_api.train(group_id)
    assert (final.status, final.message) == ("succeeded", "Trained on 20 faces of 10 persons.")
    assert not set(checkpoint["done"]) & {name for name, _ in journal_reads(counting)}
    assert len(second_api.trainer.load_index(group_id).embeddings) == 20
    drain(storage, {"personGroupId": group_id})


def test_identifying_reads_the_status_at_most_once_a_second_and_sees_another_instance_s_training(
    counted, storage, engine, testdata
):
    """The frame path identifies with the index the status named, read again after INDEX_NAME_SECONDS: a busy
    camera costs one status read a second, not one a frame; another instance's training is seen after that
    time, and this instance's own training and delete at once."""
    api, counting = counted
    group_id = _group(api)
    _enroll(api, group_id, testdata, "obama")
    api.train(group_id)
    status = f"{group_id}/training/status.json"
    photo = (testdata / "scenes/obama1.jpg").read_bytes()
    counting.forget()
    began = time.monotonic()
    for _ in range(5):
        assert [f.name for f in recognize_bytes(api, group_id, photo)] == ["obama"]
    elapsed = time.monotonic() - began
    assert 1 <= counting.blobs_read[status] <= 1 + int(elapsed / INDEX_NAME_SECONDS)
    other = LocalFaceApi(storage, engine, Settings())  # another instance on the same storage
    person = other.list_persons(group_id)[0].person_id
    other.delete_person(group_id, person)
    _enroll(other, group_id, testdata, "biden")
    other.train(group_id)
    time.sleep(INDEX_NAME_SECONDS)
    biden = (testdata / "people/biden/1.jpg").read_bytes()
    assert [f.name for f in recognize_bytes(api, group_id, biden)] == ["biden"]
    api.delete_group(group_id)
    with pytest.raises(PersonGroupNotFound):
        recognize_bytes(api, group_id, biden)
