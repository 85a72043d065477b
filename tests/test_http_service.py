"""The service over real HTTP: `python -m function_app serve` started as a subprocess, on local
storage, on Azurite, and on the Azure engine (whose Face API is a second server on the local engine),
driven by the official FaceClient SDK and by `requests` as the prototype used them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from azure.cognitiveservices.vision.face import FaceClient
from azure.cognitiveservices.vision.face.models import APIErrorException
from msrest.authentication import CognitiveServicesCredentials

from .support.azure_engine import azure_engine_servers
from .support.images import blank_jpeg, still_camera, zip_of
from .support.service import start_server, stop_server
from .support.waiting import wait_for

KEY = f"http-{uuid.uuid4().hex}"


@dataclass(frozen=True)
class Server:
    url: str
    log: Path
    secrets_never_logged: tuple[str, ...] = (KEY,)


@pytest.fixture(scope="module", params=["local", "azurite", "azure-engine"])
def server(request, tmp_path_factory, testdata):
    folder = tmp_path_factory.mktemp("server")
    if request.param == "azure-engine":
        with azure_engine_servers(folder, KEY, {"FRAME_RECORDS": "on"}) as servers:
            yield Server(servers.url, servers.log, (KEY, servers.upstream_key))
        return
    env = {"FACE_API_KEY": KEY, "FRAME_RECORDS": "on"}
    if request.param == "local":
        env.update(STORAGE_BACKEND="local", STORAGE_DIR=str(folder / "data"))
    else:
        env.update(
            STORAGE_BACKEND="azure",
            AZURE_STORAGE_CONNECTION_STRING=request.getfixturevalue("azurite_connection_string"),
        )
    process, endpoint = start_server(env, folder / "server.log")
    yield Server(endpoint, folder / "server.log")
    stop_server(process)


@pytest.fixture(scope="module")
def face_client(server) -> FaceClient:
    return FaceClient(server.url, CognitiveServicesCredentials(KEY))


@pytest.fixture(scope="module")
def family(face_client, testdata, server):
    """The prototype's enrollment, as its code does it with the SDK: create the group, each person,
    add each photo from a stream, train and poll the status."""
    grupo = f"familia-{uuid.uuid4().hex[:6]}"
    face_client.person_group.create(person_group_id=grupo, name=grupo)
    ids = {}
    for pessoa in ("obama", "biden", "kit_harington", "rose_leslie"):
        ids[pessoa] = face_client.person_group_person.create(grupo, pessoa).person_id
        for image in sorted((testdata / "people" / pessoa).iterdir()):
            with open(image, "r+b") as stream:
                face_client.person_group_person.add_face_from_stream(grupo, ids[pessoa], stream)
    face_client.person_group.train(grupo)

    def trained():
        status = face_client.person_group.get_training_status(grupo)
        assert status.status != "failed", status.message
        return status.status == "succeeded"

    wait_for(trained)
    return grupo, ids


def test_the_prototype_s_detect_and_identify_loop(server, face_client, family, testdata):
    grupo, ids = family
    face_api_url = f"{server.url}/face/v1.0/detect"
    headers = {"Content-Type": "application/octet-stream", "Ocp-Apim-Subscription-Key": KEY}
    params = {"detectionModel": "detection_01", "returnFaceId": "true", "returnFaceRectangle": "true"}
    image = (testdata / "scenes/two_people.jpg").read_bytes()

    # Exactly the prototype's attributes: refused as Azure refuses the retired ones.
    retired = requests.post(
        face_api_url, params={**params, "returnFaceAttributes": "age, gender, emotion"}, headers=headers, data=image
    )
    assert retired.status_code == 400 and retired.json()["error"]["code"] == "BadArgument"

    response = requests.post(face_api_url, params=params, headers=headers, data=image)
    response.raise_for_status()
    faces = response.json()
    face_ids = [face["faceId"] for face in faces]
    results = face_client.face.identify(face_ids, grupo)
    names = {v: k for k, v in ids.items()}
    by_face = {r.face_id: r for r in results}
    left_to_right = sorted(faces, key=lambda f: f["faceRectangle"]["left"])
    assert [names[by_face[f["faceId"]].candidates[0].person_id] for f in left_to_right] == ["obama", "biden"]


def test_the_sdk_reads_groups_persons_faces_and_verifies(face_client, family, testdata):
    grupo, ids = family
    group = face_client.person_group.get(grupo)
    assert (group.person_group_id, group.name) == (grupo, grupo)
    assert grupo in [g.person_group_id for g in face_client.person_group.list()]
    persons = {p.name: p for p in face_client.person_group_person.list(grupo)}
    assert set(persons) == set(ids) and len(persons["obama"].persisted_face_ids) == 2
    face_id = persons["obama"].persisted_face_ids[0]
    assert face_client.person_group_person.get_face(grupo, ids["obama"], face_id).persisted_face_id == face_id
    with open(testdata / "scenes/obama1.jpg", "rb") as stream:
        [detected] = face_client.face.detect_with_stream(
            stream, return_face_landmarks=True, return_face_attributes=["headPose", "qualityForRecognition"]
        )
    assert detected.face_landmarks.pupil_left.x > 0 and detected.face_attributes.head_pose is not None
    verdict = face_client.face.verify_face_to_person(detected.face_id, ids["obama"], person_group_id=grupo)
    assert verdict.is_identical and verdict.confidence >= 0.5


def test_sdk_errors_carry_the_face_api_codes(server, face_client, family):
    with pytest.raises(APIErrorException) as missing:
        face_client.person_group.get("no-such-group")
    assert missing.value.error is not None and missing.value.error.error.code == "PersonGroupNotFound"
    wrong_key = FaceClient(server.url, CognitiveServicesCredentials("wrong"))
    with pytest.raises(APIErrorException) as denied:
        wrong_key.person_group.list()
    assert denied.value.response.status_code == 401
    assert denied.value.error is not None and denied.value.error.error.code == "401"


def test_the_training_status_of_a_group_never_trained_is_azures_404(face_client):
    """The old SDK models the 404 as an error; a 200 `notStarted` made it fail to deserialize."""
    grupo = f"nunca-{uuid.uuid4().hex[:6]}"
    face_client.person_group.create(grupo, name=grupo)
    with pytest.raises(APIErrorException) as never:
        face_client.person_group.get_training_status(grupo)
    assert never.value.response.status_code == 404
    assert never.value.error is not None and never.value.error.error.code == "PersonGroupNotTrained"
    face_client.person_group.delete(grupo)


def test_a_large_person_group_through_the_sdk(face_client, testdata):
    """The old SDK's large person group calls, identify and verify with largePersonGroupId and the update of
    a persisted face's userData, on each backend (the Azure engine passes them on to its Face API)."""
    grupo = f"grande-{uuid.uuid4().hex[:6]}"
    groups, persons = face_client.large_person_group, face_client.large_person_group_person
    groups.create(grupo, name=grupo, recognition_model="recognition_04")
    assert groups.get(grupo, return_recognition_model=True).recognition_model == "recognition_04"
    ids = {}
    for pessoa in ("obama", "biden"):
        ids[pessoa] = persons.create(grupo, pessoa).person_id
        for image in sorted((testdata / "people" / pessoa).iterdir()):
            with open(image, "rb") as stream:
                added = persons.add_face_from_stream(grupo, ids[pessoa], stream, user_data=image.name)
    persons.update_face(grupo, ids["biden"], added.persisted_face_id, user_data="checked")
    assert persons.get_face(grupo, ids["biden"], added.persisted_face_id).user_data == "checked"
    assert {p.name for p in persons.list(grupo)} == set(ids)
    groups.train(grupo)

    def trained():
        status = groups.get_training_status(grupo)
        assert status.status != "failed", status.message
        return status.status == "succeeded"

    wait_for(trained)
    with open(testdata / "scenes/obama1.jpg", "rb") as stream:
        [face] = face_client.face.detect_with_stream(stream)
    [result] = face_client.face.identify([face.face_id], large_person_group_id=grupo)
    assert result.candidates[0].person_id == ids["obama"]
    verdict = face_client.face.verify_face_to_person(face.face_id, ids["obama"], large_person_group_id=grupo)
    assert verdict.is_identical
    groups.delete(grupo)
    with pytest.raises(APIErrorException) as gone:
        groups.get(grupo)
    assert gone.value.error is not None and gone.value.error.error.code == "LargePersonGroupNotFound"


