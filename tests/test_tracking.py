"""Frames to visits, over real HTTP to the real server, on the dev video's frames: tracks named once from
their frames, visits recorded with a snapshot, a frame posted twice counted once, two cameras kept apart,
a restart and two instances on one camera making no second visit, and silent cameras' visits closed by
the timer."""

from __future__ import annotations

import json
import os
import signal
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from .support import dev_video
from .support.dev_video import AUDIENCE, FRONTAL, LIN, post_frame, video_frames
from .support.images import blank_jpeg
from .support.service import start_server, stop_server
from .support.waiting import wait_for

KEY = f"key-{uuid.uuid4().hex}"
GROUP = "video-people"


@pytest.fixture(scope="module")
def frames(testdata) -> dict[int, bytes]:
    return video_frames(testdata)


def enrolled_storage(folder: Path, testdata: Path, **settings: str) -> dict[str, str]:
    return dev_video.enrolled_storage(folder, testdata, GROUP, KEY, **settings)


class Server:
    def __init__(self, env: dict[str, str], log: Path):
        self.env, self.log = env, log
        self.process, self.url = start_server(env, log)

    def frame(self, camera: str, image: bytes) -> dict:
        return post_frame(self.url, KEY, GROUP, camera, image)

    def stop(self) -> None:
        stop_server(self.process)


@pytest.fixture(scope="module")
def storage_folder(tmp_path_factory, testdata) -> tuple[Path, dict[str, str]]:
    folder = tmp_path_factory.mktemp("tracking")
    return folder, enrolled_storage(folder / "data", testdata, VISIT_CLOSE_SECONDS="3")


@pytest.fixture(scope="module")
def server(storage_folder) -> Iterator[Server]:
    folder, env = storage_folder
    served = Server(env, folder / "server.log")
    yield served
    served.stop()


def visit_record(data: Path, visit_id: str) -> dict:
    return json.loads((data / "blobs" / "visits" / visit_id[1:9] / f"{visit_id}.json").read_bytes())


def largest(answer: dict) -> dict:
    return max(answer["faces"], key=lambda f: f["faceRectangle"]["width"])


def test_the_frontal_shot_is_one_track_named_once_and_one_visit_with_a_snapshot(server, storage_folder, frames):
    camera = f"stage-{uuid.uuid4().hex[:6]}"
    answers = [server.frame(camera, frames[i]) for i in FRONTAL]
    faces = [largest(a) for a in answers]
    assert len({f["trackId"] for f in faces}) == 1  # one person, one track, across 65 frames
    # One frame never names a track: the first answers are Unknown; then the name holds.
    named = [i for i, f in enumerate(faces) if f["name"] == LIN]
    assert named and named[0] == 2 and named == list(range(named[0], len(faces)))
    assert [(f["name"], f["visitId"]) for f in faces[:2]] == [("Unknown", None)] * 2
    assert all(f["personId"] for f in faces[2:]) and all(f["confidence"] >= 0.5 for f in faces[2:])
    visit_ids = {f["visitId"] for f in faces[2:]}
    assert len(visit_ids) == 1  # opened named, when the track had the frames that may name it
    record = visit_record(Path(storage_folder[1]["STORAGE_DIR"]), *visit_ids)
    assert record["name"] == LIN and record["cameraId"] == camera and record["personGroupId"] == GROUP
    assert record["closed"] is False and record["firstSeen"] <= record["lastSeen"]
    snapshot = Path(storage_folder[1]["STORAGE_DIR"]) / "blobs" / record["snapshot"]
    pixels = cv2.imdecode(np.frombuffer(snapshot.read_bytes(), np.uint8), cv2.IMREAD_COLOR)
    assert pixels is not None and min(pixels.shape[:2]) >= max(f["faceRectangle"]["width"] for f in faces)


def test_the_audience_shot_names_nobody_but_obama(server, frames):
    camera = f"hall-{uuid.uuid4().hex[:6]}"
    names = Counter(f["name"] for i in AUDIENCE for f in server.frame(camera, frames[i])["faces"])
    assert names and set(names) <= {"obama", "Unknown"}, names


