"""Face engines behind one interface; `create_engine` picks one from the settings."""

from __future__ import annotations

import functools

from ..settings import Settings
from .base import FaceEngine


def create_engine(settings: Settings) -> FaceEngine:
    """One engine per engine configuration per process: models load once."""
    return _engine(
        settings.face_engine,
        settings.detector,
        settings.detect_upsample,
        settings.detect_max_side,
        settings.model_cache_dir,
        settings.landmark_model,
        # The calibrated rule was measured on mirror-averaged embeddings fused with the second network's;
        # the earlier rule on plain dlib embeddings.
        settings.match_rule == "calibrated",
        settings.second_network if settings.match_rule == "calibrated" else "none",
    )


# FACE_ENGINE (checked by Settings) → how dlib's ResNet embedding is computed; both share the detectors
# and landmarks. FACE_ENGINE=azure uses no local engine.
_EMBEDDINGS = {"local": "onnx", "dlib": "dlib"}


@functools.lru_cache(maxsize=8)
def _engine(
    kind: str,
    detector: str,
    upsample: int,
    max_side: int,
    cache_dir: str,
    landmark_model: str,
    flip: bool,
    second_network: str,
) -> FaceEngine:
    from .dlib_engine import DlibFaceEngine

    return DlibFaceEngine(
        detector, upsample, max_side, _EMBEDDINGS[kind], cache_dir, landmark_model, flip, second_network
    )


__all__ = ["FaceEngine", "create_engine"]
