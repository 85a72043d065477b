"""The defects issue 12 found, each checked over real HTTP against the local host (waitress in a thread, on a
free port), on real photos: path traversal, decodes over the pixel budget, zip bombs, 16-bit PNGs, ids with a
trailing newline, malformed JSON, and bodies sent without a key."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import io
import json
import shutil
import subprocess
import threading
import time
import uuid
import zipfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import cv2
import numpy as np
import pytest
import requests
from PIL import Image

from function_app.clock import utc_now
from function_app.errors import InvalidImageSize
from function_app.faceapi import recognize
from function_app.faceapi.face_lists import ListKind, MatchMode, SimilarCandidates
from function_app.faceapi.local.face_ids import FaceIdStore, RememberedFace
from function_app.faceapi.local.face_list_api import LocalFaceListApi
from function_app.faceapi.local.training import Trainer
from function_app.features.photos import MAX_PHOTO_BYTES, photos_in_zip
from function_app.imaging import PIXEL_BUDGET, decode_image, decode_upload, decode_within_budget
from function_app.local_host.host_config import HostConfig
from function_app.local_host.server import create_host
from function_app.local_host.worker import LEASE_SECONDS, QueueFunction, QueueWorker
from function_app.models import DetectOptions
from function_app.settings import Settings
from function_app.storage.layout import (
    ENROLLMENTS_CONTAINER,
    FACE_IDS_CONTAINER,
    GALLERY_CONTAINER,
    GROUPS_CONTAINER,
    SIGHTINGS_CONTAINER,
    TRAIN_QUEUE,
)
from function_app.storage.local_folder import LocalFolderStorage
from function_app.storage.names import InvalidBlobName

from .support.images import still_camera
from .support.in_process_server import serving
from .support.raw_http import send_head_only
from .support.service import run_cli
from .support.waiting import wait_for

KEY = f"hardening-{uuid.uuid4().hex}"
GROUPS = "/face/v1.0/persongroups"
LARGE_FACE_LISTS = "/face/v1.0/largefacelists"
LARGE = ListKind.LARGE_FACE_LIST
LIMITS = {"max_bytes": 6 * 1024 * 1024, "max_side": 8192}


@pytest.fixture(scope="module")
def host(tmp_path_factory):
    """The local host as `scripts/run` builds it, on local storage, served from a thread: (url, storage folder)."""
    data = tmp_path_factory.mktemp("hardening") / "data"
    with pytest.MonkeyPatch.context() as env:
        env.setenv("FACE_API_KEY", KEY)
        env.setenv("STORAGE_BACKEND", "local")
        env.setenv("STORAGE_DIR", str(data))
        env.setenv("FRAME_RECORDS", "on")
        local = create_host(port=0)
        local.worker.poll_interval = 0.05
        local.worker.config = dataclasses.replace(local.worker.config, visibility_timeout=0)  # retry at once
        local.worker.start()
        with serving(local.server) as url:
            yield url, data
        local.worker.stop()


def call(host, method: str, path: str, **kw) -> requests.Response:
    url, _ = host
    headers = {"Ocp-Apim-Subscription-Key": KEY, **kw.pop("headers", {})}
    return requests.request(method, f"{url}{path}", headers=headers, timeout=120, **kw)


def assert_error(reply: requests.Response, status: int, code: str) -> None:
    assert reply.headers["Content-Type"].startswith("application/json"), reply.text
    assert (reply.status_code, reply.json()["error"]["code"]) == (status, code), reply.text


def finished_training(host, owner_id: str, collection: str = GROUPS) -> dict:
    """The training status of the group (or, by `collection`, the large face list) once it is no longer running."""
    return wait_for(
        lambda: (s := call(host, "GET", f"{collection}/{owner_id}/training").json())["status"] != "running" and s
    )


def add_person(host, group_id: str, name: str, photo: Path) -> tuple[str, str]:
    """A new person with one face from `photo`: (personId, persistedFaceId)."""
    person = call(host, "POST", f"{GROUPS}/{group_id}/persons", json={"name": name}).json()["personId"]
    added = call(host, "POST", f"{GROUPS}/{group_id}/persons/{person}/persistedfaces", data=photo.read_bytes())
    assert added.status_code == 200, added.text
    return person, added.json()["persistedFaceId"]


def send_frame(host, group_id: str, photo: Path, camera: str = "door") -> requests.Response:
    return call(
        host, "POST", "/api/frames", params={"personGroupId": group_id, "cameraId": camera}, data=photo.read_bytes()
    )


def send_still(host, group_id: str, photo: Path, camera: str = "door") -> requests.Response:
    """The photo as three frames of a camera standing still (a track is named from three): the last answer."""
    for frame in still_camera(photo.read_bytes()):
        reply = call(host, "POST", "/api/frames", params={"personGroupId": group_id, "cameraId": camera}, data=frame)
    return reply


def new_group(host) -> str:
    group_id = f"g-{uuid.uuid4().hex[:12]}"
    assert call(host, "PUT", f"{GROUPS}/{group_id}", json={"name": group_id}).status_code == 200
    return group_id


def new_large_face_list(host, photo: Path) -> tuple[str, str]:
    """A new large face list with one face from `photo`: (largeFaceListId, persistedFaceId)."""
    list_id = f"lfl-{uuid.uuid4().hex[:12]}"
    assert call(host, "PUT", f"{LARGE_FACE_LISTS}/{list_id}", json={"name": list_id}).status_code == 200
    added = call(host, "POST", f"{LARGE_FACE_LISTS}/{list_id}/persistedfaces", data=photo.read_bytes())
    assert added.status_code == 200, added.text
    return list_id, added.json()["persistedFaceId"]


def find_similar_in_list(host, list_id: str, photo: Path) -> requests.Response:
    """Find-similar of the face in `photo` among the large face list's trained faces."""
    detected = call(host, "POST", "/face/v1.0/detect", data=photo.read_bytes())
    assert detected.status_code == 200, detected.text
    body = {"faceId": detected.json()[0]["faceId"], "largeFaceListId": list_id}
    return call(host, "POST", "/face/v1.0/findsimilars", json=body)


