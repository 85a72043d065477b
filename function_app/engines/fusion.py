"""Fusing the distances of two embedding networks (dlib's ResNet and faceres) into one.

Each network's distance (Euclidean, between L2-normalised embeddings) is z-normalised with the mean and
standard deviation of its impostor distances (two faces of different people) on a dev split, so that both
say "how far below a typical stranger" on one scale; the fused distance is their average. The statistics
are in fusion_norm.json, made by `python -m benchmarks.fusion_study --write` from ../shared/testdata/dev,
never from the photos the study scores.

Smaller is more alike, as for a single network; a fused distance is around 0 for a typical stranger and
strongly negative for the same person, so a cut-off on it is a negative number (the study prints them).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

NORM_FILE = Path(__file__).with_name("fusion_norm.json")


@dataclass(frozen=True)
class DistanceStats:
    """One network's distances on the dev split: genuine (same person) and impostor pairs."""

    genuine_mean: float
    genuine_std: float
    impostor_mean: float
    impostor_std: float

    @classmethod
    def of(cls, genuine: np.ndarray, impostor: np.ndarray) -> DistanceStats:
        return cls(float(genuine.mean()), float(genuine.std()), float(impostor.mean()), float(impostor.std()))

    def normalised(self, distances: np.ndarray) -> np.ndarray:
        return (distances - self.impostor_mean) / self.impostor_std


@dataclass(frozen=True)
class FusionNorm:
    dlib: DistanceStats
    faceres: DistanceStats
    source: str

    def fused(self, dlib_distances: np.ndarray, faceres_distances: np.ndarray) -> np.ndarray:
        """Element-wise fused distance of the same pairs measured by both networks."""
        return (self.dlib.normalised(dlib_distances) + self.faceres.normalised(faceres_distances)) / 2

    @classmethod
    def load(cls, path: Path = NORM_FILE) -> FusionNorm:
        data = json.loads(path.read_text())
        return cls(DistanceStats(**data["dlib"]), DistanceStats(**data["faceres"]), data["source"])

    def save(self, path: Path = NORM_FILE) -> None:
        path.write_text(json.dumps(asdict(self), indent=2) + "\n")


def pair_distances(embeddings: np.ndarray, labels: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Euclidean distances of all pairs of L2-normalised embeddings: (genuine, impostor)."""
    similarity = embeddings @ embeddings.T
    distances = np.sqrt(np.maximum(2.0 - 2.0 * similarity, 0.0))
    upper = np.triu_indices(len(labels), 1)
    names = np.array(labels)
    same = (names[:, None] == names[None, :])[upper]
    return distances[upper][same], distances[upper][~same]
