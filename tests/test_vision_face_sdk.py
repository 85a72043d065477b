"""Microsoft's maintained Face SDK, `azure-ai-vision-face`, against the service over real HTTP: its own
`FaceClient` and `FaceAdministrationClient` with an `AzureKeyCredential`, the endpoint a server started
here on real photos. The SDK speaks v1.2-preview.1 (and v1.2 when asked): large person groups, training
polled through the Operation-Location the service answers, identify and verify; find-similar, group
and large face lists (their training polled the same way)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from azure.ai.vision.face import FaceAdministrationClient, FaceClient
from azure.ai.vision.face.models import FaceDetectionModel, FaceRecognitionModel
from azure.core.credentials import AzureKeyCredential
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from .support.azure_engine import azure_engine_servers
from .support.service import start_server, stop_server

KEY = f"sdk-{uuid.uuid4().hex}"
POLL = 0.2  # seconds between the poller's reads of the operation (the SDK's default is 30)
PEOPLE = ("obama", "biden")


@pytest.fixture(scope="module", params=["local", "azure-engine"])
def endpoint(request, tmp_path_factory) -> Iterator[str]:
    """The service on the local engine, and on the Azure engine (whose Face API is another server here)."""
    folder = tmp_path_factory.mktemp("sdk")
    if request.param == "azure-engine":
        with azure_engine_servers(folder, KEY) as servers:
            yield servers.url
        return
    env = {"FACE_API_KEY": KEY, "STORAGE_BACKEND": "local", "STORAGE_DIR": str(folder / "data")}
    process, url = start_server(env, folder / "server.log")
    yield url
    stop_server(process)


@pytest.fixture(scope="module")
def face_client(endpoint) -> FaceClient:
    return FaceClient(endpoint, AzureKeyCredential(KEY))


@pytest.fixture(scope="module")
def admin(endpoint) -> FaceAdministrationClient:
    return FaceAdministrationClient(endpoint, AzureKeyCredential(KEY))


def _detect(face_client: FaceClient, photo: Path) -> list:
    return face_client.detect(
        photo.read_bytes(),
        detection_model=FaceDetectionModel.DETECTION03,
        recognition_model=FaceRecognitionModel.RECOGNITION04,
        return_face_id=True,
    )


@pytest.fixture(scope="module")
def large_group(admin, testdata) -> tuple[str, dict[str, str]]:
    """A large person group made, filled and trained through the SDK alone: (group id, {name: personId})."""
    group_id = f"lpg-{uuid.uuid4().hex[:12]}"
    groups = admin.large_person_group
    groups.create(group_id, name="family", user_data="sdk", recognition_model=FaceRecognitionModel.RECOGNITION04)
    persons = {}
    for name in PEOPLE:
        person = groups.create_person(group_id, name=name)
        persons[name] = person.person_id
        for photo in sorted((testdata / "people" / name).iterdir()):
            added = groups.add_face(group_id, person.person_id, photo.read_bytes(), user_data=photo.name)
            assert uuid.UUID(added.persisted_face_id)
    poller = groups.begin_train(group_id, polling_interval=POLL)
    poller.result(timeout=120)
    assert poller.status().lower() == "succeeded"
    return group_id, persons


def test_detect_answers_faces_with_ids_and_rectangles(face_client, testdata):
    [face] = _detect(face_client, testdata / "scenes/obama1.jpg")
    assert uuid.UUID(face.face_id)
    assert face.face_rectangle.width > 50 and face.face_rectangle.height > 50
    assert face.recognition_model is None
    [again] = face_client.detect(
        (testdata / "scenes/obama1.jpg").read_bytes(),
        detection_model=FaceDetectionModel.DETECTION01,
        recognition_model=FaceRecognitionModel.RECOGNITION03,
        return_face_id=True,
        return_recognition_model=True,
        return_face_landmarks=True,
        return_face_attributes=["headPose", "qualityForRecognition"],
    )
    assert again.recognition_model == "recognition_03"  # echoed as asked
    assert again.face_landmarks.pupil_left.x > 0 and again.face_attributes.head_pose is not None


def test_the_large_person_group_reads_back_as_created(admin, large_group):
    group_id, persons = large_group
    groups = admin.large_person_group
    group = groups.get(group_id, return_recognition_model=True)
    assert (group.large_person_group_id, group.name, group.user_data) == (group_id, "family", "sdk")
    assert group.recognition_model == "recognition_04"  # echoed, as Azure does
    assert groups.get(group_id).recognition_model is None  # only when asked for
    assert group_id in [g.large_person_group_id for g in groups.get_large_person_groups()]
    listed = {p.name: p for p in groups.get_persons(group_id)}
    assert {name: p.person_id for name, p in listed.items()} == persons
    obama = listed["obama"]
    face = groups.get_face(group_id, obama.person_id, obama.persisted_face_ids[0])
    assert face.user_data and face.user_data.endswith(".jpg")
    groups.update_face(group_id, obama.person_id, face.persisted_face_id, user_data="checked")
    assert groups.get_face(group_id, obama.person_id, face.persisted_face_id).user_data == "checked"
    groups.update(group_id, name="family, renamed")
    assert groups.get(group_id).name == "family, renamed"
    status = groups.get_training_status(group_id)
    assert status.status == "succeeded"


def test_identify_and_verify_against_the_large_person_group(face_client, large_group, testdata):
    group_id, persons = large_group
    [obama] = _detect(face_client, testdata / "scenes/obama1.jpg")
    [result] = face_client.identify_from_large_person_group(face_ids=[obama.face_id], large_person_group_id=group_id)
    assert result.candidates[0].person_id == persons["obama"]
    assert result.candidates[0].confidence >= 0.5
    same = face_client.verify_from_large_person_group(
        face_id=obama.face_id, large_person_group_id=group_id, person_id=persons["obama"]
    )
    other = face_client.verify_from_large_person_group(
        face_id=obama.face_id, large_person_group_id=group_id, person_id=persons["biden"]
    )
    assert same.is_identical and not other.is_identical


def test_verify_two_faces(face_client, testdata):
    [obama1] = _detect(face_client, testdata / "scenes/obama1.jpg")
    [obama3] = _detect(face_client, testdata / "scenes/obama3.jpg")
    [biden] = _detect(face_client, testdata / "people/biden/2.jpg")
    assert face_client.verify_face_to_face(face_id1=obama1.face_id, face_id2=obama3.face_id).is_identical
    assert not face_client.verify_face_to_face(face_id1=obama1.face_id, face_id2=biden.face_id).is_identical


def test_training_through_v1_2_is_polled_too(endpoint, testdata):
    """The same SDK told to speak v1.2, the generally available version: training is long-running there too."""
    admin = FaceAdministrationClient(endpoint, AzureKeyCredential(KEY), api_version="v1.2")
    groups = admin.large_person_group
    group_id = f"lpg-{uuid.uuid4().hex[:12]}"
    groups.create(group_id, name="v1.2")
    person = groups.create_person(group_id, name="obama")
    # v1.2 answers adding a face as a long-running operation (202), which this preview SDK does not
    # expect; the face is added all the same, and read back through v1.2.
    with pytest.raises(HttpResponseError) as accepted:
        groups.add_face(group_id, person.person_id, (testdata / "people/obama/1.jpg").read_bytes())
    assert accepted.value.status_code == 202
    assert len(groups.get_person(group_id, person.person_id).persisted_face_ids or []) == 1
    groups.begin_train(group_id, polling_interval=POLL).result(timeout=120)
    assert groups.get_training_status(group_id).status == "succeeded"
    groups.delete(group_id)


def _code(error: HttpResponseError) -> str | None:
    """The Face API's error code, as the SDK read it from the answer's envelope."""
    return error.error.code if error.error is not None else None


def test_errors_reach_the_sdk_with_azures_codes(admin, face_client, testdata):
    groups = admin.large_person_group
    with pytest.raises(ResourceNotFoundError) as missing:
        groups.get(f"lpg-missing-{uuid.uuid4().hex[:6]}")
    assert _code(missing.value) == "LargePersonGroupNotFound"
    untrained = f"lpg-{uuid.uuid4().hex[:12]}"
    groups.create(untrained, name="never trained")
    with pytest.raises(ResourceNotFoundError) as never:
        groups.get_training_status(untrained)
    assert _code(never.value) == "LargePersonGroupNotTrained"
    [face] = _detect(face_client, testdata / "scenes/obama1.jpg")
    with pytest.raises(HttpResponseError) as not_trained:
        face_client.identify_from_large_person_group(face_ids=[face.face_id], large_person_group_id=untrained)
    assert (not_trained.value.status_code, _code(not_trained.value)) == (400, "LargePersonGroupNotTrained")
    groups.delete(untrained)
    with pytest.raises(ResourceNotFoundError):
        groups.get(untrained)


# -- find-similar, group, large face lists -----------------------------------------------------------
def test_find_similar_among_face_ids(face_client, testdata):
    [obama1] = _detect(face_client, testdata / "scenes/obama1.jpg")
    [obama3] = _detect(face_client, testdata / "scenes/obama3.jpg")
    [biden] = _detect(face_client, testdata / "people/biden/2.jpg")
    similar = face_client.find_similar(face_id=obama1.face_id, face_ids=[biden.face_id, obama3.face_id])
    assert similar[0].face_id == obama3.face_id


def test_group_faces(face_client, testdata):
    faces = [
        _detect(face_client, testdata / photo)[0]
        for photo in ("scenes/obama1.jpg", "scenes/obama3.jpg", "people/biden/2.jpg")
    ]
    grouped = face_client.group(face_ids=[f.face_id for f in faces])
    assert [faces[0].face_id, faces[1].face_id] in [sorted(g) for g in grouped.groups] or any(
        {faces[0].face_id, faces[1].face_id} <= set(g) for g in grouped.groups
    )


def test_large_face_list_and_find_similar_in_it(admin, face_client, testdata):
    lists = admin.large_face_list
    list_id = f"lfl-{uuid.uuid4().hex[:12]}"
    lists.create(list_id, name="faces", recognition_model=FaceRecognitionModel.RECOGNITION04)
    added = {
        name: lists.add_face(list_id, (testdata / "people" / name / "1.jpg").read_bytes()).persisted_face_id
        for name in PEOPLE
    }
    lists.begin_train(list_id, polling_interval=POLL).result(timeout=120)
    [probe] = _detect(face_client, testdata / "scenes/obama1.jpg")
    similar = face_client.find_similar_from_large_face_list(face_id=probe.face_id, large_face_list_id=list_id)
    assert similar[0].persisted_face_id == added["obama"]
    lists.delete(list_id)


def test_large_face_list_through_v1_2(endpoint, testdata):
    """v1.2 as for large person groups: adding a face answers 202 (which this preview SDK does not
    expect, the face is added all the same), and training is polled through its Operation-Location."""
    lists = FaceAdministrationClient(endpoint, AzureKeyCredential(KEY), api_version="v1.2").large_face_list
    list_id = f"lfl-{uuid.uuid4().hex[:12]}"
    lists.create(list_id, name="v1.2")
    with pytest.raises(HttpResponseError) as accepted:
        lists.add_face(list_id, (testdata / "people/obama/1.jpg").read_bytes())
    assert accepted.value.status_code == 202 and len(lists.get_faces(list_id)) == 1
    lists.begin_train(list_id, polling_interval=POLL).result(timeout=120)
    assert lists.get_training_status(list_id).status == "succeeded"
    lists.delete(list_id)
