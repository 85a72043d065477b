"""Every HTTP, queue and timer function, called in-process on real photos, on local storage and
on Azurite. Requests are routed as the local host routes them."""

from __future__ import annotations

import json
import re
import uuid
from datetime import timedelta

import pytest
from azure.functions.decorators.http import HttpTrigger
from openapi_spec_validator import validate as validate_openapi

from function_app.api.openapi import OPERATOR_FUNCTIONS
from function_app.api.web import WEB_FUNCTIONS
from function_app.clock import utc_now
from function_app.faceapi.local.face_ids import FaceIdStore, RememberedFace
from function_app.local_host.functions import app_functions
from function_app.local_host.host_config import HostConfig
from function_app.runtime import current_runtime
from function_app.storage.layout import ENROLL_QUEUE, GALLERY_CONTAINER, TRAIN_QUEUE, poison_queue
from function_app.storage.layout import FACE_IDS_CONTAINER as FACE_IDS
from function_app.storage.layout import SIGHTINGS_CONTAINER as SIGHTINGS
from function_app.storage.layout import VISITS_CONTAINER as VISITS

from .support.api_client import InProcessClient, queue_worker, router
from .support.api_client import drain as drain_queues
from .support.images import blank_jpeg, still_camera, zip_of

KEY = f"key-{uuid.uuid4().hex}"
GROUPS = "/face/v1.0/persongroups"
VISIT_ID = re.compile(r"^v(\d{8})T\d{9}-[0-9a-f]{12}$")
RECORD_NAME = re.compile(r"^sightings/(\d{8})/([^/]+)/(\d{2})\.jsonl#(\d+)$")


class Api:
    def __init__(self, runtime):
        self.runtime = runtime
        self.client = InProcessClient(KEY)
        self.worker = queue_worker(runtime.storage)

    def __getattr__(self, name):
        return getattr(self.client, name)


@pytest.fixture(scope="module", params=["local", "azurite"])
def api(request, tmp_path_factory):
    with pytest.MonkeyPatch.context() as env:
        env.setenv("FACE_API_KEY", KEY)
        env.setenv("FRAME_RECORDS", "on")  # the sightings tests below read them
        if request.param == "local":
            env.setenv("STORAGE_BACKEND", "local")
            env.setenv("STORAGE_DIR", str(tmp_path_factory.mktemp("api")))
        else:
            env.setenv("STORAGE_BACKEND", "azure")
            env.setenv("AZURE_STORAGE_CONNECTION_STRING", request.getfixturevalue("azurite_connection_string"))
        yield Api(current_runtime())


def new_group(api: Api, name: str = "test group") -> str:
    group_id = f"g-{uuid.uuid4().hex[:12]}"
    assert api.put(f"{GROUPS}/{group_id}", json_body={"name": name}).status == 200
    return group_id


def drain(api: Api) -> None:
    drain_queues(api.worker)


@pytest.fixture(scope="module")
def family(api, testdata):
    """people/ enrolled through the functions, trained through the queue: (group id, {name: personId})."""
    group_id = new_group(api, "family")
    persons = {}
    for folder in sorted((testdata / "people").iterdir()):
        persons[folder.name] = api.post(f"{GROUPS}/{group_id}/persons", json_body={"name": folder.name}).json()[
            "personId"
        ]
        for photo in sorted(folder.iterdir()):
            reply = api.post(
                f"{GROUPS}/{group_id}/persons/{persons[folder.name]}/persistedfaces", data=photo.read_bytes()
            )
            assert reply.status == 200, reply.body
    assert api.post(f"{GROUPS}/{group_id}/train").status == 202
    drain(api)
    assert api.get(f"{GROUPS}/{group_id}/training").json()["status"] == "succeeded"
    return group_id, persons


def post_frame(api: Api, group_id: str, camera: str, image: bytes, **params) -> dict:
    """The photo as a camera standing still sends it, three frames (a track is named from three): the last
    frame's answer."""
    for frame in still_camera(image):
        reply = api.post("/api/frames", data=frame, params={"personGroupId": group_id, "cameraId": camera, **params})
        assert reply.status == 200, reply.body
    return reply.json()


def detect(api: Api, data: bytes, **params) -> list[dict]:
    reply = api.post("/face/v1.0/detect", data=data, params=params)
    assert reply.status == 200, reply.body
    return reply.json()