# -- 1. paths built from input stay inside their root ----------------------------------------------------------


@pytest.mark.parametrize(
    "prefix", ["../../../../etc", "a/../../..", "/../etc", "a\\..\\..", "a\x00b", "a//b", "./a", "ok\n"]
)
def test_an_enrollment_prefix_outside_its_container_is_refused(host, prefix):
    reply = call(host, "POST", "/api/enrollments", json={"personGroupId": "g", "container": "photos", "prefix": prefix})
    assert_error(reply, 400, "BadArgument")
    assert "prefix" in reply.json()["error"]["message"]


@pytest.mark.parametrize(
    "name", ["../x", "a/../../x", "/abs", "a\\b", "a\x00b", "a//b", "a/./b", "x\n", "", "a" * 1025]
)
def test_both_backends_refuse_every_unsafe_blob_name(storage, unique_name, name):
    for attempt in (
        lambda: storage.put_blob(unique_name, name, b"x"),
        lambda: storage.get_blob(unique_name, name),
        lambda: storage.delete_blob(unique_name, name),
        lambda: list(storage.list_blobs(unique_name, name + "/")),
    ):
        with pytest.raises(InvalidBlobName):
            attempt()
    assert list(storage.list_blobs(unique_name)) == []


def test_a_symbolic_link_inside_the_container_cannot_lead_outside(tmp_path):
    storage = LocalFolderStorage(tmp_path / "data")
    storage.put_blob("photos", "a/one.jpg", b"x")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.jpg").write_bytes(b"secret")
    (tmp_path / "data/blobs/photos/link").symlink_to(outside)
    with pytest.raises(InvalidBlobName):
        storage.get_blob("photos", "link/secret.jpg")
    with pytest.raises(InvalidBlobName):
        list(storage.list_blobs("photos", "link/"))
    assert [b.name for b in storage.list_blobs("photos")] == ["a/one.jpg"]  # the walk does not follow it


