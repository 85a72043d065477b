"""Faces compared with faces: find-similar (one query against an index of single faces) and group
(faces partitioned by similarity), with matching.py's distances and confidence mapping."""

from __future__ import annotations

import numpy as np

from ...engines import embedding_layout
from ..face_lists import MatchMode, check_max_candidates
from .matching import PAIR_CUT_OFF, MatchRule, nearest_persons
from .training import TrainedIndex


def similar_faces(
    index: TrainedIndex, query: np.ndarray, *, rule: MatchRule, max_candidates: int, mode: MatchMode
) -> list[tuple[str, float]]:
    """(face id of the index, confidence), most similar first. matchPerson keeps the faces more likely
    the same person than not (the rule's pair confidence ≥ PAIR_CUT_OFF); matchFace keeps the nearest
    faces whatever their confidence."""
    check_max_candidates(max_candidates)
    nearest = nearest_persons(index, query[np.newaxis, :], max_candidates, rule)
    persons = nearest.persons[0]
    confidence = rule.pair_confidences(nearest.distances, embedding_layout.is_fused(query))[0]
    order = np.argsort(-confidence, kind="stable")
    order = order[persons[order] >= 0]
    if mode is MatchMode.MATCH_PERSON:
        order = order[confidence[order] >= PAIR_CUT_OFF]
    return [(str(index.person_ids[persons[j]]), float(confidence[j])) for j in order]


def group_embeddings(embeddings: np.ndarray, rule: MatchRule) -> tuple[list[list[int]], list[int]]:
    """Rows partitioned into groups of faces linked when more likely the same person than not (single
    linkage: connected components), largest group first, each in input order; rows similar to no
    other row form the messy group."""
    count = len(embeddings)
    linked = rule.face_confidences(embeddings, embeddings) >= PAIR_CUT_OFF
    parent = list(range(count))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, j in zip(*np.nonzero(np.triu(linked, k=1)), strict=True):
        parent[root(int(i))] = root(int(j))
    components: dict[int, list[int]] = {}
    for i in range(count):
        components.setdefault(root(i), []).append(i)
    groups = sorted((c for c in components.values() if len(c) > 1), key=lambda c: (-len(c), c[0]))
    messy = [c[0] for c in components.values() if len(c) == 1]
    return groups, messy
