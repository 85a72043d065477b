"""The `azure` storage backend without a key: settings → endpoints and credential, and bearer tokens for real
(Azurite over HTTPS checks them); the connection-string path is unchanged."""

from __future__ import annotations

import base64

import pytest
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError
from azure.identity import DefaultAzureCredential, ManagedIdentityCredential
from azure.storage.queue import QueueClient

from function_app.settings import Settings
from function_app.storage import create_storage
from function_app.storage.azure_storage import AzureStorage
from function_app.storage.layout import TRAIN_QUEUE

from .support.azurite import FakeEntraCredential


def _identity_storage(environ: dict[str, str]) -> AzureStorage:
    storage = create_storage(Settings.from_env({"STORAGE_BACKEND": "azure", **environ}))
    assert isinstance(storage, AzureStorage)
    return storage


def test_account_name_and_client_id_build_the_service_urls_and_a_managed_identity():
    storage = _identity_storage({"AZURE_STORAGE_ACCOUNT_NAME": "facesprod", "AZURE_CLIENT_ID": "1234-abcd"})
    assert storage._blob_service.url.rstrip("/") == "https://facesprod.blob.core.windows.net"
    queue = storage._new_queue_client(TRAIN_QUEUE)
    assert queue.url.rstrip("/") == "https://facesprod.queue.core.windows.net/train-requests"
    credential = storage._blob_service.credential
    assert isinstance(credential, ManagedIdentityCredential)
    assert queue.credential is credential


def test_the_functions_host_identity_settings_are_the_fallbacks():
    settings = Settings.from_env(
        {"AzureWebJobsStorage__accountName": "hostacct", "AzureWebJobsStorage__clientId": "5678-ef"}
    )
    assert (settings.storage_account_name, settings.managed_identity_client_id) == ("hostacct", "5678-ef")
    assert settings.storage_connection_string == ""
    own = Settings.from_env({"AZURE_STORAGE_ACCOUNT_NAME": "mine", "AzureWebJobsStorage__accountName": "host"})
    assert own.storage_account_name == "mine"


def test_without_a_client_id_the_default_credential_chain_is_used():
    storage = _identity_storage({"AZURE_STORAGE_ACCOUNT_NAME": "devacct"})
    assert isinstance(storage._blob_service.credential, DefaultAzureCredential)


def test_a_connection_string_wins_over_an_account_name(azurite_connection_string):
    storage = _identity_storage(
        {"AZURE_STORAGE_CONNECTION_STRING": azurite_connection_string, "AZURE_STORAGE_ACCOUNT_NAME": "ignored"}
    )
    assert "127.0.0.1" in storage._blob_service.url
    storage.put_blob("identity-tests", "cs.txt", b"by key")
    assert storage.get_blob("identity-tests", "cs.txt").data == b"by key"


def test_neither_a_connection_string_nor_an_account_is_a_clear_error():
    with pytest.raises(ValueError, match="AZURE_STORAGE_ACCOUNT_NAME"):
        _identity_storage({})


def test_bearer_tokens_reach_blobs_and_base64_queue_messages(azurite_oauth):
    endpoints, certificate, connection_string = azurite_oauth
    credential = FakeEntraCredential()
    storage = AzureStorage(endpoints=endpoints, credential=credential, connection_verify=str(certificate))
    storage.put_blob("identity-tests", "frame.json", b"{}")
    assert storage.get_blob("identity-tests", "frame.json").data == b"{}"
    storage.send_message("identity-queue", '{"personGroupId": "family"}')
    assert "https://storage.azure.com/.default" in credential.scopes
    # Looked at without the decode policy, the message is base64 text, as the Functions queue trigger expects.
    raw = QueueClient.from_connection_string(connection_string, "identity-queue", connection_verify=str(certificate))
    [message] = raw.receive_messages(max_messages=1)
    assert base64.b64decode(message.content).decode() == '{"personGroupId": "family"}'


def test_an_expired_token_is_refused(azurite_oauth):
    endpoints, certificate, _ = azurite_oauth
    storage = AzureStorage(
        endpoints=endpoints, credential=FakeEntraCredential(lifetime=-600), connection_verify=str(certificate)
    )
    with pytest.raises((ClientAuthenticationError, HttpResponseError)):
        storage.put_blob("identity-tests", "nope.txt", b"x")