# -- 2. one pixel budget for every decode ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def big_obama(testdata) -> tuple[bytes, float]:
    """A real photo blown up to 6000×7497 (45 megapixels, under 6 MB as a JPEG): the factor it was scaled by."""
    photo = Image.open(testdata / "people/obama/1.jpg")
    factor = 6000 / photo.width
    out = io.BytesIO()
    photo.resize((6000, round(photo.height * factor)), Image.Resampling.BILINEAR).save(out, "JPEG", quality=70)
    assert len(out.getvalue()) < LIMITS["max_bytes"]
    return out.getvalue(), factor


def test_a_jpeg_over_the_budget_is_decoded_reduced_by_the_decoder(big_obama):
    decoded = decode_within_budget(big_obama[0], **LIMITS)
    assert decoded.scale == 2.0
    assert decoded.rgb.shape == (3749, 3000, 3)
    assert decoded.rgb.shape[0] * decoded.rgb.shape[1] <= PIXEL_BUDGET


def test_a_big_photo_s_face_is_answered_where_it_lies_in_the_original(host, big_obama, testdata):
    small = call(
        host, "POST", "/face/v1.0/detect?returnFaceId=false", data=(testdata / "people/obama/1.jpg").read_bytes()
    )
    big = call(host, "POST", "/face/v1.0/detect?returnFaceId=false", data=big_obama[0])
    assert big.status_code == 200 and len(big.json()) == 1, big.text
    expected = {k: v * big_obama[1] for k, v in small.json()[0]["faceRectangle"].items()}
    for side, value in big.json()[0]["faceRectangle"].items():
        assert value == pytest.approx(expected[side], rel=0.05, abs=20)


def test_a_tiny_jpeg_claiming_8192_squared_is_never_decoded_whole():
    out = io.BytesIO()
    Image.new("L", (8192, 8192), 90).save(out, "JPEG", quality=10)
    assert len(out.getvalue()) < 2 * 1024 * 1024
    assert decode_image(out.getvalue(), **LIMITS).shape == (4096, 4096, 3)  # decoded at half scale by libjpeg


def test_other_formats_over_the_budget_are_refused_before_decoding():
    out = io.BytesIO()
    Image.new("L", (8000, 4000)).save(out, "PNG")
    with pytest.raises(InvalidImageSize, match="at most"):
        decode_image(out.getvalue(), **LIMITS)


def _zip(entries: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return out.getvalue()


def test_a_zip_entry_is_refused_by_its_size_before_it_is_read_whole(testdata):
    bomb = _zip({"obama/1.jpg": (testdata / "people/obama/1.jpg").read_bytes(), "obama/2.jpg": bytes(64 << 20)})
    assert len(bomb) < 400_000  # the photo and 64 MiB of zeros
    photos = {p.path: p for p in photos_in_zip(bomb)}
    assert photos["obama/1.jpg"].read()[:2] == b"\xff\xd8"
    with pytest.raises(InvalidImageSize, match=str(MAX_PHOTO_BYTES)):
        photos["obama/2.jpg"].read()


def test_a_zip_bomb_enrollment_rejects_the_bomb_and_enrolls_the_rest(host, testdata):
    bomb = _zip({"obama/1.jpg": (testdata / "people/obama/1.jpg").read_bytes(), "obama/2.jpg": bytes(64 << 20)})
    group_id = f"g-{uuid.uuid4().hex[:12]}"
    started = call(
        host,
        "POST",
        f"/api/enrollments?personGroupId={group_id}&train=false",
        data=bomb,
        headers={"Content-Type": "application/zip"},
    )
    assert started.status_code == 202, started.text
    job = wait_for(lambda: (j := call(host, "GET", started.headers["Location"]).json())["status"] == "succeeded" and j)
    assert job["added"] == 1
    assert [r["photo"] for r in job["rejected"]] == ["obama/2.jpg"]


# -- 7. smaller defects -----------------------------------------------------------------------------------------


def _png16(rgb: np.ndarray, *, gray: bool) -> bytes:
    wide = rgb.astype(np.uint16) * 257  # 8-bit values spread over 16 bits, as a 16-bit camera would give
    if gray:
        wide = (cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.uint16)) * 257
        ok, data = cv2.imencode(".png", wide)
    else:
        ok, data = cv2.imencode(".png", cv2.cvtColor(wide, cv2.COLOR_RGB2BGR))
    assert ok
    return data.tobytes()


