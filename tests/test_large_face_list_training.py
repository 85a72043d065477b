"""Large face lists train as groups do, from a journal: a face added appends an entry (the face its own "person"),
a retraining reads only the logs that grew, a deleted face leaves the index, a list made before the journal is
moved to it by its first training, and a training longer than a message goes on from its checkpoint. Find-similar
answers what it answered when training read one face record a face. Real photos where the faces are faces;
synthetic embeddings where the test is about how much is read. Each test runs on a local folder and on Azurite."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import numpy as np
import pytest

from benchmarks.bench_training import list_records
from function_app.clock import iso, utc_now
from function_app.engines import embedding_layout
from function_app.faceapi.face_lists import ListKind, MatchMode, SimilarCandidates
from function_app.faceapi.local.embedding_journal import EmbeddingJournal
from function_app.faceapi.local.gallery import LAYOUT_FIELD, EnrolledFace
from function_app.faceapi.local.service import LocalFaceApi
from function_app.faceapi.local.similarity import similar_faces
from function_app.faceapi.local.training import TrainingState, build_snapshot, load_snapshot
from function_app.models import DetectOptions, FaceRectangle, TrainingStatus
from function_app.settings import Settings
from function_app.storage import BlobNotFound
from function_app.storage.layout import GALLERY_CONTAINER

from .support.counting_storage import CountingStorage
from .support.train_queue import drain, journal_reads, logs_done, run_one, run_to_the_end

LARGE = ListKind.LARGE_FACE_LIST
PHOTOS = ["obama/1.jpg", "obama/2.jpg", "biden/1.jpg", "biden/2.jpg", "kit_harington/1.jpg", "rose_leslie/1.jpg"]


def _list(api: LocalFaceApi) -> str:
    list_id = f"lfl-{uuid.uuid4().hex[:12]}"
    api.create_face_list(LARGE, list_id, list_id)
    return list_id


def _root(list_id: str) -> str:
    return f"LargeFaceLists/data/{list_id}/"


def _add(api: LocalFaceApi, list_id: str, testdata, photos: list[str]) -> dict[str, str]:
    """Each photo's persisted face id."""
    return {
        photo: api.add_list_face(LARGE, list_id, (testdata / "people" / photo).read_bytes()).persisted_face_id
        for photo in photos
    }


def _face_records_read(counting: CountingStorage, list_id: str) -> int:
    prefix = f"{_root(list_id)}faces/"
    return sum(n for name, n in counting.blobs_read.items() if name.startswith(prefix) and name.endswith(".json"))


def _similar(api: LocalFaceApi, list_id: str, testdata, probe: str, mode=MatchMode.MATCH_PERSON) -> list[str]:
    face_id = api.detect((testdata / probe).read_bytes(), DetectOptions())[0]["faceId"]
    found = api.find_similar(face_id, SimilarCandidates(large_face_list_id=list_id), max_candidates=100, mode=mode)
    return [str(f.persisted_face_id) for f in found]


def _obama(faces: dict[str, str]) -> list[str]:
    return sorted([faces["obama/1.jpg"], faces["obama/2.jpg"]])


def _chunks(api: LocalFaceApi, list_id: str) -> list[str]:
    manifest = api.list_trainer.load_index(list_id).training_id
    return json.loads(api.storage.get_blob(GALLERY_CONTAINER, manifest).data)["chunks"]


def test_a_large_face_list_trains_from_its_journal_and_retrains_only_what_was_added(counted, testdata):
    api, counting = counted
    list_id = _list(api)
    faces = _add(api, list_id, testdata, PHOTOS[:4])
    counting.forget()
    status = api.train_list(list_id)
    assert (status.status, status.message) == ("succeeded", "Trained on 4 faces.")
    assert _face_records_read(counting, list_id) == 0
    assert journal_reads(counting) and all(offset == 0 for _, offset in journal_reads(counting))
    assert sorted(_similar(api, list_id, testdata, "scenes/obama1.jpg")) == _obama(faces)
    first_chunks = _chunks(api, list_id)
    sizes_before = EmbeddingJournal(api.storage).sizes(_root(list_id))

    added = _add(api, list_id, testdata, ["kit_harington/1.jpg"])["kit_harington/1.jpg"]
    counting.forget()
    assert api.train_list(list_id).message == "Trained on 5 faces."
    # One log grew (the new face's), read from where the last training stopped; no other log, no face record.
    grown = EmbeddingJournal.log_of(_root(list_id), added)
    assert journal_reads(counting) == [(grown, sizes_before.get(grown, 0))]
    assert _face_records_read(counting, list_id) == 0
    chunks = _chunks(api, list_id)
    assert chunks[: len(first_chunks)] == first_chunks and len(chunks) == len(first_chunks) + 1
    assert added in _similar(api, list_id, testdata, "people/kit_harington/2.jpg")
    counting.forget()  # nothing changed: no log is read
    assert api.train_list(list_id).status == "succeeded"
    assert journal_reads(counting) == []


def test_a_deleted_face_leaves_the_index_and_find_similar(counted, testdata):
    api, _ = counted
    list_id = _list(api)
    faces = _add(api, list_id, testdata, PHOTOS[:4])
    api.train_list(list_id)
    assert faces["biden/1.jpg"] in _similar(api, list_id, testdata, "people/biden/2.jpg")
    chunks = _chunks(api, list_id)

    api.delete_list_face(LARGE, list_id, faces["biden/1.jpg"])
    assert api.train_list(list_id).message == "Trained on 3 faces."
    index = api.list_trainer.load_index(list_id)
    assert sorted(index.person_ids) == sorted(f for p, f in faces.items() if p != "biden/1.jpg")
    assert list(index.person_names) == list(index.person_ids)  # a face's "person" is named by its id
    assert _chunks(api, list_id) == chunks  # a delete changes the manifest only
    found = _similar(api, list_id, testdata, "people/biden/2.jpg", MatchMode.MATCH_FACE)
    assert faces["biden/1.jpg"] not in found and faces["biden/2.jpg"] == found[0]


