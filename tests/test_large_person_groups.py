"""Large person groups through the Python API, on real photos, over the local folder and Azurite: the
person group machinery for another kind of group, in its own namespace with its own error codes;
deleting a group while it trains; and groups of more than 1,000 persons (a list answers 1,000)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import numpy as np
import pytest

from function_app.clock import iso, utc_now
from function_app.errors import (
    LargePersonGroupExists,
    LargePersonGroupNotFound,
    LargePersonGroupNotTrained,
    LargePersonGroupTrainingNotFinished,
    PersonGroupNotFound,
    PersonGroupTrainingNotFinished,
)
from function_app.faceapi.base import PAGE_SIZE
from function_app.faceapi.group_kinds import LARGE_PERSON_GROUP as LARGE
from function_app.faceapi.local.service import LocalFaceApi
from function_app.faceapi.local.training import STALE_TRAINING
from function_app.features.enrollment import enroll_photos
from function_app.features.photos import Photo
from function_app.settings import Settings
from function_app.storage.local_folder import LocalFolderStorage


def test_large_person_groups_live_apart_from_person_groups(local_api, group_id, testdata):
    local_api.create_group(group_id, "small")
    large = local_api.create_group(group_id, "large", "big", "recognition_03", kind=LARGE)
    assert (large.name, large.recognition_model) == ("large", "recognition_03")
    with pytest.raises(LargePersonGroupExists, match="Large person group"):
        local_api.create_group(group_id, "again", kind=LARGE)
    person = local_api.create_person(group_id, "obama", kind=LARGE)
    face = local_api.add_face(
        group_id, person.person_id, (testdata / "people/obama/1.jpg").read_bytes(), user_data="1.jpg", kind=LARGE
    )
    assert local_api.list_persons(group_id) == []  # the person group of the same id has nobody
    assert [p.person_id for p in local_api.list_persons(group_id, kind=LARGE)] == [person.person_id]
    assert group_id in [g.person_group_id for g in local_api.list_groups(kind=LARGE)]
    assert local_api.get_group(group_id, kind=LARGE).recognition_model == "recognition_03"
    assert local_api.get_group(group_id).name == "small"

    updated = local_api.update_face(group_id, person.person_id, face.persisted_face_id, "checked", kind=LARGE)
    assert updated.user_data == "checked"
    again = local_api.get_face(group_id, person.person_id, face.persisted_face_id, kind=LARGE)
    assert again.user_data == "checked" and np.array_equal(again.embedding, face.embedding)

    local_api.delete_group(group_id)
    assert local_api.get_group(group_id, kind=LARGE).name == "large"  # untouched by the other kind's delete
    local_api.delete_group(group_id, kind=LARGE)
    with pytest.raises(LargePersonGroupNotFound, match="Large person group") as gone:
        local_api.get_group(group_id, kind=LARGE)
    assert isinstance(gone.value, PersonGroupNotFound)  # callers catching the person group's error catch it


def test_training_identify_and_their_errors_speak_of_the_large_group(local_api, group_id, testdata):
    local_api.create_group(group_id, "large", kind=LARGE)
    with pytest.raises(LargePersonGroupNotTrained) as never:
        local_api.training_status(group_id, kind=LARGE)
    assert never.value.status == 404
    person = local_api.create_person(group_id, "obama", kind=LARGE)
    local_api.add_face(group_id, person.person_id, (testdata / "people/obama/1.jpg").read_bytes(), kind=LARGE)
    with pytest.raises(LargePersonGroupNotTrained) as untrained:
        local_api.trainers[LARGE].load_index(group_id)
    assert untrained.value.status == 400
    assert local_api.train(group_id, kind=LARGE).status == "succeeded"
    index = local_api.trainers[LARGE].load_index(group_id)
    assert list(index.person_ids) == [person.person_id]


def test_a_group_cannot_be_deleted_while_it_trains(local_api, group_id, testdata):
    """As Azure: 409 (Large)PersonGroupTrainingNotFinished; once trained (or failed), the delete goes through."""
    for kind, error in ((None, PersonGroupTrainingNotFinished), (LARGE, LargePersonGroupTrainingNotFinished)):
        options = {"kind": kind} if kind else {}
        local_api.create_group(group_id, "training", **options)
        local_api.request_training(group_id, **options)  # queued: the status is running
        with pytest.raises(error) as conflict:
            local_api.delete_group(group_id, **options)
        assert conflict.value.status == 409
        assert local_api.train(group_id, **options).status == "failed"  # no faces: failed, finished all the same
        local_api.delete_group(group_id, **options)


def test_a_training_lost_long_ago_does_not_block_the_delete(local_api, storage, group_id):
    """A worker that stopped mid-training leaves the status `running`; after STALE_TRAINING it no longer
    blocks deleting the group."""
    local_api.create_group(group_id, "lost", kind=LARGE)
    local_api.request_training(group_id, kind=LARGE)
    trainer = local_api.trainers[LARGE]
    state, etag = trainer._read_state(group_id)
    long_ago = iso(utc_now() - STALE_TRAINING - timedelta(minutes=1))
    trainer._write_state(group_id, replace(state, status=replace(state.status, last_action=long_ago)), etag)
    local_api.delete_group(group_id, kind=LARGE)
    with pytest.raises(LargePersonGroupNotFound):
        local_api.get_group(group_id, kind=LARGE)


def test_training_and_enrollment_read_every_person_of_a_big_group(tmp_path, engine, testdata):
    """More persons than a list answers: training takes all of them, and enrolling again reuses persons
    past the first page instead of creating them twice. Persons are made through the Python API, only
    two with a face, so the group is big and the test quick."""
    face_api = LocalFaceApi(LocalFolderStorage(tmp_path / "data"), engine, Settings())
    group_id = "big"
    face_api.create_group(group_id, "big")
    persons = sorted(face_api.create_person(group_id, f"p{n:04d}").person_id for n in range(PAGE_SIZE + 50))
    first, last = persons[0], persons[-1]  # listing goes in personId order: the last is past the first page
    face_api.add_face(group_id, first, (testdata / "people/biden/1.jpg").read_bytes())
    face_api.add_face(group_id, last, (testdata / "people/obama/1.jpg").read_bytes())
    assert len(face_api.list_persons(group_id)) == PAGE_SIZE
    assert [p.person_id for p in face_api.list_persons(group_id, start=persons[PAGE_SIZE - 1])] == persons[PAGE_SIZE:]

    assert face_api.train(group_id).status == "succeeded"
    assert sorted(face_api.trainer.load_index(group_id).person_ids) == [first, last]

    last_name = face_api.get_person(group_id, last).name
    photo = testdata / "people/obama/2.jpg"
    report = enroll_photos(face_api, group_id, [Photo(f"{last_name}/2.jpg", photo.read_bytes)], train=False)
    assert report.persons == {last_name: last}  # the person past the first page, not a new one
    assert len(face_api.get_person(group_id, last).persisted_face_ids) == 2
    assert sum(1 for _ in face_api.gallery.iter_persons(group_id)) == PAGE_SIZE + 50
