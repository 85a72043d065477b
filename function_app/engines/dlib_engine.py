"""The local engine: a face detector (BlazeFace, or dlib's HOG or MMOD), dlib's landmarks, and dlib's
ResNet embedding computed by onnxruntime (or by dlib itself, the reference), on a CPU."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, cast

import cv2
import dlib
import numpy as np

from ..models import DetectedFace, FaceLandmarks, FaceRectangle, Point
from ..settings import DETECTORS
from . import blazeface, model_files
from .head_pose import estimate_head_pose
from .onnx_embedding import OnnxFaceEmbedder, default_cache_dir
from .quality import measure_quality

_load_lock = threading.Lock()
_loaded: dict[str, object] = {}
_Model = TypeVar("_Model")


def _load(key: str, loader: Callable[..., _Model]) -> _Model:
    """Each model is loaded once per process, whichever engine asks for it."""
    with _load_lock:
        if key not in _loaded:
            _loaded[key] = loader(str(model_files.model_path(key))) if key.endswith(".dat") else loader()
        return cast(_Model, _loaded[key])  # the key names the model: it was made by this loader


EMBEDDINGS = ("onnx", "dlib")

# BlazeFace boxes are a little wider than dlib's HOG boxes, on which dlib's shape predictors were
# trained. Medians over the 122 faces of the test photos found by both: HOG's centre lies 0.029 box
# widths left of BlazeFace's, and its side is 0.934 of BlazeFace's width.
_HOG_SHIFT_X = -0.029
_HOG_SIDE = 0.934


@dataclass(frozen=True)
class _Found:
    rect: dlib.rectangle
    score: float


class DlibFaceEngine:
    embedding_size = 128

    def __init__(
        self,
        detector: str = "blazeface",
        upsample: int = 0,
        detect_max_side: int = 1280,
        embedding: str = "onnx",
        model_cache_dir: str = "",
    ):
        if detector not in DETECTORS:
            raise ValueError(f"Unknown detector {detector!r}: use one of {', '.join(DETECTORS)}")
        if embedding not in EMBEDDINGS:
            raise ValueError(f"Unknown embedding {embedding!r}: use one of {', '.join(EMBEDDINGS)}")
        self.name = "local" if embedding == "onnx" else "dlib"
        self.detector_name = detector
        self.upsample = upsample
        self.detect_max_side = detect_max_side
        # BlazeFace, or dlib's HOG or MMOD detector (dlib has no type information).
        self._detector: blazeface.BlazeFaceDetector | Any
        if detector.startswith("blazeface"):
            small = detector == "blazeface-small"
            self._detector = _load(detector, lambda: blazeface.BlazeFaceDetector(small_faces=small))
        elif detector == "hog":
            self._detector = _load("hog", dlib.get_frontal_face_detector)
        else:
            self._detector = _load(model_files.MMOD_DETECTOR, dlib.cnn_face_detection_model_v1)
        self._shape5 = _load(model_files.SHAPE_PREDICTOR_5, dlib.shape_predictor)
        self._shape68 = _load(model_files.SHAPE_PREDICTOR_68, dlib.shape_predictor)
        if embedding == "dlib":
            self._embedder = _load(model_files.RESNET_EMBEDDING, dlib.face_recognition_model_v1)
        else:
            cache = Path(model_cache_dir) if model_cache_dir else default_cache_dir()
            dat = model_files.model_path(model_files.RESNET_EMBEDDING)
            self._embedder = _load(f"onnx:{cache}", lambda: OnnxFaceEmbedder(dat, cache))
        # dlib's networks keep per-call state inside the model object: one call at a time.
        # Re-entrant, so that detect() can hold it across the stages, which take it too.
        self._lock = threading.RLock()

    def detect(self, rgb: np.ndarray, *, embeddings: bool = True) -> list[DetectedFace]:
        rgb = np.ascontiguousarray(rgb)
        height, width = rgb.shape[:2]
        with self._lock:
            found = self.find_faces(rgb)
            shapes5, points68 = self.landmarks(rgb, found)
            vectors = self.embed(rgb, shapes5) if embeddings else [None] * len(found)
        gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        faces = []
        for f, points, vector in zip(found, points68, vectors, strict=True):
            rect = _clipped(f.rect, width, height)
            pose = estimate_head_pose(points, width, height)
            faces.append(
                DetectedFace(
                    rectangle=rect,
                    landmarks=_five_landmarks(points),
                    head_pose=pose,
                    quality=measure_quality(gray, rect, pose),
                    detection_score=f.score,
                    embedding=vector,
                )
            )
        faces.sort(key=lambda face: face.rectangle.area(), reverse=True)
        return faces

    # The stages of `detect`, public so that the benchmark can time each one.
    def landmarks(self, rgb: np.ndarray, found: list[_Found]) -> tuple[list, list[np.ndarray]]:
        """dlib's 5-point shapes (for aligning the embedding chip) and the 68 points (pose, landmarks)."""
        with self._lock:
            return [self._shape5(rgb, f.rect) for f in found], [_points(self._shape68(rgb, f.rect)) for f in found]

    def embed(self, rgb: np.ndarray, shapes5: list) -> list[np.ndarray]:
        """L2-normalised embeddings of all the faces of one image, in one batch."""
        if not shapes5:
            return []
        if isinstance(self._embedder, OnnxFaceEmbedder):
            # The chips dlib's compute_face_descriptor would cut (150 px, padding 0.25), in one batch.
            chips = dlib.get_face_chips(rgb, dlib.full_object_detections(shapes5), size=150, padding=0.25)
            return [_normalised(v) for v in self._embedder.descriptors(np.stack(chips))]
        with self._lock:
            vectors = self._embedder.compute_face_descriptor(rgb, dlib.full_object_detections(shapes5))
        return [_normalised(v) for v in vectors]

    def find_faces(self, rgb: np.ndarray) -> list[_Found]:
        # Detect on the image scaled by 2**upsample (HOG finds faces of ≥ 80 px, so one upsample
        # finds 40 px faces), but never beyond detect_max_side: large photos are not upsampled
        # and very large ones are shrunk. Landmarks and embeddings use the full image.
        with self._lock:
            return self._find_faces(rgb)

    def _find_faces(self, rgb: np.ndarray) -> list[_Found]:
        if isinstance(self._detector, blazeface.BlazeFaceDetector):  # it sees the image at 192 px whatever its size
            return [_Found(_hog_like(d.box), d.score) for d in self._detector.detect(rgb)]
        height, width = rgb.shape[:2]
        scale = min(2.0**self.upsample, self.detect_max_side / max(height, width))
        small = rgb
        if abs(scale - 1.0) > 1e-3:
            size = (round(width * scale), round(height * scale))
            small = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
        if self.detector_name == "hog":
            rects, scores, _ = self._detector.run(small, 0, 0.0)
            found = [_Found(r, float(s)) for r, s in zip(rects, scores, strict=True)]
        else:
            found = [_Found(d.rect, float(d.confidence)) for d in self._detector(small, 0)]
        if small is rgb:
            return found
        return [_Found(_scaled(f.rect, 1.0 / scale), f.score) for f in found]


