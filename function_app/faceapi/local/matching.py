"""Matching face embeddings against a trained group: the open-set decision rule.

`person_distances` gives, for each query face, its distance to each person of the group, to that
person's nearest enrolled face. Every rule below works on that matrix only.

The distance. With dlib's network alone: the Euclidean distance between L2-normalised embeddings.
With a second network (FACE_SECOND_NETWORK=faceres, the default), each network's distance is
z-normalised by the mean and spread of its distances between different people of the dev split
(`engines/fusion.py`, statistics in `engines/fusion_norm.json` from `benchmarks/fusion_study.py`),
and the two are averaged: a fused distance in units of standard deviations, negative when nearer
than strangers usually come.

**The calibrated rule** (FACE_MATCH_RULE=calibrated, the default). The engine embeds each face as the
mean of its chip's and its mirrored chip's dlib embeddings (and its box by faceres). Each person p
gets a score, its distance penalised when another person is nearly as near:

    s_p = d_p - margin_weight * (min over the other persons q of d_q  -  d_p)

and the confidence is a logistic function of that score, fitted on the calibration set
(`../shared/testdata/calibration`, docs/calibration.md):

    confidence_p = 1 / (1 + exp(slope * (s_p - midpoint)))

It estimates the probability that the face is person p, for a population like the calibration
set's (60 % of the faces enrolled people, 40 % strangers; with more strangers the true probability
is lower). It falls as the distance grows and rises with the margin over the second-best person.
The default cut-off is the calibrated operating point: on the calibration set at most 2 of 120
strangers named and no known face named as somebody else. Each distance has its own fit (FUSED,
DLIB_ONLY).

Face against face (verify, find-similar, group) there is no other person to take a margin over: the
same logistic of the distance itself, and two faces are the same person from a confidence of 0.5.

**Large groups.** Every rule needs, per query, only its nearest persons: the best and the second-best
for the margin, and as many as the candidates asked for. A trained index of FACE_APPROXIMATE_SEARCH_FROM
faces or more is searched for those through search_index.py (an approximate short list, its distances
exact) instead of by scanning every face; persons beyond the short list read as not candidates.

**The nearest rule** (FACE_MATCH_RULE=nearest), the earlier one, kept to compare: dlib's distance
alone, `confidence = clip(1 - d / (2 * T), 0, 1)` with T = FACE_MATCH_THRESHOLD, cut-off 0.5 (d ≤ T).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...engines import embedding_layout
from ...engines.fusion import FusionNorm
from ...errors import BadArgument
from ...models import Candidate
from ..base import MAX_CANDIDATES
from .search_index import MIN_FACES, Shortlist, search_index_of
from .training import TrainedIndex


@dataclass(frozen=True)
class Calibration:
    """The calibrated rule's constants for one kind of distance, fitted on the calibration set's 300
    probes (benchmarks/open_set_levers.py), and the default confidence cut-off."""

    margin_weight: float
    midpoint: float
    slope: float
    cut_off: float


# dlib's network alone (mirror-averaged): distances.
DLIB_ONLY = Calibration(margin_weight=0.25, midpoint=0.332, slope=73.7, cut_off=0.76)
# dlib's and faceres's z-normalised distances averaged.
FUSED = Calibration(margin_weight=0.25, midpoint=-4.819, slope=3.863, cut_off=0.75)
# Each network's distances between different people of the dev split (engines/fusion_norm.json).
FUSION = FusionNorm.load()
DEFAULT_CONFIDENCE_THRESHOLD = FUSED.cut_off
NEAREST_CONFIDENCE_THRESHOLD = 0.5
# Trained indexes of this many faces or more are searched through search_index.py (FACE_APPROXIMATE_SEARCH_FROM):
# scanning 20,000 faces of 1,152 values takes about 5-10 ms a query on this machine.
DEFAULT_APPROXIMATE_FROM = 20_000
# Verify's isIdentical, find-similar's matchPerson and group's links: more likely the same person than not.
PAIR_CUT_OFF = 0.5


def distance_to_confidence(distance: np.ndarray, match_threshold: float) -> np.ndarray:
    """The nearest rule's confidence (and verify's): 0.5 at the match threshold."""
    return np.clip(1.0 - distance / (2.0 * match_threshold), 0.0, 1.0)


def margin_scores(distances: np.ndarray, margin_weight: float) -> np.ndarray:
    """(queries, persons) distances → the calibrated rule's scores s_p. With one person there is no
    second-best: the score is the distance itself."""
    if distances.shape[1] < 2:
        return distances.copy()
    order = np.sort(distances, axis=1)
    best, second = order[:, :1], order[:, 1:2]
    # The nearest other person: the second-best for the best person, the best for all the others.
    nearest_other = np.where(distances <= best, second, best)
    return distances - margin_weight * (nearest_other - distances)


def _logistic(scores: np.ndarray, calibration: Calibration) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(calibration.slope * (scores - calibration.midpoint)))


def calibrated_confidence(distances: np.ndarray, calibration: Calibration) -> np.ndarray:
    """(queries, persons) distances → the estimated probability that each face is each person."""
    # float64: exp() of a far face overflows float32.
    return _logistic(margin_scores(distances.astype(np.float64), calibration.margin_weight), calibration)


@dataclass(frozen=True)
class MatchRule:
    """How distances become confidences, and the confidence from which a candidate is named."""

    calibrated: bool
    match_threshold: float
    # Trained indexes of this many faces or more are searched approximately (FACE_APPROXIMATE_SEARCH_FROM).
    approximate_from: int = DEFAULT_APPROXIMATE_FROM

    def calibration(self, fused: bool) -> Calibration:
        return FUSED if fused else DLIB_ONLY

    def default_cut_off(self, fused: bool) -> float:
        return self.calibration(fused).cut_off if self.calibrated else NEAREST_CONFIDENCE_THRESHOLD

    def confidences(self, distances: np.ndarray, fused: bool) -> np.ndarray:
        if self.calibrated:
            return calibrated_confidence(distances, self.calibration(fused))
        return distance_to_confidence(distances, self.match_threshold)

    def pair_confidences(self, distances: np.ndarray, fused: bool) -> np.ndarray:
        """Face against face (verify, find-similar, group): the same fit with no other person to take a
        margin over; two faces are called the same person from PAIR_CUT_OFF."""
        if self.calibrated:
            return _logistic(distances.astype(np.float64), self.calibration(fused))
        return distance_to_confidence(distances, self.match_threshold)

    def face_confidences(self, queries: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """(queries, rows) face-against-face confidences of embeddings."""
        return self.pair_confidences(face_distances(queries, rows), embedding_layout.is_fused(rows))


def _euclidean(queries: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """(queries, rows) Euclidean distances between L2-normalised vectors: one matrix product."""
    similarity = queries.astype(np.float32) @ rows.T
    return np.sqrt(np.maximum(2.0 - 2.0 * similarity, 0.0))


def face_distances(queries: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """(queries, rows): the distance between embeddings, fused when they carry both networks."""
    if not embedding_layout.is_fused(rows):
        return _euclidean(queries, rows)
    dlib = _euclidean(embedding_layout.dlib_part(queries), embedding_layout.dlib_part(rows))
    second = _euclidean(embedding_layout.second_part(queries), embedding_layout.second_part(rows))
    return FUSION.fused(dlib, second)


def _check_dims(index: TrainedIndex, queries: np.ndarray) -> None:
    if queries.shape[1] != index.embeddings.shape[1]:
        raise BadArgument(
            "The person group was trained with embeddings of another engine configuration "
            f"({index.embeddings.shape[1]} values, these faces have {queries.shape[1]}): enroll its photos again."
        )


def person_distances(index: TrainedIndex, queries: np.ndarray) -> np.ndarray:
    """(queries, persons): each query's distance to the nearest face of each person (exact: every face)."""
    _check_dims(index, queries)
    return np.minimum.reduceat(face_distances(queries, index.embeddings), index.person_starts, axis=1)


