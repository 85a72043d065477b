"""Face lists, large face lists, find-similar and group with the official FaceClient SDK over real HTTP,
on the local engine and on FACE_ENGINE=azure, whose Face API is a second server on the local engine (the
fake Azure service of the other Azure-engine tests): the same calls, the same answers. Photos by stream
and by URL from a real HTTP server on loopback."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from azure.cognitiveservices.vision.face import FaceClient
from azure.cognitiveservices.vision.face.models import APIErrorException
from msrest.authentication import CognitiveServicesCredentials

from function_app.storage.layout import GALLERY_CONTAINER
from function_app.storage.local_folder import LocalFolderStorage

from .support.azure_engine import azure_engine_servers
from .support.photo_server import photo_server
from .support.service import start_server, stop_server

KEY = f"key-{uuid.uuid4().hex}"
ALLOW_LOOPBACK = {"FACE_IMAGE_URL_ALLOWED_HOSTS": "127.0.0.1"}


@dataclass(frozen=True)
class Served:
    engine: str
    client: FaceClient
    photos_url: str
    lists_storage: Path  # where the face lists are kept: the app's own storage, or the Face service's


@pytest.fixture(scope="module")
def photos_url(testdata) -> Iterator[str]:
    with photo_server(testdata) as url:
        yield url


@pytest.fixture(scope="module", params=["local", "azure"])
def served(request, tmp_path_factory, photos_url) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp(f"face-lists-{request.param}")
    if request.param == "azure":
        with azure_engine_servers(folder, KEY, ALLOW_LOOPBACK) as servers:
            client = FaceClient(servers.url, CognitiveServicesCredentials(KEY))
            yield Served("azure", client, photos_url, folder / "upstream")
            assert not list(LocalFolderStorage(servers.storage_dir).list_blobs(GALLERY_CONTAINER))
        return
    env = {"FACE_API_KEY": KEY, "STORAGE_BACKEND": "local", "STORAGE_DIR": str(folder / "data"), **ALLOW_LOOPBACK}
    process, url = start_server(env, folder / "server.log")
    try:
        yield Served("local", FaceClient(url, CognitiveServicesCredentials(KEY)), photos_url, folder / "data")
    finally:
        stop_server(process)


def _detect(client: FaceClient, photo: Path) -> str:
    with open(photo, "rb") as stream:
        return client.face.detect_with_stream(stream)[0].face_id


def _error_code(call) -> str:
    with pytest.raises(APIErrorException) as raised:
        call()
    assert raised.value.error is not None
    return raised.value.error.error.code


def test_a_face_list_with_the_sdk(served, testdata):
    client, face_lists = served.client, served.client.face_list
    list_id = f"fl-{uuid.uuid4().hex[:8]}"
    face_lists.create(list_id, "friends", user_data="d", recognition_model="recognition_04")
    assert _error_code(lambda: face_lists.create(list_id, "again")) == "FaceListExists"
    with open(testdata / "people/obama/1.jpg", "rb") as photo:
        obama = face_lists.add_face_from_stream(list_id, photo, user_data="obama")
    biden = face_lists.add_face_from_url(list_id, f"{served.photos_url}/people/biden/1.jpg")
    got = face_lists.get(list_id, return_recognition_model=True)
    assert (got.name, got.user_data, got.recognition_model) == ("friends", "d", "recognition_04")
    assert {(f.persisted_face_id, f.user_data) for f in got.persisted_faces} == {
        (obama.persisted_face_id, "obama"),
        (biden.persisted_face_id, None),
    }
    assert list_id in [f.face_list_id for f in face_lists.list()]
    face_lists.update(list_id, name="family")
    assert face_lists.get(list_id).name == "family"

    probe = _detect(client, testdata / "people/obama/2.jpg")
    similar = client.face.find_similar(probe, face_list_id=list_id)
    assert [s.persisted_face_id for s in similar] == [obama.persisted_face_id]
    ranked = client.face.find_similar(probe, face_list_id=list_id, mode="matchFace")
    assert [s.persisted_face_id for s in ranked] == [obama.persisted_face_id, biden.persisted_face_id]

    face_lists.delete_face(list_id, biden.persisted_face_id)
    assert len(face_lists.get(list_id).persisted_faces) == 1
    assert list(LocalFolderStorage(served.lists_storage).list_blobs(GALLERY_CONTAINER, f"FaceLists/lists/{list_id}"))
    face_lists.delete(list_id)
    assert _error_code(lambda: face_lists.get(list_id)) == "FaceListNotFound"


def test_a_large_face_list_with_the_sdk(served, testdata):
    client, large = served.client, served.client.large_face_list
    list_id = f"lfl-{uuid.uuid4().hex[:8]}"
    large.create(list_id, "crowd", recognition_model="recognition_04")
    added = {}
    for name in ("obama", "biden", "rose_leslie"):
        with open(testdata / f"people/{name}/1.jpg", "rb") as photo:
            added[name] = large.add_face_from_stream(list_id, photo, user_data=name).persisted_face_id
    large.train(list_id)
    deadline = time.monotonic() + 60
    while (status := large.get_training_status(list_id).status) not in ("succeeded", "failed"):
        assert time.monotonic() < deadline, "training did not finish"
        time.sleep(0.2)
    assert status == "succeeded"

    page = large.list_faces(list_id, top=2)
    rest = large.list_faces(list_id, start=page[-1].persisted_face_id)
    assert sorted(f.persisted_face_id for f in page + rest) == sorted(added.values())
    large.update_face(list_id, added["biden"], user_data="46th")
    assert large.get_face(list_id, added["biden"]).user_data == "46th"

    probe = _detect(client, testdata / "people/biden/2.jpg")
    similar = client.face.find_similar(probe, large_face_list_id=list_id, max_num_of_candidates_returned=5)
    assert [s.persisted_face_id for s in similar] == [added["biden"]]
    assert 0.5 <= similar[0].confidence <= 1
    assert list_id in [f.large_face_list_id for f in large.list()]
    large.delete(list_id)
    assert _error_code(lambda: large.get(list_id)) == "LargeFaceListNotFound"


def test_find_similar_among_faces_and_group_with_the_sdk(served, testdata):
    client = served.client
    obama = [_detect(client, testdata / f"people/obama/{n}.jpg") for n in (1, 2)]
    biden = [_detect(client, testdata / f"people/biden/{n}.jpg") for n in (1, 2)]
    stranger = _detect(client, testdata / "people/kit_harington/1.jpg")
    similar = client.face.find_similar(obama[0], face_ids=[obama[1], *biden, stranger])
    assert [s.face_id for s in similar] == [obama[1]]

    grouped = client.face.group([*obama, *biden, stranger])
    assert sorted(sorted(g) for g in grouped.groups) == sorted([sorted(obama), sorted(biden)])
    assert grouped.messy_group == [stranger]
    assert _error_code(lambda: client.face.group([str(uuid.uuid4())])) == "FaceNotFound"


def test_limits_are_answered_as_bad_arguments_on_both_engines(served, testdata):
    """What the SDK itself refuses before sending, sent over plain HTTP: both engines answer 400, never 500."""
    session = requests.Session()
    session.headers["Ocp-Apim-Subscription-Key"] = KEY
    url = served.client.config.endpoint
    probe = _detect(served.client, testdata / "people/obama/1.jpg")
    for method, path, body in (
        ("PUT", f"/face/v1.0/facelists/fl-{uuid.uuid4().hex[:8]}", {"name": "x" * 129}),
        ("PUT", f"/face/v1.0/largefacelists/fl-{uuid.uuid4().hex[:8]}", {"name": "x", "userData": "x" * 16385}),
        ("POST", "/face/v1.0/findsimilars", {"faceId": probe, "faceIds": [probe], "maxNumOfCandidatesReturned": 1001}),
        ("POST", "/face/v1.0/group", {"faceIds": [probe] * 1001}),
    ):
        reply = session.request(method, url + path, json=body, timeout=60)
        assert (reply.status_code, reply.json()["error"]["code"]) == (400, "BadArgument"), (path, reply.text)