# -- person groups ---------------------------------------------------------------------------------
def test_person_group_lifecycle(api):
    group_id = new_group(api, "Family")
    assert api.put(f"{GROUPS}/{group_id}", json_body={"name": "again"}).error_code == "PersonGroupExists"
    assert api.get(f"{GROUPS}/{group_id}").json() == {"personGroupId": group_id, "name": "Family", "userData": None}
    assert api.get(f"{GROUPS}/{group_id}", params={"returnRecognitionModel": "true"}).json()["recognitionModel"]
    assert api.patch(f"{GROUPS}/{group_id}", json_body={"userData": "home"}).status == 200
    assert api.get(f"{GROUPS}/{group_id}").json()["userData"] == "home"
    listed = api.get(GROUPS, params={"start": group_id[:-1], "top": "1000"}).json()
    assert group_id in [g["personGroupId"] for g in listed]
    never_trained = api.get(f"{GROUPS}/{group_id}/training")  # as Azure: 404, not a status
    assert (never_trained.status, never_trained.error_code) == (404, "PersonGroupNotTrained")
    assert api.delete(f"{GROUPS}/{group_id}").status == 200
    gone = api.get(f"{GROUPS}/{group_id}")
    assert (gone.status, gone.error_code) == (404, "PersonGroupNotFound")


@pytest.mark.parametrize(
    ("body", "message"),
    [(b"", "JSON object"), (b"{not json", "JSON parsing error"), (b"[1]", "JSON object"), (b'{"name": ""}', "name")],
)
def test_bad_group_bodies_answer_bad_argument(api, body, message):
    reply = api.put(f"{GROUPS}/g-{uuid.uuid4().hex[:8]}", data=body, content_type="application/json")
    assert (reply.status, reply.error_code) == (400, "BadArgument")
    assert message in reply.json()["error"]["message"]


def test_bad_group_id_and_top(api):
    assert api.put(f"{GROUPS}/Bad Id", json_body={"name": "x"}).error_code == "BadArgument"
    assert api.get(GROUPS, params={"top": "0"}).error_code == "BadArgument"
    assert api.get(GROUPS, params={"top": "many"}).error_code == "BadArgument"


# -- persons and faces -----------------------------------------------------------------------------
def test_person_and_face_lifecycle(api, testdata):
    group_id = new_group(api)
    persons = f"{GROUPS}/{group_id}/persons"
    person_id = api.post(persons, json_body={"name": "obama", "userData": "44th"}).json()["personId"]
    added = api.post(
        f"{persons}/{person_id}/persistedfaces",
        data=(testdata / "people/obama/1.jpg").read_bytes(),
        params={"userData": "portrait", "detectionModel": "detection_03"},
    )
    face_id = added.json()["persistedFaceId"]
    assert api.get(f"{persons}/{person_id}/persistedfaces/{face_id}").json() == {
        "persistedFaceId": face_id,
        "userData": "portrait",
    }
    person = api.get(f"{persons}/{person_id}").json()
    assert person == {"personId": person_id, "name": "obama", "userData": "44th", "persistedFaceIds": [face_id]}
    assert api.patch(f"{persons}/{person_id}", json_body={"name": "barack"}).status == 200
    assert [p["name"] for p in api.get(persons).json()] == ["barack"]
    assert api.delete(f"{persons}/{person_id}/persistedfaces/{face_id}").status == 200
    assert api.get(f"{persons}/{person_id}").json()["persistedFaceIds"] == []
    assert api.delete(f"{persons}/{person_id}").status == 200
    assert api.get(f"{persons}/{person_id}").error_code == "PersonNotFound"
    assert api.get(f"{persons}/{uuid.uuid4()}/persistedfaces/{face_id}").error_code == "PersonNotFound"


def test_rejected_photos_answer_invalid_image_and_store_nothing(api, testdata):
    group_id = new_group(api)
    person_id = api.post(f"{GROUPS}/{group_id}/persons", json_body={"name": "x"}).json()["personId"]
    faces = f"{GROUPS}/{group_id}/persons/{person_id}/persistedfaces"
    cases = [
        (blank_jpeg(), "InvalidImage", "No face"),
        ((testdata / "scenes/two_people.jpg").read_bytes(), "InvalidImage", "2 faces"),
        (b"not an image", "InvalidImage", ""),
        (b"", "InvalidImage", ""),
    ]
    for data, code, message in cases:
        reply = api.post(faces, data=data)
        assert (reply.status, reply.error_code) == (400, code), reply.body
        assert message in reply.json()["error"]["message"]
    url = api.post(faces, json_body={"url": "http://127.0.0.1:9/obama.jpg"})  # loopback: refused unless allowed
    assert (url.status, url.error_code) == (400, "InvalidURL")
    for target in ("1,2,3", "a,b,c,d", "0,0,-5,10"):
        assert api.post(faces, data=blank_jpeg(), params={"targetFace": target}).error_code == "BadArgument"
    assert api.get(f"{GROUPS}/{group_id}/persons/{person_id}").json()["persistedFaceIds"] == []


