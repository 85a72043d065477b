"""Per-stage times and frames per second of the local engine on a 640×480 frame with one face,
beside a baseline measured in the same run: the `face_recognition` package's way on the same dlib
models (HOG with one upsample, default encodings, `face_distance` matching).

    python -m benchmarks.bench_pipeline [--repeat 30] [--data ../shared/testdata/dev]

Prints median and 90th-percentile milliseconds per stage, frames per second, peak memory, and
the ratio baseline / ours (above 1 means ours is faster).
"""

from __future__ import annotations

import argparse
import io
import resource
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from function_app.engines import create_engine
from function_app.enrollment import enroll_folder
from function_app.gallery import Gallery
from function_app.identify import identify_embeddings
from function_app.imaging import decode_image, encode_jpeg
from function_app.settings import Settings
from function_app.storage.local_folder import LocalFolderStorage
from function_app.training import TrainedIndex, load_trained_index

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "testdata" / "dev"
LIMITS = {"max_bytes": 1 << 30, "max_side": 8192}


def webcam_frame(data: Path) -> bytes:
    """A 640×480 JPEG with one face of about 110 px, cut from the 480p portrait."""
    rgb = decode_image((data / "scenes/obama-480p.jpg").read_bytes(), **LIMITS)
    left = (rgb.shape[1] - 640) // 2
    return encode_jpeg(np.ascontiguousarray(rgb[:480, left : left + 640]), quality=90)


def timed(fn: Callable, *args):
    start = time.perf_counter()
    result = fn(*args)
    return result, (time.perf_counter() - start) * 1000.0


def run_ours(engine, frame: bytes, index: TrainedIndex, threshold: float) -> dict[str, float]:
    rgb, decode = timed(lambda: decode_image(frame, **LIMITS))
    found, detect = timed(engine.find_faces, rgb)
    (shapes5, _points), landmarks = timed(engine.landmarks, rgb, found)
    vectors, embed = timed(engine.embed, rgb, shapes5)
    answer, match = timed(lambda: identify_embeddings(index, np.stack(vectors), match_threshold=threshold))
    assert answer[0] and answer[0][0].name == "obama", answer
    _, full = timed(
        lambda: identify_embeddings(
            index, np.stack([f.embedding for f in engine.detect(rgb)]), match_threshold=threshold
        )
    )
    return {
        "decode": decode,
        "detect": detect,
        "landmarks": landmarks,
        "embed": embed,
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
        "embed": embed,
        "match": match,
        "frame": decode + detect + embed + match,
    }


def summarise(samples: list[dict[str, float]]) -> dict[str, tuple[float, float]]:
    return {
        stage: (statistics.median(s[stage] for s in samples), float(np.percentile([s[stage] for s in samples], 90)))
        for stage in samples[0]
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args()
    cv2.setNumThreads(1)
    settings = Settings()
    engine = create_engine(settings)
    frame = webcam_frame(args.data)
    with tempfile.TemporaryDirectory() as folder:  # enroll people/ and train, as the product does
        gallery = Gallery(LocalFolderStorage(folder), engine, settings)
        enroll_folder(gallery, "bench", args.data / "people")
        index = load_trained_index(gallery, "bench")
    people = [p for f in sorted((args.data / "people").iterdir()) for p in sorted(f.iterdir())]
    names = [p.parent.name for p in people]

    import face_recognition as fr  # the baseline; installed by scripts/setup

    baseline_known = np.array([fr.face_encodings(fr.load_image_file(p))[0] for p in people])
    ours, base = [], []
    for _ in range(args.repeat):  # interleaved, so both see the same machine load
        ours.append(run_ours(engine, frame, index, settings.match_threshold))
        base.append(run_baseline(fr, frame, baseline_known, names))
    mine, theirs = summarise(ours), summarise(base)
    print(f"640x480 frame, one face, {args.repeat} runs each, one thread; milliseconds median (p90)")
    print(f"{'stage':<10} {'ours':>16} {'face_recognition':>18} {'ratio':>7}")
    for stage in mine:
        m, t = mine[stage], theirs[stage]
        ratio = f"{t[0] / m[0]:.2f}x" if m[0] > 0 and t[0] > 0 else "-"
        print(f"{stage:<10} {m[0]:8.2f} ({m[1]:6.2f}) {t[0]:9.2f} ({t[1]:6.2f}) {ratio:>7}")
    print(f"frames per second: ours {1000 / mine['frame'][0]:.1f}, face_recognition {1000 / theirs['frame'][0]:.1f}")
    print("ours 'frame' is the whole engine.detect (with 68 landmarks, head pose, quality) plus decode and match;")
    print("'detect', 'landmarks', 'embed' are its stages timed alone. The baseline's 'embed' includes its landmarks.")
    print(f"peak memory (max RSS of this process): {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
