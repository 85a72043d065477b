"""`python -m edge_client [options]` runs the capture loop; `python -m edge_client enroll` enrolls a
folder of photos. Settings come from flags, or from the environment (FACE_ENDPOINT, FACE_API_KEY,
FACE_GROUP, FACE_CAMERA_ID); the key is never printed."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from .backend import BackendError, FaceBackend
from .bridge import add_mqtt_flags, bridge_settings
from .capture import SourceError, SourceUnavailable, describe_source, parse_source
from .enroll import TrainingTimeout, enroll, format_report, train
from .recorder import RecordingError, check_record_path
from .runner import CaptureLoop, FatalBackendError, NoWindowSupport
from .settings import (
    DEFAULT_ENDPOINT,
    ENVIRONMENT,
    BackendSettings,
    RunSettings,
    SettingsError,
    default_camera_id,
    from_environment,
)
from .stopping import EXIT_INTERRUPTED, StopRequest

log = logging.getLogger("edge_client")

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _backend_flags(parser: argparse.ArgumentParser) -> None:
    for name, flag in (("endpoint", "--endpoint"), ("key", "--key"), ("group", "--group")):
        variable, meaning = ENVIRONMENT[name]
        parser.add_argument(flag, default=None, help=f"{meaning}; default ${variable}")


def run_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="edge_client",
        description="Capture video, send the newest frame to the backend, draw who is in it. "
        "`edge_client enroll --help` for enrollment.",
    )
    parser.add_argument("--source", default="0", help="webcam index (0), video file, or rtsp:// / http:// URL")
    _backend_flags(parser)
    variable, meaning = ENVIRONMENT["camera_id"]
    parser.add_argument("--camera-id", default=None, help=f"{meaning}; default ${variable}")
    parser.add_argument("--location", default=None, help="where the camera is, written in the visit records")
    parser.add_argument("--headless", action="store_true", help="no window (a Raspberry Pi, a server)")
    parser.add_argument("--record", type=Path, default=None, help="write the annotated video here (.mkv or .avi)")
    parser.add_argument("--results", type=Path, default=None, help="write each answer here as a JSON line")
    parser.add_argument(
        "--visits", type=Path, default=None, help="write the run's visits here at its end, one JSON line each"
    )
    parser.add_argument("--send-fps", type=float, default=0.0, help="at most N frames a second sent (0: no cap)")
    parser.add_argument("--width", type=int, default=640, help="shrink frames to this width before sending (0: no)")
    parser.add_argument(
        "--jpeg-quality", type=int, default=90, help="JPEG quality of the frames sent (1-100, default 90)"
    )
    parser.add_argument(
        "--realtime",
        choices=("on", "off"),
        default="on",
        help="a video file: on = read at its frame rate, like a camera (default); off = as fast as possible",
    )
    parser.add_argument(
        "--every",
        type=int,
        default=0,
        help="a video file: send every Nth frame and wait for each answer (deterministic, not live)",
    )
    parser.add_argument("--loop", action="store_true", help="a video file: start again at its end")
    parser.add_argument(
        "--max-backoff", type=float, default=2.0, help="longest wait between tries while the backend is down (s)"
    )
    parser.add_argument(
        "--key-retry",
        type=float,
        default=300.0,
        help="a key refused (401/403) after answers, as while keys are rotated, is tried again for this many "
        "seconds before the client stops (default 300); a key refused from the start stops it at once",
    )
    parser.add_argument("--hold", type=float, default=1.0, help="seconds an answer's boxes stay drawn (default 1)")
    parser.add_argument("--duration", type=float, default=0.0, help="stop after this many seconds (0: never)")
    parser.add_argument(
        "--open-timeout",
        type=float,
        default=10.0,
        help="a camera or stream: give up if it does not open within this many seconds of start (0: keep trying); "
        "once opened, a drop is always retried",
    )
    add_mqtt_flags(parser, required=False)
    parser.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors on stderr")
    return parser


def enroll_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="edge_client enroll",
        description="Create the group and one person per sub-folder of PHOTOS_DIR (or per <person><n>.jpg "
        "file name), upload the photos, train and wait for the training.",
    )
    parser.add_argument("photos", type=Path, metavar="PHOTOS_DIR")
    _backend_flags(parser)
    parser.add_argument("--no-train", action="store_true", help="upload only")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for the training (default 300)")
    return parser


def backend_settings(args: argparse.Namespace) -> BackendSettings:
    settings = BackendSettings(
        args.endpoint or from_environment("endpoint", DEFAULT_ENDPOINT),
        args.key or from_environment("key"),
        args.group or from_environment("group"),
    )
    settings.check()
    return settings


def run_settings(args: argparse.Namespace) -> RunSettings:
    if args.record:
        check_record_path(args.record)
    for written in (args.results, args.visits):
        if written and not written.parent.is_dir():
            raise SettingsError(f"Cannot write {written}: no folder {written.parent}.")
    if not 1 <= args.jpeg_quality <= 100:
        raise SettingsError("--jpeg-quality must be 1 to 100.")
    negative = args.every < 0 or args.width < 0 or args.send_fps < 0 or args.open_timeout < 0 or args.key_retry < 0
    if negative or args.max_backoff <= 0:
        raise SettingsError(
            "--every, --width, --send-fps, --open-timeout and --key-retry cannot be negative; "
            "--max-backoff must be positive."
        )
    backend = backend_settings(args)
    return RunSettings(
        backend=backend,
        source=parse_source(args.source),
        camera_id=args.camera_id or from_environment("camera_id", default_camera_id()),
        location=args.location,
        send_fps=args.send_fps,
        width=args.width,
        jpeg_quality=args.jpeg_quality,
        realtime=args.realtime == "on",
        every=args.every,
        loop=args.loop,
        headless=args.headless,
        record=args.record,
        results=args.results,
        visits=args.visits,
        max_backoff=args.max_backoff,
        key_retry=args.key_retry,
        hold=args.hold,
        duration=args.duration,
        open_timeout=args.open_timeout,
        events=bridge_settings(args, backend) if args.mqtt else None,
    )


USAGE_ERRORS = (SettingsError, SourceError, RecordingError, FileNotFoundError, NoWindowSupport)  # exit 2
RUN_ERRORS = (BackendError, FatalBackendError, SourceUnavailable, TrainingTimeout)  # exit 1


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    enrolling = argv[:1] == ["enroll"]
    args = enroll_parser().parse_args(argv[1:]) if enrolling else run_parser().parse_args(argv)
    level = logging.WARNING if getattr(args, "quiet", False) else logging.INFO
    logging.basicConfig(format="edge_client: %(message)s", level=level, stream=sys.stderr)
    try:
        return enroll_command(args) if enrolling else run_command(args)
    except USAGE_ERRORS as exc:
        log.error("%s", exc)
        return EXIT_USAGE
    except RUN_ERRORS as exc:
        log.error("%s", exc)
        return EXIT_FAILED
    except KeyboardInterrupt:  # Ctrl-C while enrolling (a run handles it: stopping.py)
        log.warning("interrupted")
        return EXIT_INTERRUPTED


def run_command(args: argparse.Namespace) -> int:
    settings = run_settings(args)
    stopping = StopRequest().install()
    loop = CaptureLoop(settings, stopping.stop, stopping.hurry)
    log.info(
        "camera %s: %s -> %s, group %s",
        settings.camera_id,
        describe_source(settings.source),
        settings.backend.endpoint,
        settings.backend.group,
    )
    stats = loop.run()
    log.info("%s", stats.summary())
    for line in loop.visits.summary():
        log.info("%s", line)
    if loop.reader.reading:  # Python's exit would abort in OpenCV under the reader's feet
        logging.shutdown()
        os._exit(EXIT_OK)
    return EXIT_OK


def enroll_command(args: argparse.Namespace) -> int:
    settings = backend_settings(args)
    backend = FaceBackend(settings.endpoint, settings.key)
    try:
        report = enroll(backend, settings.group, args.photos)
        print(format_report(report), flush=True)
        if args.no_train:
            return EXIT_OK
        train(backend, settings.group, report, timeout=args.timeout)
    finally:
        backend.close()
    if report.training != "succeeded":
        log.error("training %s failed: %s", settings.group, report.training_message or "no reason given")
        return EXIT_FAILED
    print(f"group {settings.group} trained: {len(report.persons)} persons", flush=True)
    return EXIT_OK
