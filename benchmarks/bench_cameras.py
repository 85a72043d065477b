"""How many cameras one server answers: N cameras send the dev video (looped) at 10 frames a second each to
one server, as the edge client does (a camera sends its newest frame when the previous answer came, never
faster than its rate), and each camera's frames, latency and the server's CPU are measured.

    python -m benchmarks.bench_cameras [--cameras 1,2,4,8] [--seconds 20] [--fps 10] [--threads 4]
                                       [--baseline CHECKOUT]

The server is `python -m function_app serve` (default settings, local storage in a temporary folder,
dev/people enrolled) in its own process; the cameras are threads of this one (the dev video's 640x360
frames JPEG-encoded once beforehand, so the load generator costs little). Prints, for each number of
cameras: frames answered a second (all cameras, and per camera), latency p50/p95/p99, the server's CPU
(cores busy) and frames a second per core busy; a camera count passes when every camera gets 95 % of its
rate with p95 ≤ 150 ms.

`--baseline` compares this code with another checkout of the project (`git archive <commit> | tar -x -C DIR`,
and its node_modules linked) on a machine too busy for figures taken one after the other: both servers run at
once, each with its own defaults, and each camera posts each frame to both, in alternating order, so that both
answer the same frames under the same load. Printed then: a row per server, and this code's CPU a frame against
the baseline's.
"""

from __future__ import annotations

import argparse
import contextlib
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
from function_app.settings import Settings
from tests.support.service import PROJECT, run_checkout_cli, start_server, stop_server

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

    @property
    def cpu_ms_a_frame(self) -> float:
        return 1000 * self.cpu_seconds / max(1, sum(self.answered))

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


@dataclass(frozen=True)
class Server:
    label: str
    url: str
    pid: int


def camera(
    servers: list[Server],
    name: str,
    frames: list[bytes],
    video_fps: float,
    rate: float,
    until: float,
    loads: list[Load],
    index: int,
    phase: float,
) -> None:
    """One camera: its newest frame when the previous answer came, at most `rate` a second, from `phase` seconds
    on (and as long after `until`); with several servers, each frame to each of them, the first one in turn."""
    time.sleep(phase)
    until += phase
    sessions = [requests.Session() for _ in servers]
    for session in sessions:
        session.headers.update({"Ocp-Apim-Subscription-Key": KEY, "Content-Type": "application/octet-stream"})
    started = time.monotonic()
    offset = index * 37  # the cameras do not all show the same frame at once
    sent = 0
    while (now := time.monotonic()) < until:
        frame = frames[(offset + int((now - started) * video_fps)) % len(frames)]
        order = list(range(len(servers)))
        for k in order[sent % len(order) :] + order[: sent % len(order)]:
            posted = time.monotonic()
            try:
                reply = sessions[k].post(
                    f"{servers[k].url}/api/frames", params={"personGroupId": GROUP, "cameraId": name}, data=frame
                )
                ok = reply.status_code == 200
            except requests.RequestException:
                ok = False
            if ok:
                loads[k].latencies_ms.append((time.monotonic() - posted) * 1000)
                loads[k].answered[index] += 1
            else:
                loads[k].errors += 1
        sent += 1
        time.sleep(max(0.0, now + 1 / rate - time.monotonic()))
    for session in sessions:
        session.close()


