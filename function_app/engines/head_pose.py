"""Head pose from facial landmarks.

By default from dlib's 5-point model (the outer and inner corners of both eyes and the base of the
nose), which is free for any use: roll is the slope of the eye line; yaw and pitch come from where the
base of the nose lies relative to the eyes, in units of the distance between the eyes. Five points
nearly in one plane leave solvePnP ambiguous, so this closed form is used, its two constants fitted to
the 68-point estimate on 308 test photos (yaw: correlation 0.84, mean gap 9°; pitch: 0.57, 6°;
roll: 0.79, 2°). With
FACE_LANDMARK_MODEL=68-point, a generic 3-D face fitted to the iBUG 300-W 68-point model's landmarks
with OpenCV's solvePnP (that model's licence is non-commercial, see docs/engines.md).
"""

from __future__ import annotations

import cv2
import numpy as np

from ..models import HeadPose

# For the 68-point model: a generic face in units of about 0.2 mm, in OpenCV camera axes (x right,
# y down, z away from the camera), the nose tip at the origin; x is as seen in the image.
_MODEL_68 = np.array(
    [
        (0.0, 0.0, 0.0),
        (0.0, 330.0, 65.0),
        (-225.0, -170.0, 135.0),
        (225.0, -170.0, 135.0),
        (-150.0, 150.0, 125.0),
        (150.0, 150.0, 125.0),
    ]
)
_INDICES_68 = [30, 8, 36, 45, 48, 54]  # nose tip, chin, outer eye corners, mouth corners
# The nose base's sideways offset from the eyes' midpoint, over the eye distance, is this times the
# sine of the yaw; its drop below the eye line, over the eye distance, is _FRONTAL_DROP for a level face
# and changes by 1 per _PITCH_PER_DROP degrees of pitch.
_NOSE_DEPTH = 0.32
_FRONTAL_DROP = 0.82
_PITCH_PER_DROP = 67.0


def head_pose_from_5(points5: np.ndarray) -> HeadPose:
    """`points5` is dlib's 5-point shape as a 5×2 array of (x, y) pixel coordinates: the image-right
    eye's outer and inner corners, the image-left eye's outer and inner corners, the nose base."""
    right_eye, left_eye = points5[0:2].mean(axis=0), points5[2:4].mean(axis=0)
    across = right_eye - left_eye
    eye_distance = max(float(np.hypot(*across)), 1e-6)
    roll = np.arctan2(across[1], across[0])
    cos, sin = np.cos(roll), np.sin(roll)
    nose = points5[4] - (right_eye + left_eye) / 2
    # The nose in the frame of the eye line: x along it, y perpendicular (down).
    sideways = (cos * nose[0] + sin * nose[1]) / eye_distance
    drop = (-sin * nose[0] + cos * nose[1]) / eye_distance
    yaw = -np.degrees(np.arcsin(np.clip(sideways / _NOSE_DEPTH, -1.0, 1.0)))
    pitch = np.clip(_PITCH_PER_DROP * (drop - _FRONTAL_DROP), -90.0, 90.0)
    return HeadPose(pitch=float(pitch), roll=float(np.degrees(roll)), yaw=float(yaw))


def head_pose_from_68(points68: np.ndarray, image_width: int, image_height: int) -> HeadPose:
    """`points68` is a 68×2 array of (x, y) pixel coordinates."""
    focal = float(max(image_width, image_height))
    camera = np.array([[focal, 0, image_width / 2], [0, focal, image_height / 2], [0, 0, 1]], dtype=np.float64)
    image_points = points68[_INDICES_68].astype(np.float64)
    ok, rvec, _ = cv2.solvePnP(_MODEL_68, image_points, camera, None, flags=cv2.SOLVEPNP_ITERATIVE)
    if not ok:
        return HeadPose(0.0, 0.0, 0.0)
    rotation, _ = cv2.Rodrigues(rvec)
    pitch, yaw, roll = cv2.RQDecomp3x3(rotation)[0]
    return HeadPose(pitch=_wrap(pitch), roll=_wrap(roll), yaw=_wrap(yaw))


def _wrap(degrees: float) -> float:
    # RQDecomp3x3 can answer ±180° for a face that is not turned at all.
    return float((degrees + 90.0) % 180.0 - 90.0)
