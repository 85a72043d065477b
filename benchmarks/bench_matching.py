"""Matching one face against 100,000 and 1,000,000 enrolled faces: the approximate search index
(function_app/faceapi/local/search_index.py) beside exact brute force, in the same run, on one thread.

    python -m benchmarks.bench_matching [--sizes 100000 1000000] [--data ../shared/testdata]

The real faces: the calibration set's (../shared/testdata/calibration), embedded by the service's default
engine (dlib mirror-averaged + faceres, 1,152 values). Photos 1-3 of each of the 60 known people are
enrolled, photos 4-6 and the 120 strangers are the probes.

The synthetic gallery, drawn to resemble them, network part by network part: each synthetic person's
centre from a Gaussian with the mean and covariance of the real persons (the known people's mean faces
and the strangers), each of its 5 faces that centre plus a Gaussian with the known people's
within-person covariance, each part L2-normalised. Both covariances are shrunk by 10 % towards a
multiple of the identity (the real ones come from a few hundred faces: rank-deficient). Their fused
distances resemble the real ones (printed: median to the probes about -0.4 like the real strangers;
the nearest synthetic faces as near as a real person's other photos can be). The real enrolled faces
are appended as persons of their own; the gallery is a float32 matrix memory-mapped from a temporary
file (the re-ranking reads rows of it, as it would from a memory-mapped trained index).

For each size: the exact answer of every probe (its best and second-best person and their distances:
the calibrated rule's inputs); the index's recall of the exact best person, over all probes and over
those whose exact answer is a real enrolled person; the open-set decisions that change (the name given
at the calibrated default cut-off); ms per query (median and p95 of the wall clock, and the median of
the thread's CPU time, which another process on the machine does not inflate) for both; build time (two
threads); the index's memory (a face's share and the whole). Exact timing scans the whole matrix per
query, as identify does.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # one core, before numpy and faiss load their thread pools

import argparse  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass, replace  # noqa: E402
from pathlib import Path  # noqa: E402

import faiss  # noqa: E402
import numpy as np  # noqa: E402

from benchmarks.open_set_levers import DEFAULT_DATA, calibration_photos  # noqa: E402
from function_app.engines import create_engine, embedding_layout  # noqa: E402
from function_app.faceapi.local.matching import FUSED, FUSION, calibrated_confidence, face_distances  # noqa: E402
from function_app.faceapi.local.search_index import SearchIndex, SearchParams  # noqa: E402
from function_app.settings import Settings  # noqa: E402

FACES_EACH = 5
SHRINK = 0.1
CHUNK = 50_000  # synthetic faces drawn, or scanned exactly, at a time


@dataclass(frozen=True)
class RealFaces:
    enrolled: np.ndarray  # (faces, dims), grouped by person
    enrolled_starts: np.ndarray  # (persons,) first row of each person
    probes: np.ndarray  # (probes, dims)
    probe_person: np.ndarray  # (probes,) the enrolled person's index; -1 for a stranger
    strangers: np.ndarray  # (strangers, dims): the persons nobody enrolled


def real_faces(data: Path) -> RealFaces:
    photos = [p for p in calibration_photos(create_engine(Settings()), data) if p.face]
    known = sorted({p.person for p in photos if p.person})
    enrolled = [p for p in photos if p.enrolled]
    enrolled.sort(key=lambda p: known.index(str(p.person)))
    people = [known.index(str(p.person)) for p in enrolled]
    probes = [p for p in photos if not p.enrolled]
    return RealFaces(
        enrolled=np.stack([p.face.required_embedding() for p in enrolled if p.face]).astype(np.float32),
        enrolled_starts=np.searchsorted(people, range(len(known))).astype(np.int64),
        probes=np.stack([p.face.required_embedding() for p in probes if p.face]).astype(np.float32),
        probe_person=np.array([known.index(p.person) if p.person else -1 for p in probes]),
        strangers=np.stack([p.face.required_embedding() for p in probes if p.face and not p.person]),
    )


def _shrunk_factor(deviations: np.ndarray, dof: int) -> np.ndarray:
    """Cholesky factor of the covariance of `deviations`, shrunk towards a multiple of the identity."""
    dims = deviations.shape[1]
    cov = deviations.T @ deviations / dof
    cov = (1 - SHRINK) * cov + SHRINK * np.trace(cov) / dims * np.eye(dims)
    return np.linalg.cholesky(cov).astype(np.float32)


@dataclass(frozen=True)
class PartModel:
    mean: np.ndarray
    between: np.ndarray  # Cholesky factor of the persons' covariance
    within: np.ndarray  # of the faces around their person's centre


def part_models(real: RealFaces) -> list[PartModel]:
    models = []
    for part in (embedding_layout.dlib_part, embedding_layout.second_part):
        faces = part(real.enrolled)
        groups = np.split(faces, real.enrolled_starts[1:])
        probes_known = part(real.probes)[real.probe_person >= 0]
        owners = real.probe_person[real.probe_person >= 0]
        # Each known person's six faces (three enrolled, three probes).
        people = [np.concatenate([g, probes_known[owners == i]]) for i, g in enumerate(groups)]
        centres = np.stack([p.mean(axis=0) for p in people])
        persons = np.concatenate([centres, part(real.strangers)])
        within = np.concatenate([p - p.mean(axis=0) for p in people])
        mean = persons.mean(axis=0)
        models.append(
            PartModel(
                mean,
                _shrunk_factor(persons - mean, len(persons) - 1),
                _shrunk_factor(within, len(within) - len(people)),
            )
        )
    return models


def synthetic_faces(models: list[PartModel], persons: int, rng: np.random.Generator) -> np.ndarray:
    parts = []
    for m in models:
        dims = len(m.mean)
        centres = m.mean + rng.standard_normal((persons, dims), dtype=np.float32) @ m.between.T
        faces = np.repeat(centres, FACES_EACH, axis=0)
        faces += rng.standard_normal((len(faces), dims), dtype=np.float32) @ m.within.T
        faces /= np.linalg.norm(faces, axis=1, keepdims=True)
        parts.append(faces)
    return np.concatenate(parts, axis=1).astype(np.float32)


@dataclass(frozen=True)
class Gallery:
    embeddings: np.ndarray  # memory-mapped (faces, dims)
    person_starts: np.ndarray
    first_real: int  # the first real person's index


def gallery(real: RealFaces, size: int, folder: Path, rng: np.random.Generator) -> Gallery:
    models = part_models(real)
    synthetic_persons = (size - len(real.enrolled)) // FACES_EACH
    rows = synthetic_persons * FACES_EACH + len(real.enrolled)
    matrix = np.lib.format.open_memmap(folder / f"gallery-{size}.npy", "w+", np.float32, (rows, real.enrolled.shape[1]))
    per_chunk = CHUNK // FACES_EACH
    for first in range(0, synthetic_persons, per_chunk):
        count = min(per_chunk, synthetic_persons - first)
        matrix[first * FACES_EACH : (first + count) * FACES_EACH] = synthetic_faces(models, count, rng)
    matrix[synthetic_persons * FACES_EACH :] = real.enrolled
    matrix.flush()
    starts = np.concatenate(
        [np.arange(synthetic_persons) * FACES_EACH, synthetic_persons * FACES_EACH + real.enrolled_starts]
    )
    return Gallery(matrix, starts.astype(np.int64), synthetic_persons)


def exact_person_distances(g: Gallery, queries: np.ndarray) -> np.ndarray:
    """(queries, persons), scanning the gallery a chunk of whole persons at a time."""
    out = np.empty((len(queries), len(g.person_starts)), dtype=np.float32)
    ends = np.append(g.person_starts[1:], len(g.embeddings))
    person = 0
    while person < len(g.person_starts):
        last = min(len(g.person_starts), person + CHUNK // FACES_EACH)
        start, end = g.person_starts[person], ends[last - 1]
        distances = face_distances(queries, np.asarray(g.embeddings[start:end]))
        out[:, person:last] = np.minimum.reduceat(distances, g.person_starts[person:last] - start, axis=1)
        person = last
    return out


@dataclass(frozen=True)
class Answer:
    best: np.ndarray  # (probes,) person index
    best_distance: np.ndarray
    second_distance: np.ndarray

    def decisions(self) -> np.ndarray:
        """The person named at the calibrated default cut-off; -1: nobody."""
        pair = np.stack([self.best_distance, self.second_distance], axis=1)
        confidence = calibrated_confidence(pair, FUSED)[:, 0]
        return np.where(confidence >= FUSED.cut_off, self.best, -1)

    def confidence(self) -> np.ndarray:
        return calibrated_confidence(np.stack([self.best_distance, self.second_distance], axis=1), FUSED)[:, 0]


def exact_answer(person_distances: np.ndarray) -> Answer:
    order = np.argsort(person_distances, axis=1)[:, :2]
    rows = np.arange(len(order))
    return Answer(order[:, 0], person_distances[rows, order[:, 0]], person_distances[rows, order[:, 1]])


def percentiles_ms(seconds: list[float]) -> tuple[float, float]:
    return float(np.median(seconds) * 1e3), float(np.percentile(seconds, 95) * 1e3)


@dataclass(frozen=True)
class Row:
    size: int
    method: str
    recall_all: float
    recall_real: float
    changed: int
    median_ms: float
    p95_ms: float
    cpu_ms: float
    build_s: float
    bytes_per_face: float
    memory_mb: float


def measure(real: RealFaces, g: Gallery, settings: list[SearchParams], exact_queries: int) -> list[Row]:
    size = len(g.embeddings)
    exact = exact_answer(exact_person_distances(g, real.probes))
    seconds, cpu = [], []
    for q in real.probes[:exact_queries]:
        start, start_cpu = time.perf_counter(), time.thread_time()
        exact_person_distances(g, q[None, :])
        seconds.append(time.perf_counter() - start)
        cpu.append(time.thread_time() - start_cpu)
    bytes_per_face = g.embeddings.shape[1] * 4
    exact_row = Row(
        size, "exact", 1.0, 1.0, 0, *percentiles_ms(seconds), float(np.median(cpu) * 1e3), 0.0, bytes_per_face,
        size * bytes_per_face / 1e6,
    )  # fmt: skip
    faiss.omp_set_num_threads(2)  # building, as the service does (its threads), then one thread to search
    start = time.perf_counter()
    index = SearchIndex.build(g.embeddings, g.person_starts, FUSION, settings[0])
    build = time.perf_counter() - start
    faiss.omp_set_num_threads(1)
    rows = [exact_row]
    for params in settings:  # the same codes searched with other probe counts and short lists
        rows.append(
            measure_index(
                real, g, SearchIndex(index.index, index.weights, g.embeddings, g.person_starts, params), exact, build
            )
        )
    return rows


def measure_index(real: RealFaces, g: Gallery, index: SearchIndex, exact: Answer, build: float) -> Row:
    size, params = len(g.embeddings), index.params
    real_answer = exact.best >= g.first_real
    seconds, cpu, found = [], [], []
    for q in real.probes:
        start, start_cpu = time.perf_counter(), time.thread_time()
        shortlist = index.nearest_persons(q[None, :], 2, face_distances)
        seconds.append(time.perf_counter() - start)
        cpu.append(time.thread_time() - start_cpu)
        found.append(shortlist)
    approx = Answer(
        np.array([s.persons[0, 0] for s in found]),
        np.array([s.distances[0, 0] for s in found]),
        np.array([s.distances[0, 1] for s in found]),
    )
    hit = approx.best == exact.best
    memory = index.memory_bytes
    label = (
        f"index (PCA{params.reduced_dims}, {params.dims_per_code} dims/code; {params.first_stage} re-scored, "
        f"{params.shortlist} re-ranked)"
    )
    print(
        f"  {size}: largest confidence change {np.abs(approx.confidence() - exact.confidence()).max():.2g}; "
        f"exact answers that are real persons {int(real_answer.sum())} of {len(hit)}"
    )
    return Row(
        size,
        label,
        float(hit.mean()),
        float(hit[real_answer].mean()),
        int((approx.decisions() != exact.decisions()).sum()),
        *percentiles_ms(seconds),
        float(np.median(cpu) * 1e3),
        build,
        memory / size,
        memory / 1e6,
    )


def print_table(rows: list[Row]) -> None:
    print(
        "| faces | method | recall (all probes) | recall (exact answer a real person) | decisions changed | "
        "median ms | p95 ms | CPU ms (median) | build s | bytes/face | index MB |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r.size:,} | {r.method} | {r.recall_all:.4f} | {r.recall_real:.4f} | {r.changed} | "
            f"{r.median_ms:.2f} | {r.p95_ms:.2f} | {r.cpu_ms:.2f} | {r.build_s:.0f} | {r.bytes_per_face:.0f} | "
            f"{r.memory_mb:.0f} |"
        )
    exact = {r.size: r for r in rows if r.method == "exact"}
    for r in rows:
        if r.method != "exact":
            print(
                f"{r.size:,} faces: exact / index median time {exact[r.size].median_ms / r.median_ms:.1f}x, "
                f"CPU time {exact[r.size].cpu_ms / r.cpu_ms:.1f}x"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--exact-queries", type=int, default=10, help="probes timed by brute force")
    parser.add_argument(
        "--searches",
        nargs="+",
        default=[f"{SearchParams.first_stage}:{SearchParams.shortlist}", "1024:256", "4096:512", "8192:1024"],
        help="faces re-scored by the fine codes:faces re-ranked exactly, each measured on the same codes",
    )
    parser.add_argument("--reduced-dims", type=int, default=SearchParams.reduced_dims)
    parser.add_argument("--dims-per-code", type=int, default=SearchParams.dims_per_code)
    args = parser.parse_args()
    faiss.omp_set_num_threads(1)
    built = SearchParams(reduced_dims=args.reduced_dims, dims_per_code=args.dims_per_code)
    settings = [
        replace(built, first_stage=int(first), shortlist=int(shortlist))
        for first, shortlist in (search.split(":") for search in args.searches)
    ]
    print(f"load average at the start: {os.getloadavg()}")
    real = real_faces(args.data)
    print(f"real faces: {len(real.enrolled)} enrolled, {len(real.probes)} probes")
    rng = np.random.default_rng(15)
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as folder:
        for size in args.sizes:
            g = gallery(real, size, Path(folder), rng)
            synthetic = np.asarray(g.embeddings[:CHUNK])
            to_probes = face_distances(real.probes, synthetic)
            print(
                f"  {size}: fused distance probes → synthetic faces, median {np.median(to_probes):.2f}, "
                f"0.01 % {np.percentile(to_probes, 0.01):.2f}; real strangers → enrolled, median "
                f"{np.median(face_distances(real.strangers, real.enrolled)):.2f}"
            )
            rows += measure(real, g, settings, args.exact_queries)
            del g
    print(f"load average at the end: {os.getloadavg()}")
    print_table(rows)


if __name__ == "__main__":
    main()
