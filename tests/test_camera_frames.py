"""A camera's latest frame, over real HTTP to the real server, on the dev video's frames: its bytes come back as
posted (a PNG as a JPEG of it) and its answer as the frame route gave it, each camera its own; only the cameras
that posted last are kept, a camera silent for longer than the age limit answers 404 NoRecentFrame,
LATEST_FRAMES=off keeps nothing, and the routes want the key. In memory: the timer forgets expired frames."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np
import pytest
import requests

from function_app.features.frames import FrameResult
from function_app.features.latest_frames import LatestFrames

from .support.dev_video import AUDIENCE, FRONTAL, LIN, enrolled_storage, post_frame, video_frames
from .support.service import start_server, stop_server
from .support.waiting import wait_for

KEY = f"key-{uuid.uuid4().hex}"
GROUP = "video-people"
CAMERAS = 3  # LATEST_FRAME_CAMERAS of the module's server
SHORT_AGE = 1.0  # LATEST_FRAME_SECONDS of the server that forgets quickly


@pytest.fixture(scope="module")
def frames(testdata) -> dict[int, bytes]:
    return video_frames(testdata)


@pytest.fixture(scope="module")
def enrolled(tmp_path_factory, testdata) -> tuple[Path, dict[str, str]]:
    folder = tmp_path_factory.mktemp("camera-frames")
    return folder, enrolled_storage(folder / "data", testdata, GROUP, KEY)


@contextmanager
def serving(enrolled: tuple[Path, dict[str, str]], name: str, **settings: str) -> Iterator[str]:
    folder, env = enrolled
    process, url = start_server({**env, **settings}, folder / f"{name}.log")
    try:
        yield url
    finally:
        stop_server(process)


@pytest.fixture(scope="module")
def server(enrolled) -> Iterator[str]:
    with serving(enrolled, "server", LATEST_FRAME_CAMERAS=str(CAMERAS)) as url:
        yield url


def get(url: str, path: str, key: str | None = KEY) -> requests.Response:
    headers = {"Ocp-Apim-Subscription-Key": key} if key else {}
    return requests.get(f"{url}{path}", headers=headers, timeout=60)


def cameras(url: str) -> list[str]:
    reply = get(url, "/api/cameras")
    assert reply.status_code == 200, reply.text
    return [c["cameraId"] for c in reply.json()]


def assert_no_recent_frame(url: str, camera: str) -> None:
    for path in ("latest", "latest.jpg"):
        reply = get(url, f"/api/cameras/{camera}/{path}")
        assert reply.status_code == 404, reply.text
        assert reply.json()["error"]["code"] == "NoRecentFrame"


def test_the_latest_frame_comes_back_as_posted_with_its_answer(server, frames):
    camera = f"stage-{uuid.uuid4().hex[:6]}"
    for i in FRONTAL[:8]:
        answer = post_frame(server, KEY, GROUP, camera, frames[i])
    assert LIN in {f["name"] for f in answer["faces"]}  # named from its track's third frame

    latest = get(server, f"/api/cameras/{camera}/latest")
    assert latest.status_code == 200, latest.text
    assert latest.json() == {**answer, "cameraId": camera, "personGroupId": GROUP, "time": answer["timeStamp"]}
    jpeg = get(server, f"/api/cameras/{camera}/latest.jpg")
    assert jpeg.status_code == 200
    assert jpeg.content == frames[FRONTAL[7]]  # the bytes as posted, not encoded again
    assert jpeg.headers["Content-Type"].split(";")[0] == "image/jpeg"
    assert jpeg.headers["Cache-Control"] == "no-store"
    assert jpeg.headers["X-Frame-Time"] == answer["timeStamp"]
    (listed,) = [c for c in get(server, "/api/cameras").json() if c["cameraId"] == camera]
    assert listed == {
        "cameraId": camera,
        "personGroupId": GROUP,
        "time": answer["timeStamp"],
        "faces": len(answer["faces"]),
    }


def test_each_camera_keeps_its_own_latest_frame(server, frames):
    stage, hall = f"stage-{uuid.uuid4().hex[:6]}", f"hall-{uuid.uuid4().hex[:6]}"
    answers = {}
    for a, b in zip(FRONTAL[:4], AUDIENCE[:4], strict=True):
        answers[stage] = post_frame(server, KEY, GROUP, stage, frames[a])
        answers[hall] = post_frame(server, KEY, GROUP, hall, frames[b])
    assert get(server, f"/api/cameras/{stage}/latest.jpg").content == frames[FRONTAL[3]]
    assert get(server, f"/api/cameras/{hall}/latest.jpg").content == frames[AUDIENCE[3]]
    for camera, answer in answers.items():
        assert get(server, f"/api/cameras/{camera}/latest").json()["faces"] == answer["faces"]
    assert LIN in {f["name"] for f in answers[stage]["faces"]}
    assert LIN not in {f["name"] for f in answers[hall]["faces"]}  # the audience: Barack Obama or Unknown
    assert cameras(server)[:2] == [hall, stage]  # the latest posted first


def test_a_frame_posted_as_png_comes_back_as_a_jpeg_of_the_same_picture(server, frames):
    pixels = cv2.imdecode(np.frombuffer(frames[FRONTAL[0]], np.uint8), cv2.IMREAD_COLOR)
    assert pixels is not None
    camera = f"png-{uuid.uuid4().hex[:6]}"
    post_frame(server, KEY, GROUP, camera, cv2.imencode(".png", pixels)[1].tobytes())
    jpeg = get(server, f"/api/cameras/{camera}/latest.jpg")
    assert jpeg.status_code == 200 and jpeg.content.startswith(b"\xff\xd8\xff")
    decoded = cv2.imdecode(np.frombuffer(jpeg.content, np.uint8), cv2.IMREAD_COLOR)
    assert decoded is not None and decoded.shape == pixels.shape
    assert np.abs(decoded.astype(int) - pixels).mean() < 3  # the same picture, through one JPEG encoding


def test_only_the_cameras_that_posted_last_are_kept(server, frames):
    names = [f"cam{n}-{uuid.uuid4().hex[:6]}" for n in range(CAMERAS + 1)]
    for name in names:
        post_frame(server, KEY, GROUP, name, frames[FRONTAL[0]])
    assert cameras(server) == names[:0:-1]  # the first dropped when the fourth posted
    assert_no_recent_frame(server, names[0])
    post_frame(server, KEY, GROUP, names[1], frames[FRONTAL[1]])  # posting again makes it the latest
    newest = f"cam-new-{uuid.uuid4().hex[:6]}"
    post_frame(server, KEY, GROUP, newest, frames[FRONTAL[2]])
    assert cameras(server) == [newest, names[1], names[3]]  # the least recently posted (names[2]) dropped
    assert get(server, f"/api/cameras/{names[1]}/latest.jpg").content == frames[FRONTAL[1]]


def test_a_camera_silent_longer_than_the_age_limit_answers_404(enrolled, frames):
    with serving(enrolled, "short-age", LATEST_FRAME_SECONDS=str(SHORT_AGE)) as url:
        camera = "quiet"
        posted = time.monotonic()
        post_frame(url, KEY, GROUP, camera, frames[FRONTAL[0]])
        reply = get(url, f"/api/cameras/{camera}/latest")
        if time.monotonic() - posted < SHORT_AGE:  # only then must it be there (a slow machine may take longer)
            assert reply.status_code == 200, reply.text
        wait_for(lambda: get(url, f"/api/cameras/{camera}/latest").status_code == 404, timeout=30)
        assert_no_recent_frame(url, camera)
        assert cameras(url) == []
        message = get(url, f"/api/cameras/{camera}/latest").json()["error"]["message"]
        assert "in the last 1 seconds" in message and "another" in message


def test_latest_frames_off_keeps_nothing(enrolled, frames):
    with serving(enrolled, "off", LATEST_FRAMES="off") as url:
        answer = post_frame(url, KEY, GROUP, "door", frames[FRONTAL[0]])
        assert len(answer["faces"]) == 1  # the frame itself is answered as ever
        assert cameras(url) == []
        assert_no_recent_frame(url, "door")
        assert "LATEST_FRAMES is off" in get(url, "/api/cameras/door/latest").json()["error"]["message"]


@pytest.mark.parametrize("key", [None, "wrong-key"])
def test_the_routes_want_the_key(server, frames, key):
    camera = f"door-{uuid.uuid4().hex[:6]}"
    post_frame(server, KEY, GROUP, camera, frames[FRONTAL[0]])
    for path in ("/api/cameras", f"/api/cameras/{camera}/latest", f"/api/cameras/{camera}/latest.jpg"):
        reply = get(server, path, key)
        assert reply.status_code == 401, path
        assert reply.json()["error"]["code"] == "401"
        assert camera not in reply.text


def test_expired_frames_are_forgotten_by_the_timer_without_a_read(frames):
    """In memory, on the timer's call alone: no frame past the age limit stays behind when nothing else comes."""
    now = [0.0]
    latest = LatestFrames(CAMERAS, 60.0, clock=lambda: now[0])
    answer = FrameResult("2026-11-26T10:00:00.000Z", 640, 360, [], None)
    latest.keep("door", GROUP, frames[FRONTAL[0]], answer, datetime(2026, 11, 26, 10, tzinfo=UTC))
    now[0] = 59.0
    latest.forget_expired()
    assert latest.latest("door").image == frames[FRONTAL[0]]
    now[0] = 61.0
    latest.forget_expired()
    assert not latest._frames
