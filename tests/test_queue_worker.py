"""The local host's queue worker running its loop for real on real storage: its timer functions run each
period (not at start), and it carries on after a poll of the storage fails (a local folder broken for a while,
or Azurite stopped and started again)."""

from __future__ import annotations

import contextlib
import logging
import uuid
from datetime import timedelta

import numpy as np
import pytest

from function_app.clock import utc_now
from function_app.faceapi.local.face_ids import FaceIdStore, RememberedFace
from function_app.local_host.functions import app_functions
from function_app.local_host.host_config import HostConfig
from function_app.local_host.worker import QueueWorker
from function_app.runtime import current_runtime
from function_app.storage.layout import FACE_IDS_CONTAINER as FACE_IDS

from .support import azurite
from .support.api_client import InProcessClient
from .support.waiting import wait_for

KEY = f"worker-{uuid.uuid4().hex}"
GROUPS = "/face/v1.0/persongroups"


@contextlib.contextmanager
def running(worker: QueueWorker):
    thread = worker.start()
    try:
        yield thread
    finally:
        worker.stop()
        thread.join(timeout=60)


def _use_local_storage(monkeypatch, folder) -> None:
    monkeypatch.setenv("FACE_API_KEY", KEY)
    monkeypatch.setenv("STORAGE_BACKEND", "local")
    monkeypatch.setenv("STORAGE_DIR", str(folder))


def _face_ids(storage) -> set[str]:
    return {blob.name.removesuffix(".json") for blob in storage.list_blobs(FACE_IDS)}


def _training_finished(client: InProcessClient, group_id: str):
    status = client.get(f"{GROUPS}/{group_id}/training").json()
    return status if status["status"] != "running" else None


def test_the_running_worker_runs_its_timers_each_period_and_not_at_start(monkeypatch, tmp_path):
    _use_local_storage(monkeypatch, tmp_path / "data")
    storage = current_runtime().storage
    vector = np.random.default_rng(0).normal(size=128).astype(np.float32)
    [live] = FaceIdStore(storage).remember([vector / np.linalg.norm(vector)], ttl=60)
    expired = RememberedFace(str(uuid.uuid4()), vector, utc_now() - timedelta(seconds=1))
    storage.put_blob(FACE_IDS, f"{expired.face_id}.json", expired.to_record())
    client = InProcessClient(KEY)
    group_id = f"g-{uuid.uuid4().hex[:12]}"
    assert client.put(f"{GROUPS}/{group_id}", json_body={"name": "empty"}).status == 200
    assert client.post(f"{GROUPS}/{group_id}/train").status == 202

    # The default period (an hour): the loop handles the queue, and the timer waits (run_on_startup is False).
    with running(QueueWorker(app_functions(), storage, HostConfig.load(), poll_interval=0.05)):
        assert wait_for(lambda: _training_finished(client, group_id))["status"] == "failed"  # nobody to train on
    assert _face_ids(storage) == {live, expired.face_id}

    # A short period: the loop itself runs the timer function, which purges the expired face id only.
    with running(QueueWorker(app_functions(), storage, HostConfig.load(), poll_interval=0.05, timer_period=0.1)):
        wait_for(lambda: expired.face_id not in _face_ids(storage))
    assert _face_ids(storage) == {live}


@pytest.fixture(params=["local-folder", "azurite"])
def breakable_storage(request, monkeypatch, tmp_path):
    """The app's storage, and (break, repair): it fails for a while, then is as it was. A local folder whose
    queues folder is replaced by a file; or an Azurite of this test's own, stopped and started again on its
    ports with its data."""
    if request.param == "local-folder":
        data = tmp_path / "data"
        _use_local_storage(monkeypatch, data)
        queues, aside = data / "queues", tmp_path / "queues-aside"

        def break_it() -> None:
            queues.mkdir(parents=True, exist_ok=True)
            queues.rename(aside)
            queues.write_text("not a folder")

        def repair() -> None:
            queues.unlink()
            aside.rename(queues)

        yield break_it, repair
        return
    if not azurite.AZURITE.exists():
        pytest.skip("Azurite is not installed: run `npm ci` in the project folder")
    folder = tmp_path / "azurite"
    folder.mkdir()
    ports = (azurite.free_port(), azurite.free_port(), azurite.free_port())
    process, connection_string = azurite.start_azurite(folder, ports=ports)
    running_azurite = [process]
    monkeypatch.setenv("FACE_API_KEY", KEY)
    monkeypatch.setenv("STORAGE_BACKEND", "azure")
    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", connection_string)

    def stop() -> None:
        azurite.stop_azurite(running_azurite.pop())

    def start_again() -> None:
        running_azurite.append(azurite.start_azurite(folder, ports=ports)[0])

    yield stop, start_again
    for process in running_azurite:
        azurite.stop_azurite(process)


def test_the_worker_carries_on_after_a_failed_poll(breakable_storage, testdata, caplog):
    break_storage, repair_storage = breakable_storage
    client = InProcessClient(KEY)
    group_id = f"g-{uuid.uuid4().hex[:12]}"
    assert client.put(f"{GROUPS}/{group_id}", json_body={"name": "family"}).status == 200
    person = client.post(f"{GROUPS}/{group_id}/persons", json_body={"name": "obama"}).json()["personId"]
    photo = (testdata / "people/obama/1.jpg").read_bytes()
    assert client.post(f"{GROUPS}/{group_id}/persons/{person}/persistedfaces", data=photo).status == 200
    worker = QueueWorker(app_functions(), current_runtime().storage, HostConfig.load(), poll_interval=0.05)

    def failed_polls() -> list[logging.LogRecord]:
        return [r for r in caplog.records if r.getMessage() == "Polling the queues failed; trying again"]

    with caplog.at_level(logging.ERROR, logger="function_app.local_host"), running(worker) as thread:
        break_storage()
        wait_for(lambda: failed_polls() or not thread.is_alive())
        assert thread.is_alive(), "the worker stopped at the first failed poll"
        assert failed_polls()[0].exc_info is not None  # logged with its cause
        repair_storage()
        assert client.post(f"{GROUPS}/{group_id}/train").status == 202  # sent after the storage came back
        status = wait_for(lambda: _training_finished(client, group_id))
    assert status["status"] == "succeeded", status
    assert "1 faces of 1 persons" in status["message"]