@pytest.mark.parametrize("gray", [True, False], ids=["gray16", "rgb48"])
def test_a_16_bit_png_decodes_to_the_same_picture_and_its_face_is_found(host, testdata, gray):
    rgb = decode_image((testdata / "people/obama/1.jpg").read_bytes(), **LIMITS)
    data = _png16(rgb, gray=gray)
    decoded = decode_image(data, **LIMITS)
    expected = np.repeat(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)[:, :, None], 3, axis=2) if gray else rgb
    assert np.abs(decoded.astype(int) - expected.astype(int)).max() <= 1
    reply = call(host, "POST", "/face/v1.0/detect?returnFaceId=false", data=data)
    assert reply.status_code == 200 and len(reply.json()) == 1, reply.text


@pytest.mark.parametrize("group_id", ["fam\n", "fam%0A"])
def test_a_group_id_with_a_trailing_newline_is_refused(host, group_id):
    reply = call(host, "PUT", f"{GROUPS}/{group_id}", json={"name": "fam"})
    assert_error(reply, 400, "BadArgument")


def test_a_camera_id_with_a_trailing_newline_is_refused(host, testdata):
    group_id = new_group(host)
    reply = send_frame(host, group_id, testdata / "people/obama/1.jpg", camera="door\n")
    assert_error(reply, 400, "BadArgument")


MALFORMED = {
    "nested-100k": ("PUT", f"{GROUPS}/g-nested", b"[" * 100_000 + b"]" * 100_000),
    "nested-object": ("PUT", f"{GROUPS}/g-nested", b'{"name":' + b'{"a":' * 100_000 + b"1" + b"}" * 100_001),
    "infinity": (
        "POST",
        "/face/v1.0/identify",
        b'{"personGroupId":"g","faceIds":["x"],"confidenceThreshold":Infinity}',
    ),
    "nan": ("POST", "/face/v1.0/identify", b'{"personGroupId":"g","faceIds":["x"],"confidenceThreshold":NaN}'),
    "model-number": ("PUT", f"{GROUPS}/g-model", b'{"name":"x","recognitionModel":4}'),
    "model-list": ("PUT", f"{GROUPS}/g-model", b'{"name":"x","recognitionModel":["recognition_04"]}'),
    "enroll-group-number": ("POST", "/api/enrollments", b'{"personGroupId":5,"container":"photos"}'),
    "enroll-container-list": ("POST", "/api/enrollments", b'{"personGroupId":"g","container":["photos"]}'),
    "enroll-prefix-object": ("POST", "/api/enrollments", b'{"personGroupId":"g","container":"photos","prefix":{}}'),
    "enroll-train-string": ("POST", "/api/enrollments", b'{"personGroupId":"g","container":"photos","train":"no"}'),
}


@pytest.mark.parametrize("case", MALFORMED, ids=list(MALFORMED))
def test_malformed_json_answers_400_in_the_envelope(host, case):
    method, path, body = MALFORMED[case]
    reply = call(host, method, path, data=body, headers={"Content-Type": "application/json"})
    assert_error(reply, 400, "BadArgument")


@pytest.mark.parametrize("key", [None, "wrong"], ids=["no-key", "wrong-key"])
def test_a_body_without_a_valid_key_is_refused_before_it_is_read(host, key):
    headers = {"Content-Length": str(50 * 1024 * 1024), "Content-Type": "application/octet-stream"}
    if key:
        headers["Ocp-Apim-Subscription-Key"] = key
    status, content_type, body = send_head_only(host[0], "/face/v1.0/detect", headers)  # the 50 MB never come
    assert (status, content_type) == (401, "application/json")
    assert json.loads(body)["error"]["code"] == "401"


def test_a_body_with_the_key_is_still_read(host, testdata):
    reply = call(
        host, "POST", "/face/v1.0/detect?returnFaceId=false", data=(testdata / "people/obama/1.jpg").read_bytes()
    )
    assert reply.status_code == 200 and len(reply.json()) == 1


def test_the_over_size_answer_is_the_envelope(host):
    status, content_type, body = send_head_only(
        host[0], "/face/v1.0/detect", {"Ocp-Apim-Subscription-Key": KEY, "Content-Length": str(200 * 1024 * 1024)}
    )
    assert (status, content_type) == (413, "application/json")
    assert json.loads(body)["error"]["code"] == "InvalidImageSize"