def nearest_persons(index: TrainedIndex, queries: np.ndarray, count: int, rule: MatchRule) -> Shortlist:
    """Each query's `count` nearest persons with their distances, nearest first: exact below the rule's
    size for approximate search (and for indexes made on the fly, which have no training id), else from
    the trained index's search index."""
    _check_dims(index, queries)
    if index.training_id and len(index.embeddings) >= max(rule.approximate_from, MIN_FACES):
        search = search_index_of(index.training_id, index.embeddings, index.person_starts, FUSION)
        return search.nearest_persons(queries, count, face_distances)
    distances = person_distances(index, queries)
    order = np.argsort(distances, axis=1, kind="stable")[:, :count]
    return Shortlist(order, np.take_along_axis(distances, order, axis=1))


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
    fused = embedding_layout.is_fused(index.embeddings)
    threshold = rule.default_cut_off(fused) if confidence_threshold is None else confidence_threshold
    if not 0.0 <= threshold <= 1.0:
        raise BadArgument("confidenceThreshold must be between 0 and 1.")
    if len(queries) == 0:
        return []
    # The best and second-best persons give the margin; the others are ranked by their distance alone, so
    # the max_candidates + 1 nearest persons hold every candidate.
    nearest = nearest_persons(index, queries, max_candidates + 1, rule)
    confidence = rule.confidences(nearest.distances, fused)
    results = []
    for persons, row in zip(nearest.persons, confidence, strict=True):
        order = np.argsort(-row, kind="stable")[:max_candidates]
        results.append(
            [
                Candidate(str(index.person_ids[persons[j]]), str(index.person_names[persons[j]]), float(row[j]))
                for j in order
                if persons[j] >= 0 and row[j] >= threshold and row[j] > 0.0
            ]
        )
    return results
