"""Write function_app/engines/faceres_mean.json: the mean raw faceres feature of the dev split's faces.

The dev split is every photo of ../shared/testdata/dev/people and dev/people_lfw (15 people, none of them in
calibration/), each photo's labelled face found by the project's engine. Deterministic: the same files, model
and engine give the same vector.

    python -m benchmarks.faceres_mean [--data ../shared/testdata/dev]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from function_app.engines import create_engine
from function_app.engines.faceres import MEAN_FILE, DevMean, FaceresEmbedder, TfjsModel, model_json_path
from function_app.settings import Settings

from .photo_faces import photo_face

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "testdata" / "dev"


def dev_photos(data: Path) -> list[Path]:
    return sorted(p for p in data.glob("people/*/*") if p.is_file()) + sorted(data.glob("people_lfw/*/*.jpg"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args()
    digest = TfjsModel.read(model_json_path()).digest()
    uncentred = FaceresEmbedder(mean=DevMean(digest, "none", 0, np.zeros(1024, np.float32)))
    engine = create_engine(Settings())
    faces = [f for f in (photo_face(engine, uncentred, p) for p in dev_photos(args.data)) if f is not None]
    mean = np.mean([f.faceres_features for f in faces], axis=0)
    source = "../shared/testdata/dev: people/*/* and people_lfw/*/*.jpg, the central face of each"
    DevMean(digest, source, len(faces), mean.astype(np.float32)).save(MEAN_FILE)
    print(f"{MEAN_FILE.name}: mean of {len(faces)} faces of {len(dev_photos(args.data))} photos, model {digest}")


if __name__ == "__main__":
    main()