def test_target_face_picks_one_face_of_several(api, family, testdata):
    group_id, persons = family
    photo = (testdata / "scenes/two_people.jpg").read_bytes()
    left = min(detect(api, photo), key=lambda f: f["faceRectangle"]["left"])["faceRectangle"]
    target = f"{left['left']},{left['top']},{left['width']},{left['height']}"
    reply = api.post(
        f"{GROUPS}/{group_id}/persons/{persons['obama']}/persistedfaces", data=photo, params={"targetFace": target}
    )
    assert reply.status == 200
    api.delete(f"{GROUPS}/{group_id}/persons/{persons['obama']}/persistedfaces/{reply.json()['persistedFaceId']}")


# -- training through the queue -------------------------------------------------------------------
def test_training_answers_202_and_the_queue_function_trains(api, testdata):
    group_id = new_group(api)
    person_id = api.post(f"{GROUPS}/{group_id}/persons", json_body={"name": "biden"}).json()["personId"]
    api.post(
        f"{GROUPS}/{group_id}/persons/{person_id}/persistedfaces", data=(testdata / "people/biden/1.jpg").read_bytes()
    )
    reply = api.post(f"{GROUPS}/{group_id}/train")
    assert (reply.status, reply.body) == (202, b"")
    assert api.get(f"{GROUPS}/{group_id}/training").json()["status"] == "running"
    drain(api)
    status = api.get(f"{GROUPS}/{group_id}/training").json()
    assert status["status"] == "succeeded" and status["createdDateTime"] and status["lastActionDateTime"]


def test_training_an_empty_group_fails_with_a_message(api):
    group_id = new_group(api)
    api.post(f"{GROUPS}/{group_id}/train")
    drain(api)
    status = api.get(f"{GROUPS}/{group_id}/training").json()
    assert status["status"] == "failed" and "no faces" in status["message"]


def test_handling_a_training_message_twice_does_no_harm(api, family):
    group_id, _ = family
    message = json.dumps({"personGroupId": group_id})
    for _ in range(2):
        api.runtime.storage.send_message(TRAIN_QUEUE, message)
    drain(api)
    assert api.get(f"{GROUPS}/{group_id}/training").json()["status"] == "succeeded"
    indexes = [
        b.name
        for b in api.runtime.storage.list_blobs(GALLERY_CONTAINER, f"{group_id}/training/")
        if b.name.endswith(".npz")
    ]
    assert len(indexes) == 1


def test_a_message_that_always_fails_goes_to_the_poison_queue(api, caplog):
    storage = api.runtime.storage
    junk = f"not json {uuid.uuid4()}"
    storage.send_message(TRAIN_QUEUE, junk)
    tries = 0
    while tries < 10 and api.worker.run_once():
        tries += 1
    assert tries == HostConfig().max_dequeue_count
    assert f"moved to {poison_queue(TRAIN_QUEUE)} after 5 tries" in caplog.text
    # The poison queue's function read it, found it names no group to mark failed, and dropped it.
    assert "Poisoned message dropped" in caplog.text
    assert storage.receive_messages(TRAIN_QUEUE) == []
    assert storage.receive_messages(poison_queue(TRAIN_QUEUE)) == []


def test_a_deleted_group_s_training_message_is_dropped(api):
    group_id = new_group(api)
    api.post(f"{GROUPS}/{group_id}/train")
    api.delete(f"{GROUPS}/{group_id}")
    drain(api)
    assert api.runtime.storage.receive_messages(poison_queue(TRAIN_QUEUE)) == []


