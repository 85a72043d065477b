"""The approximate search index (search_index.py) answers as exact search does, on real embeddings of the test
photos: directly (with a short list smaller than the gallery, so that it prunes), and through identify over
real HTTP on a server whose FACE_APPROXIMATE_SEARCH_FROM is lowered beside one that searches exactly."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace

import numpy as np
import pytest
import requests

from benchmarks.photo_faces import central_face
from function_app.api.persons import parse_target_face
from function_app.faceapi.face_lists import MatchMode
from function_app.faceapi.local import search_index, training
from function_app.faceapi.local.matching import FUSION, MatchRule, face_distances, match_embeddings
from function_app.faceapi.local.search_index import (
    MIN_FACES,
    SearchIndex,
    SearchParams,
    cached_search_index,
    search_blob,
)
from function_app.faceapi.local.search_storage import StoredCodes
from function_app.faceapi.local.service import LocalFaceApi
from function_app.faceapi.local.similarity import similar_faces
from function_app.faceapi.local.training import TrainedIndex
from function_app.imaging import decode_image
from function_app.settings import Settings
from function_app.storage import BlobNotFound
from function_app.storage.layout import GALLERY_CONTAINER

from .support.recognition import recognize_bytes
from .support.service import start_server, stop_server
from .support.waiting import wait_for

KEY = f"search-{uuid.uuid4().hex}"
LFW_CENTRE = "50,50,150,150"  # the labelled face of a 250×250 LFW photo
ENROLLED = ("ariel_sharon", "arnold_schwarzenegger", "colin_powell", "donald_rumsfeld", "george_w_bush")
STRANGERS = ("gerhard_schroeder", "jacques_chirac", "vladimir_putin")
LATER = "hugo_chavez"  # enrolled by the second training
# Pruning at this size: 20 faces re-scored by their fine codes, 10 re-ranked by exact distance, of 40.
SMALL = SearchParams(reduced_dims=32, first_stage=20, shortlist=10, training_sample=1000)


@dataclass(frozen=True)
class Embedded:
    index: TrainedIndex
    probes: np.ndarray  # photos 6-10 of each


@pytest.fixture(scope="module")
def embedded(engine, testdata) -> Embedded:
    def embedding(name: str, n: int) -> np.ndarray:
        rgb = decode_image((testdata / "people_lfw" / name / f"{n}.jpg").read_bytes(), max_bytes=1 << 24, max_side=4096)
        face = central_face(engine.detect(rgb), rgb)
        assert face is not None
        return face.required_embedding()

    people = list(ENROLLED) + list(STRANGERS)
    # Everyone enrolled (photos 1-5): more persons to tell apart.
    rows = [embedding(name, n) for name in people for n in range(1, 6)]
    return Embedded(
        TrainedIndex(
            training_id="small",
            embeddings=np.stack(rows).astype(np.float32),
            person_ids=np.array(people),
            person_names=np.array(people),
            person_starts=np.arange(len(people), dtype=np.int64) * 5,
        ),
        np.stack([embedding(name, n) for name in people for n in range(6, 11)]),
    )


def exact_nearest(index: TrainedIndex, queries: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
    distances = np.minimum.reduceat(face_distances(queries, index.embeddings), index.person_starts, axis=1)
    order = np.argsort(distances, axis=1, kind="stable")[:, :count]
    return order, np.take_along_axis(distances, order, axis=1)


def test_the_index_finds_the_exact_nearest_persons_while_re_ranking_a_quarter_of_the_faces(embedded):
    index = embedded.index
    search = SearchIndex.build(index.embeddings, index.person_starts, FUSION, SMALL)
    assert search.params.shortlist * 4 == len(index.embeddings)
    found = search.nearest_persons(embedded.probes, 2, face_distances)
    persons, distances = exact_nearest(index, embedded.probes, 2)
    # The best person of every probe, with its exact distance (float32 products over other rows: to ~1e-5).
    assert (found.persons[:, 0] == persons[:, 0]).all()
    np.testing.assert_allclose(found.distances[:, 0], distances[:, 0], atol=1e-4)
    # The second-best, mostly at its exact distance (the short list may hold another of its faces than its
    # nearest); a margin over it is never larger than the exact one.
    same = found.persons[:, 1] == persons[:, 1]
    assert same.mean() >= 0.5
    assert np.isclose(found.distances[same, 1], distances[same, 1], atol=1e-4).mean() >= 0.9
    assert (found.distances[:, 1] >= distances[:, 1] - 1e-4).all()


def test_a_saved_index_answers_as_the_one_built(embedded):
    index = embedded.index
    built = SearchIndex.build(index.embeddings, index.person_starts, FUSION, SMALL)
    loaded = SearchIndex.from_bytes(built.to_bytes(), index.embeddings, index.person_starts, SMALL)
    a = built.nearest_persons(embedded.probes, 3, face_distances)
    b = loaded.nearest_persons(embedded.probes, 3, face_distances)
    np.testing.assert_array_equal(a.persons, b.persons)
    np.testing.assert_array_equal(a.distances, b.distances)


def test_match_embeddings_above_the_size_gives_the_candidates_of_exact_search(embedded):
    exact = MatchRule(calibrated=True, match_threshold=0.4)
    approximate = MatchRule(calibrated=True, match_threshold=0.4, approximate_from=1)
    for threshold in (None, 0.0):
        expected = match_embeddings(embedded.index, embedded.probes, rule=exact, confidence_threshold=threshold)
        answered = match_embeddings(embedded.index, embedded.probes, rule=approximate, confidence_threshold=threshold)
        assert [[c.person_id for c in found] for found in answered] == [[c.person_id for c in e] for e in expected]
        for found, wanted in zip(answered, expected, strict=True):
            np.testing.assert_allclose([c.confidence for c in found], [c.confidence for c in wanted], atol=1e-4)


# -- through HTTP ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Servers:
    exact: str
    approximate: str


@pytest.fixture(scope="module")
def servers(tmp_path_factory) -> Iterator[Servers]:
    """Two servers on one storage folder: the default (exact at this size) and one searching approximately
    from a single face."""
    folder = tmp_path_factory.mktemp("search")
    env = {"FACE_API_KEY": KEY, "STORAGE_BACKEND": "local", "STORAGE_DIR": str(folder / "data")}
    exact, exact_url = start_server(env, folder / "exact.log")
    try:
        approximate, approximate_url = start_server({**env, "FACE_APPROXIMATE_SEARCH_FROM": "1"}, folder / "approx.log")
        try:
            yield Servers(exact_url, approximate_url)
        finally:
            stop_server(approximate)
    finally:
        stop_server(exact)


def _call(method: str, url: str, *, photo: bytes | None = None, **kwargs) -> requests.Response:
    headers = {"Ocp-Apim-Subscription-Key": KEY}
    if photo is not None:
        headers["Content-Type"] = "application/octet-stream"
    reply = requests.request(method, url, headers=headers, data=photo, timeout=120, **kwargs)
    assert reply.status_code < 300, reply.text
    return reply


def _enroll(base: str, group: str, name: str, testdata) -> str:
    person = _call("POST", f"{base}/persongroups/{group}/persons", json={"name": name}).json()["personId"]
    for n in (1, 2, 3, 4):  # 20 faces of 5 persons: enough to train the codes (MIN_FACES)
        _call(
            "POST",
            f"{base}/persongroups/{group}/persons/{person}/persistedFaces",
            params={"targetFace": LFW_CENTRE},
            photo=(testdata / "people_lfw" / name / f"{n}.jpg").read_bytes(),
        )
    return person


def _train(base: str, group: str) -> None:
    _call("POST", f"{base}/persongroups/{group}/train")

    def trained() -> bool:
        status = _call("GET", f"{base}/persongroups/{group}/training").json()
        assert status["status"] != "failed", status
        return status["status"] == "succeeded"

    wait_for(trained)


def _identify(url: str, group: str, photos: list[bytes]) -> list[list[tuple[str, float]]]:
    """The central face of each photo identified, every candidate down to confidence 0."""
    base = f"{url}/face/v1.0"
    answers = []
    for photo in photos:
        faces = _call("POST", f"{base}/detect", params={"returnFaceId": "true"}, photo=photo).json()
        face = min(faces, key=lambda f: abs(f["faceRectangle"]["left"] + f["faceRectangle"]["width"] / 2 - 125))
        body = {
            "personGroupId": group,
            "faceIds": [face["faceId"]],
            "maxNumOfCandidatesReturned": 5,
            "confidenceThreshold": 0,
        }
        [result] = _call("POST", f"{base}/identify", json=body).json()
        answers.append([(c["personId"], c["confidence"]) for c in result["candidates"]])
    return answers


def test_identify_over_http_answers_as_exact_search_and_follows_a_new_training(servers, testdata):
    base = f"{servers.exact}/face/v1.0"
    group = f"search-{uuid.uuid4().hex[:8]}"
    _call("PUT", f"{base}/persongroups/{group}", json={"name": group})
    persons = {_enroll(base, group, name, testdata): name for name in ENROLLED}
    _train(base, group)
    photos = [(testdata / "people_lfw" / name / "5.jpg").read_bytes() for name in (*ENROLLED, *STRANGERS, LATER)]
    exact = _identify(servers.exact, group, photos)
    approximate = _identify(servers.approximate, group, photos)
    assert [[p for p, _ in found] for found in approximate] == [[p for p, _ in found] for found in exact]
    for found, wanted in zip(approximate, exact, strict=True):
        np.testing.assert_allclose([c for _, c in found], [c for _, c in wanted], atol=1e-4)
    assert [persons[found[0][0]] for found in approximate[: len(ENROLLED)]] == list(ENROLLED)

    # A person enrolled and trained since: the approximate server searches the new training's index.
    later = _enroll(base, group, LATER, testdata)
    _train(base, group)

    def named_later() -> bool:  # within a second: each instance reads a group's training status once a second
        [found] = _identify(servers.approximate, group, photos[-1:])
        return found[0][0] == later and found[0][1] >= 0.75

    wait_for(named_later, timeout=10)


def test_find_similar_above_the_size_gives_the_faces_of_exact_search(embedded):
    # The trained index's persons stand for single faces here, as in a large face list.
    exact = MatchRule(calibrated=True, match_threshold=0.4)
    approximate = MatchRule(calibrated=True, match_threshold=0.4, approximate_from=1)
    for mode in MatchMode:
        for query in embedded.probes:
            wanted = similar_faces(embedded.index, query, rule=exact, max_candidates=4, mode=mode)
            found = similar_faces(embedded.index, query, rule=approximate, max_candidates=4, mode=mode)
            assert [f for f, _ in found] == [f for f, _ in wanted]
            np.testing.assert_allclose([c for _, c in found], [c for _, c in wanted], atol=1e-4)


# -- stored by training ------------------------------------------------------------------------------------


def _as_another_instance() -> None:
    """This process's caches of trained and search indexes emptied, as in an instance that just started."""
    training._index_cache.clear()
    search_index._cache.clear()


