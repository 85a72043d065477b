"""An enrolled face's photo (`GET /api/{persongroups|largepersongroups}/.../persistedfaces/{id}/photo`), over real
HTTP to the real server, on real photos: the bytes come back as uploaded with the type read from them (a JPEG and
a PNG), cacheable by the browser only; a missing face, person or group answers its 404 code; the key is needed.
FACE_ENGINE=azure refuses with 501 PhotoNotKept without asking Azure, which keeps no photo."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import requests

from function_app.errors import PhotoNotKept
from function_app.faceapi.azure.service import AzureFaceApi
from function_app.faceapi.group_kinds import GROUP_KINDS, GroupKind
from function_app.settings import Settings

from .support.face_api_proxy import FaceApiProxy
from .support.service import keyed_session, serving

KEY = f"key-{uuid.uuid4().hex}"
JPEG = "people/obama/1.jpg"
PNG = "scenes/32bit.png"  # Obama again, an RGBA PNG


@dataclass(frozen=True)
class Enrolled:
    """A group of one kind with one person, who has a face from a JPEG and one from a PNG."""

    kind: GroupKind
    group_id: str
    person_id: str
    face_ids: dict[str, str]  # persistedFaceId by the test data file it came from

    def photo_path(self, person_id: str | None = None, face_id: str | None = None, group_id: str | None = None) -> str:
        group, person = group_id or self.group_id, person_id or self.person_id
        return f"/api/{self.kind.route}/{group}/persons/{person}/persistedfaces/{face_id or self.face_ids[JPEG]}/photo"


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("face-photos")
    with serving(
        {"FACE_API_KEY": KEY, "STORAGE_BACKEND": "local", "STORAGE_DIR": str(folder / "data")}, folder / "server.log"
    ) as url:
        yield url


@pytest.fixture(scope="module")
def session() -> requests.Session:
    return keyed_session(KEY)


@pytest.fixture(scope="module", params=GROUP_KINDS, ids=lambda kind: kind.route)
def enrolled(request, server, session, testdata) -> Enrolled:
    kind: GroupKind = request.param
    group_id = f"g-{uuid.uuid4().hex[:12]}"
    group = f"{server}/face/v1.0/{kind.route}/{group_id}"
    assert session.put(group, json={"name": "family"}, timeout=30).status_code == 200
    person_id = session.post(f"{group}/persons", json={"name": "obama"}, timeout=30).json()["personId"]
    face_ids = {}
    for name in (JPEG, PNG):
        added = session.post(
            f"{group}/persons/{person_id}/persistedfaces",
            data=(testdata / name).read_bytes(),
            headers={"Content-Type": "application/octet-stream"},
            timeout=120,
        )
        assert added.status_code == 200, added.text
        face_ids[name] = added.json()["persistedFaceId"]
    return Enrolled(kind, group_id, person_id, face_ids)


@pytest.mark.parametrize(("name", "media_type"), [(JPEG, "image/jpeg"), (PNG, "image/png")])
def test_the_photo_comes_back_as_uploaded_with_its_type(server, session, enrolled, testdata, name, media_type):
    reply = session.get(server + enrolled.photo_path(face_id=enrolled.face_ids[name]), timeout=30)
    assert reply.status_code == 200, reply.text
    assert reply.content == (testdata / name).read_bytes()
    assert reply.headers["Content-Type"].split(";")[0] == media_type
    assert reply.headers["Cache-Control"] == "private, max-age=3600"
    assert reply.headers["X-Content-Type-Options"] == "nosniff"


def test_a_missing_face_person_or_group_answers_its_404(server, session, enrolled):
    missing_group_code = enrolled.kind.not_found.code
    cases = {
        enrolled.photo_path(face_id=str(uuid.uuid4())): "PersistedFaceNotFound",
        enrolled.photo_path(person_id=str(uuid.uuid4())): "PersonNotFound",
        enrolled.photo_path(group_id=f"g-missing-{uuid.uuid4().hex[:6]}"): missing_group_code,
    }
    for path, code in cases.items():
        reply = session.get(server + path, timeout=30)
        assert (reply.status_code, reply.json()["error"]["code"]) == (404, code), path
    assert session.get(server + enrolled.photo_path(group_id="Bad Id"), timeout=30).status_code == 400


def test_a_deleted_face_s_photo_is_gone(server, session, enrolled, testdata):
    group = f"{server}/face/v1.0/{enrolled.kind.route}/{enrolled.group_id}"
    faces = f"{group}/persons/{enrolled.person_id}/persistedfaces"
    added = session.post(faces, data=(testdata / "people/obama/2.jpg").read_bytes(), timeout=120).json()
    path = server + enrolled.photo_path(face_id=added["persistedFaceId"])
    assert session.get(path, timeout=30).status_code == 200
    assert session.delete(f"{faces}/{added['persistedFaceId']}", timeout=30).status_code == 200
    reply = session.get(path, timeout=30)
    assert (reply.status_code, reply.json()["error"]["code"]) == (404, "PersistedFaceNotFound")


@pytest.mark.parametrize("key", [None, "wrong-key"])
def test_the_photo_needs_the_key(server, enrolled, key):
    headers = {"Ocp-Apim-Subscription-Key": key} if key else {}
    reply = requests.get(server + enrolled.photo_path(), headers=headers, timeout=30)
    assert (reply.status_code, reply.json()["error"]["code"]) == (401, "401")
    assert not reply.content.startswith(b"\xff\xd8")


def test_the_azure_backend_keeps_no_photo_and_asks_azure_nothing():
    """Azure's Face API documents no operation that answers a persisted face's image: the backend refuses every
    face alike (501, not 404: the face may exist), before any request reaches the service."""
    azure = FaceApiProxy("http://127.0.0.1:9")  # a stand-in that counts what would have been sent
    try:
        service = AzureFaceApi(Settings(face_engine="azure", azure_face_endpoint=azure.url, azure_face_key="k"))
        for kind in GROUP_KINDS:
            with pytest.raises(PhotoNotKept) as refused:
                service.face_photo("family", str(uuid.uuid4()), str(uuid.uuid4()), kind=kind)
            assert (refused.value.status, refused.value.code) == (501, "PhotoNotKept")
        assert azure.forwarded == azure.throttled == 0
    finally:
        azure.close()
