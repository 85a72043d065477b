"""The visit index in Azure Table Storage (or Azurite's table service), through azure-data-tables.

One entity per visit: PartitionKey the day (YYYYMMDD), RowKey its sort_key (first-seen time, then visit id),
so a day's listing is one partition read in RowKey order, which is the order the service answers in. The
filters are properties (Camera, PersonId, Unknown) in an OData filter; the whole record is the Record
property, so a page needs no blob. The service answers at most 1,000 entities a request and may answer fewer
with a continuation token; the SDK's pager follows those tokens until the page is full."""

from __future__ import annotations

import contextlib
import itertools
import json
import threading
from typing import Any

from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
from azure.data.tables import TableClient, TransactionOperation, UpdateMode

from ..settings import Settings
from ..storage.azure_storage import is_azure_outage, signed_in
from ..storage.layout import VISITS_TABLE
from ..storage.outages import outages_as_unavailable
from .index import VisitFilter, sort_key
from .records import VisitRecord

MAX_PER_REQUEST = 1000  # the Table service's own limit
MAX_PER_TRANSACTION = 100  # an entity group transaction: at most 100 operations, one partition
MAX_FILTERED_PERSONS = 15  # a filter holds at most 15 comparisons (Table Storage's documented limit)

# As the blob and queue clients (storage/azure_storage.py): two quick retries, then StorageUnavailable.
_CLIENT_OPTIONS: dict[str, Any] = {
    "retry_total": 2,
    "retry_connect": 2,
    "retry_read": 2,
    "retry_status": 2,
    "retry_backoff_factor": 0.5,
    "retry_backoff_max": 2,
    "connection_timeout": 5,
    "read_timeout": 20,
}


def table_endpoint(account_name: str) -> str:
    """The table service URL of an Azure Storage account (public cloud)."""
    return f"https://{account_name}.table.core.windows.net"


def check_table_endpoint(connection_string: str) -> str:
    """A connection string that names its blob endpoint must name its table endpoint too: the SDK would
    otherwise send the index to `<account>.table.core.windows.net` (Azurite's own strings name all three)."""
    names = {part.split("=", 1)[0].strip().lower() for part in connection_string.split(";") if "=" in part}
    if "blobendpoint" in names and "tableendpoint" not in names:
        raise ValueError(
            "The storage connection string names a BlobEndpoint but no TableEndpoint, which the visit index "
            "needs: add TableEndpoint=... (Azurite serves tables on port 10002)"
        )
    return connection_string


def table_index_from_settings(settings: Settings) -> TableVisitIndex:
    """On the app's storage account, signed in as its blobs and queues are (an identity needs the Storage Table
    Data Contributor role)."""
    return signed_in(
        settings,
        TableVisitIndex,
        lambda account, credential: TableVisitIndex(endpoint=table_endpoint(account), credential=credential),
        "visit index",
    )


@outages_as_unavailable(is_azure_outage)
class TableVisitIndex:
    def __init__(
        self,
        connection_string: str = "",
        *,
        endpoint: str = "",
        credential: Any = None,
        table: str = VISITS_TABLE,
        **transport_options: Any,
    ):
        """`connection_string`, or the table service `endpoint` with a token `credential`; the table is made
        on first use."""
        if not connection_string and not (endpoint and credential is not None):
            raise ValueError("The visit index needs a connection string, or the table endpoint and a credential")
        self._connection_string = connection_string
        self._endpoint = endpoint
        self._credential = credential
        self._table_name = table
        self._options = {**_CLIENT_OPTIONS, **transport_options}
        self._client: TableClient | None = None
        self._lock = threading.Lock()

    def _table(self) -> TableClient:
        with self._lock:
            if self._client is None:
                if self._connection_string:
                    # Checked here, not when the runtime is built: a string without it fails the visits only.
                    client = TableClient.from_connection_string(
                        check_table_endpoint(self._connection_string), self._table_name, **self._options
                    )
                else:
                    client = TableClient(self._endpoint, self._table_name, credential=self._credential, **self._options)
                with contextlib.suppress(ResourceExistsError):
                    client.create_table()
                self._client = client
            return self._client

    def upsert(self, record: VisitRecord) -> None:
        entity: dict[str, Any] = {
            "PartitionKey": record.day,
            "RowKey": sort_key(record),
            "Camera": record.camera,
            "Unknown": record.unknown,
            "Record": json.dumps(record.to_dict(), separators=(",", ":")),
        }
        if record.person_id is not None:  # a table has no nulls: an Unknown visit has no PersonId
            entity["PersonId"] = record.person_id
        self._table().upsert_entity(entity, mode=UpdateMode.REPLACE)

    def remove(self, record: VisitRecord) -> None:
        with contextlib.suppress(ResourceNotFoundError):
            self._table().delete_entity(partition_key=record.day, row_key=sort_key(record))

    def query(self, where: VisitFilter, *, after: str | None, limit: int) -> list[VisitRecord]:
        conditions, parameters = ["PartitionKey eq @day"], {"day": where.day}
        for condition, name, value in (
            ("RowKey gt @after", "after", after),
            ("RowKey ge @start", "start", where.start),
            ("RowKey lt @end", "end", where.end),
            ("Camera eq @camera", "camera", where.camera),
            ("PersonId eq @person", "person", where.person_id),
        ):
            if value is not None:
                conditions.append(condition)
                parameters[name] = value
        if where.unknown is not None:
            conditions.append(f"Unknown eq {'true' if where.unknown else 'false'}")
        entities = self._table().query_entities(
            " and ".join(conditions),
            parameters=parameters,
            select=["Record"],
            results_per_page=min(limit, MAX_PER_REQUEST),
        )
        return [VisitRecord.from_dict(json.loads(entity["Record"])) for entity in itertools.islice(entities, limit)]

    def remove_day(self, day: str) -> int:
        """The day's partition, read by keys only, deleted in transactions of 100 (one request each)."""
        table = self._table()
        keys = table.query_entities(
            "PartitionKey eq @day", parameters={"day": day}, select=["PartitionKey", "RowKey"], results_per_page=1000
        )
        removed = 0
        while batch := list(itertools.islice(keys, MAX_PER_TRANSACTION)):
            table.submit_transaction([(TransactionOperation.DELETE, entity) for entity in batch])
            removed += len(batch)
        return removed

    def of_persons(self, person_ids: list[str]) -> list[VisitRecord]:
        """Table Storage has no index but the keys: a few persons are one filtered scan of the table; more (a
        group deleted) one scan of the named visits, filtered here, rather than one scan a person."""
        if len(person_ids) <= MAX_FILTERED_PERSONS:
            names = {f"p{i}": person_id for i, person_id in enumerate(person_ids)}
            where = " or ".join(f"PersonId eq @{name}" for name in names)
        else:
            names, where = {}, "Unknown eq false"
        wanted = set(person_ids)
        entities = self._table().query_entities(
            where, parameters=names, select=["PersonId", "Record"], results_per_page=MAX_PER_REQUEST
        )
        return [VisitRecord.from_dict(json.loads(e["Record"])) for e in entities if e.get("PersonId") in wanted]
