"""Where each network's part lies in a face's embedding vector.

The local engine's embedding is dlib's 128 values, followed, when a second network is on, by faceres's
1024; each part is L2-normalised on its own. One vector per face keeps the gallery, the face ids and
the training index as they are; matching splits it again.
"""

from __future__ import annotations

import numpy as np

DLIB_SIZE = 128
FACERES_SIZE = 1024


def size(*, fused: bool) -> int:
    return DLIB_SIZE + FACERES_SIZE if fused else DLIB_SIZE


def is_fused(vectors: np.ndarray) -> bool:
    """Whether (…, dims) embeddings carry both networks' parts."""
    return int(vectors.shape[-1]) == DLIB_SIZE + FACERES_SIZE


def dlib_part(vectors: np.ndarray) -> np.ndarray:
    return vectors[..., :DLIB_SIZE]


def second_part(vectors: np.ndarray) -> np.ndarray:
    return vectors[..., DLIB_SIZE:]