# -- detect, identify, verify ----------------------------------------------------------------------
def test_detect_answers_the_face_api_shapes(api, testdata):
    photo = (testdata / "scenes/two_people.jpg").read_bytes()
    faces = detect(
        api,
        photo,
        returnFaceId="true",
        returnFaceLandmarks="true",
        returnFaceAttributes="headPose,blur,exposure,qualityForRecognition",
        detectionModel="detection_01",
        recognitionModel="recognition_04",
    )
    assert len(faces) == 2
    for face in faces:
        assert uuid.UUID(face["faceId"])
        assert set(face["faceRectangle"]) == {"top", "left", "width", "height"}
        assert set(face["faceLandmarks"]) == {"pupilLeft", "pupilRight"}  # all the 5-point model gives
        assert set(face["faceAttributes"]) == {"headPose", "blur", "exposure", "qualityForRecognition"}
    plain = detect(api, photo, returnFaceId="false")
    assert [set(f) for f in plain] == [{"faceRectangle"}, {"faceRectangle"}]
    assert detect(api, blank_jpeg()) == []


@pytest.mark.parametrize(
    ("params", "says"),
    [
        ({"returnFaceAttributes": "age, gender, emotion"}, "age, gender, emotion: retired by the Azure Face API"),
        ({"returnFaceAttributes": "headPose,glasses,mask"}, "glasses, mask: this service's face engine has no model"),
        ({"returnFaceAttributes": "wings"}, "wings: not face attributes"),
        ({"detectionModel": "detection_02", "returnFaceLandmarks": "true"}, "'detection_02' returns no face landmarks"),
        (
            {"detectionModel": "detection_02", "returnFaceAttributes": "blur"},
            "'detection_02' returns no face landmarks",
        ),
        ({"detectionModel": "detection_09"}, "'detectionModel' is invalid"),
        ({"returnFaceId": "yes"}, "'returnFaceId' is invalid"),
        ({"faceIdTimeToLive": "5"}, "faceIdTimeToLive"),
    ],
)
def test_detect_refuses_what_it_cannot_do(api, testdata, params, says):
    reply = api.post("/face/v1.0/detect", data=(testdata / "scenes/obama1.jpg").read_bytes(), params=params)
    assert (reply.status, reply.error_code) == (400, "BadArgument")
    assert says in reply.json()["error"]["message"]


def test_detect_echoes_the_recognition_model_when_asked(api, testdata):
    photo = (testdata / "scenes/obama1.jpg").read_bytes()
    params = {"recognitionModel": "recognition_03", "returnRecognitionModel": "true"}
    [face] = api.post("/face/v1.2-preview.1/detect", data=photo, params=params).json()
    assert face["recognitionModel"] == "recognition_03"
    [plain] = detect(api, photo, detectionModel="detection_02")  # faces only: allowed
    assert "recognitionModel" not in plain and "faceLandmarks" not in plain


def test_identify_names_each_face_of_a_frame(api, family, testdata):
    group_id, persons = family
    faces = sorted(
        detect(api, (testdata / "scenes/two_people.jpg").read_bytes()), key=lambda f: f["faceRectangle"]["left"]
    )
    reply = api.post(
        "/face/v1.0/identify",
        json_body={"faceIds": [f["faceId"] for f in faces], "personGroupId": group_id, "maxNumOfCandidatesReturned": 1},
    )
    assert reply.status == 200
    answer = {r["faceId"]: r["candidates"] for r in reply.json()}
    named = [answer[f["faceId"]][0]["personId"] for f in faces]
    assert named == [persons["obama"], persons["biden"]]
    assert all(0.5 <= answer[f["faceId"]][0]["confidence"] <= 1 for f in faces)