# -- 3. only the newest training publishes ---------------------------------------------------------------------


def _enroll(face_api, group_id: str, testdata, names: list[str]) -> dict[str, str]:
    face_api.create_group(group_id, group_id)
    persons = {}
    for name in names:
        persons[name] = face_api.create_person(group_id, name).person_id
        for photo in sorted((testdata / "people" / name).iterdir()):
            face_api.add_face(group_id, persons[name], photo.read_bytes())
    return persons


def _train_past_a_newer_training(train, owner_id: str, reader, method: str, change) -> None:
    """Training A (`train`) reads what it trains on through `reader.method`, then stalls; `change()` runs, and
    training B runs and publishes; then A finishes."""
    read, finish_a = threading.Event(), threading.Event()
    original = getattr(reader, method)

    def stalling(*args, **kwargs):
        found = original(*args, **kwargs)
        if isinstance(found, Iterator):  # a generator reads as it is consumed: read it all before stalling
            found = list(found)
        if threading.current_thread().name == "training-a":
            read.set()
            finish_a.wait(60)
        return found

    setattr(reader, method, stalling)
    try:
        a = threading.Thread(target=train, args=(owner_id,), name="training-a")
        a.start()
        assert read.wait(60)
        change()
        assert train(owner_id).status == "succeeded"  # B
        finish_a.set()
        a.join(60)
    finally:
        delattr(reader, method)


def test_a_training_that_finishes_after_a_newer_one_never_replaces_its_index(local_api, group_id, testdata):
    """Training A lists the group's journal, then stalls; obama is deleted and training B runs and publishes; then
    A finishes. B's index stays: obama is not named again."""
    persons = _enroll(local_api, group_id, testdata, ["obama", "lin_manuel_miranda"])
    delete_obama = functools.partial(local_api.delete_person, group_id, persons["obama"])
    _train_past_a_newer_training(local_api.train, group_id, local_api.gallery.journal, "sizes", delete_obama)
    photo = decode_upload((testdata / "scenes/obama1.jpg").read_bytes(), Settings())
    named = [f.name for f in recognize(local_api, group_id, photo)]
    assert "obama" not in named
    assert local_api.training_status(group_id).status == "succeeded"


def test_a_large_face_list_training_that_finishes_after_a_newer_one_never_replaces_its_index(local_api, testdata):
    """As for groups: training A lists the list's journal, then stalls; obama's face is deleted and training B runs
    and publishes; then A finishes. B's index stays: find-similar never finds obama's face again."""
    list_id = f"lfl-{uuid.uuid4().hex[:12]}"
    local_api.create_face_list(LARGE, list_id, list_id)
    faces = {
        name: local_api.add_list_face(LARGE, list_id, (testdata / f"people/{name}/1.jpg").read_bytes())
        for name in ("obama", "biden")
    }
    delete_obama = functools.partial(local_api.delete_list_face, LARGE, list_id, faces["obama"].persisted_face_id)
    _train_past_a_newer_training(local_api.train_list, list_id, local_api.face_lists.journal, "sizes", delete_obama)
    probe = local_api.detect((testdata / "people/obama/2.jpg").read_bytes(), DetectOptions())[0]["faceId"]
    found = local_api.find_similar(probe, SimilarCandidates(large_face_list_id=list_id), mode=MatchMode.MATCH_FACE)
    assert [f.persisted_face_id for f in found] == [faces["biden"].persisted_face_id]
    assert local_api.list_training_status(list_id).status == "succeeded"


# -- 4. short, renewed leases; given-up work marked failed -----------------------------------------------------


