"""The fast path gives dlib's answers: the ONNX network against dlib's own on every face of the test
photos, and the fast engine against the dlib reference engine on the calibration set's decisions."""

from __future__ import annotations

import os
from pathlib import Path

import dlib
import numpy as np
import pytest

from benchmarks.calibrate_threshold import collect, nearest
from function_app.engines import model_files
from function_app.engines.dlib_engine import DlibFaceEngine
from function_app.engines.onnx_embedding import OnnxFaceEmbedder, cached_model
from function_app.imaging import decode_image
from function_app.settings import Settings


@pytest.fixture(scope="module")
def reference() -> DlibFaceEngine:
    return DlibFaceEngine("hog", 1, 1280, embedding="dlib")


@pytest.fixture(scope="module")
def fast() -> DlibFaceEngine:
    return DlibFaceEngine()


def all_photos(testdata: Path) -> list[Path]:
    return sorted(p for folder in ("people", "people_lfw", "scenes") for p in (testdata / folder).rglob("*.*"))


def test_onnx_network_equals_dlibs_on_every_face_of_the_test_photos(testdata, reference, fast):
    """Same chips (dlib's own alignment of HOG faces), both networks: cosine ≥ 0.999 on every face."""
    embedder = dlib.face_recognition_model_v1(str(model_files.model_path(model_files.RESNET_EMBEDDING)))
    cosines = []
    for photo in all_photos(testdata):
        rgb = decode_image(photo.read_bytes(), max_bytes=1 << 30, max_side=8192)
        shapes5, _ = reference.landmarks(rgb, reference.find_faces(rgb))
        if not shapes5:
            continue
        chips = dlib.get_face_chips(rgb, dlib.full_object_detections(shapes5), size=150, padding=0.25)
        ours = fast.descriptors(np.stack(chips))  # the network alone, without the mirrored chips
        ours /= np.linalg.norm(ours, axis=1, keepdims=True)
        theirs = np.array([embedder.compute_face_descriptor(chip) for chip in chips])
        theirs /= np.linalg.norm(theirs, axis=1, keepdims=True)
        cosines.extend(np.sum(ours * theirs, axis=1))
    assert len(cosines) >= 120
    assert min(cosines) >= 0.999, f"min cosine {min(cosines):.6f}"


def test_with_the_same_detector_the_fast_engine_gives_dlib_s_embeddings_end_to_end(testdata, fast):
    """The product's configuration (BlazeFace boxes, dlib's landmarks and chips), embedded by the
    ONNX network and by dlib's own: cosine ≥ 0.999 on every face the detector finds."""
    dlib_embedding = DlibFaceEngine("blazeface", embedding="dlib")
    cosines: list[float] = []
    for photo in all_photos(testdata):
        rgb = decode_image(photo.read_bytes(), max_bytes=1 << 30, max_side=8192)
        ours, theirs = fast.detect(rgb), dlib_embedding.detect(rgb)
        assert [f.rectangle for f in ours] == [f.rectangle for f in theirs]
        cosines.extend(float(a.embedding @ b.embedding) for a, b in zip(ours, theirs, strict=True))
    assert len(cosines) >= 120
    assert min(cosines) >= 0.999, f"min cosine {min(cosines):.6f}"


def test_fast_engine_makes_every_identification_decision_of_the_dlib_engine(testdata, reference, fast):
    """The calibration split (docs/calibration.md) at the default threshold: the same name or the
    same "unknown" for every probe, whatever detector, landmarks box and runtime are used."""
    threshold = Settings().match_threshold

    def decisions(engine):
        enrolled, known, unknown, missing = collect(testdata, engine)
        answers = []
        for truth, embedding in known + unknown:
            name, distance = nearest(enrolled, embedding)
            answers.append((truth, name if distance <= threshold else "unknown"))
        return answers, missing

    assert decisions(fast) == decisions(reference)


def test_onnx_model_is_cached_and_rebuilt_when_the_dat_file_changes(tmp_path):
    dat = tmp_path / "resnet.dat"
    original = model_files.model_path(model_files.RESNET_EMBEDDING).read_bytes()
    dat.write_bytes(original)
    cache = tmp_path / "cache"
    first = cached_model(dat, cache)
    [built] = cache.glob("*.onnx")
    assert built.read_bytes() == first
    built_at = built.stat().st_mtime_ns
    assert cached_model(dat, cache) == first and built.stat().st_mtime_ns == built_at  # read, not rebuilt

    # The same network with one weight changed, as a new version of the file would be.
    changed = bytearray(original)
    changed[-200:-196] = np.float32(0.5).tobytes()
    dat.write_bytes(bytes(changed))
    second = cached_model(dat, cache)
    assert second != first
    assert len(list(cache.glob("*.onnx"))) == 2
    assert cached_model(dat, cache) == second
    assert cached_model(dat, cache) == second  # and the rebuilt one is the one read from now on