def _hog_like(box: tuple[float, float, float, float]) -> dlib.rectangle:
    left, top, width, height = box
    centre_x, centre_y = left + width * (0.5 + _HOG_SHIFT_X), top + height / 2
    half = width * _HOG_SIDE / 2
    return dlib.rectangle(
        round(centre_x - half), round(centre_y - half), round(centre_x + half) - 1, round(centre_y + half) - 1
    )


def _scaled(rect: dlib.rectangle, factor: float) -> dlib.rectangle:
    return dlib.rectangle(
        round(rect.left() * factor),
        round(rect.top() * factor),
        round(rect.right() * factor),
        round(rect.bottom() * factor),
    )


def _clipped(rect: dlib.rectangle, width: int, height: int) -> FaceRectangle:
    left, top = max(0, rect.left()), max(0, rect.top())
    right, bottom = min(width, rect.right() + 1), min(height, rect.bottom() + 1)
    return FaceRectangle(top=top, left=left, width=max(0, right - left), height=max(0, bottom - top))


def _points(shape: dlib.full_object_detection) -> np.ndarray:
    return np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float64)


def _five_landmarks(p: np.ndarray) -> FaceLandmarks:
    # 68-point indices: 36–41 and 42–47 the eyes (image left, then right), 30 the nose tip,
    # 48 and 54 the mouth corners.
    def point(xy) -> Point:
        return Point(float(xy[0]), float(xy[1]))

    return FaceLandmarks(
        pupil_left=point(p[36:42].mean(axis=0)),
        pupil_right=point(p[42:48].mean(axis=0)),
        nose_tip=point(p[30]),
        mouth_left=point(p[48]),
        mouth_right=point(p[54]),
    )


def _normalised(vector) -> np.ndarray:
    v = np.asarray(vector, dtype=np.float32)
    return v / np.linalg.norm(v)
