"""Command line: enroll a folder of photos, then identify the faces in an image or a video.

python -m function_app enroll --group family PHOTOS_DIR
python -m function_app identify --group family IMAGE_OR_VIDEO [--every 10]
python -m function_app serve [--port 7071]
python -m function_app reindex-visits [--days 90]
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from datetime import timedelta
from pathlib import Path

import cv2
from azure.core.exceptions import AzureError

from .clock import utc_now
from .engines.model_files import ModelFilesMissing
from .errors import FaceApiError, StorageUnavailable
from .faceapi import recognize
from .features.enrollment import EnrollmentReport, enroll_folder
from .features.photos import PHOTO_SUFFIXES, Photo
from .imaging import PIXEL_BUDGET, decode_upload
from .models import Image, RecognizedFace
from .runtime import Runtime, runtime_for
from .settings import Settings


def _print_progress(report: EnrollmentReport, photo: Photo, outcome: str) -> None:
    print(f"[{report.processed}/{report.total}] {photo.path}: {outcome}", file=sys.stderr, flush=True)


def cmd_enroll(runtime: Runtime, args: argparse.Namespace) -> int:
    report = enroll_folder(runtime.face_api, args.group, args.photos, progress=_print_progress)
    skipped = f", {report.skipped} already enrolled" if report.skipped else ""
    print(f"{report.added} photos added for {len(report.persons)} persons; {len(report.rejected)} rejected{skipped}.")
    for rejection in report.rejected:
        print(f"  rejected {rejection.photo}: {rejection.reason}")
    status = report.training
    if status is None:  # enroll_folder trains unless told not to
        raise RuntimeError("The enrollment finished without training the group.")
    print(f"training: {status.status}. {status.message or ''}".rstrip())
    return 0 if status.status == "succeeded" else 1


def cmd_train(runtime: Runtime, args: argparse.Namespace) -> int:
    status = runtime.face_api.train(args.group)
    print(json.dumps(status.to_dict()))
    return 0 if status.status == "succeeded" else 1


def cmd_status(runtime: Runtime, args: argparse.Namespace) -> int:
    print(json.dumps(runtime.face_api.training_status(args.group).to_dict()))
    return 0


def cmd_reindex_visits(runtime: Runtime, args: argparse.Namespace) -> int:
    """The visit index rebuilt from the visit records, day by day, today first (a lost SQLite file, a table
    restored from elsewhere); each day's prefix listed, never the whole container."""
    today = utc_now()
    total = damaged = 0
    for back in range(args.days):
        done = runtime.visits.reindex_day((today - timedelta(days=back)).strftime("%Y%m%d"))
        total, damaged = total + done.visits, damaged + done.damaged
        if done.visits or done.damaged:
            print(f"{done.day}: {done.visits} visits indexed, {done.damaged} damaged", file=sys.stderr, flush=True)
    print(f"{total} visits indexed over {args.days} days; {damaged} damaged records left out.")
    return 0 if damaged == 0 else 1


def _faces_json(faces: list[RecognizedFace]) -> list[dict]:
    return [face.to_dict() for face in faces]


def cmd_identify(runtime: Runtime, args: argparse.Namespace) -> int:
    source: Path = args.source
    if source.suffix.lower() in PHOTO_SUFFIXES:
        found = recognize(runtime.face_api, args.group, decode_upload(source.read_bytes(), runtime.settings))
        print(json.dumps({"source": str(source), "faces": _faces_json(found)}))
        return 0
    video = cv2.VideoCapture(str(source))
    if not video.isOpened():
        print(f"error: cannot open {source} as an image or a video", file=sys.stderr)
        return 2
    width, height = int(video.get(cv2.CAP_PROP_FRAME_WIDTH)), int(video.get(cv2.CAP_PROP_FRAME_HEIGHT))
    if width * height > PIXEL_BUDGET:  # the same budget as every image decode
        video.release()
        print(f"error: {source} is {width}×{height}; frames may have at most {PIXEL_BUDGET} pixels", file=sys.stderr)
        return 2
    fps = video.get(cv2.CAP_PROP_FPS) or 30.0
    frame_index = 0
    try:
        while True:
            ok, frame = video.read()
            if not ok:
                break
            if frame_index % args.every == 0:
                rgb = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
                found = recognize(runtime.face_api, args.group, Image(rgb))  # encoded only if the backend needs bytes
                record = {"frame": frame_index, "seconds": round(frame_index / fps, 3), "faces": _faces_json(found)}
                print(json.dumps(record), flush=True)
            frame_index += 1
    finally:
        video.release()
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m function_app", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    enroll = commands.add_parser("enroll", help="create a group from a folder of photos and train it")
    enroll.add_argument("photos", type=Path, help="one sub-folder per person, or <person><n>.jpg files")
    enroll.set_defaults(run=cmd_enroll)
    identify = commands.add_parser("identify", help="name the faces in an image or a video (JSON lines)")
    identify.add_argument("source", type=Path)
    identify.add_argument("--every", type=int, default=10, help="video: identify every Nth frame (default 10)")
    identify.set_defaults(run=cmd_identify)
    train = commands.add_parser("train", help="train a group again")
    train.set_defaults(run=cmd_train)
    status = commands.add_parser("status", help="training status of a group")
    status.set_defaults(run=cmd_status)
    for sub in (enroll, identify, train, status):
        sub.add_argument("--group", required=True, help="person group id (lowercase letters, digits, - or _)")
    reindex = commands.add_parser("reindex-visits", help="rebuild the visit index from the visit records")
    reindex.add_argument(
        "--days", type=int, default=90, help="the last N UTC days, today included (default 90, VISIT_RETENTION_DAYS)"
    )
    reindex.set_defaults(run=cmd_reindex_visits)
    serve = commands.add_parser("serve", help="serve the Functions app over HTTP, with its queue worker")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=7071, help="port (default 7071, as `func start`)")
    serve.add_argument("--threads", type=int, default=4, help="request threads (default 4)")
    return parser


def cmd_serve(args: argparse.Namespace) -> int:
    from .local_host.server import serve

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("azure").setLevel(logging.WARNING)
    serve(args.host, args.port, args.threads)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "serve":
        try:
            return cmd_serve(args)
        except (ValueError, ModelFilesMissing, OSError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    if getattr(args, "every", 1) < 1:
        print("error: --every must be at least 1", file=sys.stderr)
        return 2
    if getattr(args, "days", 1) < 1:
        print("error: --days must be at least 1", file=sys.stderr)
        return 2
    try:
        runtime = runtime_for(Settings.from_env())
    except (ValueError, ModelFilesMissing) as exc:  # a bad setting, or models not installed
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        return args.run(runtime, args)
    except StorageUnavailable as exc:  # the cause (which host, which error) helps here; HTTP answers leave it out
        print(f"error: {exc.message} {exc.__cause__ or ''}".rstrip(), file=sys.stderr)
        return 3
    except FaceApiError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1
    except (FileNotFoundError, NotADirectoryError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except AzureError as exc:
        print(f"error: Azure Storage did not answer as expected: {exc.message}", file=sys.stderr)
        return 3
