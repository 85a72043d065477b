"""Matching face embeddings against a trained group: the open-set decision rule.

`person_distances` gives, for each query face, its distance to each person of the group: the
Euclidean distance between L2-normalised embeddings to that person's nearest enrolled face. Every
rule below works on that matrix only, so another distance (a second network fused in) changes this
one function.

**The calibrated rule** (FACE_MATCH_RULE=calibrated, the default). The engine embeds each face as the
mean of its chip's and its mirrored chip's embeddings. Each person p gets a score, its distance
penalised when another person is nearly as near:

    s_p = d_p - MARGIN_WEIGHT * (min over the other persons q of d_q  -  d_p)

and the confidence is a logistic function of that score, fitted on the calibration set
(`../shared/testdata/calibration`, docs/calibration.md):

    confidence_p = 1 / (1 + exp(SLOPE * (s_p - MIDPOINT)))

It estimates the probability that the face is person p, for a population like the calibration
set's (60 % of the faces enrolled people, 40 % strangers; with more strangers the true probability
is lower). It falls as the distance grows and rises with the margin over the second-best person.
The default cut-off, DEFAULT_CONFIDENCE_THRESHOLD, is the calibrated operating point: on the
calibration set at most 2 of 120 strangers named and no known face named as somebody else.

**The nearest rule** (FACE_MATCH_RULE=nearest), the earlier one, kept to compare:
`confidence = clip(1 - d / (2 * T), 0, 1)` with T = FACE_MATCH_THRESHOLD, cut-off 0.5 (d ≤ T).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...errors import BadArgument
from ...models import Candidate
from ..base import MAX_CANDIDATES
from .training import TrainedIndex

# Fitted on the calibration set's 300 probes (dlib's network, mirror-averaged embeddings).
MARGIN_WEIGHT = 0.25
MIDPOINT = 0.332
SLOPE = 73.7
DEFAULT_CONFIDENCE_THRESHOLD = 0.76
NEAREST_CONFIDENCE_THRESHOLD = 0.5


def distance_to_confidence(distance: np.ndarray, match_threshold: float) -> np.ndarray:
    """The nearest rule's confidence (and verify's): 0.5 at the match threshold."""
    return np.clip(1.0 - distance / (2.0 * match_threshold), 0.0, 1.0)


def margin_scores(distances: np.ndarray) -> np.ndarray:
    """(queries, persons) distances → the calibrated rule's scores s_p. With one person there is no
    second-best: the score is the distance itself."""
    if distances.shape[1] < 2:
        return distances.copy()
    order = np.sort(distances, axis=1)
    best, second = order[:, :1], order[:, 1:2]
    # The nearest other person: the second-best for the best person, the best for all the others.
    nearest_other = np.where(distances <= best, second, best)
    return distances - MARGIN_WEIGHT * (nearest_other - distances)


def calibrated_confidence(distances: np.ndarray) -> np.ndarray:
    """(queries, persons) distances → the estimated probability that each face is each person."""
    scores = margin_scores(distances.astype(np.float64))  # float64: exp() of a far face overflows float32
    return 1.0 / (1.0 + np.exp(SLOPE * (scores - MIDPOINT)))


@dataclass(frozen=True)
class MatchRule:
    """How distances become confidences, and the confidence from which a candidate is named."""

    calibrated: bool
    match_threshold: float

    @property
    def default_cut_off(self) -> float:
        return DEFAULT_CONFIDENCE_THRESHOLD if self.calibrated else NEAREST_CONFIDENCE_THRESHOLD

    def confidences(self, distances: np.ndarray) -> np.ndarray:
        if self.calibrated:
            return calibrated_confidence(distances)
        return distance_to_confidence(distances, self.match_threshold)


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
    rule: MatchRule,
    max_candidates: int = 10,
    confidence_threshold: float | None = None,
) -> list[list[Candidate]]:
    """Candidates for each query embedding, best first; none below the confidence threshold (the
    rule's calibrated cut-off when the request gives none)."""
    if not 1 <= max_candidates <= MAX_CANDIDATES:
        raise BadArgument(f"maxNumOfCandidatesReturned must be between 1 and {MAX_CANDIDATES}.")
    threshold = rule.default_cut_off if confidence_threshold is None else confidence_threshold
    if not 0.0 <= threshold <= 1.0:
        raise BadArgument("confidenceThreshold must be between 0 and 1.")
    if len(queries) == 0:
        return []
    confidence = rule.confidences(person_distances(index, queries))
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
