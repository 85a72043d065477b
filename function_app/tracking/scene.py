"""A frame's colour signature, to see a cut (a video's change of shot, a camera turned): after a cut no face
continues a track by its position alone. The signature is the frame's hue-saturation-value histogram, as
shot-boundary detectors use; measured on the dev video (cuts at frames 20, 82, 211), the Bhattacharyya
distance between frames of one shot stays under 0.24 even 6 frames apart, and is at least 0.36 across a cut."""

from __future__ import annotations

import cv2
import numpy as np

CUT_DISTANCE = 0.3
_SIZE = (64, 36)  # the histogram of a thumbnail: the same at any resolution, in a fraction of a millisecond
_BINS = [8, 4, 4]


def signature(rgb: np.ndarray) -> np.ndarray:
    small = cv2.resize(rgb, _SIZE, interpolation=cv2.INTER_AREA)
    hsv = cv2.cvtColor(small, cv2.COLOR_RGB2HSV)
    histogram = cv2.calcHist([hsv], [0, 1, 2], None, _BINS, [0, 180, 0, 256, 0, 256]).flatten()
    return (histogram / max(float(histogram.sum()), 1.0)).astype(np.float32)


def is_cut(previous: np.ndarray | None, current: np.ndarray) -> bool:
    if previous is None or previous.shape != current.shape:
        return False
    distance = cv2.compareHist(previous.astype(np.float32), current, cv2.HISTCMP_BHATTACHARYYA)
    return bool(distance > CUT_DISTANCE)