def test_identify_errors(api, family, testdata):
    group_id, _ = family
    [face] = detect(api, (testdata / "scenes/obama1.jpg").read_bytes())
    identify = "/face/v1.0/identify"
    missing = api.post(identify, json_body={"faceIds": [str(uuid.uuid4())], "personGroupId": group_id})
    assert (missing.status, missing.error_code) == (400, "FaceNotFound")  # Azure: 400 in identify
    assert api.post(identify, json_body={"faceIds": [face["faceId"]] * 11, "personGroupId": group_id}).status == 400
    assert api.post(identify, json_body={"faceIds": [], "personGroupId": group_id}).error_code == "BadArgument"
    assert api.post(identify, json_body={"faceIds": [face["faceId"]]}).error_code == "BadArgument"
    bad_n = {"faceIds": [face["faceId"]], "personGroupId": group_id, "maxNumOfCandidatesReturned": 0}
    assert api.post(identify, json_body=bad_n).error_code == "BadArgument"
    untrained = new_group(api)
    reply = api.post(identify, json_body={"faceIds": [face["faceId"]], "personGroupId": untrained})
    assert (reply.status, reply.error_code) == (400, "PersonGroupNotTrained")
    gone = api.post(identify, json_body={"faceIds": [face["faceId"]], "personGroupId": "no-such-group"})
    assert (gone.status, gone.error_code) == (400, "PersonGroupNotFound")  # Azure: 400 in identify
    both = {"faceIds": [face["faceId"]], "personGroupId": group_id, "largePersonGroupId": group_id}
    assert api.post(identify, json_body=both).error_code == "BadArgument"
    large_gone = api.post(identify, json_body={"faceIds": [face["faceId"]], "largePersonGroupId": group_id})
    assert (large_gone.status, large_gone.error_code) == (400, "LargePersonGroupNotFound")  # its own namespace


def test_verify_two_faces_and_a_face_against_a_person(api, family, testdata):
    group_id, persons = family
    [obama1] = detect(api, (testdata / "scenes/obama1.jpg").read_bytes())
    [obama3] = detect(api, (testdata / "scenes/obama3.jpg").read_bytes())
    [biden] = detect(api, (testdata / "people/biden/2.jpg").read_bytes())
    same = api.post("/face/v1.0/verify", json_body={"faceId1": obama1["faceId"], "faceId2": obama3["faceId"]}).json()
    other = api.post("/face/v1.0/verify", json_body={"faceId1": obama1["faceId"], "faceId2": biden["faceId"]}).json()
    assert same["isIdentical"] and same["confidence"] >= 0.5
    assert not other["isIdentical"] and other["confidence"] < 0.5
    to_person = {"faceId": obama3["faceId"], "personGroupId": group_id, "personId": persons["obama"]}
    assert api.post("/face/v1.0/verify", json_body=to_person).json()["isIdentical"]
    to_other = {**to_person, "personId": persons["biden"]}
    assert not api.post("/face/v1.0/verify", json_body=to_other).json()["isIdentical"]
    assert api.post("/face/v1.0/verify", json_body={"faceId1": obama1["faceId"]}).error_code == "BadArgument"


def test_face_ids_expire_and_the_timer_purges_them(api):
    store = FaceIdStore(api.runtime.storage)
    [live] = store.remember([_unit_vector()], ttl=60)
    expired = RememberedFace(str(uuid.uuid4()), _unit_vector(), utc_now() - timedelta(seconds=1))
    api.runtime.storage.put_blob(FACE_IDS, f"{expired.face_id}.json", expired.to_record())
    reply = api.post("/face/v1.0/verify", json_body={"faceId1": live, "faceId2": expired.face_id})
    assert (reply.status, reply.error_code) == (404, "FaceNotFound")
    assert "expired" in reply.json()["error"]["message"]
    api.worker.run_timers()
    names = {b.name for b in api.runtime.storage.list_blobs(FACE_IDS)}
    assert f"{live}.json" in names and f"{expired.face_id}.json" not in names


def _unit_vector():
    import numpy as np

    v = np.random.default_rng(0).normal(size=128).astype(np.float32)
    return v / np.linalg.norm(v)


def test_a_deleted_trained_group_is_not_found_on_the_frame_path(api, testdata):
    group_id = new_group(api)
    person_id = api.post(f"{GROUPS}/{group_id}/persons", json_body={"name": "obama"}).json()["personId"]
    photo = (testdata / "people/obama/1.jpg").read_bytes()
    api.post(f"{GROUPS}/{group_id}/persons/{person_id}/persistedfaces", data=photo)
    api.post(f"{GROUPS}/{group_id}/train")
    drain(api)
    assert post_frame(api, group_id, "c1", photo)["faces"][0]["name"] == "obama"
    assert api.delete(f"{GROUPS}/{group_id}").status == 200
    reply = api.post("/api/frames", data=photo, params={"personGroupId": group_id, "cameraId": "c1"})
    assert (reply.status, reply.error_code) == (404, "PersonGroupNotFound")


