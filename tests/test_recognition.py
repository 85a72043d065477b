"""Enroll real people, train, identify: known people named, unknown people get no candidate."""

from __future__ import annotations

import json
import uuid

import numpy as np
import pytest

from function_app.errors import PersonGroupNotTrained
from function_app.faceapi.local.matching import (
    DLIB_ONLY,
    FUSED,
    MatchRule,
    calibrated_confidence,
    distance_to_confidence,
    match_embeddings,
)
from function_app.faceapi.local.service import LocalFaceApi
from function_app.faceapi.local.training import TrainedIndex
from function_app.models import FaceRectangle
from function_app.settings import Settings
from function_app.storage import Storage
from function_app.storage.azure_storage import AzureStorage
from function_app.storage.local_folder import LocalFolderStorage
from tests.support.recognition import recognize_bytes

ENROLLED_LFW = ["ariel_sharon", "arnold_schwarzenegger", "colin_powell", "donald_rumsfeld", "george_w_bush"]
UNKNOWN_LFW = ["gerhard_schroeder", "hugo_chavez", "jacques_chirac", "vladimir_putin"]
# The central face of a 250×250 LFW photo; others may show at the edges.
LFW_CENTRE = FaceRectangle(top=50, left=50, width=150, height=150)
SCENE_PROBES = {
    "obama1.jpg": "obama",
    "obama3.jpg": "obama",
    "obama_small.jpg": "obama",
    "obama-720p.jpg": "obama",
    "johnsnow_test1.jpg": "kit_harington",
    "alex_lacamoire1.jpg": "alex_lacamoire",
}


@pytest.fixture(scope="module", params=["local", "azurite"])
def enrolled(request, engine, testdata, tmp_path_factory):
    """people/ (6 persons) and LFW photos 1–3 of five more, trained; on each storage backend."""
    storage: Storage
    if request.param == "local":
        storage = LocalFolderStorage(tmp_path_factory.mktemp("data"))
    else:
        storage = AzureStorage(request.getfixturevalue("azurite_connection_string"))
    local_api = LocalFaceApi(storage, engine, Settings())
    group_id = f"dev-{uuid.uuid4().hex[:8]}"
    local_api.create_group(group_id, "dev set")
    names = {}
    for folder in sorted((testdata / "people").iterdir()):
        person = local_api.create_person(group_id, folder.name)
        names[person.person_id] = folder.name
        for photo in sorted(folder.iterdir()):
            local_api.add_face(group_id, person.person_id, photo.read_bytes())
    for name in ENROLLED_LFW:
        person = local_api.create_person(group_id, name)
        names[person.person_id] = name
        for n in (1, 2, 3):
            photo = (testdata / "people_lfw" / name / f"{n}.jpg").read_bytes()
            local_api.add_face(group_id, person.person_id, photo, target_face=LFW_CENTRE)
    status = local_api.train(group_id)
    assert status.status == "succeeded", status.message
    return local_api, group_id, names


def central(faces, width=250, height=250):
    return min(
        faces,
        key=lambda f: (
            (f.rectangle.left + f.rectangle.width / 2 - width / 2) ** 2
            + (f.rectangle.top + f.rectangle.height / 2 - height / 2) ** 2
        ),
    )


def test_training_status_describes_the_training(enrolled):
    local_api, group_id, _ = enrolled
    status = local_api.training_status(group_id)
    body = status.to_dict()
    assert body["status"] == "succeeded"
    assert body["createdDateTime"] <= body["lastActionDateTime"]
    assert body["message"] == "Trained on 26 faces of 11 persons."


@pytest.mark.parametrize(("scene", "person"), SCENE_PROBES.items())
def test_other_photos_of_enrolled_people_are_identified(enrolled, testdata, scene, person):
    local_api, group_id, _ = enrolled
    [face] = recognize_bytes(local_api, group_id, (testdata / "scenes" / scene).read_bytes())
    assert face.name == person
    assert 0.5 <= face.confidence <= 1.0


def test_lfw_probes_of_enrolled_people_are_named_right_or_not_at_all(enrolled, testdata):
    local_api, group_id, _ = enrolled
    right, missed = 0, []
    for name in ENROLLED_LFW:
        for n in range(4, 11):
            faces = recognize_bytes(local_api, group_id, (testdata / "people_lfw" / name / f"{n}.jpg").read_bytes())
            face = central(faces)
            if face.name == name:
                right += 1
            else:
                assert face.candidates == [], f"{name}/{n}.jpg named {face.name}"
                missed.append(f"{name}/{n}")
    # Calibration (docs/calibration.md): 34 of 35 named, one Schwarzenegger photo just past the threshold.
    assert right >= 34, missed


