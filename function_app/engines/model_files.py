"""Find dlib's model files shipped in the `face-recognition-models` package.

The package's `__init__` imports `pkg_resources`, which setuptools ≥ 81 no longer has, so the files
are located through the import system without executing that module.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

PACKAGE = "face_recognition_models"

SHAPE_PREDICTOR_5 = "shape_predictor_5_face_landmarks.dat"
SHAPE_PREDICTOR_68 = "shape_predictor_68_face_landmarks.dat"
RESNET_EMBEDDING = "dlib_face_recognition_resnet_model_v1.dat"
MMOD_DETECTOR = "mmod_human_face_detector.dat"


class ModelFilesMissing(RuntimeError):
    pass


def model_path(filename: str) -> Path:
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelFilesMissing(f"The package {PACKAGE!r} is not installed: pip install face-recognition-models")
    for location in spec.submodule_search_locations:
        candidate = Path(location) / "models" / filename
        if candidate.is_file():
            return candidate
    raise ModelFilesMissing(f"{filename} is missing from the installed {PACKAGE!r} package")
