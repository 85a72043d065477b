"""FACE_ENGINE=azure: this app on the Azure Face API, tested for real against a second instance of
this app on the local engine (the SDK, real HTTP). The shared flows (enrollment with the SDK, the
prototype's loop, frames, bulk enrollment) run on it in test_http_service.py; here, what only this
engine does: groups live in the service, throttling is retried, failures of the service are clear."""

from __future__ import annotations

import email.utils
import json
import time
import uuid

import pytest
import requests
from azure.cognitiveservices.vision.face import FaceClient
from azure.core.exceptions import ClientAuthenticationError
from msrest.authentication import CognitiveServicesCredentials

from function_app.errors import FaceApiError, PersonGroupNotFound
from function_app.faceapi.azure.client import MAX_ATTEMPTS, retry_delay
from function_app.faceapi.azure.service import AzureFaceApi
from function_app.settings import Settings
from function_app.storage.layout import FACE_IDS_CONTAINER as FACE_IDS
from function_app.storage.layout import GALLERY_CONTAINER as GALLERY
from function_app.storage.layout import GROUPS_CONTAINER as GROUPS
from function_app.storage.layout import VISITS_CONTAINER as VISITS
from function_app.storage.local_folder import LocalFolderStorage

from .support.azure_engine import azure_engine_servers
from .support.azurite import FakeEntraCredential, free_port
from .support.face_api_proxy import FaceApiProxy
from .support.images import still_camera
from .support.recognition import recognize_bytes
from .support.service import run_cli

KEY = f"front-{uuid.uuid4().hex}"


@pytest.fixture(scope="module")
def servers(tmp_path_factory, testdata):
    with azure_engine_servers(tmp_path_factory.mktemp("azure-engine"), KEY, {"FRAME_RECORDS": "on"}) as running:
        yield running


@pytest.fixture(scope="module")
def enrolled(servers, testdata):
    """Obama and Biden enrolled through the Azure-engine server with the SDK, and trained."""
    client = FaceClient(servers.url, CognitiveServicesCredentials(KEY))
    group = f"azure-{uuid.uuid4().hex[:6]}"
    client.person_group.create(group, name="Family", recognition_model="recognition_04")
    ids = {}
    for name in ("obama", "biden"):
        ids[name] = client.person_group_person.create(group, name).person_id
        for photo in sorted((testdata / "people" / name).iterdir()):
            with open(photo, "rb") as stream:
                client.person_group_person.add_face_from_stream(group, ids[name], stream)
    client.person_group.train(group)
    deadline = time.monotonic() + 60
    while client.person_group.get_training_status(group).status != "succeeded":
        assert time.monotonic() < deadline, "training did not finish"
        time.sleep(0.2)
    return group, ids


def _frame(servers, group, image: bytes, camera: str = "door") -> requests.Response:
    return requests.post(
        f"{servers.url}/api/frames",
        params={"personGroupId": group, "cameraId": camera},
        headers={"Ocp-Apim-Subscription-Key": KEY, "Content-Type": "image/jpeg"},
        data=image,
        timeout=60,
    )


def _still(servers, group, image: bytes, frames: int = 3) -> list[requests.Response]:
    """Frames of a camera standing still (a track is named from three), on a camera of their own."""
    camera = f"still-{uuid.uuid4().hex[:6]}"
    return [_frame(servers, group, frame, camera) for frame in still_camera(image, frames)]


def test_groups_persons_and_faces_live_in_the_face_service_not_in_the_app_s_storage(servers, enrolled):
    group, ids = enrolled
    upstream = requests.get(
        f"{servers.upstream_url}/face/v1.0/persongroups/{group}",
        params={"returnRecognitionModel": "true"},
        headers={"Ocp-Apim-Subscription-Key": servers.upstream_key},
    ).json()
    assert upstream["name"] == "Family" and upstream["recognitionModel"] == "recognition_04"
    persons = requests.get(
        f"{servers.upstream_url}/face/v1.0/persongroups/{group}/persons",
        headers={"Ocp-Apim-Subscription-Key": servers.upstream_key},
    ).json()
    assert {p["personId"]: len(p["persistedFaceIds"]) for p in persons} == {ids["obama"]: 2, ids["biden"]: 2}
    own = LocalFolderStorage(servers.storage_dir)
    assert [list(own.list_blobs(c)) for c in (GALLERY, GROUPS, FACE_IDS)] == [[], [], []]