def test_a_message_stays_hidden_while_its_function_runs_past_the_lease(tmp_path):
    storage = LocalFolderStorage(tmp_path / "data")
    storage.send_message("slow", "{}")
    seen_by_another: list[int] = []

    def slow(_msg) -> None:
        # Three lease lengths, checking every half lease whether another worker gets it. The lease is renewed
        # every third of it, so a renewal may come 1.3 s late before another worker could see the message.
        for _ in range(6):
            time.sleep(1)
            seen_by_another.append(len(storage.receive_messages("slow", visibility_timeout=1)))

    worker = QueueWorker([], storage, HostConfig(), lease_seconds=2)
    worker.queue_functions.append(QueueFunction("slow", _function_calling(slow)))
    assert worker.run_once() == 1
    assert seen_by_another == [0] * 6
    assert storage.receive_messages("slow") == []  # deleted once done


def test_a_message_whose_worker_died_is_visible_again_within_the_lease(tmp_path):
    storage = LocalFolderStorage(tmp_path / "data")
    storage.send_message(TRAIN_QUEUE, "{}")
    assert storage.receive_messages(TRAIN_QUEUE, visibility_timeout=LEASE_SECONDS)  # then the process dies
    assert LEASE_SECONDS <= 60
    assert storage.receive_messages(TRAIN_QUEUE) == []


def _function_calling(target):
    """A stand-in for a registered queue function (the worker calls `get_user_function()(message)`)."""

    class Function:
        def get_user_function(self):
            return target

        def get_function_name(self) -> str:
            return target.__name__

    return Function()


def test_a_training_given_up_is_marked_failed_with_the_reason(host, testdata, monkeypatch):
    group_id = new_group(host)
    add_person(host, group_id, "obama", testdata / "people/obama/1.jpg")
    monkeypatch.setattr(Trainer, "train", _always_fails)
    assert call(host, "POST", f"{GROUPS}/{group_id}/train").status_code == 202
    status = finished_training(host, group_id)
    assert status["status"] == "failed"
    assert "given up" in status["message"]
    monkeypatch.undo()  # the repair: train again
    assert call(host, "POST", f"{GROUPS}/{group_id}/train").status_code == 202
    assert finished_training(host, group_id)["status"] == "succeeded"


def test_a_large_face_list_training_given_up_is_marked_failed_with_the_reason(host, testdata, monkeypatch):
    list_id, _ = new_large_face_list(host, testdata / "people/obama/1.jpg")
    monkeypatch.setattr(LocalFaceListApi, "train_list", _always_fails)
    assert call(host, "POST", f"{LARGE_FACE_LISTS}/{list_id}/train").status_code == 202
    status = finished_training(host, list_id, LARGE_FACE_LISTS)
    assert status["status"] == "failed"
    assert "given up" in status["message"]
    monkeypatch.undo()  # the repair: train again
    assert call(host, "POST", f"{LARGE_FACE_LISTS}/{list_id}/train").status_code == 202
    assert finished_training(host, list_id, LARGE_FACE_LISTS)["status"] == "succeeded"


def test_an_enrollment_given_up_is_marked_failed_with_the_reason(host, testdata, monkeypatch):
    monkeypatch.setattr("function_app.features.bulk_enrollment.enroll_photos", _always_fails)
    zip_data = _zip({"obama/1.jpg": (testdata / "people/obama/1.jpg").read_bytes()})
    started = call(
        host,
        "POST",
        f"/api/enrollments?personGroupId=g-{uuid.uuid4().hex[:8]}",
        data=zip_data,
        headers={"Content-Type": "application/zip"},
    )
    job = wait_for(lambda: (j := call(host, "GET", started.headers["Location"]).json())["status"] == "failed" and j)
    assert "given up" in job["message"]


def _always_fails(*args, **kwargs):
    raise RuntimeError("a fault that happens on every try")


# -- 5. one damaged record breaks nothing else -------------------------------------------------------------------

GARBAGE = b'{"not": "what it should be"'


def test_a_damaged_group_record_is_left_out_of_the_list_and_named_when_asked_for(host):
    good, bad = new_group(host), new_group(host)
    LocalFolderStorage(host[1]).put_blob(GROUPS_CONTAINER, f"{bad}.json", GARBAGE)
    listed = call(host, "GET", GROUPS)
    assert listed.status_code == 200
    ids = [g["personGroupId"] for g in listed.json()]
    assert good in ids and bad not in ids
    reply = call(host, "GET", f"{GROUPS}/{bad}")
    assert_error(reply, 500, "DamagedRecord")
    assert f"{GROUPS_CONTAINER}/{bad}.json" in reply.json()["error"]["message"]
    assert call(host, "DELETE", f"{GROUPS}/{good}").status_code == 200


