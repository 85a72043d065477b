"""The faceres network converted from TF.js to ONNX: checked against TensorFlow.js itself on real faces, and
the embedder on real photos."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from function_app.engines import faceres, tfjs_to_onnx
from function_app.engines.fusion import FusionNorm
from function_app.engines.model_files import ModelFilesMissing
from function_app.imaging import decode_image
from function_app.models import FaceRectangle

from .support import tensorflow_js

PROJECT = Path(__file__).resolve().parents[1]


def decode(path: Path) -> np.ndarray:
    return decode_image(path.read_bytes(), max_bytes=1 << 24, max_side=4096)


@pytest.fixture(scope="module")
def model_json() -> Path:
    try:
        return faceres.model_json_path()
    except ModelFilesMissing as missing:
        pytest.skip(f"{missing}")


@pytest.fixture(scope="module")
def embedder(model_json, tmp_path_factory) -> faceres.FaceresEmbedder:
    return faceres.FaceresEmbedder(tmp_path_factory.mktemp("cache"), model_json)


TWO_PEOPLE = [
    FaceRectangle(top=85, left=790, width=160, height=160),
    FaceRectangle(top=62, left=240, width=143, height=143),
]


def real_crops(testdata: Path) -> np.ndarray:
    """faceres's input crops of real faces: the two faces of a scene, a large face and two LFW photos, in the
    boxes the engine finds (fixed here, so that the check needs no detector)."""
    photos = [
        ("scenes/two_people.jpg", TWO_PEOPLE[0]),
        ("scenes/two_people.jpg", TWO_PEOPLE[1]),
        ("scenes/obama1.jpg", FaceRectangle(top=197, left=530, width=405, height=406)),
        ("people_lfw/colin_powell/1.jpg", FaceRectangle(top=84, left=70, width=96, height=96)),
        ("people_lfw/vladimir_putin/2.jpg", FaceRectangle(top=72, left=63, width=120, height=120)),
    ]
    return np.concatenate([faceres.face_crops(decode(testdata / path), [box]) for path, box in photos])


def test_onnx_conversion_matches_tensorflow_js_on_real_faces(model_json, embedder, testdata, tmp_path):
    crops = real_crops(testdata)
    reference = tensorflow_js.run(model_json, faceres.network_input(crops), faceres.OUTPUT_NAME, tmp_path)
    converted = embedder.features(crops)
    cosine = (
        np.sum(reference * converted, axis=1) / np.linalg.norm(reference, axis=1) / np.linalg.norm(converted, axis=1)
    )
    assert converted.shape == reference.shape == (5, 1024)
    assert cosine.min() >= 0.99999, cosine
    assert np.abs(reference - converted).max() <= 1e-4 * np.abs(reference).max()


def test_every_output_of_the_graph_converts_including_the_age_and_gender_heads(model_json, testdata, tmp_path):
    graph = tfjs_to_onnx.parse(model_json.read_bytes(), lambda name: (model_json.parent / name).read_bytes())
    model = tfjs_to_onnx.convert(graph, ["age_pred/Softmax:0"])
    from function_app.engines.onnx_models import single_thread_session

    crops = faceres.network_input(real_crops(testdata)[:2])
    ages = single_thread_session(model).run(None, {faceres.INPUT_NAME: crops})[0]
    reference = tensorflow_js.run(model_json, crops, "age_pred/Softmax", tmp_path)
    assert ages.shape == (2, 100) and np.allclose(ages.sum(axis=1), 1, atol=1e-4)
    assert np.abs(ages - reference).max() < 1e-4


def test_embeddings_are_unit_vectors_and_tell_people_apart(embedder, testdata):
    def embedding(path: str) -> np.ndarray:
        return embedder.embed(decode(testdata / path), [FaceRectangle(top=75, left=75, width=100, height=100)])[0]

    powell = [embedding(f"people_lfw/colin_powell/{n}.jpg") for n in (1, 2, 3)]
    others = [embedding(f"people_lfw/{who}/1.jpg") for who in ("george_w_bush", "hugo_chavez", "jacques_chirac")]
    assert all(v.dtype == np.float32 and v.shape == (1024,) and abs(np.linalg.norm(v) - 1) < 1e-5 for v in powell)
    same = [1 - float(a @ b) for i, a in enumerate(powell) for b in powell[i + 1 :]]
    different = [1 - float(a @ b) for a in powell for b in others]
    assert max(same) < min(different), (same, different)


def test_all_faces_of_a_frame_are_embedded_in_one_call_in_their_order(embedder, testdata):
    rgb = decode(testdata / "scenes" / "two_people.jpg")
    batched = embedder.embed(rgb, TWO_PEOPLE)
    one_by_one = np.concatenate([embedder.embed(rgb, [box]) for box in TWO_PEOPLE])
    assert batched.shape == (2, 1024)
    assert np.allclose(batched, one_by_one, atol=1e-5)
    assert embedder.embed(rgb, []).shape == (0, 1024)


def test_a_box_at_the_edge_of_the_image_is_clipped_not_wrapped(testdata):
    rgb = decode(testdata / "scenes" / "obama1.jpg")
    [crop] = faceres.face_crops(rgb, [FaceRectangle(top=0, left=0, width=40, height=40)])
    inside = faceres.face_crops(rgb[:48, :48], [FaceRectangle(top=0, left=0, width=48, height=48)], margin=0)
    assert crop.shape == (224, 224, 3) and np.array_equal(crop, inside[0])


def test_converted_once_then_read_from_the_cache(model_json, tmp_path):
    first, digest = faceres.cached_model(tmp_path, model_json)
    [built] = tmp_path.glob("*.onnx")
    assert built.name == f"faceres-{digest}-v{faceres.CONVERTER_VERSION}.onnx" and built.read_bytes() == first
    built_at = built.stat().st_mtime_ns
    assert faceres.cached_model(tmp_path, model_json) == (first, digest)
    assert built.stat().st_mtime_ns == built_at and not list(tmp_path.glob("*.tmp"))


def test_the_mean_vector_belongs_to_the_installed_model(model_json):
    mean = faceres.DevMean.load()
    assert mean.vector.shape == (1024,) and mean.faces >= 90 and "dev" in mean.source
    assert faceres.TfjsModel.read(model_json).digest() == mean.model_digest


def test_other_model_files_than_the_mean_was_taken_with_are_refused(model_json, tmp_path):
    stale = faceres.DevMean("0" * 16, "another model", 1, np.zeros(1024, np.float32))
    with pytest.raises(ModelFilesMissing, match="mean vector"):
        faceres.FaceresEmbedder(tmp_path, model_json, stale)


def test_weight_shards_are_confined_to_the_model_folder(tmp_path):
    (tmp_path / "models").mkdir()
    (tmp_path / "secret.bin").write_bytes(b"\0" * 4)
    manifest = [{"paths": ["../secret.bin"], "weights": [{"name": "w", "shape": [1], "dtype": "float32"}]}]
    model = tmp_path / "models" / "model.json"
    model.write_text(json.dumps({"format": "graph-model", "modelTopology": {"node": []}, "weightsManifest": manifest}))
    with pytest.raises(ValueError, match="outside"):
        faceres.TfjsModel.read(model)


def test_quantised_weights_are_restored():
    values = np.array([0.5, -1.25, 3.0], np.float32)
    codes = np.array([0, 17, 255], np.uint8)
    manifest = [
        {
            "paths": ["w.bin"],
            "weights": [
                {"name": "half", "shape": [3], "dtype": "float32", "quantization": {"dtype": "float16"}},
                {
                    "name": "bytes",
                    "shape": [3],
                    "dtype": "float32",
                    "quantization": {"dtype": "uint8", "scale": 0.5, "min": -2},
                },
                {"name": "axes", "shape": [2], "dtype": "int32"},
            ],
        }
    ]
    shard = values.astype(np.float16).tobytes() + codes.tobytes() + np.array([1, 2], np.int32).tobytes()
    weights = tfjs_to_onnx.read_weights(manifest, [shard])
    assert np.array_equal(weights["half"], values)
    assert np.allclose(weights["bytes"], codes * 0.5 - 2)
    assert weights["axes"].dtype == np.int32 and list(weights["axes"]) == [1, 2]


def test_fusion_statistics_come_from_the_dev_split_and_centre_a_typical_stranger_on_zero(tmp_path):
    norm = FusionNorm.load()
    assert "testdata/dev" in norm.source and "calibration" not in norm.source
    for stats in (norm.dlib, norm.faceres):
        assert stats.genuine_mean + 2 * stats.genuine_std < stats.impostor_mean
    typical = norm.fused(np.array([norm.dlib.impostor_mean]), np.array([norm.faceres.impostor_mean]))
    same = norm.fused(np.array([norm.dlib.genuine_mean]), np.array([norm.faceres.genuine_mean]))
    assert abs(typical[0]) < 1e-9 and same[0] < -3
    norm.save(tmp_path / "norm.json")
    assert FusionNorm.load(tmp_path / "norm.json") == norm


def test_the_azure_package_carries_the_converted_model_and_the_app_runs_it_without_node_modules(
    model_json, testdata, tmp_path, monkeypatch
):
    script = (PROJECT / "scripts" / "package-azure").read_text()
    [into] = re.findall(r"-m function_app\.engines\.faceres --into (\S+)", script)
    assert PROJECT / into == faceres.PACKAGED_MODELS
    packaged = tmp_path / "python_packages" / "models"
    command = [sys.executable, "-m", "function_app.engines.faceres", "--into", str(packaged)]
    subprocess.run(command, cwd=PROJECT, check=True, capture_output=True)
    monkeypatch.setattr(faceres, "PACKAGED_MODELS", packaged)

    def not_installed() -> Path:
        raise ModelFilesMissing("node_modules is not deployed")

    monkeypatch.setattr(faceres, "model_json_path", not_installed)
    embedder = faceres.FaceresEmbedder(tmp_path / "unused-cache")
    assert not (tmp_path / "unused-cache").exists()
    vectors = embedder.embed(decode(testdata / "scenes" / "two_people.jpg"), TWO_PEOPLE)
    assert vectors.shape == (2, 1024) and np.isfinite(vectors).all()
