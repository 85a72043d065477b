"""The visit index rebuilt from the visit records: by the command line on the local folder (the SQLite file lost),
and day by day on Azurite's Table Storage (its rows gone); a damaged record left out and said so."""

from __future__ import annotations

import uuid
from datetime import timedelta

from function_app.clock import utc_now
from function_app.settings import Settings
from function_app.storage.azure_storage import AzureStorage
from function_app.storage.layout import VISITS_CONTAINER
from function_app.storage.local_folder import LocalFolderStorage
from function_app.visits.index import create_visit_index
from function_app.visits.store import VisitStore

from .support.service import run_cli
from .support.visit_records import visit


def _midnight_days_ago(days: int):
    return (utc_now() - timedelta(days=days)).replace(hour=0, minute=0, second=0, microsecond=0)


def test_the_command_line_rebuilds_a_lost_sqlite_index_from_the_records(tmp_path):
    settings = Settings.from_env({"STORAGE_BACKEND": "local", "STORAGE_DIR": str(tmp_path)})
    store = VisitStore(LocalFolderStorage(tmp_path), create_visit_index(settings))
    saved = [store.save(visit(_midnight_days_ago(days), ms)) for days in (0, 3) for ms in (1000, 2000)]
    old = store.save(visit(_midnight_days_ago(20), 5000))  # beyond --days: not reindexed
    damaged = visit(_midnight_days_ago(3), 9000)
    store.storage.put_blob(VISITS_CONTAINER, damaged.blob_name, b"{not json")
    (tmp_path / "visits.sqlite3").unlink()
    fresh = VisitStore(LocalFolderStorage(tmp_path), create_visit_index(settings))
    assert fresh.query(day=saved[0].day).visits == []  # the index is gone, the records are not

    done = run_cli("reindex-visits", "--days", "7", data=tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr  # 1: a damaged record was left out
    assert "4 visits indexed over 7 days; 1 damaged records left out." in done.stdout
    for day in (saved[0].day, saved[2].day):
        listed = fresh.query(day=day).visits
        assert [v.visit_id for v in listed] == sorted(v.visit_id for v in saved if v.day == day)
    assert fresh.query(day=old.day).visits == []
    assert run_cli("reindex-visits", "--days", "0", data=tmp_path).returncode == 2


def test_a_day_of_table_rows_is_rebuilt_from_its_records(azurite_connection_string):
    settings = Settings.from_env(
        {"STORAGE_BACKEND": "azure", "AZURE_STORAGE_CONNECTION_STRING": azurite_connection_string}
    )
    store = VisitStore(AzureStorage(azurite_connection_string), create_visit_index(settings))
    camera = f"reindex-{uuid.uuid4().hex[:6]}"
    day = _midnight_days_ago(400)  # a day of its own on the shared Azurite
    saved = [store.save(visit(day, ms, camera=camera)) for ms in (100, 200, 300)]
    store.index.remove_day(saved[0].day)
    assert store.query(day=saved[0].day, camera=camera).visits == []
    done = store.reindex_day(saved[0].day)
    assert done.visits >= 3 and done.damaged == 0
    assert store.query(day=saved[0].day, camera=camera).visits == saved
