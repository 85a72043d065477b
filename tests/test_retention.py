"""The retention purge on the local folder (with its SQLite index) and on a real Azurite (with its Table index):
visits, snapshots, per-frame records and events of past days, written through the real stores, are deleted by day
folder past their settings; today's and those within the retention are kept; a setting of 0 keeps for ever; a run
after a run lists only the days since. Azurite is this module's own: the purge's marks and the deleted days must
not meet other tests' records."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from azure.functions.decorators.timer import TimerTrigger
from croniter import croniter

from function_app.clock import utc_now
from function_app.features.sightings import SightedFace, SightingRecord, write_sighting
from function_app.local_host.functions import function_named
from function_app.retention import purge_old_records
from function_app.settings import Settings
from function_app.storage import Storage, create_storage
from function_app.storage.azure_storage import AzureStorage
from function_app.storage.layout import EVENTS_CONTAINER, SIGHTINGS_CONTAINER, VISITS_CONTAINER
from function_app.storage.local_folder import LocalFolderStorage
from function_app.visits.index import VisitIndex, create_visit_index
from function_app.visits.records import VisitRecord
from function_app.visits.store import VisitStore
from function_app.visits.table_index import TableVisitIndex

from .support import azurite
from .support.images import blank_jpeg
from .support.visit_records import visit

SETTINGS = Settings(
    visit_retention_days=90, snapshot_retention_days=30, frame_record_retention_days=7, event_retention_days=30
)
AGES = (0, 6, 7, 29, 30, 89, 90, 120)  # days before today; with 90, 30 and 7 days kept, each side of each cutoff


@pytest.fixture(scope="module")
def own_azurite(tmp_path_factory) -> Iterator[str]:
    if not azurite.AZURITE.exists():
        pytest.skip("Azurite is not installed: run `npm ci` in the project folder")
    process, connection_string = azurite.start_azurite(tmp_path_factory.mktemp("retention-azurite"))
    yield connection_string
    azurite.stop_azurite(process)


@pytest.fixture(params=["local", "azurite"])
def stores(request, tmp_path) -> Iterator[tuple[Storage, VisitIndex]]:
    if request.param == "local":
        data = tmp_path / "data"
        yield LocalFolderStorage(data), create_visit_index(Settings(storage_dir=str(data)))
        return
    connection = request.getfixturevalue("own_azurite")
    storage = AzureStorage(connection)
    yield storage, TableVisitIndex(connection)
    for container in (VISITS_CONTAINER, SIGHTINGS_CONTAINER, EVENTS_CONTAINER):  # the next test starts empty
        for blob in list(storage.list_blobs(container)):
            storage.delete_blob(container, blob.name)


def visit_of(moment: datetime) -> VisitRecord:
    return visit(moment.replace(microsecond=0), 0, closed=True)  # as stored: to the millisecond


def write_days(storage: Storage, visits: VisitStore, now: datetime) -> dict[int, VisitRecord]:
    """A visit (with its snapshot), a frame's sighting and an event line on each day of AGES."""
    written = {}
    for age in AGES:
        moment = now - timedelta(days=age)
        written[age] = visits.save(visit_of(moment), blank_jpeg())
        face = SightedFace({"top": 1, "left": 2, "width": 40, "height": 40}, None, "Unknown", 0.0, "high")
        write_sighting(storage, SightingRecord("door", "family", moment, 640, 480, [face]))
        storage.append_blob(EVENTS_CONTAINER, f"{moment:%Y%m%d}/{moment:%H}.jsonl", b'{"type":"visit.started"}\n')
    return written


def day_blobs(storage: Storage, container: str, moment: datetime) -> list[str]:
    return [blob.name for blob in storage.list_blobs(container, f"{moment:%Y%m%d}/")]


def test_records_past_their_retention_are_deleted_by_day_and_the_rest_kept(stores):
    storage, index = stores
    visits = VisitStore(storage, index)
    now = utc_now()
    written = write_days(storage, visits, now)

    done = {purged.name: purged for purged in purge_old_records(storage, SETTINGS, index, now=now)}

    for age, record in written.items():
        moment = now - timedelta(days=age)
        kept_visit = age < 90
        assert (visits.query(day=record.day).visits != []) == kept_visit, f"index row {age} days old"
        blobs = day_blobs(storage, VISITS_CONTAINER, moment)
        assert (record.blob_name in blobs) == kept_visit, f"visit record {age} days old"
        assert (record.snapshot_blob_name in blobs) == (age < 30), f"snapshot {age} days old"
        if kept_visit:
            assert visits.get(record.visit_id) == record  # the record itself untouched, its snapshot or not
        assert bool(day_blobs(storage, SIGHTINGS_CONTAINER, moment)) == (age < 7), f"sightings {age} days old"
        assert bool(day_blobs(storage, EVENTS_CONTAINER, moment)) == (age < 30), f"events {age} days old"
    assert (done["visits"].rows, done["visits"].blobs) == (2, 4)  # 90 and 120 days old: their records and snapshots
    assert done["snapshots"].blobs == 2  # 30 and 89 days old (the 90 and 120 went with their visits)
    # The first run lists each day from the oldest (its container's first blob) to the cutoff, and no other.
    assert done["visits"].days == max(AGES) - 89


def test_a_second_run_lists_only_the_days_since_the_first(stores):
    storage, index = stores
    visits = VisitStore(storage, index)
    now = utc_now()
    purge_old_records(storage, SETTINGS, index, now=now)
    old = visits.save(visit_of(now - timedelta(days=95)), blank_jpeg())  # behind the mark: a day already purged
    tomorrow = {
        purged.name: purged for purged in purge_old_records(storage, SETTINGS, index, now=now + timedelta(days=1))
    }
    assert {purged.days for purged in tomorrow.values()} == {1}  # one day each, not the whole sweep again
    assert visits.get(old.visit_id) == old  # so a day written behind the mark afterwards is not looked at again


def test_zero_keeps_for_ever(stores):
    storage, index = stores
    visits = VisitStore(storage, index)
    now = utc_now()
    written = write_days(storage, visits, now)
    forever = replace(SETTINGS, visit_retention_days=0, snapshot_retention_days=0)
    done = purge_old_records(storage, forever, index, now=now)
    assert {purged.name for purged in done} == {"sightings", "events"}
    for record in written.values():
        assert visits.get(record.visit_id) == record
        assert visits.snapshot(record.visit_id)


def test_the_daily_timer_purges_the_runtime_s_storage(monkeypatch, tmp_path):
    monkeypatch.setenv("STORAGE_BACKEND", "local")
    monkeypatch.setenv("STORAGE_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("VISIT_RETENTION_DAYS", "10")
    settings = Settings.from_env()
    visits = VisitStore(create_storage(settings), create_visit_index(settings))
    old, new = (visits.save(visit_of(utc_now() - timedelta(days=age))) for age in (10, 9))
    timer = function_named("purge_old_records")
    trigger = timer.get_trigger()
    assert isinstance(trigger, TimerTrigger)
    schedule = trigger.schedule
    assert schedule == "0 10 3 * * *"  # NCRONTAB, seconds first: daily at 03:10 UTC
    assert croniter.is_valid(schedule, second_at_beginning=True)
    timer.get_user_function()(None)
    assert visits.query(day=old.day).visits == [] and visits.get(new.visit_id) == new
