"""What the operators' routes cost: recording a frame's metrics (on every frame), a scrape of `GET /api/metrics` (its
queue gauges read the six queues of a local folder), and a health check (its engine check included), in one run.

    python -m benchmarks.bench_metrics [--repeat 20000]

Each figure is printed beside its ratio to the baseline of the same run: encoding a frame's JSON answer with two
faces, which every frame does anyway."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable

from function_app import metrics
from function_app.health import check_health
from function_app.storage.local_folder import LocalFolderStorage

FACE = {
    "faceRectangle": {"top": 120, "left": 200, "width": 96, "height": 96},
    "personId": "25985303-c537-4467-b41d-bdb45cd95ca1",
    "name": "obama",
    "confidence": 0.91234,
    "qualityForRecognition": "high",
    "trackId": "t0123456789ab",
    "visitId": "v20261126T101530123-0a1b2c3d4e5f",
}
ANSWER = {"timeStamp": "2026-11-26T10:15:30.123Z", "frameWidth": 640, "frameHeight": 480, "faces": [FACE, FACE]}


def per_call(call: Callable[[], object], repeat: int, rounds: int = 5) -> float:
    """Seconds a call, the median of `rounds` rounds of `repeat` calls."""
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        for _ in range(repeat):
            call()
        times.append((time.perf_counter() - started) / repeat)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20000, help="calls a round of the per-frame figures")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        os.environ.update(STORAGE_BACKEND="local", STORAGE_DIR=folder, FACE_API_KEY="bench")
        metrics.watch_queues(LocalFolderStorage(folder))
        baseline = per_call(lambda: json.dumps(ANSWER, ensure_ascii=False), args.repeat)
        record = per_call(lambda: metrics.frame_answered(0.015, 1, 1), args.repeat)
        scrape_repeat = max(args.repeat // 200, 5)
        scrape = per_call(metrics.prometheus_text, scrape_repeat)
        check_health()  # the first loads the engine's models: not what a check costs
        health = per_call(check_health, scrape_repeat)
    rows = [
        ("encode a frame's answer (baseline)", baseline),
        ("record a frame's metrics", record),
        ("GET /api/metrics' text (6 queues read)", scrape),
        ("GET /api/health's checks", health),
    ]
    print("| what | µs | ratio to the baseline |")
    print("|---|---|---|")
    for what, seconds in rows:
        print(f"| {what} | {seconds * 1e6:.1f} | {seconds / baseline:.1f} |")


if __name__ == "__main__":
    main()
