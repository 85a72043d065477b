"""The edge client's capture loop against a local server: capture rate beside the rate of frames
sent and answered, and the latency from capture to answer, on the real video.

    python -m benchmarks.bench_edge_client [--data ../shared/testdata/dev]

The server runs as its own process (`python -m function_app serve`, local storage in a temporary
folder, people/ enrolled with the client's enroll command), as it would on another machine; the
client runs here, headless, on video/short_hamilton_clip.mp4 (275 frames, 29.97 fps):
  live            the file read at its own pace, like a camera; the newest frame sent whenever the
                  previous answer is in (the default)
  live, 5 fps     the same with --send-fps 5
  as fast, 5 s    the file decoded and drawn as fast as this machine can, looped for 5 s (a camera
                  faster than the network)
  live, JPEG 80   live with --jpeg-quality 80 (the default was 80 before tracks: see the client's README)
Each prints capture fps, frames sent and answered per second, median and p90 latency in ms, and
how many answered frames of 90-200 (Lin-Manuel Miranda facing the camera) name him. Then the visits
of the live runs, as the client counted them (each scenario is a camera of its own): each visit's short
id, its names in order, its first and last frame, the shots it was seen in (cuts at 20, 82, 211) and its
answered frames; and every name drawn after the audience cut.

Then the recording (--record, live): the video as it is, and upscaled to 1920x1080 (a 1080p camera).
Each prints the frames of the recording, how many of them are frames of the source (the others
repeat the frame before, in the place of one the loop or the encoder had no time for), and the
file's frame rate and length beside the source's.
"""

from __future__ import annotations

import argparse
import bisect
import json
import os
import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import replace
from pathlib import Path

import cv2

from benchmarks.bench_pipeline import DEFAULT_DATA
from edge_client.runner import CaptureLoop
from edge_client.settings import BackendSettings, RunSettings
from edge_client.visits import VisitTally, short_visit_id
from tests.support.service import PROJECT, start_server, stop_server

KEY = "benchmark-key"
GROUP = "bench"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        env = {"FACE_API_KEY": KEY, "STORAGE_BACKEND": "local", "STORAGE_DIR": f"{folder}/data"}
        server, endpoint = start_server(env, Path(folder) / "server.log")
        try:
            subprocess.run(
                [sys.executable, "-m", "edge_client", "enroll", "--group", GROUP, str(args.data / "people")],
                cwd=PROJECT,
                env={**os.environ, "FACE_ENDPOINT": endpoint, "FACE_API_KEY": KEY},
                check=True,
                capture_output=True,
            )
            base = RunSettings(
                BackendSettings(endpoint, KEY, GROUP), str(args.data / "video/short_hamilton_clip.mp4"), "bench"
            )
            scenarios = {
                "live": base,
                "live, 5 fps": replace(base, send_fps=5),
                "as fast, 5 s": replace(base, realtime=False, loop=True, duration=5),
                "live, JPEG 80": replace(base, jpeg_quality=80),
            }
            print("way            capture fps  sent fps  answered fps  latency ms median (p90)  Lin named 90-200")
            answered: dict[str, tuple[list[dict], VisitTally]] = {}
            for n, (name, settings) in enumerate(scenarios.items()):
                results = Path(folder) / f"{n}.jsonl"
                loop = CaptureLoop(replace(settings, headless=True, results=results, camera_id=f"bench-{n}"))
                stats = loop.run()
                rows = [json.loads(line) for line in results.read_text().splitlines()]
                answered[name] = rows, loop.visits
                facing = [row for row in rows if 90 <= row["frame"] <= 200]
                named = sum(any(f["name"] == "lin_manuel_miranda" for f in row["faces"]) for row in facing)
                print(
                    f"{name:<14} {stats.capture_fps:11.1f} {stats.frames_sent / stats.seconds:9.1f} "
                    f"{stats.answered_fps:13.1f} {stats.latency_ms(0.5):12.1f} ({stats.latency_ms(0.9):5.1f})"
                    f"          {named}/{len(facing)}"
                )
            for name in ("live", "live, JPEG 80"):
                print_visits(name, *answered[name])
            print_recordings(base, Path(folder))
        finally:
            stop_server(server)


CUTS = (20, 82, 211)  # testdata/README: the first frames of the shots after the first


def print_visits(way: str, rows: list[dict], tally: VisitTally) -> None:
    shots: dict[str, set[int]] = {}
    for row in rows:
        for face in row["faces"]:
            if face["visitId"]:
                shots.setdefault(face["visitId"], set()).add(bisect.bisect_right(CUTS, row["frame"]))
    print(f"\nvisits ({way}): {tally.summary()[0].removeprefix('visits: ')}")
    print("  visit   names                              frames   shots  answered")
    for visit in tally.visits:
        names = " > ".join(visit.names)
        seen = ",".join(str(shot) for shot in sorted(shots[visit.visit_id]))
        span = f"{visit.first_frame}-{visit.last_frame}"
        print(f"  {short_visit_id(visit.visit_id)}  {names:<34} {span:>8}   {seen:<5} {visit.frames:8d}")
    after = Counter(face["name"] for row in rows if row["frame"] >= CUTS[-1] for face in row["faces"])
    print(f"  names drawn after frame {CUTS[-1]}: {dict(after)}")


def upscale(video: Path, path: Path, size: tuple[int, int]) -> Path:
    source = cv2.VideoCapture(str(video))
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), source.get(cv2.CAP_PROP_FPS), size)
    while (read := source.read())[0]:
        writer.write(cv2.resize(read[1], size))
    writer.release()
    source.release()
    return path


def frames_and_fps(video: Path) -> tuple[int, float]:
    capture = cv2.VideoCapture(str(video))
    frames = 0
    while capture.grab():
        frames += 1
    fps = capture.get(cv2.CAP_PROP_FPS)
    capture.release()
    return frames, fps


def print_recordings(base: RunSettings, folder: Path) -> None:
    video = Path(str(base.source))
    sources = {"640x360": video, "1920x1080": upscale(video, folder / "1080p.mkv", (1920, 1080))}
    print("\nrecording (live)  recorded  of the source  repeated   file fps  file s  source s")
    for name, source in sources.items():
        record = folder / f"{name}.mkv"
        stats = CaptureLoop(replace(base, source=str(source), headless=True, record=record)).run()
        (frames, fps), (source_frames, source_fps) = frames_and_fps(record), frames_and_fps(source)
        print(
            f"{name:<17} {frames:8d} {stats.frames_recorded - stats.frames_repeated:14d} {stats.frames_repeated:9d}"
            f" {fps:10.2f} {frames / fps:7.2f} {source_frames / source_fps:9.2f}"
        )


if __name__ == "__main__":
    main()