def test_a_chunked_upload_is_accepted(server, family, testdata):
    grupo, ids = family
    data = (testdata / "people/biden/2.jpg").read_bytes()

    def chunks():
        for i in range(0, len(data), 8192):
            yield data[i : i + 8192]

    url = f"{server.url}/face/v1.0/persongroups/{grupo}/persons/{ids['biden']}/persistedfaces"
    response = requests.post(url, headers={"Ocp-Apim-Subscription-Key": KEY}, data=chunks())
    assert response.request.headers.get("Transfer-Encoding") == "chunked"
    assert response.status_code == 200, response.text
    requests.delete(f"{url}/{response.json()['persistedFaceId']}", headers={"Ocp-Apim-Subscription-Key": KEY})


def test_frames_are_identified_and_tracked_into_visits(server, family, testdata):
    grupo, ids = family
    camera = f"porta-{uuid.uuid4().hex[:6]}"
    session = requests.Session()
    session.headers["x-functions-key"] = KEY
    answers = [
        session.post(
            f"{server.url}/api/frames",
            params={"personGroupId": grupo, "cameraId": camera, "location": "Casa"},
            headers={"Content-Type": "image/jpeg"},
            data=frame,
        ).json()
        for frame in still_camera((testdata / "scenes/kit_with_rose.jpg").read_bytes())
    ]
    frame = answers[-1]  # a track is named from three frames
    assert sorted(f["name"] for f in frame["faces"]) == ["kit_harington", "rose_leslie"]
    assert {f["personId"] for f in frame["faces"]} == {ids["kit_harington"], ids["rose_leslie"]}
    tracks = [sorted(f["trackId"] for f in answer["faces"]) for answer in answers]
    assert tracks[0] == tracks[1] == tracks[2] and len(set(tracks[0])) == 2
    assert all(f["visitId"] for f in frame["faces"]) and frame["record"].startswith(
        f"sightings/{frame['timeStamp'][:10].replace('-', '')}/{camera}/"
    )