def _enrolled_api(storage, engine, testdata) -> tuple[LocalFaceApi, str]:
    """A group of 20 faces trained by an instance that stores search indexes from 16 faces (MIN_FACES)."""
    api = LocalFaceApi(storage, engine, replace(Settings(), approximate_search_from=MIN_FACES))
    group = f"stored-{uuid.uuid4().hex[:8]}"
    api.create_group(group, group)
    centre = parse_target_face(LFW_CENTRE)
    for name in ENROLLED:
        person = api.create_person(group, name).person_id
        for n in (1, 2, 3, 4):
            api.add_face(group, person, (testdata / "people_lfw" / name / f"{n}.jpg").read_bytes(), target_face=centre)
    assert api.train(group).status == "succeeded"
    return api, group


def _stored(storage, index_blob: str) -> StoredCodes:
    return StoredCodes.from_bytes(storage.get_blob(GALLERY_CONTAINER, search_blob(index_blob)).data)


def _answers(index, probes: np.ndarray) -> tuple[list[list[str]], list[list[str]]]:
    """Every candidate of each probe (down to confidence 0): through the search index, and by exact search."""
    exact = MatchRule(calibrated=True, match_threshold=0.4)
    approximate = MatchRule(calibrated=True, match_threshold=0.4, approximate_from=MIN_FACES)
    found = match_embeddings(index, probes, rule=approximate, confidence_threshold=0.0)
    wanted = match_embeddings(index, probes, rule=exact, confidence_threshold=0.0)
    return [[c.person_id for c in f] for f in found], [[c.person_id for c in w] for w in wanted]


