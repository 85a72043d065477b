"""The dev video's visit events on MQTT, and what publishing them costs the frames.

    python -m benchmarks.mqtt_events [--data ../shared/testdata/dev] [--poll 1.0]

Starts a Mosquitto on a loopback port and the service (`python -m function_app serve`, local storage,
dev/people enrolled, VISIT_CLOSE_SECONDS=1), then posts every second frame of the dev video (15 a second of
its time) as fast as the service answers, each time at a camera of its own: once to warm up, then three ways
taken in turn, `--rounds` times: with no publisher, with the bridge (`python -m edge_client.bridge`, its own
process) polling the event feed every `--poll` seconds, and with it polling every 0.2 s. Prints the events
each visit made on MQTT, the delay from an event's time to its arrival at a subscriber, and ms a frame each
way with its ratio to no publisher (the same machine, the same minutes: the ratio, not the milliseconds, is
the figure to compare).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import cv2
import requests

from edge_client.mqtt_topics import Topics
from function_app.clock import parse_iso
from tests.support import mosquitto
from tests.support.images import blank_jpeg
from tests.support.service import PROJECT, run_cli, start_server, stop_server
from tests.support.waiting import wait_for

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "testdata" / "dev"
VIDEO = "video/short_hamilton_clip.mp4"
GROUP = "mqtt-bench"
KEY = f"bench-{uuid.uuid4().hex}"
CLOSE_SECONDS = 1.0


def video_frames(data: Path) -> list[bytes]:
    video = cv2.VideoCapture(str(data / VIDEO))
    frames, index = [], 0
    while True:
        ok, bgr = video.read()
        if not ok:
            break
        if index % 2 == 0:
            frames.append(cv2.imencode(".jpg", bgr)[1].tobytes())
        index += 1
    video.release()
    return frames


def post_all(url: str, camera: str, frames: list[bytes]) -> list[float]:
    """Each frame posted and answered in turn; ms each. Then nobody for longer than VISIT_CLOSE_SECONDS: closed."""
    session = requests.Session()
    session.headers.update({"Ocp-Apim-Subscription-Key": KEY, "Content-Type": "application/octet-stream"})
    params = {"personGroupId": GROUP, "cameraId": camera}
    took = []
    for image in frames:
        started = time.perf_counter()
        session.post(f"{url}/api/frames", params=params, data=image, timeout=120).raise_for_status()
        took.append((time.perf_counter() - started) * 1000)
    time.sleep(CLOSE_SECONDS + 0.2)
    session.post(f"{url}/api/frames", params=params, data=blank_jpeg(), timeout=120).raise_for_status()
    return took


def start_bridge(url: str, broker: mosquitto.Broker, topics: Topics, state: Path, poll: float) -> subprocess.Popen:
    """`python -m edge_client.bridge`, its own process as on an edge device; once it is online."""
    command = [sys.executable, "-m", "edge_client.bridge", "--service", url, "--group", GROUP, "--mqtt", broker.url]
    command += ["--mqtt-prefix", topics.prefix, "--mqtt-state", str(state), "--events-poll", str(poll), "-q"]
    env = {**os.environ, "PYTHONPATH": str(PROJECT), "FACE_API_KEY": KEY}
    bridge = subprocess.Popen(command, cwd=PROJECT, env=env)
    wait_for(lambda: mosquitto.retained(broker, topics.status).get(topics.status) == b"online")
    return bridge


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--poll", type=float, default=1.0, help="the bridge's --events-poll (seconds)")
    parser.add_argument("--rounds", type=int, default=2, help="each way this many times, interleaved")
    args = parser.parse_args()
    frames = video_frames(args.data)
    ways: dict[str, float | None] = {"no publisher": None, f"bridge, poll {args.poll:g} s": args.poll}
    ways["bridge, poll 0.2 s"] = 0.2
    with tempfile.TemporaryDirectory() as folder_name:
        folder = Path(folder_name)
        env = {
            "STORAGE_BACKEND": "local",
            "STORAGE_DIR": str(folder / "data"),
            "VISIT_CLOSE_SECONDS": str(CLOSE_SECONDS),
        }
        done = run_cli("enroll", str(args.data / "people"), "--group", GROUP, data=folder / "data", **env)
        assert done.returncode == 0, done.stderr
        broker = mosquitto.Broker(folder)
        process, url = start_server({**env, "FACE_API_KEY": KEY}, folder / "server.log")
        try:
            post_all(url, f"warm-up-{uuid.uuid4().hex[:6]}", frames)  # the models load on the first frames
            took: dict[str, list[float]] = {way: [] for way in ways}
            for round_number in range(args.rounds):
                for way, poll in ways.items():
                    camera = f"cam-{uuid.uuid4().hex[:6]}"
                    if poll is None:
                        took[way] += post_all(url, camera, frames)
                        continue
                    topics = Topics(f"bench-{uuid.uuid4().hex[:6]}", GROUP)
                    subscriber = mosquitto.Subscriber(broker, topics.events)
                    bridge = start_bridge(url, broker, topics, folder / f"{topics.prefix}.json", poll)
                    took[way] += post_all(url, camera, frames)
                    wait_for(lambda: ended_all(subscriber, topics.events, camera))  # noqa: B023 (called here)
                    bridge.terminate()
                    bridge.wait(timeout=60)
                    subscriber.close()
                    if round_number == 0:
                        print_events(subscriber, topics.events, camera, way)
            print_costs(took)
        finally:
            stop_server(process)
            broker.stop()


def events_of(subscriber: mosquitto.Subscriber, topic: str, camera: str) -> list[tuple[dict, float]]:
    found = []
    for message in subscriber.on(topic):
        event = message.json()
        if event["cameraId"] == camera:
            found.append((event, message.received))
    return found


def ended_all(subscriber: mosquitto.Subscriber, topic: str, camera: str) -> bool:
    events = [e for e, _ in events_of(subscriber, topic, camera)]
    started = {e["visitId"] for e in events if e["type"] == "visit.started"}
    return bool(started) and started == {e["visitId"] for e in events if e["type"] == "visit.ended"}


def print_events(subscriber: mosquitto.Subscriber, topic: str, camera: str, way: str) -> None:
    received = events_of(subscriber, topic, camera)
    by_visit: dict[str, list[dict]] = {}
    for event, _ in received:
        by_visit.setdefault(event["visitId"], []).append(event)
    print(f"\n{way}: {len(received)} events, {len(by_visit)} visits")
    print("| visit | name (at its end) | frames | events, in the order received |")
    print("|---|---|---|---|")
    for visit_id, events in by_visit.items():
        kinds = ", ".join(e["type"].removeprefix("visit.") for e in events)
        print(f"| …{visit_id[-6:]} | {events[-1]['name']} | {events[-1]['frames']} | {kinds} |")
    delays = sorted((at - parse_iso(e["time"]).timestamp()) * 1000 for e, at in received)
    print(
        f"delay from the event's time to a subscriber, ms: median {statistics.median(delays):.0f}, "
        f"p90 {delays[int(0.9 * (len(delays) - 1))]:.0f}, max {delays[-1]:.0f}"
    )


def print_costs(runs: dict[str, list[float]]) -> None:
    baseline = statistics.median(next(iter(runs.values())))
    print("\n| run | frames | ms a frame, median | p90 | ratio to no publisher (median) |")
    print("|---|---|---|---|---|")
    for name, took in runs.items():
        ordered = sorted(took)
        median = statistics.median(ordered)
        p90 = ordered[int(0.9 * (len(ordered) - 1))]
        print(f"| {name} | {len(took)} | {median:.1f} | {p90:.1f} | {median / baseline:.2f} |")


if __name__ == "__main__":
    main()
