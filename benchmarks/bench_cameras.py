"""How many cameras one server answers: N cameras send the dev video (looped) at 10 frames a second each to
one server, as the edge client does (a camera sends its newest frame when the previous answer came, never
faster than its rate), and each camera's frames, latency and the server's CPU are measured.

    python -m benchmarks.bench_cameras [--cameras 1,2,4,8] [--seconds 20] [--fps 10] [--threads 8]

The server is `python -m function_app serve` (default settings, local storage in a temporary folder,
dev/people enrolled) in its own process; the cameras are threads of this one (the dev video's 640x360
frames JPEG-encoded once beforehand, so the load generator costs little). Prints, for each number of
cameras: frames answered a second (all cameras, and per camera), latency p50/p95/p99, the server's CPU
(cores busy) and frames a second per core busy; a camera count passes when every camera gets 95 % of its
rate with p95 ≤ 150 ms.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import requests

from benchmarks.bench_pipeline import DEFAULT_DATA
from tests.support.service import run_cli, start_server, stop_server

KEY = "bench-cameras"
GROUP = "cameras"
VIDEO = "video/short_hamilton_clip.mp4"
P95_LIMIT_MS = 150.0


@dataclass
class Load:
    cameras: int
    seconds: float
    latencies_ms: list[float] = field(default_factory=list)
    answered: list[int] = field(default_factory=list)  # per camera
    cpu_seconds: float = 0.0
    errors: int = 0

    @property
    def fps(self) -> float:
        return sum(self.answered) / self.seconds

    def percentile(self, q: float) -> float:
        return float(np.percentile(self.latencies_ms, q)) if self.latencies_ms else float("nan")

    @property
    def cores(self) -> float:
        return self.cpu_seconds / self.seconds

    def passes(self, rate: float) -> bool:
        return (
            self.errors == 0
            and min(self.answered) >= 0.95 * rate * self.seconds
            and self.percentile(95) <= P95_LIMIT_MS
        )


def video_frames(data: Path) -> tuple[list[bytes], float]:
    video = cv2.VideoCapture(str(data / VIDEO))
    fps = video.get(cv2.CAP_PROP_FPS) or 30.0
    frames = []
    while True:
        ok, bgr = video.read()
        if not ok:
            break
        frames.append(cv2.imencode(".jpg", bgr)[1].tobytes())
    video.release()
    return frames, fps


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def camera(
    url: str, name: str, frames: list[bytes], video_fps: float, rate: float, until: float, out: Load, index: int
) -> None:
    """One camera: its newest frame when the previous answer came, at most `rate` a second."""
    session = requests.Session()
    session.headers.update({"Ocp-Apim-Subscription-Key": KEY, "Content-Type": "application/octet-stream"})
    started = time.monotonic()
    offset = index * 37  # the cameras do not all show the same frame at once
    while (now := time.monotonic()) < until:
        frame = frames[(offset + int((now - started) * video_fps)) % len(frames)]
        try:
            reply = session.post(f"{url}/api/frames", params={"personGroupId": GROUP, "cameraId": name}, data=frame)
            ok = reply.status_code == 200
        except requests.RequestException:
            ok = False
        done = time.monotonic()
        if ok:
            out.latencies_ms.append((done - now) * 1000)
            out.answered[index] += 1
        else:
            out.errors += 1
        time.sleep(max(0.0, now + 1 / rate - done))
    session.close()


def drive(url: str, pid: int, cameras: int, seconds: float, rate: float, frames: list[bytes], video_fps: float) -> Load:
    load = Load(cameras, seconds, answered=[0] * cameras)
    until = time.monotonic() + seconds
    cpu_before = cpu_seconds(pid)
    threads = [
        threading.Thread(target=camera, args=(url, f"cam{i}", frames, video_fps, rate, until, load, i))
        for i in range(cameras)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    load.cpu_seconds = cpu_seconds(pid) - cpu_before
    return load


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--cameras", default="1,2,4,8")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--fps", type=float, default=10.0, help="frames a second each camera sends at most")
    parser.add_argument("--threads", type=int, default=8, help="the server's request threads")
    parser.add_argument("--identify-seconds", default="1.0", help="TRACK_IDENTIFY_SECONDS (0: every face every frame)")
    args = parser.parse_args()
    frames, video_fps = video_frames(args.data)
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder) / "data"
        enrolled = run_cli("enroll", str(args.data / "people"), "--group", GROUP, data=data)
        assert enrolled.returncode == 0, enrolled.stderr
        env = {
            "STORAGE_BACKEND": "local",
            "STORAGE_DIR": str(data),
            "FACE_API_KEY": KEY,
            "TRACK_IDENTIFY_SECONDS": args.identify_seconds,
        }
        process, url = start_server(env, Path(folder) / "server.log", threads=args.threads)
        try:
            drive(url, process.pid, 1, 3.0, args.fps, frames, video_fps)  # warm up: models, index
            loads = [
                drive(url, process.pid, int(n), args.seconds, args.fps, frames, video_fps)
                for n in args.cameras.split(",")
            ]
        finally:
            stop_server(process)
    print(
        f"dev video 640x360 looped, {args.fps:g} frames/s a camera, {args.seconds:g} s each, server threads "
        f"{args.threads}, TRACK_IDENTIFY_SECONDS={args.identify_seconds}, {os.cpu_count()} cores"
    )
    columns = "cameras | frames/s | per camera (min) | p50 ms | p95 ms | p99 ms | cores busy | frames/s a core"
    print(f"\n| {columns} | errors | passes |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for load in loads:
        per_camera = min(load.answered) / load.seconds
        print(
            f"| {load.cameras} | {load.fps:.1f} | {per_camera:.1f} | {load.percentile(50):.0f} | "
            f"{load.percentile(95):.0f} | {load.percentile(99):.0f} | {load.cores:.2f} | "
            f"{load.fps / max(load.cores, 1e-9):.1f} | {load.errors} | {'yes' if load.passes(args.fps) else 'no'} |"
        )
    passing = [load.cameras for load in loads if load.passes(args.fps)]
    print(f"\ncameras answered at {args.fps:g} frames/s with p95 <= {P95_LIMIT_MS:.0f} ms: {max(passing, default=0)}")


if __name__ == "__main__":
    main()
