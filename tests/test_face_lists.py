"""Face lists, large face lists, find-similar and group through the app's HTTP functions (in-process,
routed as the host routes them) on real photos, with photos also given by URL from a real HTTP server
on loopback (allowed by FACE_IMAGE_URL_ALLOWED_HOSTS)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from function_app.api.versions import API_VERSIONS, adds_faces_as_operation
from function_app.faceapi.local.training import handle_training_message
from function_app.runtime import current_runtime

from .support.api_client import InProcessClient, drain, queue_worker, use_local_app
from .support.images import blank_jpeg
from .support.photo_server import photo_server

KEY = f"key-{uuid.uuid4().hex}"
V1 = "/face/v1.0"


@pytest.fixture(scope="module")
def photos_url(testdata) -> Iterator[str]:
    with photo_server(testdata) as url:
        yield url


@pytest.fixture(scope="module")
def api(tmp_path_factory, photos_url) -> Iterator[InProcessClient]:
    with pytest.MonkeyPatch.context() as env:
        use_local_app(env, KEY, tmp_path_factory.mktemp("face-lists"))
        env.setenv("FACE_IMAGE_URL_ALLOWED_HOSTS", "127.0.0.1")
        yield InProcessClient(KEY)


def _photo(testdata: Path, name: str) -> bytes:
    return (testdata / name).read_bytes()


def _detect(api: InProcessClient, photo: bytes) -> list[str]:
    reply = api.post(f"{V1}/detect", data=photo)
    assert reply.status == 200, reply.body
    return [face["faceId"] for face in reply.json()]


def test_face_list_lifecycle(api, testdata, photos_url):
    face_list = f"{V1}/facelists/fl-{uuid.uuid4().hex[:8]}"
    assert api.put(face_list, json_body={"name": "friends", "recognitionModel": "recognition_04"}).status == 200
    assert api.put(face_list, json_body={"name": "again"}).error_code == "FaceListExists"
    assert api.put(f"{V1}/facelists/Bad Id", json_body={"name": "x"}).error_code == "BadArgument"
    obama = api.post(
        f"{face_list}/persistedfaces", data=_photo(testdata, "people/obama/1.jpg"), params={"userData": "o"}
    )
    by_url = api.post(f"{face_list}/persistedfaces", json_body={"url": f"{photos_url}/people/biden/1.jpg"})
    assert obama.status == 200 and by_url.status == 200, (obama.body, by_url.body)
    # two faces: refused without targetFace, the one inside it taken with it
    two = _photo(testdata, "scenes/two_people.jpg")
    assert api.post(f"{face_list}/persistedfaces", data=two).error_code == "InvalidImage"
    faces = api.post(f"{V1}/detect", data=two, params={"returnFaceId": "false"}).json()
    box = faces[0]["faceRectangle"]
    target = f"{box['left']},{box['top']},{box['width']},{box['height']}"
    assert api.post(f"{face_list}/persistedfaces", data=two, params={"targetFace": target}).status == 200

    listed = api.get(face_list, params={"returnRecognitionModel": "true"}).json()
    assert listed["name"] == "friends" and listed["recognitionModel"] == "recognition_04"
    assert {"persistedFaceId": obama.json()["persistedFaceId"], "userData": "o"} in listed["persistedFaces"]
    assert len(listed["persistedFaces"]) == 3
    assert api.patch(face_list, json_body={"userData": "u"}).status == 200
    assert face_list.rsplit("/", 1)[1] in [f["faceListId"] for f in api.get(f"{V1}/facelists").json()]
    assert "persistedFaces" not in api.get(f"{V1}/facelists").json()[0]

    missing_face = f"{face_list}/persistedfaces/{uuid.uuid4()}"
    assert api.delete(missing_face).error_code == "PersistedFaceNotFound"
    assert api.delete(f"{face_list}/persistedfaces/{by_url.json()['persistedFaceId']}").status == 200
    assert len(api.get(face_list).json()["persistedFaces"]) == 2
    assert api.delete(face_list).status == 200
    assert api.get(face_list).error_code == "FaceListNotFound"
    assert api.delete(face_list).status == 404


def test_find_similar_in_a_face_list_by_mode(api, testdata):
    list_id = f"fl-{uuid.uuid4().hex[:8]}"
    face_list = f"{V1}/facelists/{list_id}"
    api.put(face_list, json_body={"name": "people"})
    added = {}
    for name in ("obama", "biden", "kit_harington"):
        reply = api.post(f"{face_list}/persistedfaces", data=_photo(testdata, f"people/{name}/1.jpg"))
        added[name] = reply.json()["persistedFaceId"]
    probe = _detect(api, _photo(testdata, "people/obama/2.jpg"))[0]

    person = api.post(f"{V1}/findsimilars", json_body={"faceId": probe, "faceListId": list_id}).json()
    assert [c["persistedFaceId"] for c in person] == [added["obama"]]
    assert person[0]["confidence"] >= 0.5
    body = {"faceId": probe, "faceListId": list_id, "mode": "matchFace", "maxNumOfCandidatesReturned": 2}
    ranked = api.post(f"{V1}/findsimilars", json_body=body).json()
    assert len(ranked) == 2 and ranked[0]["persistedFaceId"] == added["obama"]
    assert ranked[0]["confidence"] > ranked[1]["confidence"]

    def error(body: dict) -> str:
        return api.post(f"{V1}/findsimilars", json_body=body).error_code

    assert error({"faceId": probe, "faceListId": list_id, "mode": "matchAll"}) == "BadArgument"
    assert error({"faceId": probe, "faceListId": list_id, "faceIds": [probe]}) == "BadArgument"
    assert error({"faceId": probe}) == "BadArgument"
    assert error({"faceId": probe, "faceListId": list_id, "maxNumOfCandidatesReturned": 1001}) == "BadArgument"
    assert error({"faceId": probe, "faceListId": "fl-missing"}) == "FaceListNotFound"
    assert error({"faceId": str(uuid.uuid4()), "faceListId": list_id}) == "FaceNotFound"


def test_large_face_list_training_paging_and_find_similar(api, testdata, photos_url):
    list_id = f"lfl-{uuid.uuid4().hex[:8]}"
    large = f"{V1}/largefacelists/{list_id}"
    assert api.put(large, json_body={"name": "crowd", "userData": "d"}).status == 200
    assert api.put(large, json_body={"name": "crowd"}).error_code == "LargeFaceListExists"
    assert api.get(f"{large}/training").error_code == "LargeFaceListNotTrained"
    worker = queue_worker(current_runtime().storage)
    assert api.post(f"{large}/train").status == 202
    assert api.get(f"{large}/training").json()["status"] == "running"  # queued on train-requests
    drain(worker)
    assert api.get(f"{large}/training").json()["status"] == "failed"  # no faces yet

    photos = ["people/obama/1.jpg", "people/biden/1.jpg", "people/rose_leslie/1.jpg", "people/kit_harington/1.jpg"]
    ids = []
    for n, photo in enumerate(photos):
        reply = (
            api.post(f"{large}/persistedfaces", json_body={"url": f"{photos_url}/{photo}"}, params={"userData": photo})
            if n % 2
            else api.post(f"{large}/persistedfaces", data=_photo(testdata, photo), params={"userData": photo})
        )
        assert reply.status == 200, reply.body
        ids.append(reply.json()["persistedFaceId"])
    probe = _detect(api, _photo(testdata, "people/biden/2.jpg"))[0]
    # never trained successfully: find-similar refuses until a training succeeds
    untrained = api.post(f"{V1}/findsimilars", json_body={"faceId": probe, "largeFaceListId": list_id})
    assert (untrained.status, untrained.error_code) == (400, "LargeFaceListNotTrained")

    first = api.get(f"{large}/persistedfaces", params={"top": "3"}).json()
    rest = api.get(f"{large}/persistedfaces", params={"start": first[-1]["persistedFaceId"]}).json()
    assert [f["persistedFaceId"] for f in first + rest] == sorted(ids)
    face = f"{large}/persistedfaces/{ids[1]}"
    assert api.get(face).json() == {"persistedFaceId": ids[1], "userData": photos[1]}
    assert api.patch(face, json_body={"userData": "biden"}).status == 200
    assert api.get(face).json()["userData"] == "biden"
    assert api.get(f"{large}/persistedfaces/{uuid.uuid4()}").error_code == "PersistedFaceNotFound"

    assert api.post(f"{large}/train").status == 202
    drain(worker)
    status = api.get(f"{large}/training").json()
    assert status["status"] == "succeeded", status
    found = api.post(f"{V1}/findsimilars", json_body={"faceId": probe, "largeFaceListId": list_id}).json()
    assert [c["persistedFaceId"] for c in found] == [ids[1]]
    # a face added after the training is not searched until the next one
    api.post(f"{large}/persistedfaces", data=_photo(testdata, "people/biden/2.jpg"))
    assert len(api.post(f"{V1}/findsimilars", json_body={"faceId": probe, "largeFaceListId": list_id}).json()) == 1
    api.post(f"{large}/train")
    drain(worker)
    assert len(api.post(f"{V1}/findsimilars", json_body={"faceId": probe, "largeFaceListId": list_id}).json()) == 2

    listed = api.get(f"{V1}/largefacelists", params={"returnRecognitionModel": "true"}).json()
    assert {
        "largeFaceListId": list_id,
        "name": "crowd",
        "userData": "d",
        "recognitionModel": "recognition_04",
    } in listed
    assert api.delete(large).status == 200
    assert api.get(large).error_code == "LargeFaceListNotFound"


def test_find_similar_among_face_ids_and_group(api, testdata):
    obama = _detect(api, _photo(testdata, "people/obama/1.jpg")) + _detect(api, _photo(testdata, "people/obama/2.jpg"))
    biden = _detect(api, _photo(testdata, "people/biden/1.jpg")) + _detect(api, _photo(testdata, "people/biden/2.jpg"))
    stranger = _detect(api, _photo(testdata, "people/rose_leslie/1.jpg"))
    everyone = obama + biden + stranger

    found = api.post(f"{V1}/findsimilars", json_body={"faceId": obama[0], "faceIds": everyone[1:]}).json()
    assert [c["faceId"] for c in found] == [obama[1]]
    assert set(found[0]) == {"faceId", "confidence"}

    grouped = api.post(f"{V1}/group", json_body={"faceIds": everyone}).json()
    assert sorted(sorted(g) for g in grouped["groups"]) == sorted([sorted(obama), sorted(biden)])
    assert grouped["messyGroup"] == stranger
    assert api.post(f"{V1}/group", json_body={"faceIds": []}).error_code == "BadArgument"
    assert api.post(f"{V1}/group", json_body={"faceIds": [str(uuid.uuid4())]}).error_code == "FaceNotFound"


def test_add_face_refusals(api, testdata):
    face_list = f"{V1}/facelists/fl-{uuid.uuid4().hex[:8]}"
    api.put(face_list, json_body={"name": "x"})
    assert api.post(f"{face_list}/persistedfaces", data=blank_jpeg()).error_code == "InvalidImage"
    assert api.post(f"{face_list}/persistedfaces", data=b"nope").error_code == "InvalidImage"
    params = {"targetFace": "1,2,3"}
    assert api.post(f"{face_list}/persistedfaces", data=blank_jpeg(), params=params).error_code == "BadArgument"
    params = {"detectionModel": "detection_99"}
    assert api.post(f"{face_list}/persistedfaces", data=blank_jpeg(), params=params).error_code == "BadArgument"
    missing = f"{V1}/facelists/fl-missing/persistedfaces"
    assert api.post(missing, data=_photo(testdata, "people/obama/1.jpg")).error_code == "FaceListNotFound"
    large = f"{V1}/largefacelists/fl-missing/persistedfaces"
    assert api.post(large, data=_photo(testdata, "people/obama/1.jpg")).error_code == "LargeFaceListNotFound"


def test_a_queued_training_of_a_large_face_list_deleted_since_is_skipped(api):
    list_id = f"lfl-{uuid.uuid4().hex[:8]}"
    api.put(f"{V1}/largefacelists/{list_id}", json_body={"name": "brief"})
    assert api.post(f"{V1}/largefacelists/{list_id}/train").status == 202
    api.delete(f"{V1}/largefacelists/{list_id}")
    message = json.dumps({"largeFaceListId": list_id})
    assert handle_training_message(current_runtime().face_api, message) is None
    drain(queue_worker(current_runtime().storage))  # the queued message: handled, nothing to train
    assert api.get(f"{V1}/largefacelists/{list_id}").error_code == "LargeFaceListNotFound"


def _path_of(url: str) -> str:
    return "/" + url.split("/", 3)[3]


@pytest.mark.parametrize("version", API_VERSIONS)
def test_every_version_answers_face_lists_find_similar_and_group(api, testdata, version):
    """The same routes under each version of the Face API; adding a face to a large face list is an
    operation in v1.2, as adding one to a large person group."""
    base = f"/face/{version}"
    face_list = f"{base}/facelists/fl-{uuid.uuid4().hex[:8]}"
    large = f"{base}/largefacelists/lfl-{uuid.uuid4().hex[:8]}"
    for one in (face_list, large):
        assert api.put(one, json_body={"name": "versions"}).status == 200
    photo = _photo(testdata, "people/obama/1.jpg")
    assert api.post(f"{face_list}/persistedfaces", data=photo).status == 200
    added = api.post(f"{large}/persistedfaces", data=photo)
    assert added.status == (202 if adds_faces_as_operation(version) else 200), added.body
    if added.status == 202:
        operation = api.get(_path_of(added.headers["Operation-Location"])).json()
        assert operation["status"] == "succeeded" and added.json()["persistedFaceId"] in operation["message"]
    assert api.get(f"{large}/persistedfaces/{added.json()['persistedFaceId']}").status == 200
    probe = _detect(api, _photo(testdata, "people/obama/2.jpg"))[0]
    body = {"faceId": probe, "faceListId": face_list.rsplit("/", 1)[1]}
    assert len(api.post(f"{base}/findsimilars", json_body=body).json()) == 1
    assert api.post(f"{base}/group", json_body={"faceIds": [probe]}).json()["messyGroup"] == [probe]
    for one in (face_list, large):
        assert api.delete(one).status == 200


def test_large_face_list_training_is_an_operation_from_v1_1(api, testdata):
    list_id = f"lfl-{uuid.uuid4().hex[:8]}"
    large = f"/face/v1.1-preview.1/largefacelists/{list_id}"
    api.put(large, json_body={"name": "trained"})
    api.post(f"{large}/persistedfaces", data=_photo(testdata, "people/obama/1.jpg"))
    trained = api.post(f"{large}/train")
    assert trained.status == 202 and not trained.body
    operation = _path_of(trained.headers["Operation-Location"])
    assert operation.startswith("/face/v1.1-preview.1/operations/")
    assert api.get(operation).json()["status"] == "running"
    drain(queue_worker(current_runtime().storage))
    assert api.get(operation).json()["status"] == "succeeded"
    assert "Operation-Location" not in api.post(f"{V1}/largefacelists/{list_id}/train").headers  # v1.0: none
    api.delete(large)
    gone = api.get(operation).json()
    assert gone["status"] == "failed" and "Large face list" in gone["message"]


def test_unknown_versions_have_no_face_list_routes(api):
    routes = [("GET", "facelists"), ("PUT", "largefacelists/x"), ("POST", "largefacelists/x/train")]
    for method, path in [*routes, ("POST", "findsimilars"), ("POST", "group")]:
        reply = api.request(method, f"/face/v9.9/{path}")
        assert (reply.status, reply.error_code) == (404, "404"), path