def test_a_damaged_training_status_is_named_and_training_again_repairs_it(host, testdata):
    group_id = new_group(host)
    add_person(host, group_id, "obama", testdata / "people/obama/1.jpg")
    LocalFolderStorage(host[1]).put_blob(GALLERY_CONTAINER, f"{group_id}/training/status.json", b"\x00garbage")
    for path in (f"{GROUPS}/{group_id}/training",):
        assert_error(call(host, "GET", path), 500, "DamagedRecord")
    frame = send_frame(host, group_id, testdata / "scenes/obama1.jpg")
    assert_error(frame, 500, "DamagedRecord")
    assert "Train the group again" in frame.json()["error"]["message"]
    assert call(host, "GET", f"{GROUPS}/{group_id}/persons").status_code == 200  # the rest of the group works
    assert call(host, "POST", f"{GROUPS}/{group_id}/train").status_code == 202
    assert finished_training(host, group_id)["status"] == "succeeded"
    frame = send_still(host, group_id, testdata / "scenes/obama1.jpg")
    assert [f["name"] for f in frame.json()["faces"]] == ["obama"]


def test_a_damaged_large_face_list_training_status_is_named_and_training_again_repairs_it(host, testdata):
    list_id, face_id = new_large_face_list(host, testdata / "people/obama/1.jpg")
    status_blob = f"LargeFaceLists/data/{list_id}/training/status.json"
    LocalFolderStorage(host[1]).put_blob(GALLERY_CONTAINER, status_blob, b"\x00garbage")
    assert_error(call(host, "GET", f"{LARGE_FACE_LISTS}/{list_id}/training"), 500, "DamagedRecord")
    similar = find_similar_in_list(host, list_id, testdata / "people/obama/2.jpg")
    assert_error(similar, 500, "DamagedRecord")
    assert "Train the large face list again" in similar.json()["error"]["message"]
    assert call(host, "GET", f"{LARGE_FACE_LISTS}/{list_id}/persistedfaces").status_code == 200  # the rest works
    assert call(host, "POST", f"{LARGE_FACE_LISTS}/{list_id}/train").status_code == 202
    assert finished_training(host, list_id, LARGE_FACE_LISTS)["status"] == "succeeded"
    similar = find_similar_in_list(host, list_id, testdata / "people/obama/2.jpg")
    assert [c["persistedFaceId"] for c in similar.json()] == [face_id]


def test_damaged_person_and_face_records_leave_the_rest_of_the_group_working(host, testdata):
    group_id = new_group(host)
    add_person(host, group_id, "obama", testdata / "people/obama/1.jpg")
    biden, face = add_person(host, group_id, "biden", testdata / "people/biden/1.jpg")
    storage = LocalFolderStorage(host[1])
    extra = call(host, "POST", f"{GROUPS}/{group_id}/persons", json={"name": "extra"}).json()["personId"]
    storage.put_blob(GALLERY_CONTAINER, f"{group_id}/persons/{extra}.json", GARBAGE)
    storage.put_blob(GALLERY_CONTAINER, f"{group_id}/faces/{biden}/{face}.json", b"[]")
    listed = call(host, "GET", f"{GROUPS}/{group_id}/persons")
    assert sorted(p["name"] for p in listed.json()) == ["biden", "obama"]
    assert_error(call(host, "GET", f"{GROUPS}/{group_id}/persons/{extra}"), 500, "DamagedRecord")
    assert call(host, "POST", f"{GROUPS}/{group_id}/train").status_code == 202
    status = finished_training(host, group_id)
    # Training reads the journal, not the face records: a damaged record leaves the face's embedding trained.
    assert status["status"] == "succeeded" and status["message"] == "Trained on 2 faces of 2 persons."