def test_frames_name_each_face_and_the_visits_are_written_by_this_app(servers, enrolled, testdata):
    group, ids = enrolled
    answers = _still(servers, group, (testdata / "scenes/two_people.jpg").read_bytes())
    assert [a.status_code for a in answers] == [200] * 3, answers[-1].text
    faces = sorted(answers[-1].json()["faces"], key=lambda f: f["faceRectangle"]["left"])
    assert [(f["name"], f["personId"]) for f in faces] == [("obama", ids["obama"]), ("biden", ids["biden"])]
    assert all(f["confidence"] >= 0.5 and f["qualityForRecognition"] for f in faces)
    own = LocalFolderStorage(servers.storage_dir)
    for face in faces:
        written = json.loads(own.get_blob(VISITS, f"{face['visitId'][1:9]}/{face['visitId']}.json").data)
        assert (written["name"], written["personId"]) == (face["name"], face["personId"])


def test_throttling_is_retried_after_the_time_the_service_asks(servers, enrolled, testdata):
    group, _ = enrolled
    throttled_before = servers.proxy.throttled
    servers.proxy.throttle(2)  # the detect of the frame is throttled twice, then served
    started = time.monotonic()
    # The first frame waits out the throttling (seconds: longer than a track's gap), the next three name a track.
    answer = _still(servers, group, (testdata / "scenes/obama1.jpg").read_bytes(), frames=4)[-1]
    assert answer.status_code == 200, answer.text
    assert [f["name"] for f in answer.json()["faces"]] == ["obama"]
    assert servers.proxy.throttled - throttled_before == 2
    assert time.monotonic() - started >= 2 * servers.proxy.retry_after  # it waited as Retry-After asked


def test_throttling_that_lasts_answers_429_with_retry_after_and_says_so(servers, enrolled, testdata):
    group, _ = enrolled
    servers.proxy.throttle(MAX_ATTEMPTS)
    try:
        answer = _frame(servers, group, (testdata / "scenes/obama1.jpg").read_bytes())
    finally:
        servers.proxy.throttle(0)
    assert answer.status_code == 429
    assert answer.headers["Retry-After"] == str(servers.proxy.retry_after)
    error = answer.json()["error"]
    assert error["code"] == "429" and f"after {MAX_ATTEMPTS} tries" in error["message"]


def test_a_throttled_call_is_tried_max_attempts_times_in_all(servers, enrolled):
    """Only the app retries a 429: the SDK's transport (urllib3 honours Retry-After on GETs) must not
    multiply the calls to a service that is already throttling."""
    group, _ = enrolled
    throttled_before = servers.proxy.throttled
    servers.proxy.throttle(10**6)
    try:
        answer = requests.get(
            f"{servers.url}/face/v1.0/persongroups/{group}", headers={"Ocp-Apim-Subscription-Key": KEY}
        )
    finally:
        servers.proxy.throttle(0)
    assert answer.status_code == 429
    assert servers.proxy.throttled - throttled_before == MAX_ATTEMPTS


def test_errors_of_the_service_keep_their_codes(servers, enrolled, testdata):
    group, ids = enrolled
    headers = {"Ocp-Apim-Subscription-Key": KEY}
    missing = requests.get(f"{servers.url}/face/v1.0/persongroups/no-such-group", headers=headers)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "PersonGroupNotFound"
    blank = requests.post(
        f"{servers.url}/face/v1.0/persongroups/{group}/persons/{ids['obama']}/persistedfaces",
        headers={**headers, "Content-Type": "application/octet-stream"},
        data=(testdata / "scenes/two_people.jpg").read_bytes(),
    )
    assert blank.status_code == 400 and blank.json()["error"]["code"] == "InvalidImage"
    assert "2 faces" in blank.json()["error"]["message"]


def test_a_refused_service_key_is_a_502_that_names_the_setting_not_the_key(servers, enrolled, testdata):
    group, _ = enrolled
    service = AzureFaceApi(
        Settings(face_engine="azure", azure_face_endpoint=servers.upstream_url, azure_face_key="not-the-key")
    )
    with pytest.raises(FaceApiError) as refused:
        service.get_group(group)
    assert refused.value.status == 502 and "AZURE_FACE_KEY" in refused.value.message
    assert "not-the-key" not in refused.value.message


def test_an_unreachable_service_is_a_503_that_names_the_endpoint(servers):
    endpoint = f"http://127.0.0.1:{free_port()}"
    service = AzureFaceApi(Settings(face_engine="azure", azure_face_endpoint=endpoint, azure_face_key="k"))
    with pytest.raises(FaceApiError) as unreachable:
        service.list_groups()
    assert unreachable.value.status == 503 and endpoint in unreachable.value.message


