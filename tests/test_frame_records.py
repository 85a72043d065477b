"""Per-frame records (FRAME_RECORDS=on) over real HTTP: frames of the dev video posted by two cameras at once to
`python -m function_app serve`, on local storage and on Azurite; the lines they append, one blob per camera per
UTC hour, read back by `GET /api/sightings` in time order, by person and camera, paged to the end. And the
default (off): no sighting written."""

from __future__ import annotations

import re
import threading
import uuid
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import cv2
import pytest
import requests

from function_app.features.sightings import SightedFace, SightingRecord, query_sightings, write_sighting
from function_app.storage import AppendBlobFull, Storage
from function_app.storage.layout import SIGHTINGS_CONTAINER
from function_app.storage.local_folder import LocalFolderStorage

from .support.service import keyed_session, served_storage, start_server, stop_server
from .support.waiting import wait_for

KEY = f"records-{uuid.uuid4().hex}"
VIDEO = "video/short_hamilton_clip.mp4"
RECORD = re.compile(r"^sightings/(\d{8})/([^/]+)/(\d{2})\.jsonl#(\d+)$")


@dataclass(frozen=True)
class Service:
    url: str
    log: Path
    storage: Storage
    session: requests.Session

    def get(self, path: str, **params: Any) -> Any:
        reply = self.session.get(f"{self.url}{path}", params=params, timeout=60)
        assert reply.status_code == 200, reply.text
        return reply.json()


def _serve(env: dict[str, str], folder: Path, storage: Storage) -> Iterator[Service]:
    process, url = start_server({"FACE_API_KEY": KEY, **env}, folder / "server.log")
    try:
        yield Service(url, folder / "server.log", storage, keyed_session(KEY))
    finally:
        stop_server(process)


@pytest.fixture(scope="module", params=["local", "azurite"])
def service(request, tmp_path_factory) -> Iterator[Service]:
    folder = tmp_path_factory.mktemp("records")
    env, storage = served_storage(request, request.param, folder)
    yield from _serve({**env, "FRAME_RECORDS": "on"}, folder, storage)


def _enroll(service: Service, testdata: Path) -> tuple[str, dict[str, str]]:
    """The dev people, enrolled and trained over HTTP: (group id, {name: personId})."""
    group = f"records-{uuid.uuid4().hex[:8]}"
    base = f"{service.url}/face/v1.0/persongroups/{group}"
    assert service.session.put(base, json={"name": group}).status_code == 200
    persons = {}
    for folder in sorted((testdata / "people").iterdir()):
        person = service.session.post(f"{base}/persons", json={"name": folder.name}).json()["personId"]
        persons[folder.name] = person
        for photo in sorted(folder.iterdir()):
            added = service.session.post(f"{base}/persons/{person}/persistedfaces", data=photo.read_bytes())
            assert added.status_code == 200, added.text
    assert service.session.post(f"{base}/train").status_code == 202
    wait_for(lambda: service.session.get(f"{base}/training").json()["status"] == "succeeded")
    return group, persons


@pytest.fixture(scope="module")
def enrolled(service, testdata):
    return _enroll(service, testdata)


@pytest.fixture(scope="module")
def video_frames(testdata) -> dict[int, bytes]:
    """JPEGs of the dev video's frontal stage shot (frames 82-210) and audience shot (211-274), every 6th frame."""
    capture = cv2.VideoCapture(str(testdata / VIDEO))
    frames, index = {}, 0
    while True:
        ok, image = capture.read()
        if not ok:
            break
        if index >= 84 and index % 6 == 0:
            frames[index] = cv2.imencode(".jpg", image)[1].tobytes()
        index += 1
    capture.release()
    assert len(frames) == 32
    return frames


def _post_frames(service: Service, group: str, camera: str, frames: list[bytes], answers: list[dict]) -> None:
    for jpeg in frames:
        reply = service.session.post(
            f"{service.url}/api/frames",
            params={"personGroupId": group, "cameraId": camera},
            headers={"Content-Type": "image/jpeg"},
            data=jpeg,
        )
        assert reply.status_code == 200, reply.text
        answers.append({**reply.json(), "camera": camera})


