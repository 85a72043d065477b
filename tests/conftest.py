from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from function_app.storage.azure_storage import AzureStorage
from function_app.storage.local_folder import LocalFolderStorage

from .support import azurite

TESTDATA = Path(__file__).resolve().parents[2] / "shared" / "testdata" / "dev"


@pytest.fixture(scope="session")
def testdata() -> Path:
    if not TESTDATA.is_dir():
        pytest.skip(f"real face photos not found at {TESTDATA}: put ../shared beside the project")
    return TESTDATA


@pytest.fixture(scope="session")
def azurite_connection_string(tmp_path_factory) -> Iterator[str]:
    """A running Azurite: the one named by AZURITE_CONNECTION_STRING, or one started here."""
    if os.environ.get("AZURITE_CONNECTION_STRING"):
        yield os.environ["AZURITE_CONNECTION_STRING"]
        return
    if not azurite.AZURITE.exists():
        pytest.skip("Azurite is not installed: run `npm ci` in the project folder")
    process, connection_string = azurite.start_azurite(tmp_path_factory.mktemp("azurite"))
    yield connection_string
    azurite.stop_azurite(process)


@pytest.fixture(scope="session")
def azurite_oauth(tmp_path_factory):
    """An Azurite over HTTPS that checks bearer tokens: (blob URL, queue URL), its certificate, and a connection
    string to look behind the identity's back."""
    if not azurite.AZURITE.exists():
        pytest.skip("Azurite is not installed: run `npm ci` in the project folder")
    folder = tmp_path_factory.mktemp("azurite-oauth")
    certificate = azurite.make_certificate(folder)
    process, connection_string = azurite.start_azurite(folder, oauth_certificate=certificate)
    yield azurite.endpoints_of(connection_string), certificate[0], connection_string
    azurite.stop_azurite(process)


@pytest.fixture(params=["local", "azurite"])
def storage(request, tmp_path):
    if request.param == "local":
        return LocalFolderStorage(tmp_path / "data")
    return AzureStorage(request.getfixturevalue("azurite_connection_string"))


@pytest.fixture
def unique_name() -> str:
    """A container or queue name no other test uses (Azurite is shared by the whole session)."""
    return f"t{uuid.uuid4().hex[:20]}"


@pytest.fixture(scope="session")
def engine():
    from function_app.engines import create_engine
    from function_app.settings import Settings

    return create_engine(Settings())


@pytest.fixture
def local_api(storage, engine):
    from function_app.faceapi.local.service import LocalFaceApi
    from function_app.settings import Settings

    return LocalFaceApi(storage, engine, Settings())


@pytest.fixture
def counted(storage, engine):
    """A LocalFaceApi on a CountingStorage over `storage`, and that storage: what a training read."""
    from function_app.faceapi.local.service import LocalFaceApi
    from function_app.settings import Settings

    from .support.counting_storage import CountingStorage

    counting = CountingStorage(storage)
    return LocalFaceApi(counting, engine, Settings()), counting


@pytest.fixture
def group_id() -> str:
    """A group id no other test uses (the gallery container is shared on Azurite)."""
    return f"g-{uuid.uuid4().hex[:12]}"