def test_the_service_s_errors_become_this_app_s_domain_errors(servers):
    service = AzureFaceApi(
        Settings(face_engine="azure", azure_face_endpoint=servers.upstream_url, azure_face_key=servers.upstream_key)
    )
    with pytest.raises(PersonGroupNotFound):
        service.training_status("no-such-group")


def test_the_engine_needs_its_endpoint():
    with pytest.raises(ValueError, match="AZURE_FACE_ENDPOINT"):
        AzureFaceApi(Settings(face_engine="azure"))


@pytest.fixture(scope="module")
def entra_proxy(servers):
    """The Face API behind Microsoft Entra sign-in: bearer tokens for Cognitive Services only."""
    proxy = FaceApiProxy(servers.upstream_url, entra_key=servers.upstream_key)
    yield proxy
    proxy.close()


def test_without_a_key_the_engine_signs_in_with_its_identity(entra_proxy, enrolled, testdata):
    group, ids = enrolled
    credential = FakeEntraCredential()
    service = AzureFaceApi(Settings(face_engine="azure", azure_face_endpoint=entra_proxy.url), credential=credential)
    [face] = recognize_bytes(service, group, (testdata / "scenes/obama1.jpg").read_bytes())
    assert (face.name, face.person_id) == ("obama", ids["obama"])
    assert set(credential.scopes) == {"https://cognitiveservices.azure.com/.default"}
    assert len(credential.scopes) >= 3  # a token for each request (detect, identify, persons); the credential caches


def test_an_identity_the_service_refuses_is_a_502_that_says_what_to_check(entra_proxy):
    expired = FakeEntraCredential(lifetime=-600)
    service = AzureFaceApi(Settings(face_engine="azure", azure_face_endpoint=entra_proxy.url), credential=expired)
    with pytest.raises(FaceApiError) as refused:
        service.list_groups()
    assert refused.value.status == 502 and "AZURE_FACE_KEY" in refused.value.message


def test_an_identity_that_cannot_get_a_token_is_a_502_that_says_so(entra_proxy):
    class NoIdentityHere:
        def get_token(self, *scopes, **kwargs):
            raise ClientAuthenticationError("ManagedIdentityCredential authentication unavailable")

    service = AzureFaceApi(
        Settings(face_engine="azure", azure_face_endpoint=entra_proxy.url), credential=NoIdentityHere()
    )
    with pytest.raises(FaceApiError) as refused:
        service.list_groups()
    assert refused.value.status == 502 and "could not sign in" in refused.value.message
    assert "AZURE_CLIENT_ID" in refused.value.message


def test_retry_after_in_seconds_or_as_an_http_date():
    assert retry_delay("7", attempt=0) == 7.0
    in_ten = email.utils.formatdate(time.time() + 10, usegmt=True)
    assert 8.0 <= retry_delay(in_ten, attempt=0) <= 10.0
    assert retry_delay(None, attempt=3) == 8.0  # no header: exponential backoff
    assert retry_delay("soon", attempt=1) == 2.0


def test_the_command_line_enrolls_and_identifies_on_the_azure_engine(servers, testdata, tmp_path):
    engine = {
        "FACE_ENGINE": "azure",
        "AZURE_FACE_ENDPOINT": servers.upstream_url,
        "AZURE_FACE_KEY": servers.upstream_key,
    }
    enrolled = run_cli("enroll", "--group", "cli-family", str(testdata / "people"), data=tmp_path, **engine)
    assert enrolled.returncode == 0, enrolled.stderr
    assert "11 photos added for 6 persons; 0 rejected." in enrolled.stdout and "training: succeeded" in enrolled.stdout
    again = run_cli("enroll", "--group", "cli-family", str(testdata / "people"), data=tmp_path, **engine)
    assert "0 photos added for 6 persons; 0 rejected, 11 already enrolled." in again.stdout  # userData kept there
    found = run_cli(
        "identify", "--group", "cli-family", str(testdata / "scenes/kit_with_rose.jpg"), data=tmp_path, **engine
    )
    assert found.returncode == 0, found.stderr
    faces = sorted(json.loads(found.stdout)["faces"], key=lambda f: f["faceRectangle"]["left"])
    assert [f["name"] for f in faces] == ["rose_leslie", "kit_harington"]
    assert servers.upstream_key not in enrolled.stdout + enrolled.stderr + found.stdout + found.stderr
