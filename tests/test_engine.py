"""The local engine on real photos."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np
import pytest

from function_app.engines import create_engine
from function_app.engines.dlib_engine import DlibFaceEngine
from function_app.imaging import decode_image
from function_app.settings import Settings


def load(testdata, name: str) -> np.ndarray:
    return decode_image((testdata / name).read_bytes(), max_bytes=1 << 30, max_side=8192)


def manifest_counts() -> list[tuple[str, int, str]]:
    """(file, num_faces, sha256) of the photos whose face count MANIFEST.json states; the LFW
    counts are marked there as not visually checked, so they are left out."""
    from .conftest import TESTDATA

    manifest = TESTDATA / "MANIFEST.json"
    if not manifest.exists():
        return []
    return [
        (f["file"], f["num_faces"], f["sha256"])
        for f in json.loads(manifest.read_text())["files"]
        if f["file"].startswith(("people/", "scenes/")) and isinstance(f["num_faces"], int)
    ]


@pytest.mark.parametrize(("photo", "count", "sha256"), manifest_counts() or [("", 0, "")])
def test_face_counts_match_the_manifest(engine, testdata, photo, count, sha256):
    data = (testdata / photo).read_bytes()
    assert hashlib.sha256(data).hexdigest() == sha256, f"{photo} is not the file the manifest describes"
    rgb = decode_image(data, max_bytes=1 << 30, max_side=8192)
    assert len(engine.detect(rgb, embeddings=False)) == count


def test_models_load_once_per_process():
    engine = create_engine(Settings())
    assert create_engine(Settings(storage_backend="azure", match_threshold=0.3)) is engine
    other = create_engine(Settings(detect_upsample=0))
    assert other is not engine
    assert isinstance(engine, DlibFaceEngine) and isinstance(other, DlibFaceEngine)
    assert other._embedder is engine._embedder  # the model files are read once, whichever engine


def test_detected_face_has_rectangle_landmarks_pose_quality_and_embedding(engine, testdata):
    rgb = load(testdata, "people/obama/1.jpg")
    [face] = engine.detect(rgb)
    r = face.rectangle
    assert 0 <= r.left < r.right <= rgb.shape[1] and 0 <= r.top < r.bottom <= rgb.shape[0]
    assert 200 < r.width < 320  # a portrait: the face is large
    lm = face.landmarks
    # The 5-point model gives the pupils (image-left left of image-right, level) and nothing it cannot.
    assert lm.pupil_left.x + 40 < lm.pupil_right.x and abs(lm.pupil_left.y - lm.pupil_right.y) < 10
    assert (lm.nose_tip, lm.mouth_left, lm.mouth_right) == (None, None, None)
    for point in (lm.pupil_left, lm.pupil_right):
        assert r.left <= point.x <= r.right and r.top <= point.y <= r.bottom
    assert set(face.to_dict()["faceLandmarks"]) == {"pupilLeft", "pupilRight"}
    pose = face.head_pose  # an official portrait
    assert abs(pose.yaw) < 15 and abs(pose.roll) < 10 and abs(pose.pitch) < 20
    assert face.quality.blur_level == "low"
    assert face.quality.exposure_level == "goodExposure"
    assert face.quality.quality_for_recognition == "high"
    # dlib's 128 values then faceres's 1024, each part L2-normalised.
    assert face.embedding.shape == (128 + 1024,) and face.embedding.dtype == np.float32
    assert np.linalg.norm(face.embedding[:128]) == pytest.approx(1.0, abs=1e-5)
    assert np.linalg.norm(face.embedding[128:]) == pytest.approx(1.0, abs=1e-5)
    body = face.to_dict()
    assert set(body) == {"faceRectangle", "faceLandmarks", "faceAttributes"}
    assert body["faceRectangle"] == {"top": r.top, "left": r.left, "width": r.width, "height": r.height}


def test_the_default_engine_never_loads_the_68_point_model():
    # A fresh process: another test may have loaded the 68-point model in this one.
    code = (
        "from function_app.engines import create_engine, dlib_engine, model_files; "
        "from function_app.settings import Settings; import numpy as np; "
        "create_engine(Settings()).detect(np.zeros((64, 64, 3), np.uint8)); "
        "print(sorted(dlib_engine._loaded))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert "shape_predictor_5" in result.stdout and "shape_predictor_68" not in result.stdout


def test_the_68_point_model_adds_the_nose_tip_and_mouth_when_chosen(testdata):
    rgb = load(testdata, "people/obama/1.jpg")
    [face] = create_engine(Settings(landmark_model="68-point")).detect(rgb, embeddings=False)
    lm = face.landmarks
    assert lm.nose_tip and lm.mouth_left and lm.mouth_right
    # Pupils above the nose tip, above the mouth; image-left pupil left of the image-right one.
    assert lm.pupil_left.x < lm.nose_tip.x < lm.pupil_right.x
    assert lm.pupil_left.y < lm.nose_tip.y < lm.mouth_left.y
    assert lm.mouth_left.x < lm.mouth_right.x
    assert abs(face.head_pose.yaw) < 15 and abs(face.head_pose.roll) < 10


def test_5_point_yaw_agrees_with_the_68_point_fit_and_mirrors(engine, testdata):
    """The 5-point pose, on the LFW photos turned more than 15° by the 68-point fit: same side, and
    the mirrored photo turned the other way by as much."""
    wide = create_engine(Settings(landmark_model="68-point"))
    turned = agreed = 0
    for photo in sorted((testdata / "people_lfw").glob("*/*.jpg")):
        rgb = load(testdata, str(photo.relative_to(testdata)))
        faces, reference = engine.detect(rgb, embeddings=False), wide.detect(rgb, embeddings=False)
        if not faces or abs(reference[0].head_pose.yaw) < 15:
            continue
        turned += 1
        yaw = faces[0].head_pose.yaw
        agreed += np.sign(yaw) == np.sign(reference[0].head_pose.yaw)
        mirrored = engine.detect(np.ascontiguousarray(rgb[:, ::-1]), embeddings=False)[0].head_pose.yaw
        assert mirrored == pytest.approx(-yaw, abs=10)  # the shape predictor is not exactly symmetric
    assert turned >= 10 and agreed >= 0.8 * turned


def test_roll_follows_image_rotation(engine, testdata):
    rgb = load(testdata, "people/obama/1.jpg")
    h, w = rgb.shape[:2]
    base = engine.detect(rgb, embeddings=False)[0].head_pose.roll
    for angle in (-15, 15):  # OpenCV: positive angles turn the image counter-clockwise
        turned = cv2.warpAffine(rgb, cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0), (w, h))
        roll = engine.detect(turned, embeddings=False)[0].head_pose.roll
        assert roll - base == pytest.approx(-angle, abs=4)


def test_blur_measure_rises_with_blur(engine, testdata):
    rgb = load(testdata, "people/obama/1.jpg")
    values = [engine.detect(cv2.GaussianBlur(rgb, (0, 0), s) if s else rgb)[0].quality for s in (0, 3, 9)]
    assert values[0].blur_value < values[1].blur_value < values[2].blur_value
    assert [v.blur_level for v in values] == ["low", "medium", "high"]
    assert values[2].quality_for_recognition == "low"


def test_faces_are_ranked_largest_first(engine, testdata):
    # BlazeFace finds the two named people here; HOG also finds the child in the lower right.
    faces = engine.detect(load(testdata, "scenes/obama_and_biden.jpg"))
    areas = [f.rectangle.area() for f in faces]
    assert len(faces) >= 2 and areas == sorted(areas, reverse=True)


def test_same_person_is_closer_than_different_people(engine, testdata):
    def embedding(name):
        return engine.detect(load(testdata, name))[0].embedding

    obama1, obama2, biden = (
        embedding("people/obama/1.jpg"),
        embedding("people/obama/2.jpg"),
        embedding("people/biden/1.jpg"),
    )
    for part in (slice(0, 128), slice(128, None)):  # dlib's network, then faceres
        same, different = np.linalg.norm(obama1[part] - obama2[part]), np.linalg.norm(obama1[part] - biden[part])
        assert same < different - 0.1


def test_no_face_in_a_photo_without_one(engine, testdata):
    rgb = load(testdata, "people/obama/1.jpg")
    assert engine.detect(np.ascontiguousarray(rgb[-300:, :400])) == []  # the desk, below the face


def test_safe_from_several_threads(engine, testdata):
    photos = ["people/obama/1.jpg", "people/biden/2.jpg", "scenes/two_people.jpg", "people_lfw/colin_powell/1.jpg"]
    images = [load(testdata, p) for p in photos]
    expected = [[f.embedding for f in engine.detect(img)] for img in images]
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(engine.detect, images * 3))
    for i, faces in enumerate(results):
        want = expected[i % len(images)]
        assert len(faces) == len(want)
        for face, vector in zip(faces, want, strict=True):
            assert np.allclose(face.embedding, vector, atol=1e-6)


def test_cnn_detector_is_selectable(testdata):
    cnn = create_engine(Settings(detector="cnn", detect_max_side=640))
    assert len(cnn.detect(load(testdata, "scenes/two_people.jpg"), embeddings=False)) == 2
