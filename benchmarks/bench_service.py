"""What the HTTP service costs per video frame, beside the prototype's way in the same run.

    python -m benchmarks.bench_service [--repeat 20] [--data ../shared/testdata/dev]

The service runs in this process (the local host on a free port, local storage in a temporary
folder, people/ enrolled). Each round times, on the same 640×480 frame with one face:
  in-process   the recognizer alone (no HTTP): the floor
  one call     POST /api/frames: detect + identify + tracking, one round trip, every face identified every
               frame (TRACK_IDENTIFY_SECONDS=0, as the prototype did; a camera's frames, each its own bytes)
  prototype    POST /face/v1.0/detect, then POST /face/v1.0/identify: the prototype's two calls
  azure engine FACE_ENGINE=azure's frame path (its SDK: detect, identify, cached names) with this
               service as the Face API: what the engine adds over the service's own two calls
Prints median and 90th-percentile milliseconds, and the ratio prototype / one call.
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import requests

from benchmarks.bench_pipeline import DEFAULT_DATA, webcam_frame

KEY = "benchmark-key"


def timed_ms(fn) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000.0


def camera_frames(jpeg: bytes) -> Iterator[bytes]:
    """The frame as a camera standing still sends it: each time its own bytes (one pixel carries a count), so
    that the service does not answer it as a frame posted twice."""
    pixels = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert pixels is not None, "the benchmark's frame does not decode"
    for count in itertools.count():
        pixels[0, 0] = (count % 256, count // 256 % 256, 0)
        yield cv2.imencode(".jpg", pixels, [cv2.IMWRITE_JPEG_QUALITY, 95])[1].tobytes()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        os.environ.update(STORAGE_BACKEND="local", STORAGE_DIR=folder, FACE_API_KEY=KEY, TRACK_IDENTIFY_SECONDS="0")
        from function_app.faceapi import FaceApi, recognize
        from function_app.features.enrollment import enroll_folder
        from function_app.imaging import decode_upload
        from function_app.local_host.server import create_host
        from function_app.runtime import current_runtime

        services = current_runtime()
        enroll_folder(services.face_api, "bench", args.data / "people")
        host = create_host(port=0)
        threading.Thread(target=host.server.run, daemon=True).start()
        frame = webcam_frame(args.data)
        session = requests.Session()
        session.headers.update({"Ocp-Apim-Subscription-Key": KEY, "Content-Type": "application/octet-stream"})

        settings = services.settings

        def recognize_frame(faces: FaceApi):  # as POST /api/frames does: decode once, then the Face API
            return recognize(faces, "bench", decode_upload(frame, settings))

        def in_process():
            [face] = recognize_frame(services.face_api)
            assert face.name == "obama"

        frames = camera_frames(frame)

        def one_call():
            reply = session.post(
                f"{host.url}/api/frames", params={"personGroupId": "bench", "cameraId": "b"}, data=next(frames)
            )
            assert reply.json()["faces"][0]["trackId"]

        def prototype():
            faces = session.post(f"{host.url}/face/v1.0/detect", data=frame).json()
            body = {"faceIds": [f["faceId"] for f in faces], "personGroupId": "bench"}
            assert session.post(f"{host.url}/face/v1.0/identify", json=body).json()[0]["candidates"]

        from function_app.faceapi.azure.service import AzureFaceApi
        from function_app.settings import Settings

        engine = AzureFaceApi(Settings(face_engine="azure", azure_face_endpoint=host.url, azure_face_key=KEY))

        def azure_engine():
            [face] = recognize_frame(engine)
            assert face.name == "obama"

        ways = {"in-process": in_process, "one call": one_call, "prototype": prototype, "azure engine": azure_engine}
        samples: dict[str, list[float]] = {name: [] for name in ways}
        for way in ways.values():
            way()  # warm up: models, index cache, connections
        for _ in range(3):
            one_call()  # the camera's track is named from its third frame on
        for _ in range(args.repeat):  # interleaved, so each way sees the same machine load
            for name, way in ways.items():
                samples[name].append(timed_ms(way))
        session.close()
        host.close()
    print(f"640x480 frame, one face, {args.repeat} rounds; milliseconds median (p90)")
    median = {name: statistics.median(s) for name, s in samples.items()}
    for name, s in samples.items():
        print(f"{name:<12} {median[name]:8.1f} ({float(np.percentile(s, 90)):6.1f})")
    print(f"HTTP and record overhead of one call: {median['one call'] - median['in-process']:.1f} ms")
    print(f"ratio prototype / one call: {median['prototype'] / median['one call']:.2f}x")
    print(f"ratio azure engine / prototype: {median['azure engine'] / median['prototype']:.2f}x")


if __name__ == "__main__":
    main()