def test_people_not_enrolled_get_no_candidate(enrolled, testdata):
    local_api, group_id, _ = enrolled
    for name in UNKNOWN_LFW:
        for n in range(1, 11):
            faces = recognize_bytes(local_api, group_id, (testdata / "people_lfw" / name / f"{n}.jpg").read_bytes())
            face = central(faces)
            assert face.candidates == [] and face.name == "Unknown", f"{name}/{n}.jpg named {face.name}"


@pytest.mark.parametrize(
    ("scene", "left_to_right"),
    [("two_people.jpg", ["obama", "biden"]), ("kit_with_rose.jpg", ["rose_leslie", "kit_harington"])],
)
def test_each_box_of_a_multi_face_photo_gets_its_own_name(enrolled, testdata, scene, left_to_right):
    local_api, group_id, _ = enrolled
    faces = recognize_bytes(local_api, group_id, (testdata / "scenes" / scene).read_bytes())
    by_position = sorted(faces, key=lambda f: f.rectangle.left)
    assert [f.name for f in by_position] == left_to_right


def test_crowd_photo_names_the_enrolled_and_not_the_child(enrolled, testdata):
    local_api, group_id, _ = enrolled
    faces = recognize_bytes(local_api, group_id, (testdata / "scenes/obama_and_biden.jpg").read_bytes())
    named = {f.name for f in faces if f.candidates}
    assert named == {"obama", "biden"}
    child = max(faces, key=lambda f: f.rectangle.top)  # lowest in the picture
    assert child.name == "Unknown"


def test_candidates_are_ranked_and_bounded(enrolled, testdata):
    local_api, group_id, names = enrolled
    [face] = recognize_bytes(
        local_api, group_id, (testdata / "scenes/obama1.jpg").read_bytes(), max_candidates=3, confidence_threshold=0.0
    )
    assert len(face.candidates) == 3
    assert face.candidates[0].name == "obama"
    confidences = [c.confidence for c in face.candidates]
    assert confidences == sorted(confidences, reverse=True)
    assert all(c.person_id in names for c in face.candidates)
    strict = recognize_bytes(
        local_api, group_id, (testdata / "scenes/obama1.jpg").read_bytes(), confidence_threshold=1.0
    )
    assert strict[0].candidates == []


@pytest.mark.parametrize("calibration", [DLIB_ONLY, FUSED], ids=["dlib", "fused"])
def test_calibrated_confidence_falls_with_distance_and_rises_with_margin(calibration):
    # Distances around the fit's midpoint, in the units of that distance (dlib's: 0-1; fused: z-scores).
    spread = 12.0 / calibration.slope
    distances = np.linspace(calibration.midpoint - spread, calibration.midpoint + spread, 101)
    # The best person at each distance, a second person a little further: monotonic in the distance.
    confidence = calibrated_confidence(np.stack([distances, distances + spread / 4], axis=1), calibration)[:, 0]
    assert np.all(np.diff(confidence) <= 0) and confidence[0] > 0.99 and confidence[-1] < 0.01
    # At the same distance, a larger margin over the second-best person: more confident.
    at = calibration.midpoint
    pairs = np.array([[at, at + spread / 10], [at, at + spread / 2], [at, at + spread]])
    margins = calibrated_confidence(pairs, calibration)[:, 0]
    assert margins[0] < margins[1] < margins[2]
    assert 0 < calibration.cut_off < 1


def test_confidence_mapping_is_monotonic_and_anchored():
    distances = np.linspace(0.0, 2.0, 201)
    confidence = distance_to_confidence(distances, 0.4)
    assert confidence[0] == 1.0
    assert distance_to_confidence(np.array([0.4]), 0.4)[0] == pytest.approx(0.5)
    assert np.all(np.diff(confidence) <= 0)
    assert confidence[-1] == 0.0


