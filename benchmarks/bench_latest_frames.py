"""What keeping each camera's latest frame (LATEST_FRAMES=on) costs the frame path, in one run.

    python -m benchmarks.bench_latest_frames [--repeat 3] [--data ../shared/testdata/dev]

In this process, on local storage in a temporary folder with dev/people enrolled: the dev video's frontal shot
(65 frames) goes through `FrameTracker.recognize_frame` twice per round, once with LATEST_FRAMES=on and once
with off (interleaved, each its own camera, so both see the same frames under the same load), and
`LatestFrames.keep` is timed alone over 64 cameras. Prints the median milliseconds a frame on and off, their
ratio, and keep's microseconds as a share of a frame.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.bench_pipeline import DEFAULT_DATA
from tests.support.dev_video import FRONTAL, video_frames
from tests.support.service import run_cli

GROUP = "latest-frames"
KEEPS = 100_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args()
    from function_app.features.latest_frames import LatestFrames
    from function_app.runtime import runtime_for
    from function_app.settings import Settings

    frames = [video_frames(args.data)[i] for i in FRONTAL]
    with tempfile.TemporaryDirectory() as folder:
        done = run_cli("enroll", str(args.data / "people"), "--group", GROUP, data=Path(folder))
        assert done.returncode == 0, done.stderr
        on = Settings(storage_dir=folder, latest_frames="on")
        trackers = {"on": runtime_for(on).frames, "off": runtime_for(replace(on, latest_frames="off")).frames}
        times: dict[str, list[float]] = {"on": [], "off": []}
        for round_ in range(args.repeat):
            for frame in frames:
                for kind, tracker in trackers.items():
                    started = time.perf_counter()
                    tracker.recognize_frame(GROUP, f"{kind}-{round_}", frame)
                    times[kind].append((time.perf_counter() - started) * 1000.0)
        answer = trackers["on"].recognize_frame(GROUP, "keep", frames[0])

    latest = LatestFrames(64, 60.0)
    moment = datetime.now(UTC)
    started = time.perf_counter()
    for n in range(KEEPS):
        latest.keep(f"camera-{n % 64}", GROUP, frames[0], answer, moment)
    keep_us = (time.perf_counter() - started) / KEEPS * 1e6

    on_ms, off_ms = statistics.median(times["on"]), statistics.median(times["off"])
    print(f"{len(frames)} frames x {args.repeat} rounds, 640x360, one face")
    print(f"frame, LATEST_FRAMES=on   {on_ms:8.2f} ms (median)")
    print(f"frame, LATEST_FRAMES=off  {off_ms:8.2f} ms (median)")
    print(f"ratio on / off            {on_ms / off_ms:8.3f}")
    print(f"keep alone                {keep_us:8.2f} us = {keep_us / 1000.0 / off_ms:.5%} of a frame")


if __name__ == "__main__":
    main()