def test_two_cameras_interleaved_keep_their_own_tracks_and_visits(server, frames):
    stage, hall = f"stage-{uuid.uuid4().hex[:6]}", f"hall-{uuid.uuid4().hex[:6]}"
    seen: dict[str, list[dict]] = {stage: [], hall: []}
    for a, b in zip(FRONTAL, AUDIENCE, strict=False):
        seen[stage].append(largest(server.frame(stage, frames[a])))
        seen[hall] += server.frame(hall, frames[b])["faces"]
    assert {f["name"] for f in seen[stage][2:]} == {LIN}
    assert LIN not in {f["name"] for f in seen[hall]}
    for kind in ("trackId", "visitId"):
        ids = {camera: {f[kind] for f in faces if f[kind]} for camera, faces in seen.items()}
        assert ids[stage] and ids[hall] and not ids[stage] & ids[hall]


def test_a_frame_posted_twice_is_answered_again_and_counted_once_and_silent_visits_close(
    server, storage_folder, frames
):
    camera = f"door-{uuid.uuid4().hex[:6]}"
    answers = [server.frame(camera, frames[i]) for i in FRONTAL[:6]]
    again = server.frame(camera, frames[FRONTAL[5]])  # a client that retried a frame whose answer it lost
    assert [f["trackId"] for f in again["faces"]] == [f["trackId"] for f in answers[-1]["faces"]]
    visit_id = largest(answers[-1])["visitId"]
    data = Path(storage_folder[1]["STORAGE_DIR"])
    # The camera goes silent: the timer (every 20 s) closes its visit after VISIT_CLOSE_SECONDS (3 here).
    closed = wait_for(lambda: (r := visit_record(data, visit_id))["closed"] and r, timeout=60)
    assert closed["frames"] == len(answers)  # the repeat not counted
    assert closed["name"] == LIN


def test_a_restart_mid_visit_continues_the_visit(tmp_path, testdata, frames):
    server = Server(enrolled_storage(tmp_path / "data", testdata), tmp_path / "server.log")
    camera = "stage"
    before = [largest(server.frame(camera, frames[i])) for i in FRONTAL[:10]]
    os.kill(server.process.pid, signal.SIGKILL)  # no goodbye: whatever was only in memory is lost
    server.process.wait()
    server = Server(server.env, server.log)
    try:
        after = [largest(server.frame(camera, frames[i])) for i in FRONTAL[10:20]]
    finally:
        server.stop()
    assert before[-1]["name"] == LIN and {f["name"] for f in after[3:]} == {LIN}
    assert {f["visitId"] for f in before[1:] + after if f["name"] == LIN} == {before[-1]["visitId"]}
    visits = list((tmp_path / "data" / "blobs" / "visits").rglob("*.json"))
    assert [json.loads(v.read_bytes())["name"] for v in visits] == [LIN]


def test_two_instances_taking_turns_on_one_camera_make_one_visit(tmp_path, testdata, frames):
    env = enrolled_storage(tmp_path / "data", testdata)
    first, second = Server(env, tmp_path / "first.log"), Server(env, tmp_path / "second.log")
    try:
        faces = [largest((first, second)[n % 2].frame("stage", frames[i])) for n, i in enumerate(FRONTAL[:20])]
    finally:
        first.stop()
        second.stop()
    assert len({f["trackId"] for f in faces}) == 1
    assert len({f["visitId"] for f in faces[2:]}) == 1 and faces[-1]["name"] == LIN
    assert len(list((tmp_path / "data" / "blobs" / "visits").rglob("*.json"))) == 1


def test_a_face_hidden_for_a_moment_continues_its_track_and_a_cut_starts_new_ones(server, frames):
    camera = f"stage-{uuid.uuid4().hex[:6]}"
    before = [largest(server.frame(camera, frames[i])) for i in FRONTAL[:8]]
    for n in range(3):  # the view blocked for a moment (well within TRACK_GAP_SECONDS): no face, another scene
        assert server.frame(camera, blank_jpeg(640, 360 + n))["faces"] == []
    after = [largest(server.frame(camera, frames[i])) for i in FRONTAL[8:12]]
    assert {f["trackId"] for f in before + after} == {before[0]["trackId"]}  # linked again by appearance
    assert [f["name"] for f in after] == [LIN] * 4
    audience = [server.frame(camera, frames[i])["faces"] for i in AUDIENCE[:6]]
    assert before[0]["trackId"] not in {f["trackId"] for faces in audience for f in faces}
