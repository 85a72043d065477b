"""Azure Storage (or Azurite, with its development connection string) through the Azure SDKs.

Two ways in: a connection string (Azurite, or a key), or an account's endpoints and a Microsoft
Entra credential (a managed identity on Azure: no key anywhere). Queue messages are base64-encoded
text, which is what the Azure Functions queue trigger expects. Containers and queues are created
on first use."""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import threading
from collections.abc import Callable, Iterator
from typing import Any, TypedDict, TypeVar

from azure.core import MatchConditions
from azure.core.exceptions import (
    HttpResponseError,
    ResourceExistsError,
    ResourceModifiedError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.storage.blob import BlobServiceClient, ContainerClient
from azure.storage.blob import ExponentialRetry as BlobRetry
from azure.storage.queue import ExponentialRetry as QueueRetry
from azure.storage.queue import (
    QueueClient,
    TextBase64DecodePolicy,
    TextBase64EncodePolicy,
)
from azure.storage.queue import QueueMessage as ReceivedMessage

from ..entra import entra_credential
from ..settings import Settings
from .base import (
    AppendBlobFull,
    Blob,
    BlobInfo,
    BlobNotFound,
    MessageNotFound,
    PreconditionFailed,
    QueueMessage,
)
from .names import check_blob_name, check_prefix
from .outages import outages_as_unavailable

T = TypeVar("T")
# A big blob (a trained index's chunk: tens of megabytes) moves in 4 MiB ranges, this many at once: about twice
# as fast as one at a time on Azurite here. Small blobs are one request either way.
_TRANSFERS = 4


# The SDK's default retry waits 15 s, then more: right for batch jobs, wrong for video frames.
# Two quick retries, each after about 1.5 s (the SDK waits initial_backoff + increment_base ** try), ride
# out a blip; a storage that is down answers 503 within about 3 s (storage/outages.py), and one that hangs
# within about a minute. retry_total alone would leave the connect, read and status retries at 3 each.
def _client_options(retry_class: type) -> dict:
    return {
        "retry_policy": retry_class(
            initial_backoff=0.5,
            increment_base=1,
            retry_total=2,
            retry_connect=2,
            retry_read=2,
            retry_status=2,
            random_jitter_range=0.5,
        ),
        "connection_timeout": 5,
        "read_timeout": 20,
    }


def account_endpoints(account_name: str) -> tuple[str, str]:
    """The blob and queue service URLs of an Azure Storage account (public cloud), as the Functions host builds them."""
    return f"https://{account_name}.blob.core.windows.net", f"https://{account_name}.queue.core.windows.net"


def signed_in(settings: Settings, with_key: Callable[[str], T], with_identity: Callable[[str, Any], T], what: str) -> T:
    """A client of the app's storage account, however the settings sign in: a connection string wins (Azurite,
    local runs), `with_key(connection string)`; otherwise `with_identity(account name, Entra credential)`
    (Azure, no key)."""
    if settings.storage_connection_string:
        return with_key(settings.storage_connection_string)
    if settings.storage_account_name:
        return with_identity(settings.storage_account_name, entra_credential(settings.managed_identity_client_id))
    raise ValueError(
        f"The {what} needs AZURE_STORAGE_CONNECTION_STRING (or AzureWebJobsStorage), "
        "or AZURE_STORAGE_ACCOUNT_NAME (or AzureWebJobsStorage__accountName) to sign in with an identity"
    )


def azure_storage_from_settings(settings: Settings) -> AzureStorage:
    return signed_in(
        settings,
        AzureStorage,
        lambda account, credential: AzureStorage(endpoints=account_endpoints(account), credential=credential),
        "azure storage backend",
    )


def is_azure_outage(exc: BaseException) -> bool:
    """No connection, no answer, or a server error once the retries are spent."""
    if isinstance(exc, ServiceRequestError | ServiceResponseError):
        return True
    return isinstance(exc, HttpResponseError) and (exc.status_code or 0) >= 500


@outages_as_unavailable(is_azure_outage)
class AzureStorage:
    def __init__(
        self,
        connection_string: str = "",
        *,
        endpoints: tuple[str, str] | None = None,
        credential: Any = None,
        **transport_options: Any,
    ):
        """`connection_string`, or `endpoints` (blob URL, queue URL) with a token `credential`.
        `transport_options` go to every client (for example `connection_verify` for a test certificate)."""
        if connection_string:
            self._blob_service = BlobServiceClient.from_connection_string(
                connection_string, **_client_options(BlobRetry), **transport_options
            )
            self._new_queue_client: Callable[..., QueueClient] = lambda name, **kw: QueueClient.from_connection_string(
                connection_string, name, **kw, **transport_options
            )
        elif endpoints and credential is not None:
            blob_url, queue_url = endpoints
            self._blob_service = BlobServiceClient(
                blob_url, credential=credential, **_client_options(BlobRetry), **transport_options
            )
            self._new_queue_client = lambda name, **kw: QueueClient(
                queue_url, name, credential=credential, **kw, **transport_options
            )
        else:
            raise ValueError(
                "The azure storage backend needs a connection string, or the account's endpoints and a credential"
            )
        self._queues: dict[str, QueueClient] = {}
        self._ready_containers: set[str] = set()
        self._lock = threading.Lock()

    # -- blobs ---------------------------------------------------------------------------------
    def _container(self, container: str) -> ContainerClient:
        client = self._blob_service.get_container_client(container)
        if container not in self._ready_containers:
            with contextlib.suppress(ResourceExistsError):
                client.create_container()
            self._ready_containers.add(container)
        return client

    def put_blob(
        self, container: str, name: str, data: bytes, *, if_match: str | None = None, only_if_new: bool = False
    ) -> str:
        blob = self._container(container).get_blob_client(check_blob_name(name))
        conditions = _unchanged_since(if_match)
        for attempt in range(2):
            try:
                return blob.upload_blob(data, overwrite=not only_if_new, max_concurrency=_TRANSFERS, **conditions)[
                    "etag"
                ]
            except ResourceExistsError:
                raise PreconditionFailed(f"Blob {name!r} already exists") from None
            except ResourceNotFoundError as exc:
                if _error_code(exc) != "ContainerNotFound" or attempt:
                    raise PreconditionFailed(f"Blob {name!r} has changed or is gone") from None
                # The container went away since it was made (deleted, or lost by an Azurite that was killed).
                self._ready_containers.discard(container)
                self._container(container)
            except ResourceModifiedError:
                raise PreconditionFailed(f"Blob {name!r} has changed or is gone") from None
        raise AssertionError("unreachable: the second attempt returns or raises")

    def append_blob(self, container: str, name: str, data: bytes, *, max_size: int | None = None) -> int:
        """An Append Blob, created on the first append (only if still missing: never truncating one that another
        writer has just created), then Append Block, which the service commits whole."""
        blob = self._container(container).get_blob_client(check_blob_name(name))
        for _ in range(3):
            try:
                appended = blob.append_block(data, maxsize_condition=max_size)
                return int(str(appended["blob_append_offset"]))  # the SDK answers it as text
            except ResourceNotFoundError as exc:
                if _error_code(exc) == "ContainerNotFound":
                    self._ready_containers.discard(container)
                    self._container(container)
                with contextlib.suppress(ResourceExistsError):
                    blob.create_append_blob(match_condition=MatchConditions.IfMissing)
            except HttpResponseError as exc:
                if _error_code(exc) in ("BlockCountExceedsLimit", "MaxBlobSizeConditionNotMet"):
                    raise AppendBlobFull(
                        f"Blob {name!r} takes no more appends (or would grow past {max_size} bytes)"
                    ) from None
                if _error_code(exc) == "InvalidBlobType":
                    raise PreconditionFailed(f"Blob {name!r} is not an append blob") from None
                raise
        raise PreconditionFailed(f"Blob {name!r} could not be created for appending")

    def get_blob(self, container: str, name: str) -> Blob:
        try:
            blob = self._container(container).get_blob_client(check_blob_name(name))
            download = blob.download_blob(max_concurrency=_TRANSFERS)
            return Blob(data=download.readall(), etag=download.properties.etag)
        except ResourceNotFoundError:
            raise BlobNotFound(f"No blob {name!r} in {container!r}") from None

    def read_blob_from(self, container: str, name: str, offset: int) -> bytes:
        blob = self._container(container).get_blob_client(check_blob_name(name))
        try:
            return blob.download_blob(offset=offset, max_concurrency=_TRANSFERS).readall()
        except ResourceNotFoundError:
            raise BlobNotFound(f"No blob {name!r} in {container!r}") from None
        except HttpResponseError as exc:
            if exc.status_code == 416:  # at or past the end: nothing new
                return b""
            raise

    def list_blobs(self, container: str, prefix: str = "") -> Iterator[BlobInfo]:
        try:
            for item in self._container(container).list_blobs(name_starts_with=check_prefix(prefix) or None):
                # The listing gives ETags bare; put and get give them quoted, as HTTP does: one form for all.
                etag = item.etag if item.etag.startswith('"') else f'"{item.etag}"'
                yield BlobInfo(item.name, etag, item.size, item.last_modified)
        except ResourceNotFoundError:  # the container went away since it was made: nothing in it
            self._ready_containers.discard(container)

    def delete_blob(self, container: str, name: str, *, if_match: str | None = None) -> bool:
        blob = self._container(container).get_blob_client(check_blob_name(name))
        conditions = _unchanged_since(if_match)
        try:
            blob.delete_blob(**conditions)
        except ResourceModifiedError:
            raise PreconditionFailed(f"Blob {name!r} has changed") from None
        except ResourceNotFoundError:
            if if_match:
                raise PreconditionFailed(f"Blob {name!r} is gone") from None
            return False
        return True

    # -- queues --------------------------------------------------------------------------------
    def _queue(self, queue: str) -> QueueClient:
        with self._lock:
            client = self._queues.get(queue)
            if client is None:
                client = self._new_queue_client(
                    queue,
                    message_encode_policy=TextBase64EncodePolicy(),
                    message_decode_policy=TextBase64DecodePolicy(),
                    **_client_options(QueueRetry),
                )
                with contextlib.suppress(ResourceExistsError):
                    client.create_queue()
                self._queues[queue] = client
            return client

    def _on_queue(self, queue: str, call: Callable[[QueueClient], T]) -> T:
        """`call(the queue's client)`, making the queue again once if it went away since it was made."""
        try:
            return call(self._queue(queue))
        except ResourceNotFoundError as exc:
            if _error_code(exc) != "QueueNotFound":
                raise
            with self._lock:
                self._queues.pop(queue, None)
            return call(self._queue(queue))

    def send_message(self, queue: str, content: str, *, visibility_delay: int = 0) -> str:
        return self._on_queue(queue, lambda q: q.send_message(content, visibility_timeout=visibility_delay or None).id)

    def receive_messages(
        self, queue: str, *, max_messages: int = 1, visibility_timeout: int = 30
    ) -> list[QueueMessage]:
        def receive(client: QueueClient) -> list[QueueMessage]:
            pages = client.receive_messages(
                messages_per_page=max_messages, visibility_timeout=visibility_timeout, max_messages=max_messages
            )
            return [_received(m) for m in itertools.islice(pages, max_messages)]

        return self._on_queue(queue, receive)

    def delete_message(self, queue: str, message: QueueMessage) -> None:
        with _message_errors(message):
            self._queue(queue).delete_message(message.id, message.pop_receipt)

    def release_message(self, queue: str, message: QueueMessage, *, visibility_timeout: int = 0) -> QueueMessage:
        with _message_errors(message):
            updated = self._queue(queue).update_message(
                message.id, message.pop_receipt, visibility_timeout=visibility_timeout
            )
        return dataclasses.replace(message, pop_receipt=updated.pop_receipt or message.pop_receipt)

    def approximate_queue_length(self, queue: str) -> int:
        return self._on_queue(queue, lambda q: q.get_queue_properties().approximate_message_count or 0)


class _Conditions(TypedDict, total=False):
    etag: str
    match_condition: MatchConditions


def _unchanged_since(if_match: str | None) -> _Conditions:
    """The SDK's arguments for "only while the blob still has this etag" (none without one)."""
    return {"etag": if_match, "match_condition": MatchConditions.IfNotModified} if if_match else {}


def _received(m: ReceivedMessage) -> QueueMessage:
    # The SDK types these as optional (its QueueMessage can be built by hand); a received message has them all.
    if m.dequeue_count is None or m.pop_receipt is None or m.inserted_on is None:
        raise ValueError(f"Queue message {m.id} came without its dequeue count, pop receipt or insertion time")
    return QueueMessage(m.id, m.content, m.dequeue_count, m.pop_receipt, m.inserted_on)


def _error_code(exc: HttpResponseError) -> str | None:
    """Azure's x-ms-error-code, which the storage SDK adds to the errors it raises."""
    return getattr(exc, "error_code", None)


@contextlib.contextmanager
def _message_errors(message: QueueMessage):
    """A message gone or received again since (Azure answers PopReceiptMismatch with a 400)."""
    try:
        yield
    except ResourceNotFoundError:
        raise MessageNotFound(f"Message {message.id} is gone") from None
    except HttpResponseError as exc:
        if _error_code(exc) != "PopReceiptMismatch":
            raise
        raise MessageNotFound(f"Message {message.id} was received again since; its pop receipt is stale") from None