def test_bulk_enrollment_runs_in_the_server_s_queue_worker(server, testdata):
    headers = {"Ocp-Apim-Subscription-Key": KEY}
    files = {f"{p.parent.name}/{p.name}": p.read_bytes() for p in (testdata / "people").glob("*/*")}
    files["kit_harington/blank.jpg"] = blank_jpeg()
    group = f"bulk-{uuid.uuid4().hex[:6]}"
    started = requests.post(
        f"{server.url}/api/enrollments",
        params={"personGroupId": group},
        headers={**headers, "Content-Type": "application/zip"},
        data=zip_of(files),
    )
    assert started.status_code == 202
    status_url = server.url + started.headers["Location"]

    def finished() -> dict[str, Any] | None:
        job = requests.get(status_url, headers=headers).json()
        return job if job["status"] in ("succeeded", "failed") else None

    done = wait_for(finished)
    assert done["status"] == "succeeded" and done["added"] == 11 and len(done["rejected"]) == 1
    assert (
        requests.get(f"{server.url}/face/v1.0/persongroups/{group}/training", headers=headers).json()["status"]
        == "succeeded"
    )


def test_routes_keys_and_the_openapi_document(server):
    headers = {"Ocp-Apim-Subscription-Key": KEY}
    assert requests.get(f"{server.url}/face/v1.0/persongroups").status_code == 401
    spec = requests.get(f"{server.url}/api/openapi.json", headers=headers).json()
    assert spec["openapi"].startswith("3.") and "/face/{apiVersion}/detect" in spec["paths"]
    assert requests.get(f"{server.url}/nowhere", headers=headers).json()["error"]["code"] == "ResourceNotFound"
    wrong_method = requests.delete(f"{server.url}/face/v1.0/detect", headers=headers)
    assert wrong_method.status_code == 405
    # Literal segments match without regard to case, as on Azure.
    assert requests.get(f"{server.url}/FACE/v1.0/PersonGroups", headers=headers).status_code == 200


def test_the_keys_are_never_logged(server, face_client, family):
    log = server.log.read_text()
    assert log and not [secret for secret in server.secrets_never_logged if secret in log]


def test_without_a_configured_key_the_server_makes_one_and_keeps_it_private(tmp_path, testdata):
    env = {"STORAGE_BACKEND": "local", "STORAGE_DIR": str(tmp_path / "data"), "FACE_API_KEY": ""}
    process, endpoint = start_server(env, tmp_path / "server.log")
    try:
        key_file = tmp_path / "data" / "api-key"
        assert key_file.stat().st_mode & 0o777 == 0o600
        key = key_file.read_text().strip()
        assert len(key) >= 24
        assert (
            requests.get(f"{endpoint}/face/v1.0/persongroups", headers={"Ocp-Apim-Subscription-Key": key}).json() == []
        )
        assert requests.get(f"{endpoint}/face/v1.0/persongroups").status_code == 401
    finally:
        stop_server(process)
    assert key not in (tmp_path / "server.log").read_text()
