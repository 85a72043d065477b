"""Per-stage times and frames per second of the local engine on a 640×480 frame with one face,
beside two baselines measured in the same run: the dlib path (FACE_ENGINE=dlib, FACE_DETECTOR=hog:
HOG with one upsample and dlib's own ResNet) and the `face_recognition` package's way on the same
dlib models (HOG with one upsample, default encodings, `face_distance` matching).

    python -m benchmarks.bench_pipeline [--repeat 30] [--data ../shared/testdata/dev]

Prints median and 90th-percentile milliseconds per stage, frames per second, memory, the ratios
baseline / ours (above 1 means ours is faster), a frame with five faces against one with one, and
matching against 100,000 enrolled faces.
"""

from __future__ import annotations

import argparse
import io
import resource
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np

from function_app.engines import create_engine, embedding_layout
from function_app.engines.dlib_engine import DlibFaceEngine
from function_app.faceapi.local.matching import MatchRule, face_distances, match_embeddings
from function_app.faceapi.local.service import LocalFaceApi
from function_app.faceapi.local.training import TrainedIndex
from function_app.features.enrollment import enroll_folder
from function_app.imaging import decode_image, encode_jpeg
from function_app.settings import Settings
from function_app.storage.local_folder import LocalFolderStorage

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "testdata" / "dev"
LIMITS = {"max_bytes": 1 << 30, "max_side": 8192}


def webcam_frame(data: Path) -> bytes:
    """A 640×480 JPEG with one face of about 110 px, cut from the 480p portrait."""
    rgb = decode_image((data / "scenes/obama-480p.jpg").read_bytes(), **LIMITS)
    left = (rgb.shape[1] - 640) // 2
    return encode_jpeg(np.ascontiguousarray(rgb[:480, left : left + 640]), quality=90)


