"""`GET /api/health` and `GET /api/metrics` over real HTTP (`python -m function_app serve` as a subprocess): the
counters rise with real frames of a real photo, the latency histogram has its buckets, the queue gauges see
messages sent to a real Azurite, health is 200 on a running server and 503 naming the storage while its Azurite is
stopped; and the Azure Monitor exporter sends the metrics to an ingestion endpoint (a local one that records what
Application Insights would receive, its documented track API)."""

from __future__ import annotations

import gzip
import json
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from function_app.metrics import LATENCY_BUCKETS
from function_app.storage.azure_storage import AzureStorage
from function_app.storage.layout import ENROLL_QUEUE, UNKNOWN_VISITS_QUEUE, poison_queue

from .support import azurite
from .support.images import blank_jpeg, still_camera
from .support.service import start_server, stop_server
from .support.waiting import wait_for

KEY = f"ops-{uuid.uuid4().hex}"
GROUPS = "/face/v1.0/persongroups"


class Server:
    def __init__(self, url: str):
        self.url = url

    def call(self, method: str, path: str, key: str | None = KEY, **kw) -> requests.Response:
        headers = {"Ocp-Apim-Subscription-Key": key} if key else {}
        return requests.request(method, f"{self.url}{path}", headers=headers, timeout=120, **kw)

    def samples(self) -> dict[tuple[str, frozenset], float]:
        """Every sample of GET /api/metrics: (name, labels) → value."""
        answer = self.call("GET", "/api/metrics")
        assert answer.status_code == 200, answer.text
        return {
            (sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(answer.text)
            for sample in family.samples
        }


def local_env(folder: Path, **more: str) -> dict[str, str]:
    """A server's settings: the key, a local folder in `folder`, and `more`."""
    return {"FACE_API_KEY": KEY, "STORAGE_BACKEND": "local", "STORAGE_DIR": str(folder / "data"), **more}


def sample(samples: dict[tuple[str, frozenset], float], name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("ops")
    process, url = start_server(local_env(folder), folder / "server.log")
    yield Server(url)
    stop_server(process)


def test_health_answers_without_a_key_and_says_nothing_sensitive(server, tmp_path_factory):
    answer = server.call("GET", "/api/health", key=None)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "status": "healthy",
        "checks": {"storage": {"status": "ok"}, "visitIndex": {"status": "ok"}, "engine": {"status": "ok"}},
    }
    assert KEY not in answer.text and str(tmp_path_factory.getbasetemp()) not in answer.text


def test_metrics_need_the_key_which_prometheus_sends_as_a_bearer_token(server):
    for key in (None, "wrong"):
        refused = server.call("GET", "/api/metrics", key=key)
        assert refused.status_code == 401 and refused.json()["error"]["code"] == "401"

    def scrape(path: str, authorization: str) -> int:
        return requests.get(f"{server.url}{path}", headers={"Authorization": authorization}, timeout=30).status_code

    assert [scrape("/api/metrics", f"{scheme} {KEY}") for scheme in ("Bearer", "bearer")] == [200, 200]
    assert [scrape("/api/metrics", wrong) for wrong in ("Bearer wrong", f"Basic {KEY}", KEY)] == [401, 401, 401]
    assert scrape(GROUPS, f"Bearer {KEY}") == 401  # only the metrics take it: the Face API routes keep Azure's headers


def test_frames_faces_and_latency_rise_with_real_frames(server, testdata):
    group_id = f"g-{uuid.uuid4().hex[:12]}"
    assert server.call("PUT", f"{GROUPS}/{group_id}", json={"name": "family"}).status_code == 200
    person = server.call("POST", f"{GROUPS}/{group_id}/persons", json={"name": "obama"}).json()["personId"]
    photo = (testdata / "people/obama/1.jpg").read_bytes()
    added = server.call("POST", f"{GROUPS}/{group_id}/persons/{person}/persistedfaces", data=photo)
    assert added.status_code == 200, added.text
    assert server.call("POST", f"{GROUPS}/{group_id}/train").status_code == 202
    wait_for(lambda: server.call("GET", f"{GROUPS}/{group_id}/training").json()["status"] == "succeeded")
    before = server.samples()

    def post_frame(data: bytes) -> requests.Response:
        return server.call("POST", "/api/frames", params={"personGroupId": group_id, "cameraId": "door"}, data=data)

    # A track is named from its third identified frame: Unknown, Unknown, then obama.
    answers = [post_frame(frame) for frame in still_camera((testdata / "scenes/obama1.jpg").read_bytes())]
    assert [a.json()["faces"][0]["name"] for a in answers] == ["Unknown", "Unknown", "obama"]
    assert post_frame(blank_jpeg()).json()["faces"] == []
    assert post_frame(b"not an image").status_code == 400

    after = server.samples()
    rise = {key: value - before.get(key, 0.0) for key, value in after.items()}
    assert sample(rise, "frames_total", result="answered") == 4
    assert sample(rise, "frames_total", result="InvalidImage") == 1
    assert sample(rise, "faces_total", identity="named") == 1
    assert sample(rise, "faces_total", identity="unknown") == 2
    assert sample(rise, "frame_latency_seconds_count") == 4
    assert sample(rise, "frame_latency_seconds_sum") > 0
    buckets = {dict(labels)["le"]: value for (name, labels), value in after.items() if name.endswith("_bucket")}
    assert [float(le) for le in buckets] == [*LATENCY_BUCKETS, float("inf")]
    counts = list(buckets.values())
    assert counts == sorted(counts) and counts[-1] == sample(after, "frame_latency_seconds_count")  # cumulative


def test_metrics_are_prometheus_text_with_its_content_type(server):
    answer = server.call("GET", "/api/metrics")
    assert answer.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    assert "# TYPE frames_total counter" in answer.text
    assert "# TYPE frame_latency_seconds histogram" in answer.text
    assert "# TYPE queue_depth gauge" in answer.text
    assert "process_resident_memory_bytes" in answer.text


# -- on a real Azurite of this module's own: queue depths, and a storage outage -----------------------------------


@pytest.fixture(scope="module")
def azurite_server(tmp_path_factory) -> Iterator[tuple[Server, str, dict]]:
    """A server on an Azurite of its own (so the queues hold only this test's messages): (server, connection
    string, {"stop": ..., "start": ...} of the Azurite)."""
    if not azurite.AZURITE.exists():
        pytest.skip("Azurite is not installed: run `npm ci` in the project folder")
    folder = tmp_path_factory.mktemp("ops-azurite")
    ports = (azurite.free_port(), azurite.free_port(), azurite.free_port())
    running = [azurite.start_azurite(folder, ports=ports)[0]]
    connection = azurite.connection_string(*ports)
    env = {"FACE_API_KEY": KEY, "STORAGE_BACKEND": "azure", "AZURE_STORAGE_CONNECTION_STRING": connection}
    process, url = start_server(env, folder / "server.log")
    control = {
        "stop": lambda: azurite.stop_azurite(running.pop()),
        "start": lambda: running.append(azurite.start_azurite(folder, ports=ports)[0]),
    }
    yield Server(url), connection, control
    stop_server(process)
    for azurite_process in running:
        azurite.stop_azurite(azurite_process)


def test_queue_depth_and_poison_messages_are_read_from_the_queues(azurite_server):
    server, connection, _ = azurite_server
    storage = AzureStorage(connection)
    # Delayed an hour: the server's worker cannot take them, and a queue's depth counts hidden messages too.
    for _ in range(3):
        storage.send_message(ENROLL_QUEUE, "{}", visibility_delay=3600)
    for _ in range(2):
        storage.send_message(poison_queue(UNKNOWN_VISITS_QUEUE), "{}", visibility_delay=3600)
    found = wait_for(
        lambda: (s := server.samples()) and sample(s, "queue_depth", queue=ENROLL_QUEUE) == 3 and s, timeout=30
    )
    assert sample(found, "queue_poison_messages", queue=UNKNOWN_VISITS_QUEUE) == 2
    assert sample(found, "queue_depth", queue=UNKNOWN_VISITS_QUEUE) == 0
    assert ("queue_poison_messages", frozenset({("queue", ENROLL_QUEUE)})) in found  # every queue is there


def test_health_is_503_naming_the_storage_while_azurite_is_stopped(azurite_server):
    server, _, control = azurite_server
    assert server.call("GET", "/api/health", key=None).status_code == 200
    control["stop"]()
    try:
        started = time.monotonic()
        down = server.call("GET", "/api/health", key=None)
        assert down.status_code == 503, down.text
        assert down.json()["status"] == "unhealthy"
        checks = down.json()["checks"]
        assert checks["storage"] == {"status": "failed", "error": "StorageUnavailable"}
        assert checks["visitIndex"] == {"status": "failed", "error": "StorageUnavailable"}
        assert checks["engine"] == {"status": "ok"}
        assert time.monotonic() - started < 30  # the storage's short retries, side by side
        assert server.samples()  # the metrics still answer, without the queue gauges' values
    finally:
        control["start"]()
    wait_for(lambda: server.call("GET", "/api/health", key=None).status_code == 200, timeout=60)


# -- Azure Monitor: the metrics reach the ingestion endpoint the connection string names -----------------------


class _Ingestion(BaseHTTPRequestHandler):
    """Application Insights' ingestion API as its exporter uses it: POST /v2.1/track with a JSON list of envelopes
    (gzip-compressed or not); answers the documented {"itemsReceived", "itemsAccepted", "errors"}."""

    received: ClassVar[list[dict]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        envelopes = json.loads(body)
        if self.path.startswith("/v2.1/track"):
            type(self).received.extend(envelopes)
        answer = json.dumps({"itemsReceived": len(envelopes), "itemsAccepted": len(envelopes), "errors": []})
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(answer.encode())

    def log_message(self, *args) -> None:
        pass


def test_azure_monitor_receives_the_metrics_when_the_connection_string_is_set(tmp_path: Path, testdata):
    ingestion = ThreadingHTTPServer(("127.0.0.1", 0), _Ingestion)
    threading.Thread(target=ingestion.serve_forever, daemon=True).start()
    endpoint = f"http://127.0.0.1:{ingestion.server_address[1]}/"
    env = local_env(
        tmp_path,
        APPLICATIONINSIGHTS_CONNECTION_STRING=f"InstrumentationKey={uuid.uuid4()};IngestionEndpoint={endpoint}",
        OTEL_METRIC_EXPORT_INTERVAL="1000",  # milliseconds; a minute by default
        APPLICATIONINSIGHTS_STATSBEAT_DISABLED_ALL="true",  # the exporter's own usage reports go to Microsoft
    )
    process, url = start_server(env, tmp_path / "server.log")
    try:
        server = Server(url)
        assert server.call("POST", "/api/frames", params={"personGroupId": "none", "cameraId": "door"}).status_code

        def exported() -> set[str]:
            return {e["data"]["baseData"]["metrics"][0]["name"] for e in _Ingestion.received}

        assert wait_for(lambda: {"frames", "queue_depth"} <= exported(), timeout=60)
        assert all(e["name"].endswith("Metric") for e in _Ingestion.received)
    finally:
        stop_server(process)
        ingestion.shutdown()


def test_a_bad_connection_string_costs_the_export_only(tmp_path: Path, testdata):
    env = local_env(tmp_path, APPLICATIONINSIGHTS_CONNECTION_STRING="InstrumentationKey=not-a-key")
    process, url = start_server(env, tmp_path / "server.log")
    try:
        server = Server(url)
        frame = server.call("POST", "/api/frames", params={"personGroupId": "none", "cameraId": "door"}, data=b"x")
        assert frame.status_code == 400  # answered as without metrics: an invalid image
        assert sample(server.samples(), "frames_total", result="InvalidImage") == 1
    finally:
        stop_server(process)
    assert "Metrics are not exported to Application Insights" in (tmp_path / "server.log").read_text()