# -- frames and sightings --------------------------------------------------------------------------
def test_a_frame_is_identified_in_one_call_and_its_visits_recorded_by_day(api, family, testdata):
    group_id, persons = family
    camera = f"door-{uuid.uuid4().hex[:6]}"
    frame = post_frame(api, group_id, camera, (testdata / "scenes/two_people.jpg").read_bytes(), location="Casa")
    by_left = sorted(frame["faces"], key=lambda f: f["faceRectangle"]["left"])
    assert [f["name"] for f in by_left] == ["obama", "biden"]
    # One person per face, said once (no candidates list repeating it), with its track and visit.
    fields = {"faceRectangle", "personId", "name", "confidence", "qualityForRecognition", "trackId", "visitId"}
    assert all(set(f) == fields for f in by_left)
    assert [f["personId"] for f in by_left] == [persons["obama"], persons["biden"]]
    assert all(f["confidence"] >= 0.5 and f["qualityForRecognition"] for f in by_left)
    assert frame["record"].startswith(f"sightings/{frame['timeStamp'][:10].replace('-', '')}/{camera}/")  # set on
    day = frame["timeStamp"][:10].replace("-", "")  # the UTC day of the frame
    for face in by_left:
        assert VISIT_ID.match(face["visitId"]) and face["visitId"][1:9] == day
        visit = json.loads(api.runtime.storage.get_blob(VISITS, f"{day}/{face['visitId']}.json").data)
        assert (visit["cameraId"], visit["location"], visit["personGroupId"]) == (camera, "Casa", group_id)
        assert (visit["personId"], visit["name"], visit["frames"]) == (face["personId"], face["name"], 3)
        assert visit["snapshot"] == f"visits/{day}/{face['visitId']}.jpg"
        assert api.runtime.storage.get_blob(VISITS, visit["snapshot"].split("/", 1)[1]).data[:2] == b"\xff\xd8"


def test_a_frame_with_a_stranger_says_unknown_and_one_without_faces_writes_nothing(api, family, testdata):
    group_id, _ = family
    camera = f"cam-{uuid.uuid4().hex[:6]}"
    stranger = post_frame(api, group_id, camera, (testdata / "people_lfw/hugo_chavez/1.jpg").read_bytes())
    central = min(
        stranger["faces"], key=lambda f: abs(f["faceRectangle"]["left"] + f["faceRectangle"]["width"] / 2 - 125)
    )
    assert (central["name"], central["personId"]) == ("Unknown", None)
    day = stranger["timeStamp"][:10].replace("-", "")
    visit = json.loads(api.runtime.storage.get_blob(VISITS, f"{day}/{central['visitId']}.json").data)
    assert (visit["name"], visit["personId"], visit["confidence"]) == ("Unknown", None, 0.0)
    visits_before = sum(1 for _ in api.runtime.storage.list_blobs(VISITS))
    empty = post_frame(api, group_id, camera, blank_jpeg())
    assert empty["faces"] == [] and empty["record"] is None
    assert sum(1 for _ in api.runtime.storage.list_blobs(VISITS)) == visits_before


@pytest.mark.parametrize(
    ("params", "data", "code"),
    [
        ({"cameraId": "c1"}, None, "BadArgument"),  # no group
        ({"personGroupId": "{group}"}, None, "BadArgument"),  # no camera
        ({"personGroupId": "{group}", "cameraId": "bad camera!"}, None, "BadArgument"),
        ({"personGroupId": "{group}", "cameraId": "c1"}, b"not a jpeg", "InvalidImage"),
        ({"personGroupId": "no-such-group", "cameraId": "c1"}, None, "PersonGroupNotFound"),
    ],
)
def test_bad_frames_are_refused_and_write_nothing(api, family, testdata, params, data, code):
    group_id, _ = family
    params = {k: v.replace("{group}", group_id) for k, v in params.items()}
    before = sum(b.size for b in api.runtime.storage.list_blobs(SIGHTINGS))  # no line appended either
    reply = api.post("/api/frames", data=data or (testdata / "scenes/obama1.jpg").read_bytes(), params=params)
    assert reply.error_code == code
    assert sum(b.size for b in api.runtime.storage.list_blobs(SIGHTINGS)) == before