def crowd_frame(data: Path) -> bytes:
    """A 640×480 JPEG with five faces of about 90 px, cut from five enrollment portraits."""
    frame = np.full((480, 640, 3), 60, np.uint8)
    people = ["obama/1.jpg", "biden/1.jpg", "rose_leslie/1.jpg", "kit_harington/2.jpg", "alex_lacamoire/1.jpg"]
    finder = DlibFaceEngine("hog", 0, 1280, "dlib")
    for n, photo in enumerate(people):
        rgb = decode_image((data / "people" / photo).read_bytes(), **LIMITS)
        face = finder.find_faces(rgb)[0].rect
        scale = 90 / face.width()
        small = cv2.resize(rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        cx, cy = round(face.center().x * scale), round(face.center().y * scale)
        top, left = 30 + (n // 3) * 230, 20 + (n % 3) * 210
        cut = small[max(0, cy - 100) : cy + 100, max(0, cx - 95) : cx + 95]
        frame[top : top + cut.shape[0], left : left + cut.shape[1]] = cut
    return encode_jpeg(frame, quality=90)


def large_index(index: TrainedIndex, persons: int = 10_000, faces_each: int = 10) -> TrainedIndex:
    """The enrolled people plus `persons` random people of `faces_each` faces: 100,000 more rows."""
    rng = np.random.default_rng(0)
    extra = rng.standard_normal((persons * faces_each, index.embeddings.shape[1])).astype(np.float32)
    extra /= np.linalg.norm(extra, axis=1, keepdims=True)
    starts = np.concatenate([index.person_starts, len(index.embeddings) + np.arange(persons) * faces_each])
    names = np.concatenate([index.person_names, np.array([f"p{i}" for i in range(persons)])])
    return TrainedIndex(
        "bench-large", np.concatenate([index.embeddings, extra]), names, names, starts.astype(index.person_starts.dtype)
    )


def timed(fn: Callable, *args):
    start = time.perf_counter()
    result = fn(*args)
    return result, (time.perf_counter() - start) * 1000.0


def run_engine(engine: DlibFaceEngine, frame: bytes, index: TrainedIndex, rule: MatchRule) -> dict[str, float]:
    rgb, decode = timed(lambda: decode_image(frame, **LIMITS))
    found, detect = timed(engine.find_faces, rgb)
    (shapes5, _points), landmarks = timed(engine.landmarks, rgb, found)
    chips, cut = timed(engine.chips, rgb, shapes5)
    faces = len(shapes5)
    _, embed = timed(engine.descriptors, chips[:faces])
    _, flip = timed(engine.descriptors, chips[faces:])  # the mirrored chips (none without flip)
    vectors, both = timed(engine.embed_chips, chips)
    second_ms = fusion = 0.0
    if engine.embedding_size > embedding_layout.DLIB_SIZE:
        rectangles = [face.rectangle for face in engine.detect(rgb, embeddings=False)]
        second, second_ms = timed(engine.embed_second, rgb, rectangles)
        vectors = [np.concatenate([v, w]) for v, w in zip(vectors, second, strict=True)]
        _, fusion = timed(face_distances, np.stack(vectors), index.embeddings)
    answer, match = timed(lambda: match_embeddings(index, np.stack(vectors), rule=rule))
    assert answer[0] and answer[0][0].name == "obama", answer
    _, full = timed(
        lambda: match_embeddings(index, np.stack([f.required_embedding() for f in engine.detect(rgb)]), rule=rule)
    )
    return {
        "decode": decode,
        "detect": detect,
        "landmarks": landmarks,
        "chips": cut,
        "embed": embed,
        "flip": flip,
        "flip mean": max(0.0, both - embed - flip),  # averaging the face's and its mirror's embeddings
        "faceres": second_ms,  # the second network (its crop and the network)
        "fusion": fusion,  # both networks' distances to every enrolled face, z-normalised and averaged
        "match": match,
        "frame": decode + full,
    }


def run_baseline(fr, frame: bytes, known: np.ndarray, names: list[str]) -> dict[str, float]:
    rgb, decode = timed(fr.load_image_file, io.BytesIO(frame))
    locations, detect = timed(fr.face_locations, rgb)  # HOG, number_of_times_to_upsample=1
    encodings, embed = timed(fr.face_encodings, rgb, locations)  # 5-point landmarks + ResNet
    distances, match = timed(fr.face_distance, known, encodings[0])
    assert names[int(np.argmin(distances))] == "obama"
    return {
        "decode": decode,
        "detect": detect,
        "landmarks": 0.0,
        "chips": 0.0,
        "embed": embed,
        "flip": 0.0,
        "flip mean": 0.0,
        "faceres": 0.0,
        "fusion": 0.0,
        "match": match,
        "frame": decode + detect + embed + match,
    }


def summarise(samples: list[dict[str, float]]) -> dict[str, tuple[float, float]]:
    return {
        stage: (statistics.median(s[stage] for s in samples), float(np.percentile([s[stage] for s in samples], 90)))
        for stage in samples[0]
    }


def median_ms(fn: Callable, repeat: int) -> float:
    return statistics.median(timed(fn)[1] for _ in range(repeat))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args()
    cv2.setNumThreads(1)
    settings = Settings()
    engine = create_engine(settings)
    assert isinstance(engine, DlibFaceEngine)  # its stages are timed one by one below
    frame = webcam_frame(args.data)
    with tempfile.TemporaryDirectory() as folder:  # enroll people/ and train, as the product does
        gallery = LocalFaceApi(LocalFolderStorage(folder), engine, settings)
        enroll_folder(gallery, "bench", args.data / "people")
        index = gallery.trainer.load_index("bench")
    rule = MatchRule(settings.match_rule == "calibrated", settings.match_threshold)
    for _ in range(3):
        run_engine(engine, frame, index, rule)  # warm up
    fast_memory = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    reference = DlibFaceEngine(
        "hog", settings.detect_upsample, settings.detect_max_side, "dlib", second_network=settings.second_network
    )
    people = [p for f in sorted((args.data / "people").iterdir()) for p in sorted(f.iterdir())]
    names = [p.parent.name for p in people]

    import face_recognition as fr  # the baseline; installed by scripts/setup

    baseline_known = np.array([fr.face_encodings(fr.load_image_file(p))[0] for p in people])
    ours, dlib_path, base = [], [], []
    for _ in range(args.repeat):  # interleaved, so all see the same machine load
        ours.append(run_engine(engine, frame, index, rule))
        dlib_path.append(run_engine(reference, frame, index, rule))
        base.append(run_baseline(fr, frame, baseline_known, names))
    mine, dlibs, theirs = summarise(ours), summarise(dlib_path), summarise(base)
    print(f"640x480 frame, one face, {args.repeat} runs each, one thread; milliseconds median (p90)")
    print(f"{'stage':<10} {'ours (fast)':>16} {'dlib path':>16} {'face_recognition':>18} {'vs dlib':>8} {'vs f_r':>8}")
    for stage in mine:
        m, d, t = mine[stage], dlibs[stage], theirs[stage]
        print(
            f"{stage:<10} {m[0]:8.2f} ({m[1]:6.2f}) {d[0]:8.2f} ({d[1]:6.2f}) {t[0]:9.2f} ({t[1]:6.2f}) "
            f"{_ratio(d[0], m[0]):>8} {_ratio(t[0], m[0]):>8}"
        )
    print(
        f"frames per second: ours {1000 / mine['frame'][0]:.1f}, dlib path {1000 / dlibs['frame'][0]:.1f}, "
        f"face_recognition {1000 / theirs['frame'][0]:.1f}"
    )
    print("'frame' is decode + the whole engine.detect (5-point landmarks, pose, quality, both networks) + match;")
    print("the other lines are its stages timed alone: 'chips' cuts the aligned chips and their mirrors, 'embed'")
    print("runs dlib's network on the chips, 'flip' on the mirrored chips, 'flip mean' averages the two; 'faceres'")
    print("is the second network, 'fusion' the fused distances (part of 'match'). The baseline's 'embed' includes")
    print("its landmarks; the dlib path is dlib's network with the same flip and second network.")

    crowd = decode_image(crowd_frame(args.data), **LIMITS)
    one = decode_image(frame, **LIMITS)
    faces = len(engine.detect(crowd))
    one_ms = median_ms(lambda: engine.detect(one), args.repeat)
    crowd_ms = median_ms(lambda: engine.detect(crowd), args.repeat)
    shapes = engine.landmarks(crowd, engine.find_faces(crowd))[0]
    embed_ms = median_ms(lambda: engine.embed_aligned(crowd, shapes), args.repeat)
    print(
        f"frame with {faces} faces: {crowd_ms:.2f} ms, {crowd_ms / one_ms:.2f}x a frame with one ({one_ms:.2f} ms); "
        f"its {len(shapes)} embeddings in one batch {embed_ms:.2f} ms"
    )
    small_faces = create_engine(replace(settings, detector="blazeface-small"))
    small_ms = median_ms(lambda: small_faces.detect(one), args.repeat)
    print(f"engine.detect with FACE_DETECTOR=blazeface-small (40 px faces anywhere): {small_ms:.2f} ms")
    big = large_index(index)
    query = np.stack([f.embedding for f in engine.detect(one) if f.embedding is not None])
    match_ms = median_ms(lambda: match_embeddings(big, query, rule=rule), args.repeat)
    rows, persons = len(big.embeddings), len(big.person_ids)
    print(f"match one face against {rows:,} enrolled faces ({persons:,} people): {match_ms:.2f} ms")
    print(
        f"memory (max RSS): {fast_memory:.0f} MiB with the fast engine loaded and warm; "
        f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB at the end, with both baselines"
    )


def _ratio(baseline: float, ours: float) -> str:
    return f"{baseline / ours:.1f}x" if ours > 0 and baseline > 0 else "-"


if __name__ == "__main__":
    main()
