"""Head pose from 68 facial landmarks: a generic 3-D face fitted with OpenCV's solvePnP."""

from __future__ import annotations

import cv2
import numpy as np

from ..models import HeadPose

# Generic face model in millimetres, in OpenCV camera axes (x right, y down, z away from the camera),
# for landmarks 30 (nose tip), 8 (chin), 36 and 45 (outer eye corners), 48 and 54 (mouth corners).
_MODEL_POINTS = np.array(
    [
        (0.0, 0.0, 0.0),
        (0.0, 330.0, 65.0),
        (-225.0, -170.0, 135.0),
        (225.0, -170.0, 135.0),
        (-150.0, 150.0, 125.0),
        (150.0, 150.0, 125.0),
    ]
)
_LANDMARK_INDICES = [30, 8, 36, 45, 48, 54]


def estimate_head_pose(points68: np.ndarray, image_width: int, image_height: int) -> HeadPose:
    """`points68` is a 68×2 array of (x, y) pixel coordinates."""
    image_points = points68[_LANDMARK_INDICES].astype(np.float64)
    focal = float(max(image_width, image_height))
    camera = np.array([[focal, 0, image_width / 2], [0, focal, image_height / 2], [0, 0, 1]], dtype=np.float64)
    ok, rvec, _ = cv2.solvePnP(_MODEL_POINTS, image_points, camera, None, flags=cv2.SOLVEPNP_ITERATIVE)
    if not ok:
        return HeadPose(0.0, 0.0, 0.0)
    rotation, _ = cv2.Rodrigues(rvec)
    pitch, yaw, roll = cv2.RQDecomp3x3(rotation)[0]
    return HeadPose(pitch=_wrap(pitch), roll=_wrap(roll), yaw=_wrap(yaw))


def _wrap(degrees: float) -> float:
    # RQDecomp3x3 can answer ±180° for a face that is not turned at all.
    return float((degrees + 90.0) % 180.0 - 90.0)