def test_sightings_query_by_person_and_camera_in_pages(api, family, testdata, monkeypatch):
    monkeypatch.setenv("FRAME_RECORDS", "on")
    group_id, persons = family
    camera = f"hall-{uuid.uuid4().hex[:6]}"
    for frame in still_camera((testdata / "scenes/two_people.jpg").read_bytes(), frames=4):
        api.post("/api/frames", data=frame, params={"personGroupId": group_id, "cameraId": camera})
    everyone = api.get("/api/sightings", params={"cameraId": camera}).json()
    assert len(everyone["sightings"]) == 8 and everyone["continuationToken"] is None  # 2 faces in 4 frames
    obama = api.get("/api/sightings", params={"cameraId": camera, "personId": persons["obama"]}).json()["sightings"]
    assert len(obama) == 2 and {r["name"] for r in obama} == {"obama"}  # named from the third frame on
    pages, token = [], None
    while True:
        params = {"cameraId": camera, "top": "3", **({"continuationToken": token} if token else {})}
        page = api.get("/api/sightings", params=params).json()
        pages.append(page["sightings"])
        token = page["continuationToken"]
        if not token:
            break
    assert [len(p) for p in pages] == [3, 3, 2]
    assert [r for p in pages for r in p] == everyone["sightings"]
    day = utc_now().strftime("%Y%m%d")
    assert api.get("/api/sightings", params={"cameraId": camera, "day": day}).json() == everyone
    assert api.get("/api/sightings", params={"cameraId": camera, "day": "19990101"}).json()["sightings"] == []
    assert api.get("/api/sightings", params={"day": "24-11-2026"}).error_code == "BadArgument"
    assert api.get("/api/sightings", params={"continuationToken": "junk"}).error_code == "BadArgument"


# -- bulk enrollment -------------------------------------------------------------------------------
def _people_zip(testdata) -> bytes:
    files = {f"photos/{p.parent.name}/{p.name}": p.read_bytes() for p in sorted((testdata / "people").glob("*/*"))}
    files["photos/biden/blank.jpg"] = blank_jpeg()
    files["photos/notes.txt"] = b"not a photo"
    return zip_of(files)


def test_bulk_enrollment_of_a_zip_reports_progress_and_rejections(api, testdata):
    group_id = f"z-{uuid.uuid4().hex[:8]}"
    reply = api.post(
        "/api/enrollments",
        data=_people_zip(testdata),
        content_type="application/zip",
        params={"personGroupId": group_id},
    )
    assert reply.status == 202, reply.body
    job = reply.json()
    assert reply.headers["Location"] == f"/api/enrollments/{job['enrollmentId']}"
    assert job["status"] == "notStarted"
    drain(api)
    done = api.get(f"/api/enrollments/{job['enrollmentId']}").json()
    assert done["status"] == "succeeded", done
    assert (done["total"], done["processed"], done["added"]) == (12, 12, 11)
    assert [r["photo"] for r in done["rejected"]] == ["biden/blank.jpg"]
    assert "No face" in done["rejected"][0]["reason"]
    assert set(done["persons"]) == {p.name for p in (testdata / "people").iterdir()}
    assert done["trainingStatus"] == "succeeded"
    # The same job queued again (a message handled twice) changes nothing.
    api.runtime.storage.send_message(ENROLL_QUEUE, json.dumps({"enrollmentId": job["enrollmentId"]}))
    drain(api)
    assert api.get(f"/api/enrollments/{job['enrollmentId']}").json() == done


def test_bulk_enrollment_from_a_blob_prefix_with_the_prototype_s_file_names(api, testdata):
    storage = api.runtime.storage
    prefix = f"batch-{uuid.uuid4().hex[:6]}"
    for person in ("obama", "biden"):
        for n, photo in enumerate(sorted((testdata / "people" / person).iterdir()), start=1):
            storage.put_blob("uploads", f"{prefix}/{person}{n}{photo.suffix}", photo.read_bytes())
    group_id = f"b-{uuid.uuid4().hex[:8]}"
    body = {"personGroupId": group_id, "container": "uploads", "prefix": prefix}
    job = api.post("/api/enrollments", json_body=body).json()
    drain(api)
    done = api.get(f"/api/enrollments/{job['enrollmentId']}").json()
    assert done["status"] == "succeeded" and done["added"] == 4 and set(done["persons"]) == {"obama", "biden"}
    frame = post_frame(api, group_id, "c1", (testdata / "scenes/two_people.jpg").read_bytes())
    assert sorted(f["name"] for f in frame["faces"]) == ["biden", "obama"]