def test_matching_against_a_hundred_thousand_faces_keeps_the_answer(enrolled):
    local_api, group_id, _ = enrolled
    index = local_api.trainer.load_index(group_id)
    rng = np.random.default_rng(7)
    noise = rng.normal(size=(100_000, index.embeddings.shape[1])).astype(np.float32)
    noise /= np.linalg.norm(noise, axis=1, keepdims=True)
    big = TrainedIndex(
        "big",
        np.vstack([index.embeddings, noise]),
        np.concatenate([index.person_ids, np.array([f"noise-{i}" for i in range(1000)])]),
        np.concatenate([index.person_names, np.array(["noise"] * 1000)]),
        np.concatenate([index.person_starts, len(index.embeddings) + np.arange(1000) * 100]),
    )
    queries = index.embeddings[:5]
    rule = MatchRule(calibrated=True, match_threshold=0.4)
    small_answer = match_embeddings(index, queries, rule=rule, max_candidates=3)
    big_answer = match_embeddings(big, queries, rule=rule, max_candidates=3)
    assert [[c.person_id for c in row] for row in big_answer] == [[c.person_id for c in row] for row in small_answer]
    # The queries are enrolled faces: distance ~0 = sqrt(2 - 2·similarity), where the square root
    # turns float32 rounding of the similarity (~1e-6, summed in an order BLAS may change with the
    # matrix size and the load) into ~2e-3 of confidence. Hence the tolerance.
    for big_row, small_row in zip(big_answer, small_answer, strict=True):
        assert [c.confidence for c in big_row] == pytest.approx([c.confidence for c in small_row], abs=5e-3)
    assert all(row and row[0].confidence == pytest.approx(1.0, abs=5e-3) for row in big_answer)


def test_identify_before_any_training_is_refused(local_api, group_id):
    local_api.create_group(group_id, "untrained")
    with pytest.raises(PersonGroupNotTrained, match="not trained"):
        local_api.trainer.load_index(group_id)
    with pytest.raises(PersonGroupNotTrained, match="never been trained") as never:
        local_api.training_status(group_id)
    assert never.value.status == 404  # as Azure answers a group never trained


def test_training_an_empty_group_fails_clearly(local_api, group_id):
    local_api.create_group(group_id, "empty")
    local_api.create_person(group_id, "nobody yet")
    status = local_api.train(group_id)
    assert status.status == "failed"
    assert "no faces to train on" in status.message


def test_changes_after_training_wait_for_the_next_training(local_api, group_id, testdata):
    local_api.create_group(group_id, "g")
    obama = local_api.create_person(group_id, "obama")
    local_api.add_face(group_id, obama.person_id, (testdata / "people/obama/1.jpg").read_bytes())
    assert local_api.train(group_id).status == "succeeded"
    biden_photo = (testdata / "scenes/obama_and_biden.jpg").read_bytes()
    probe = (testdata / "people/biden/1.jpg").read_bytes()

    biden = local_api.create_person(group_id, "biden")
    local_api.add_face(group_id, biden.person_id, (testdata / "people/biden/2.jpg").read_bytes())
    assert recognize_bytes(local_api, group_id, probe)[0].name == "Unknown"  # not trained yet
    assert local_api.train(group_id).status == "succeeded"
    assert recognize_bytes(local_api, group_id, probe)[0].name == "biden"

    local_api.delete_person(group_id, biden.person_id)
    assert recognize_bytes(local_api, group_id, probe)[0].name == "biden"  # the snapshot still has him
    local_api.train(group_id)
    assert recognize_bytes(local_api, group_id, probe)[0].name == "Unknown"
    assert {f.name for f in recognize_bytes(local_api, group_id, biden_photo)} == {"obama", "Unknown"}


def test_a_failed_training_keeps_the_last_successful_one(local_api, group_id, testdata):
    local_api.create_group(group_id, "g")
    obama = local_api.create_person(group_id, "obama")
    local_api.add_face(group_id, obama.person_id, (testdata / "people/obama/1.jpg").read_bytes())
    local_api.train(group_id)
    local_api.delete_person(group_id, obama.person_id)
    assert local_api.train(group_id).status == "failed"
    assert recognize_bytes(local_api, group_id, (testdata / "scenes/obama1.jpg").read_bytes())[0].name == "obama"


def test_concurrent_trainings_leave_one_index_and_no_orphans(local_api, group_id, testdata):
    from concurrent.futures import ThreadPoolExecutor

    from function_app.storage.layout import GALLERY_CONTAINER as CONTAINER

    local_api.create_group(group_id, "g")
    obama = local_api.create_person(group_id, "obama")
    local_api.add_face(group_id, obama.person_id, (testdata / "people/obama/1.jpg").read_bytes())
    with ThreadPoolExecutor(max_workers=4) as pool:
        statuses = list(pool.map(lambda _: local_api.train(group_id), range(4)))
    assert {s.status for s in statuses} == {"succeeded"}
    published = local_api.trainer.load_index(group_id).training_id  # the manifest's blob
    chunks = json.loads(local_api.storage.get_blob(CONTAINER, published).data)["chunks"]
    kept = [b.name for b in local_api.storage.list_blobs(CONTAINER, f"{group_id}/training/")]
    assert sorted(kept) == sorted([published, *chunks, f"{group_id}/training/status.json"])
    assert recognize_bytes(local_api, group_id, (testdata / "scenes/obama1.jpg").read_bytes())[0].name == "obama"