def drive(
    servers: list[Server],
    cameras: int,
    seconds: float,
    rate: float,
    frames: list[bytes],
    video_fps: float,
    *,
    aligned: bool = False,
) -> list[Load]:
    """Each server's load, in the order of `servers`. Independent cameras do not send in step: each starts at
    its own point of the first frame interval, unless `aligned` (all at once: bursts of N frames)."""
    loads = [Load(cameras, seconds, answered=[0] * cameras) for _ in servers]
    until = time.monotonic() + seconds
    cpu_before = [cpu_seconds(server.pid) for server in servers]
    phases = [0.0 if aligned else i / cameras / rate for i in range(cameras)]
    threads = [
        threading.Thread(target=camera, args=(servers, f"cam{i}", frames, video_fps, rate, until, loads, i, phases[i]))
        for i in range(cameras)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for load, server, before in zip(loads, servers, cpu_before, strict=True):
        load.cpu_seconds = cpu_seconds(server.pid) - before
    return loads


def serve(label: str, project: Path, folder: Path, args: argparse.Namespace, stack: contextlib.ExitStack) -> Server:
    """A server of `project`'s code on its own storage, dev/people enrolled by that code; stopped with `stack`."""
    data = folder / label.replace(" ", "-")
    enrolled = run_checkout_cli(project, "enroll", str(args.data / "people"), "--group", GROUP, data=data)
    assert enrolled.returncode == 0, enrolled.stderr
    env = {"STORAGE_BACKEND": "local", "STORAGE_DIR": str(data), "FACE_API_KEY": KEY}
    if args.identify_seconds is not None:
        env["TRACK_IDENTIFY_SECONDS"] = args.identify_seconds
    process, url = start_server(env, data.with_suffix(".log"), threads=args.threads, project=project)
    stack.callback(stop_server, process)
    return Server(label, url, process.pid)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--cameras", default="1,2,4,8")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--fps", type=float, default=10.0, help="frames a second each camera sends at most")
    parser.add_argument("--threads", type=int, help="the server's request threads (default: serve's, 4)")
    parser.add_argument(
        "--identify-seconds", help="TRACK_IDENTIFY_SECONDS (default: the server's default; 0: every face every frame)"
    )
    parser.add_argument("--baseline", type=Path, help="another checkout of the project, served beside this code")
    parser.add_argument(
        "--aligned", action="store_true", help="all cameras send at the same instants (default: spread over a frame)"
    )
    args = parser.parse_args()
    frames, video_fps = video_frames(args.data)
    checkouts = {"this code": PROJECT, **({"baseline": args.baseline.resolve()} if args.baseline else {})}
    with tempfile.TemporaryDirectory() as folder, contextlib.ExitStack() as stack:
        servers = [serve(label, project, Path(folder), args, stack) for label, project in checkouts.items()]
        drive(servers, 1, 3.0, args.fps, frames, video_fps)  # warm up: models, index
        runs = [
            drive(servers, int(n), args.seconds, args.fps, frames, video_fps, aligned=args.aligned)
            for n in args.cameras.split(",")
        ]
    print(
        f"dev video 640x360 looped, {args.fps:g} frames/s a camera, {args.seconds:g} s each, server threads "
        f"{args.threads or 'serve default (4)'}, TRACK_IDENTIFY_SECONDS="
        f"{args.identify_seconds or f'{Settings.track_identify_seconds:g} (the default of this code)'}, "
        f"{'all cameras in step' if args.aligned else 'cameras spread over a frame interval'}, "
        f"{os.cpu_count()} cores, load average "
        f"{' '.join(Path('/proc/loadavg').read_text().split()[:3])}"
    )
    if args.baseline:
        print(f"baseline: {args.baseline} (each frame posted to both servers, the first in turn)")
    columns = "cameras | frames/s | per camera (min) | p50 ms | p95 ms | p99 ms | cores busy | frames/s a core"
    print(f"\n| server | {columns} | CPU ms a frame | errors | passes |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for loads in runs:
        for server, load in zip(servers, loads, strict=True):
            per_camera = min(load.answered) / load.seconds
            print(
                f"| {server.label} | {load.cameras} | {load.fps:.1f} | {per_camera:.1f} | {load.percentile(50):.0f} | "
                f"{load.percentile(95):.0f} | {load.percentile(99):.0f} | {load.cores:.2f} | "
                f"{load.fps / max(load.cores, 1e-9):.1f} | {load.cpu_ms_a_frame:.2f} | {load.errors} | "
                f"{'yes' if load.passes(args.fps) else 'no'} |"
            )
    if args.baseline:
        print()
        for ours, base in runs:
            ratio = ours.cpu_ms_a_frame / base.cpu_ms_a_frame
            print(f"{ours.cameras} cameras: this code's CPU a frame / the baseline's = {ratio:.3f}")
        return
    passing = [loads[0].cameras for loads in runs if loads[0].passes(args.fps)]
    print(f"\ncameras answered at {args.fps:g} frames/s with p95 <= {P95_LIMIT_MS:.0f} ms: {max(passing, default=0)}")


if __name__ == "__main__":
    main()
