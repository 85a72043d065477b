"""The dev video as a camera sends it (each frame a JPEG), the dev photos' people enrolled for it by the command
line, and one frame posted to a server, as the tests of the frame path use them."""

from __future__ import annotations

from pathlib import Path

import cv2
import requests

from .service import run_cli

VIDEO = "video/short_hamilton_clip.mp4"
FRONTAL = range(82, 211, 2)  # testdata/README: Lin-Manuel Miranda, frontal (every second frame: 15 a second)
AUDIENCE = range(211, 275, 2)  # Barack Obama (enrolled) between two people who are not
LIN = "lin_manuel_miranda"


def video_frames(testdata: Path) -> dict[int, bytes]:
    """The dev video's 275 frames as a camera would send them (JPEG), by frame number."""
    video = cv2.VideoCapture(str(testdata / VIDEO))
    found: dict[int, bytes] = {}
    while True:
        ok, bgr = video.read()
        if not ok:
            break
        found[len(found)] = cv2.imencode(".jpg", bgr)[1].tobytes()
    video.release()
    assert len(found) == 275
    return found


def enrolled_storage(folder: Path, testdata: Path, group: str, key: str, **settings: str) -> dict[str, str]:
    """dev/people enrolled as `group` by the command line; the server's settings for that storage."""
    env = {"STORAGE_BACKEND": "local", "STORAGE_DIR": str(folder), **settings}
    done = run_cli("enroll", str(testdata / "people"), "--group", group, data=folder, **settings)
    assert done.returncode == 0, done.stdout + done.stderr
    return {**env, "FACE_API_KEY": key}


def post_frame(url: str, key: str, group: str, camera: str, image: bytes) -> dict:
    """`image` posted to /api/frames as `camera`'s frame; its answer, which must be 200."""
    reply = requests.post(
        f"{url}/api/frames",
        params={"personGroupId": group, "cameraId": camera},
        data=image,
        headers={"Ocp-Apim-Subscription-Key": key, "Content-Type": "application/octet-stream"},
        timeout=120,
    )
    assert reply.status_code == 200, reply.text
    return reply.json()