def test_training_stores_the_search_index_and_another_instance_reads_it_instead_of_building_it(
    storage, engine, testdata, embedded
):
    api, group = _enrolled_api(storage, engine, testdata)
    index_blob = api.trainer.load_index(group).training_id
    stored = _stored(storage, index_blob)
    assert stored.index.ntotal == 20 and stored.trained_on == 20
    # Another instance: nothing cached; loading the trained index loads its search index with it.
    _as_another_instance()
    other = LocalFaceApi(storage, engine, replace(Settings(), approximate_search_from=MIN_FACES))
    index = other.trainer.load_index(group)
    searched = cached_search_index(index.training_id, index.embeddings)
    assert searched is not None and searched.positions is not None
    found, wanted = _answers(index, embedded.probes)
    assert found == wanted


def test_a_retraining_extends_the_stored_search_index_and_leaves_deleted_faces_out(storage, engine, testdata, embedded):
    api, group = _enrolled_api(storage, engine, testdata)
    first = api.trainer.load_index(group).training_id
    first_codes = _stored(storage, first)
    # One person more: the codes of the first training, extended by the new chunk's row.
    person = api.create_person(group, LATER).person_id
    api.add_face(group, person, (testdata / "people_lfw" / LATER / "1.jpg").read_bytes())
    assert api.train(group).status == "succeeded"
    second = api.trainer.load_index(group)
    codes = _stored(storage, second.training_id)
    assert codes.chunks[:-1] == first_codes.chunks and len(codes.chunks) == len(first_codes.chunks) + 1
    assert codes.index.ntotal == 21 and codes.trained_on == first_codes.trained_on
    with pytest.raises(BlobNotFound):  # the replaced training's search index went with it
        storage.get_blob(GALLERY_CONTAINER, search_blob(first))
    # A person deleted: no chunk changes, its rows stay in the codes and are left out of the answers.
    bush = next(p for p, n in zip(second.person_ids, second.person_names, strict=True) if n == "george_w_bush")
    api.delete_person(group, str(bush))
    assert api.train(group).status == "succeeded"
    _as_another_instance()
    third = api.trainer.load_index(group)
    assert _stored(storage, third.training_id).index.ntotal == 21 and len(third.embeddings) == 17
    assert cached_search_index(third.training_id, third.embeddings) is not None
    found, wanted = _answers(third, embedded.probes)
    assert found == wanted and all(str(bush) not in f for f in found)
    probe = (testdata / "people_lfw" / LATER / "5.jpg").read_bytes()
    assert LATER in [f.name for f in recognize_bytes(api, group, probe)]


def test_a_damaged_stored_search_index_is_built_again_on_first_use(storage, engine, testdata):
    api, group = _enrolled_api(storage, engine, testdata)
    index_blob = api.trainer.load_index(group).training_id
    storage.put_blob(GALLERY_CONTAINER, search_blob(index_blob), b"not a search index")
    _as_another_instance()
    other = LocalFaceApi(storage, engine, replace(Settings(), approximate_search_from=MIN_FACES))
    index = other.trainer.load_index(group)
    assert cached_search_index(index.training_id, index.embeddings) is None
    probe = (testdata / "people_lfw" / "colin_powell" / "5.jpg").read_bytes()
    assert "colin_powell" in [f.name for f in recognize_bytes(other, group, probe)]
    assert cached_search_index(index.training_id, index.embeddings) is not None
