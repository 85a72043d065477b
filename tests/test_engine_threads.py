"""The default engine called from several threads at once (as the server's request threads call it, without a
lock since BlazeFace has an interpreter per thread): every photo's faces and embeddings are exactly those of the
same photos detected one after another."""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from function_app.engines import create_engine
from function_app.imaging import decode_upload
from function_app.settings import Settings

PHOTOS = ("scenes/two_people.jpg", "scenes/obama1.jpg", "people/obama/1.jpg", "people/biden/1.jpg")


def test_threads_detecting_and_embedding_at_once_get_what_one_thread_gets(testdata):
    settings = Settings()
    engine = create_engine(settings)
    images = [decode_upload((testdata / photo).read_bytes(), settings).rgb for photo in PHOTOS]

    def faces(i: int) -> list[tuple[tuple[int, int, int, int], np.ndarray]]:
        found = engine.detect(images[i])
        return [
            ((f.rectangle.left, f.rectangle.top, f.rectangle.width, f.rectangle.height), f.required_embedding())
            for f in found
        ]

    alone = [faces(i) for i in range(len(images))]
    assert all(alone) and sum(len(found) for found in alone) >= 5
    work = [i for i in range(len(images)) for _ in range(6)]
    random.Random(7).shuffle(work)
    with ThreadPoolExecutor(max_workers=4) as pool:
        together = list(pool.map(faces, work))
    for i, found in zip(work, together, strict=True):
        assert [box for box, _ in found] == [box for box, _ in alone[i]], PHOTOS[i]
        for (_, vector), (_, expected) in zip(found, alone[i], strict=True):
            np.testing.assert_allclose(vector, expected, atol=1e-5)
