"""The app's Microsoft Entra credential, for the Azure services it signs in to without keys (Storage, Face)."""

from __future__ import annotations

from azure.core.credentials import TokenCredential


def entra_credential(client_id: str) -> TokenCredential:
    """A user-assigned managed identity when its client id is known; otherwise DefaultAzureCredential, which also
    finds a system identity, or a developer's `az login`."""
    from azure.identity import DefaultAzureCredential, ManagedIdentityCredential

    if client_id:
        return ManagedIdentityCredential(client_id=client_id)
    return DefaultAzureCredential()