def test_find_similar_answers_what_it_answered_from_the_face_records(counted, testdata):
    """The journal's index against the one training built before it, from one face record a face."""
    api, _ = counted
    list_id = _list(api)
    _add(api, list_id, testdata, PHOTOS)
    api.train_list(list_id)
    records = build_snapshot(list_records(api.face_lists), list_id)
    assert records.index_blob and records.message == "Trained on 6 faces."
    before = load_snapshot(api.storage, records.index_blob, "")
    for probe in ("scenes/obama1.jpg", "people/biden/2.jpg", "people/alex_lacamoire/1.jpg"):
        face_id = api.detect((testdata / probe).read_bytes(), DetectOptions())[0]["faceId"]
        query = api.face_ids.recall(face_id)
        for mode in MatchMode:
            now = api.find_similar(face_id, SimilarCandidates(large_face_list_id=list_id), mode=mode)
            then = similar_faces(before, query, rule=api.match_rule, max_candidates=20, mode=mode)
            assert [f.persisted_face_id for f in now] == [face for face, _ in then], (probe, mode)
            assert [f.confidence for f in now] == pytest.approx([c for _, c in then], abs=1e-5)


def test_a_large_face_list_made_before_the_journal_is_migrated_by_its_first_training(counted, testdata):
    api, counting = counted
    list_id = _list(api)
    faces = _add(api, list_id, testdata, PHOTOS[:4])
    # What an older version left: face records, no journal, no layout in the list's record.
    for log in EmbeddingJournal(api.storage).sizes(_root(list_id)):
        api.storage.delete_blob(GALLERY_CONTAINER, log)
    record_blob = f"LargeFaceLists/lists/{list_id}.json"
    record = json.loads(api.storage.get_blob(GALLERY_CONTAINER, record_blob).data)
    del record[LAYOUT_FIELD]
    api.storage.put_blob(GALLERY_CONTAINER, record_blob, json.dumps(record).encode())
    assert "embeddingLayout" not in json.dumps(api.get_face_list(LARGE, list_id).to_dict())
    # ... and the index it trained: one .npz of the face records, which find-similar reads until the next training.
    old = build_snapshot(list_records(api.face_lists), list_id)
    trained = TrainingStatus("succeeded", iso(utc_now()), iso(utc_now()), old.message)
    state = json.dumps(TrainingState(trained, old.index_blob, 1).to_record()).encode()
    api.storage.put_blob(GALLERY_CONTAINER, f"{_root(list_id)}training/status.json", state)
    assert sorted(_similar(api, list_id, testdata, "scenes/obama1.jpg")) == _obama(faces)

    counting.forget()
    assert api.train_list(list_id).message == "Trained on 4 faces."
    assert _face_records_read(counting, list_id) == 4  # once, to migrate
    assert LAYOUT_FIELD in json.loads(api.storage.get_blob(GALLERY_CONTAINER, record_blob).data)
    with pytest.raises(BlobNotFound):  # replaced by the journal's index
        api.storage.get_blob(GALLERY_CONTAINER, str(old.index_blob))
    assert sorted(_similar(api, list_id, testdata, "scenes/obama1.jpg")) == _obama(faces)
    api.delete_list_face(LARGE, list_id, faces["obama/1.jpg"])
    _add(api, list_id, testdata, ["kit_harington/1.jpg"])
    counting.forget()
    assert api.train_list(list_id).message == "Trained on 4 faces."
    assert _face_records_read(counting, list_id) == 0
    assert _similar(api, list_id, testdata, "scenes/obama1.jpg") == [faces["obama/2.jpg"]]


def _synthetic_faces(api: LocalFaceApi, list_id: str, count: int) -> None:
    """Faces carrying random unit embeddings, stored as an add stores them."""
    rng = np.random.default_rng(11)
    for _ in range(count):
        embedding = rng.standard_normal(embedding_layout.size(fused=True)).astype(np.float32)
        face = EnrolledFace(str(uuid.uuid4()), list_id, None, FaceRectangle(0, 0, 100, 100), "high", embedding / 10)
        api.face_lists.store_face(LARGE, list_id, face, b"synthetic photo")


def test_a_training_past_its_message_time_goes_on_from_its_checkpoint(storage, engine):
    first_api = LocalFaceApi(storage, engine, Settings())
    list_id = _list(first_api)
    _synthetic_faces(first_api, list_id, 12)
    first_api.list_trainer.message_budget = timedelta(0)  # every part reads one log, then pauses
    first_api.request_list_training(list_id)
    owner = {"largeFaceListId": list_id}
    run_one(storage, first_api, owner)
    paused = first_api.list_training_status(list_id)
    assert paused.status == "running" and paused.message and " of about " in paused.message

    counting = CountingStorage(storage)  # a new process goes on where the first stopped
    second_api = LocalFaceApi(counting, engine, Settings())
    read_first = logs_done(storage, _root(list_id))
    assert len(read_first) == 1
    second_api.list_trainer.message_budget = timedelta(0)
    final = run_to_the_end(storage, second_api, owner, lambda: second_api.list_training_status(list_id))
    assert (final.status, final.message) == ("succeeded", "Trained on 12 faces.")
    assert not read_first & {name for name, _ in journal_reads(counting)}
    assert _face_records_read(counting, list_id) == 0
    assert len(second_api.list_trainer.load_index(list_id).embeddings) == 12
    drain(storage, owner)