def test_bad_enrollment_requests(api, testdata):
    post = api.post
    assert post("/api/enrollments", data=b"not a zip", params={"personGroupId": "x"}).error_code == "BadArgument"
    no_photos = zip_of({"readme.txt": b"hello"})
    assert post("/api/enrollments", data=no_photos, params={"personGroupId": "x"}).error_code == "BadArgument"
    assert post("/api/enrollments", data=no_photos).error_code == "BadArgument"  # no group
    assert post("/api/enrollments", json_body={"personGroupId": "x"}).error_code == "BadArgument"
    for container in ("facegroups", "Bad_Name", "a"):
        body = {"personGroupId": "x", "container": container}
        assert post("/api/enrollments", json_body=body).error_code == "BadArgument", container
    empty_prefix = {"personGroupId": "x", "container": "uploads", "prefix": "nothing-here"}
    assert post("/api/enrollments", json_body=empty_prefix).error_code == "BadArgument"
    missing = api.get(f"/api/enrollments/{uuid.uuid4()}")
    assert (missing.status, missing.error_code) == (404, "EnrollmentNotFound")


# -- keys, routes, OpenAPI -------------------------------------------------------------------------
def _every_route() -> list[tuple[str, str]]:
    routes: list[tuple[str, str]] = []
    for route in router().routes:
        if route.function.get_function_name() in WEB_FUNCTIONS:
            continue
        path = route.pattern.pattern.strip("^$").replace("/?", "").replace("\\", "")
        path = re.sub(r"\(\?P<\w+>\[\^/\]\+\)", "x", path)
        routes.extend((method, path) for method in route.methods)
    return routes


@pytest.mark.parametrize("key", [None, "wrong-key"])
def test_every_route_needs_the_key(api, key):
    client = InProcessClient(key)
    routes = [route for route in _every_route() if route != ("GET", "/api/health")]  # health needs no key
    # 41 of person groups, large person groups and the rest; 21 of face lists and similarity; 3 of visits; 2 of
    # Unknown visitors; 1 of events; 4 of webhooks; 3 of cameras; 2 of face photos; metrics
    assert len(routes) == 78
    for method, path in routes:
        reply = client.request(method, path)
        assert (reply.status, reply.error_code) == (401, "401"), f"{method} {path}"
        assert KEY not in reply.body.decode()


def test_every_face_api_route_is_not_found_under_an_unknown_version(api):
    """Whatever the body (none here), a version this service does not speak is a path it does not have."""
    face_routes = [(method, path) for method, path in _every_route() if path.startswith("/face/x/")]
    assert len(face_routes) == 57  # all but the 15 of frames, cameras, visits and the rest
    for method, path in face_routes:
        reply = api.request(method, path)
        assert (reply.status, reply.error_code) == (404, "404"), f"{method} {path}"


def test_a_broken_storage_answers_503_in_the_envelope_without_a_traceback(monkeypatch, tmp_path):
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("STORAGE_DIR points at a file")
    monkeypatch.setenv("FACE_API_KEY", KEY)
    monkeypatch.setenv("STORAGE_BACKEND", "local")
    monkeypatch.setenv("STORAGE_DIR", str(not_a_folder))
    reply = InProcessClient(KEY).put(f"{GROUPS}/broken", json_body={"name": "x"})
    assert (reply.status, reply.error_code) == (503, "StorageUnavailable")  # the storage, not the request
    assert int(reply.headers["Retry-After"]) > 0
    assert "Traceback" not in reply.body.decode() and str(tmp_path) not in reply.body.decode()


def test_x_functions_key_is_accepted_too(api):
    client = InProcessClient(None)
    reply = client.get(GROUPS, headers={"x-functions-key": KEY})
    assert reply.status == 200


def test_openapi_lists_exactly_the_http_functions(api):
    spec = api.get("/api/openapi.json").json()
    validate_openapi(spec)
    documented = {
        (method.upper(), path.lstrip("/"), operation["operationId"])
        for path, operations in spec["paths"].items()
        for method, operation in operations.items()
    }
    registered = set()
    for function in app_functions():
        trigger = function.get_trigger()
        if function.get_function_name() in OPERATOR_FUNCTIONS:  # health and metrics: not for API clients
            continue
        if isinstance(trigger, HttpTrigger) and trigger.route and function.get_function_name() not in WEB_FUNCTIONS:
            assert trigger.methods, function.get_function_name()
            for method in trigger.methods:
                registered.add((str(getattr(method, "value", method)), trigger.route, function.get_function_name()))
    assert documented == registered