def test_the_build_is_deterministic(tmp_path):
    dat = model_files.model_path(model_files.RESNET_EMBEDDING)
    assert cached_model(dat, tmp_path / "a") == cached_model(dat, tmp_path / "b")


def test_an_unwritable_cache_still_gives_a_working_embedder(tmp_path):
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the cache folder would be")
    embedder = OnnxFaceEmbedder(model_files.model_path(model_files.RESNET_EMBEDDING), blocked / "cache")
    vectors = embedder.descriptors(np.zeros((2, 150, 150, 3), np.uint8))
    assert vectors.shape == (2, 128) and np.isfinite(vectors).all()


def test_faces_of_a_frame_are_embedded_in_one_batch(testdata, fast):
    rgb = decode_image((testdata / "scenes/two_people.jpg").read_bytes(), max_bytes=1 << 30, max_side=8192)
    faces = fast.detect(rgb)
    shapes5, _ = fast.landmarks(rgb, fast.find_faces(rgb))
    one_by_one = [fast.embed_aligned(rgb, [shape])[0] for shape in shapes5]
    batched = fast.embed_aligned(rgb, shapes5)
    assert len(faces) == 2
    assert np.allclose(np.stack(one_by_one), np.stack(batched), atol=1e-5)


def test_dlib_reference_engine_is_selectable():
    from function_app.engines import create_engine

    engine = create_engine(Settings.from_env({"FACE_ENGINE": "dlib", "FACE_DETECTOR": "hog"}))
    assert isinstance(engine, DlibFaceEngine) and engine.name == "dlib" and engine.detector_name == "hog"
    assert create_engine(Settings()).name == "local"
    with pytest.raises(ValueError, match="FACE_ENGINE"):
        create_engine(Settings.from_env({"FACE_ENGINE": "cloud"}))


def test_default_cache_dir_follows_xdg_cache_home(monkeypatch, tmp_path):
    from function_app.engines.onnx_embedding import default_cache_dir

    monkeypatch.setitem(os.environ, "XDG_CACHE_HOME", str(tmp_path))
    assert default_cache_dir() == tmp_path / "video-face-recognition"


def test_a_missing_detector_package_is_reported_with_the_fix(monkeypatch):
    from function_app.engines import blazeface
    from function_app.engines.model_files import ModelFilesMissing

    monkeypatch.setattr(blazeface, "MODEL_PACKAGE", "no_such_package_for_blazeface")
    with pytest.raises(ModelFilesMissing, match=r"requirements-nodeps\.txt"):
        blazeface.model_path()


@pytest.mark.parametrize(
    ("detector", "where"),
    [
        ("blazeface", (320, 240)),
        ("blazeface-small", (320, 240)),
        ("blazeface-small", (60, 60)),
        ("blazeface-small", (580, 420)),
        ("blazeface-small", (100, 380)),
    ],
)
def test_faces_of_40_px_in_a_640x480_frame_are_found(testdata, reference, detector, where):
    """Each single-face photo shrunk until HOG's box is 40 px wide and put into a 640×480 frame: the
    default detector finds them all at the centre; blazeface-small anywhere, near the corners too."""
    fast = DlibFaceEngine(detector)
    import cv2

    photos = sorted((testdata / "people").glob("*/*")) + [
        testdata / "scenes" / name for name in ("obama1.jpg", "obama3.jpg", "johnsnow_test1.jpg", "obama_small.jpg")
    ]
    missed = []
    for photo in photos:
        rgb = decode_image(photo.read_bytes(), max_bytes=1 << 30, max_side=8192)
        [face] = reference.find_faces(rgb)
        scale = 40 / face.rect.width()
        small = cv2.resize(rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        cx, cy = face.rect.center().x * scale, face.rect.center().y * scale
        dx, dy = round(where[0] - cx), round(where[1] - cy)
        shift = np.array([[1, 0, dx], [0, 1, dy]], np.float32)
        frame = cv2.warpAffine(small, shift, (640, 480), borderValue=(100, 100, 100))
        found = [f.rect for f in fast.find_faces(frame)]
        if not any(abs(r.center().x - where[0]) < 20 and abs(r.center().y - where[1]) < 20 for r in found):
            missed.append(photo.name)
    assert missed == []