def _post_at_once(service: Service, group: str, frames_by_camera: dict[str, list[bytes]]) -> list[dict]:
    """Each camera posts its frames in its own thread, as cameras do: their lines are appended concurrently."""
    answers: list[dict] = []
    threads = [
        threading.Thread(target=_post_frames, args=(service, group, camera, frames, answers))
        for camera, frames in frames_by_camera.items()
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def _all_pages(service: Service, top: int, token: str | None = None, **params: str) -> tuple[list[dict], int]:
    """The rows of every page from `token`'s on, and how many pages there were."""
    rows: list[dict] = []
    pages = 0
    while True:
        page = service.get("/api/sightings", top=str(top), **params, **({"continuationToken": token} if token else {}))
        rows += page["sightings"]
        pages += 1
        assert len(page["sightings"]) <= top
        token = page["continuationToken"]
        if not token:
            return rows, pages


@pytest.fixture(scope="module")
def sighted(service, enrolled, video_frames):
    """Two cameras posting at once: the stage camera the frontal shot, the hall camera the audience shot."""
    group, _ = enrolled
    run = uuid.uuid4().hex[:6]
    cameras = {f"stage-{run}": [f for i, f in video_frames.items() if i <= 210]}
    cameras[f"hall-{run}"] = [f for i, f in video_frames.items() if i > 210]
    return cameras, _post_at_once(service, group, cameras)


def _day(answers: list[dict]) -> str:
    return answers[0]["timeStamp"][:10].replace("-", "")


def test_each_frame_with_faces_is_one_line_in_its_camera_s_hour_blob(service, sighted):
    cameras, answers = sighted
    with_faces = [a for a in answers if a["faces"]]
    assert len(with_faces) >= 25 and all(a["record"] is None for a in answers if not a["faces"])
    for answer in with_faces:
        record = RECORD.fullmatch(answer["record"])
        assert record, answer["record"]
        day, camera, hour, _ = record.groups()
        assert (day, camera, hour) == (_day([answer]), answer["camera"], answer["timeStamp"][11:13])
    # A blob per camera and hour (two if the run crossed an hour), not one per frame.
    blobs = {
        b.name
        for camera in cameras
        for b in service.storage.list_blobs(SIGHTINGS_CONTAINER, f"{_day(answers)}/{camera}/")
    }
    assert len(cameras) <= len(blobs) <= 2 * len(cameras)
    lines = sum(service.storage.get_blob(SIGHTINGS_CONTAINER, blob).data.count(b"\n") for blob in blobs)
    assert lines == len(with_faces)
    # Every line is whole (the two cameras appended at the same time) and where the frame's answer says.
    offsets: dict[str, set[int]] = defaultdict(set)
    for answer in with_faces:
        blob, offset = answer["record"].split("#")
        offsets[blob].add(int(offset))
    for blob, starts in offsets.items():
        data = service.storage.get_blob(SIGHTINGS_CONTAINER, blob.split("/", 1)[1]).data
        assert starts == {0} | {i + 1 for i, byte in enumerate(data[:-1]) if byte == ord("\n")}


def test_the_day_s_rows_are_in_time_order_and_paged_to_the_end(service, sighted):
    cameras, answers = sighted
    day = _day(answers)
    rows = [r for r in service.get("/api/sightings", day=day, top="1000")["sightings"] if r["camera"] in cameras]
    expected = sorted(
        ((a["timeStamp"], a["record"], face["name"]) for a in answers for face in a["faces"]), key=lambda r: r[0]
    )
    assert sorted((r["timeStamp"], r["record"], r["name"]) for r in rows) == sorted(expected)
    times = [r["timeStamp"] for r in rows]
    assert times == sorted(times)  # the two cameras' lines merged by time
    assert all(
        set(r) >= {"faceRectangle", "personId", "name", "confidence", "trackId", "visitId", "camera"} for r in rows
    )
    answered = {(f["trackId"], f["visitId"]) for a in answers for f in a["faces"]}
    assert all(r["trackId"] for r in rows) and {(r["trackId"], r["visitId"]) for r in rows} == answered
    for camera in cameras:
        paged, pages = _all_pages(service, 4, day=day, cameraId=camera)
        assert paged == [r for r in rows if r["camera"] == camera]
        assert pages == max(1, -(-len(paged) // 4))  # a full last page answers no token
    everyone, _ = _all_pages(service, 7, day=day)
    assert [r for r in everyone if r["camera"] in cameras] == rows


def test_rows_of_one_person_or_camera(service, enrolled, sighted):
    _, persons = enrolled
    cameras, answers = sighted
    day = _day(answers)
    stage, hall = cameras
    lin = service.get("/api/sightings", day=day, personId=persons["lin_manuel_miranda"], cameraId=stage)["sightings"]
    named = [f for a in answers if a["camera"] == stage for f in a["faces"] if f["name"] == "lin_manuel_miranda"]
    assert len(lin) == len(named) >= 10 and {r["name"] for r in lin} == {"lin_manuel_miranda"}
    assert (
        service.get("/api/sightings", day=day, personId=persons["lin_manuel_miranda"], cameraId=hall)["sightings"] == []
    )
    hall_rows = service.get("/api/sightings", day=day, cameraId=hall)["sightings"]
    assert hall_rows and {r["camera"] for r in hall_rows} == {hall}
    assert len(hall_rows) == sum(len(a["faces"]) for a in answers if a["camera"] == hall)
    missing = service.session.get(f"{service.url}/api/sightings", params={"cameraId": "bad camera"})
    assert (missing.status_code, missing.json()["error"]["code"]) == (400, "BadArgument")
    assert service.get("/api/sightings", day="19990101")["sightings"] == []
    for token in ("junk", f"{day}~x~1~2", "2026-11-26T00:00:00.000Z~19990101/c/00.jsonl~0~0"):
        refused = service.session.get(f"{service.url}/api/sightings", params={"day": day, "continuationToken": token})
        assert refused.json()["error"]["code"] == "BadArgument", token


def test_a_token_stays_valid_while_the_blobs_grow(service, enrolled, video_frames):
    group, _ = enrolled
    camera = f"door-{uuid.uuid4().hex[:6]}"
    stage = [f for i, f in video_frames.items() if i <= 210]
    first = _post_at_once(service, group, {camera: stage[:8]})
    day = _day(first)
    page = service.get("/api/sightings", day=day, cameraId=camera, top="5")
    more = _post_at_once(service, group, {camera: stage[8:]})
    rest, _ = _all_pages(service, 5, page["continuationToken"], day=day, cameraId=camera)
    rows = page["sightings"] + rest
    assert len(rows) == sum(len(a["faces"]) for a in first + more)  # nothing lost or repeated
    assert [r["timeStamp"] for r in rows] == sorted(r["timeStamp"] for r in rows)
    assert len({(r["record"], r["faceRectangle"]["left"]) for r in rows}) == len(rows)


def test_a_damaged_line_is_left_out_and_the_page_still_answers(service, enrolled, video_frames):
    group, _ = enrolled
    camera = f"gate-{uuid.uuid4().hex[:6]}"
    stage = [f for i, f in video_frames.items() if i <= 210]
    answers = _post_at_once(service, group, {camera: stage[:2]})
    blob = answers[0]["record"].split("#")[0].split("/", 1)[1]
    service.storage.append_blob(SIGHTINGS_CONTAINER, blob, b'{"timeStamp":"2026-01-01T00:00\n')
    service.storage.append_blob(SIGHTINGS_CONTAINER, blob, b'{"timeStamp":"2026-01-01T00:00:00.000Z","faces":7}\n')
    service.storage.append_blob(SIGHTINGS_CONTAINER, blob, b"\xff\xfe not even text\n")
    answers += _post_at_once(service, group, {camera: stage[2:4]})
    rows, _ = _all_pages(service, 1, day=_day(answers), cameraId=camera)
    assert [r["record"] for r in rows] == [a["record"] for a in answers for _ in a["faces"]]
    assert "damaged; left out of the sightings query" in service.log.read_text()


@pytest.fixture(scope="module")
def default_service(tmp_path_factory) -> Iterator[Service]:
    folder = tmp_path_factory.mktemp("no-records")
    yield from _serve(
        {"STORAGE_BACKEND": "local", "STORAGE_DIR": str(folder / "data")}, folder, LocalFolderStorage(folder / "data")
    )


def test_by_default_no_sighting_is_written(default_service, testdata, video_frames):
    group, _ = _enroll(default_service, testdata)
    answers = _post_at_once(default_service, group, {"door": list(video_frames.values())[:4]})
    assert all(a["faces"] for a in answers) and all(a["record"] is None for a in answers)
    assert list(default_service.storage.list_blobs(SIGHTINGS_CONTAINER)) == []
    assert default_service.get("/api/sightings", cameraId="door") == {"sightings": [], "continuationToken": None}


class AppendsLimited:
    """Local storage whose blobs take at most `limit` appends, as an Azure append blob takes at most 50,000 (then
    Append Block fails with BlockCountExceedsLimit, which AzureStorage raises as AppendBlobFull)."""

    def __init__(self, storage: Storage, limit: int):
        self.storage, self.limit = storage, limit
        self.appends: dict[str, int] = defaultdict(int)

    def append_blob(self, container: str, name: str, data: bytes, *, max_size: int | None = None) -> int:
        if self.appends[name] == self.limit:
            raise AppendBlobFull(f"Blob {name!r} takes no more appends")
        self.appends[name] += 1
        return self.storage.append_blob(container, name, data, max_size=max_size)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.storage, name)


def test_a_full_hour_blob_continues_in_the_next_part(tmp_path):
    storage = AppendsLimited(LocalFolderStorage(tmp_path), limit=3)
    camera, start = f"cam-{uuid.uuid4().hex[:6]}", datetime(2026, 3, 1, 9, 59, 59, tzinfo=UTC)
    face = SightedFace({"top": 1, "left": 2, "width": 40, "height": 40}, None, "Unknown", 0.0, "high")
    written = [
        write_sighting(storage, SightingRecord(camera, "g", start + timedelta(milliseconds=100 * n), 64, 48, [face]))
        for n in range(14)
    ]
    # 10 frames in 09h: three parts of 3 lines and one of 1; 4 in 10h.
    assert sorted(storage.appends.items()) == [
        (f"20260301/{camera}/09.1.jsonl", 3),
        (f"20260301/{camera}/09.2.jsonl", 3),
        (f"20260301/{camera}/09.3.jsonl", 1),
        (f"20260301/{camera}/09.jsonl", 3),
        (f"20260301/{camera}/10.1.jsonl", 1),
        (f"20260301/{camera}/10.jsonl", 3),
    ]
    rows = query_sightings(storage, day="20260301", camera=camera).sightings
    assert [r["record"] for r in rows] == written
    assert [r["timeStamp"] for r in rows] == sorted(r["timeStamp"] for r in rows)


def _frame(camera: str, moment: datetime, name: str = "Unknown") -> SightingRecord:
    face = SightedFace({"top": 1, "left": 2, "width": 40, "height": 40}, None, name, 0.0, "high")
    return SightingRecord(camera, "g", moment, 64, 48, [face])


@pytest.mark.parametrize("camera", [".", "..", ".lock", ".tmp-x", "a.b:c_d-e"])
def test_every_camera_id_is_a_folder_of_its_own(storage, camera):
    moment = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    written = [write_sighting(storage, _frame(camera, moment + timedelta(seconds=n))) for n in range(2)]
    write_sighting(storage, _frame(f"other-{uuid.uuid4().hex[:6]}", moment))
    rows = query_sightings(storage, day="20260302", camera=camera).sightings
    assert [(r["camera"], r["record"]) for r in rows] == [(camera, record) for record in written]


def test_a_line_repeated_by_a_retried_append_is_read_once(tmp_path):
    storage = LocalFolderStorage(tmp_path)
    moment = datetime(2026, 3, 3, 8, 0, tzinfo=UTC)
    first = write_sighting(storage, _frame("door", moment))
    blob, offset = first.split("/", 1)[1].split("#")
    line = storage.get_blob(SIGHTINGS_CONTAINER, blob).data[int(offset) :]
    storage.append_blob(SIGHTINGS_CONTAINER, blob, line)  # as the SDK's retry would append it again
    second = write_sighting(storage, _frame("door", moment + timedelta(seconds=1)))
    rows = query_sightings(storage, day="20260303", camera="door").sightings
    assert [r["record"] for r in rows] == [first, second]


class CountedReads:
    """Local storage that counts the blobs read whole."""

    def __init__(self, storage: Storage):
        self.storage, self.reads = storage, 0

    def get_blob(self, container: str, name: str) -> Any:
        self.reads += 1
        return self.storage.get_blob(container, name)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.storage, name)


def test_an_hour_blob_is_read_again_only_once_it_has_changed(tmp_path):
    storage = CountedReads(LocalFolderStorage(tmp_path))
    moment = datetime(2026, 3, 4, 8, 0, tzinfo=UTC)
    for n in range(5):
        write_sighting(storage, _frame("door", moment + timedelta(seconds=n)))
    first = query_sightings(storage, day="20260304", top=2)
    rest = query_sightings(storage, day="20260304", continuation_token=first.continuation_token)
    assert (len(first.sightings), len(rest.sightings), storage.reads) == (2, 3, 1)
    write_sighting(storage, _frame("door", moment + timedelta(seconds=9)))
    assert len(query_sightings(storage, day="20260304").sightings) == 6 and storage.reads == 2


def test_an_hour_blob_past_its_size_continues_in_the_next_part(storage, monkeypatch):
    from function_app.features import sightings

    monkeypatch.setattr(sightings, "MAX_PART_BYTES", 1000)
    camera, start = f"cam-{uuid.uuid4().hex[:6]}", datetime(2026, 3, 5, 7, 0, tzinfo=UTC)
    written = [write_sighting(storage, _frame(camera, start + timedelta(seconds=n))) for n in range(8)]
    parts = {b.name: b.size for b in storage.list_blobs(SIGHTINGS_CONTAINER, f"20260305/{camera}/")}
    assert len(parts) >= 3 and all(size <= 1000 for size in parts.values())
    assert {record.split("/", 1)[1].split("#")[0] for record in written} == set(parts)
    rows = query_sightings(storage, day="20260305", camera=camera).sightings
    assert [r["record"] for r in rows] == written
