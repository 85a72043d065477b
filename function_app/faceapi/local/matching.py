"""Matching face embeddings against a trained group.

Confidence is a monotonic mapping of the Euclidean distance d between L2-normalised embeddings:

    confidence = clip(1 - d / (2 * T), 0, 1)

where T is FACE_MATCH_THRESHOLD. A distance of 0 gives 1.0, d = T gives 0.5 (the default cut-off,
so by default a candidate needs d ≤ T), d ≥ 2T gives 0. T is calibrated on the test photos
(docs/calibration.md).
"""

from __future__ import annotations

import numpy as np

from ...errors import BadArgument
from ...models import Candidate
from ..base import MAX_CANDIDATES
from .training import TrainedIndex

DEFAULT_CONFIDENCE_THRESHOLD = 0.5


def distance_to_confidence(distance: np.ndarray, match_threshold: float) -> np.ndarray:
    return np.clip(1.0 - distance / (2.0 * match_threshold), 0.0, 1.0)


def person_distances(index: TrainedIndex, queries: np.ndarray) -> np.ndarray:
    """(queries, persons): each query's distance to the nearest face of each person. One matrix
    product for all faces, then a per-person minimum."""
    similarity = queries.astype(np.float32) @ index.embeddings.T
    squared = np.maximum(2.0 - 2.0 * similarity, 0.0)
    nearest = np.minimum.reduceat(squared, index.person_starts, axis=1)
    return np.sqrt(nearest)


def match_embeddings(
    index: TrainedIndex,
    queries: np.ndarray,
    *,
    match_threshold: float,
    max_candidates: int = 10,
    confidence_threshold: float | None = None,
) -> list[list[Candidate]]:
    """Candidates for each query embedding, best first; none below the confidence threshold."""
    if not 1 <= max_candidates <= MAX_CANDIDATES:
        raise BadArgument(f"maxNumOfCandidatesReturned must be between 1 and {MAX_CANDIDATES}.")
    threshold = DEFAULT_CONFIDENCE_THRESHOLD if confidence_threshold is None else confidence_threshold
    if not 0.0 <= threshold <= 1.0:
        raise BadArgument("confidenceThreshold must be between 0 and 1.")
    if len(queries) == 0:
        return []
    confidence = distance_to_confidence(person_distances(index, queries), match_threshold)
    results = []
    for row in confidence:
        order = np.argsort(-row, kind="stable")[:max_candidates]
        results.append(
            [
                Candidate(str(index.person_ids[j]), str(index.person_names[j]), float(row[j]))
                for j in order
                if row[j] >= threshold and row[j] > 0.0
            ]
        )
    return results