def test_a_damaged_sighting_is_left_out_of_the_day_s_query(host, testdata, monkeypatch):
    monkeypatch.setenv("FRAME_RECORDS", "on")
    group_id = new_group(host)
    add_person(host, group_id, "obama", testdata / "people/obama/1.jpg")
    call(host, "POST", f"{GROUPS}/{group_id}/train")
    assert finished_training(host, group_id)["status"] == "succeeded"
    camera = f"cam-{uuid.uuid4().hex[:6]}"
    frame = send_still(host, group_id, testdata / "scenes/obama1.jpg", camera).json()
    day = frame["record"].split("/")[1]
    hour_blob = frame["record"].split("/", 1)[1].split("#")[0]
    storage = LocalFolderStorage(host[1])
    for garbage in (GARBAGE, b"[1, 2]", b'{"faces": "x"}', b'{"faces": [1]}', b'{"timeStamp": 5, "faces": []}'):
        storage.append_blob(SIGHTINGS_CONTAINER, hour_blob, garbage + b"\n")
    found = call(host, "GET", "/api/sightings", params={"day": day, "cameraId": camera})
    assert found.status_code == 200, found.text
    assert sorted(s["name"] for s in found.json()["sightings"]) == ["Unknown", "Unknown", "obama"]  # named at the third


def test_a_damaged_enrollment_job_is_named_not_called_missing(host):
    job_id = str(uuid.uuid4())
    LocalFolderStorage(host[1]).put_blob(ENROLLMENTS_CONTAINER, f"{job_id}.json", GARBAGE)
    assert_error(call(host, "GET", f"/api/enrollments/{job_id}"), 500, "DamagedRecord")


# -- 6. storage down or read-only: 503 with Retry-After ---------------------------------------------------------


@contextlib.contextmanager
def read_only(folder: Path):
    """The folder and everything in it made immutable (`chattr +i`: even root cannot write), as a read-only
    mount would be; restored after."""
    if shutil.which("chattr") is None or subprocess.run(["chattr", "-R", "+i", str(folder)]).returncode != 0:
        subprocess.run(["chattr", "-R", "-i", str(folder)], check=False)
        pytest.skip("chattr +i is not available here (needs root on ext4 or a similar file system)")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-R", "-i", str(folder)], check=True)


def test_a_read_only_data_folder_answers_503_with_retry_after_and_reads_still_work(host):
    group_id = new_group(host)
    with read_only(host[1]):
        refused = call(host, "PUT", f"{GROUPS}/g-{uuid.uuid4().hex[:12]}", json={"name": "x"})
        assert_error(refused, 503, "StorageUnavailable")
        assert int(refused.headers["Retry-After"]) > 0
        assert call(host, "GET", f"{GROUPS}/{group_id}").status_code == 200
    assert call(host, "PUT", f"{GROUPS}/g-{uuid.uuid4().hex[:12]}", json={"name": "x"}).status_code == 200


def test_the_command_line_refuses_a_video_whose_frames_are_over_the_budget(tmp_path, testdata):
    side = 4200  # 17.6 megapixels a frame: over the budget
    photo = cv2.imread(str(testdata / "people/obama/1.jpg"))
    assert photo is not None
    frame = cv2.resize(photo, (side, side))
    video = tmp_path / "huge.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter.fourcc(*"MJPG"), 5, (side, side))
    for _ in range(2):
        writer.write(frame)
    writer.release()
    result = run_cli("identify", "--group", "g", str(video), data=tmp_path / "data")
    assert result.returncode == 2 and f"at most {PIXEL_BUDGET} pixels" in result.stderr, result.stderr


def test_a_damaged_face_id_record_never_stops_the_hourly_purge(tmp_path):
    storage = LocalFolderStorage(tmp_path / "data")
    face_ids = FaceIdStore(storage)
    expired = RememberedFace(str(uuid.uuid4()), np.zeros(128, np.float32), utc_now() - timedelta(seconds=1))
    storage.put_blob(FACE_IDS_CONTAINER, f"{expired.face_id}.json", expired.to_record())
    storage.put_blob(FACE_IDS_CONTAINER, f"{uuid.uuid4()}.json", GARBAGE)
    kept = face_ids.remember([np.ones(128, np.float32)])[0]
    assert face_ids.purge_expired() == 2  # the expired one and the damaged one
    assert [b.name for b in storage.list_blobs(FACE_IDS_CONTAINER)] == [f"{kept}.json"]
