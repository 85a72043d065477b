"""The Bicep deployment agrees with the code: every setting the code reads is set, every container, table and queue
it uses is created, no storage key appears, and azd deploys the packages the default engine needs.

The Bicep CLI cannot run here, so this reads infra/main.bicep as text; it is written so that the parts
checked (app settings, parameters, container and queue lists, resource types) parse with small regexes."""

from __future__ import annotations

import json
import os
import re
import tomllib
from pathlib import Path

import pytest
import yaml

from function_app.api.background import STORAGE_CONNECTION
from function_app.settings import Settings
from function_app.storage.layout import (
    APP_CONTAINERS,
    APP_TABLES,
    ENROLL_QUEUE,
    ENROLLMENTS_CONTAINER,
    EVENTS_CONTAINER,
    FACE_IDS_CONTAINER,
    GALLERY_CONTAINER,
    GROUPS_CONTAINER,
    SIGHTINGS_CONTAINER,
    TRAIN_QUEUE,
    UNKNOWN_VISITS_QUEUE,
    VISITS_CONTAINER,
    VISITS_TABLE,
    WORK_QUEUES,
    poison_queue,
)

PROJECT = Path(__file__).resolve().parents[1]
INFRA = PROJECT / "infra"
BICEP = (INFRA / "main.bicep").read_text()

# Settings the Functions host (not function_app/settings.py) reads, and why the app needs them.
HOST_SETTINGS = {
    "PYTHON_SCRIPT_FILE_NAME",  # the entry script is functions_entry.py
    f"{STORAGE_CONNECTION}__accountName",  # the queue triggers' connection, with an identity
    f"{STORAGE_CONNECTION}__credential",
    f"{STORAGE_CONNECTION}__clientId",
    "APPLICATIONINSIGHTS_CONNECTION_STRING",
    "APPLICATIONINSIGHTS_AUTHENTICATION_STRING",
}
# Flex Consumption takes these from functionAppConfig or refuses them; a key-based AzureWebJobsStorage is a key.
REFUSED_SETTINGS = {
    "FUNCTIONS_WORKER_RUNTIME",
    "FUNCTIONS_EXTENSION_VERSION",
    "WEBSITE_RUN_FROM_PACKAGE",
    "WEBSITE_CONTENTSHARE",
    "WEBSITE_CONTENTAZUREFILECONNECTIONSTRING",
    "SCM_DO_BUILD_DURING_DEPLOYMENT",
    "ENABLE_ORYX_BUILD",
    STORAGE_CONNECTION,
}
# Deliberate production values that differ from the code's defaults (the rest must match them).
PRODUCTION_VALUES = {
    "STORAGE_BACKEND": "azure",
    "STORAGE_DIR": "/tmp/face-data",
    "FACE_MODEL_CACHE_DIR": "/tmp/video-face-recognition",
    "WEBHOOK_ALLOW_PRIVATE": "off",  # in Azure a private address is the service's own network
}
# Resource types and the API versions documented for them (learn.microsoft.com/azure/templates; the
# Flex Consumption samples, Azure-Samples/azure-functions-flex-consumption-samples, use sites@2023-12-01+).
KNOWN_API_VERSIONS = {
    "Microsoft.ManagedIdentity/userAssignedIdentities": {"2023-01-31", "2024-11-30"},
    "Microsoft.Storage/storageAccounts": {"2023-01-01", "2023-05-01", "2024-01-01"},
    "Microsoft.Storage/storageAccounts/blobServices": {"2023-01-01", "2023-05-01", "2024-01-01"},
    "Microsoft.Storage/storageAccounts/blobServices/containers": {"2023-01-01", "2023-05-01", "2024-01-01"},
    "Microsoft.Storage/storageAccounts/queueServices": {"2023-01-01", "2023-05-01", "2024-01-01"},
    "Microsoft.Storage/storageAccounts/queueServices/queues": {"2023-01-01", "2023-05-01", "2024-01-01"},
    "Microsoft.Storage/storageAccounts/tableServices": {"2023-01-01", "2023-05-01", "2024-01-01"},
    "Microsoft.Storage/storageAccounts/tableServices/tables": {"2023-01-01", "2023-05-01", "2024-01-01"},
    "Microsoft.Storage/storageAccounts/managementPolicies": {"2023-01-01", "2023-05-01", "2024-01-01"},
    "Microsoft.Authorization/roleAssignments": {"2022-04-01"},
    "Microsoft.OperationalInsights/workspaces": {"2022-10-01", "2023-09-01"},
    "Microsoft.Insights/components": {"2020-02-02"},
    "Microsoft.CognitiveServices/accounts": {"2023-05-01", "2024-10-01"},
    "Microsoft.Web/serverfarms": {"2023-12-01", "2024-04-01"},
    "Microsoft.Web/sites": {"2023-12-01", "2024-04-01"},
}


def _block(text: str, opening: str) -> str:
    """The bracketed block that starts at `opening` (which ends with its bracket), brackets balanced."""
    start = text.index(opening) + len(opening)
    depth, pairs = 1, {"[": "]", "{": "}"}
    close = pairs[opening[-1]]
    for i in range(start, len(text)):
        if text[i] == opening[-1]:
            depth += 1
        elif text[i] == close:
            depth -= 1
            if depth == 0:
                return text[start:i]
    raise AssertionError(f"unbalanced block after {opening!r}")


def _app_settings() -> dict[str, str]:
    """name → the Bicep expression of its value, from siteConfig.appSettings."""
    block = _block(BICEP, "appSettings: [")
    pairs = re.findall(r"name:\s*'([^']+)'\s*\n\s*value:\s*(.+)", block)
    names = [name for name, _ in pairs]
    assert len(names) == len(set(names)), "an app setting is set twice"
    assert len(names) == block.count("name:"), "every app setting must be a { name: '...' / value: ... } pair"
    return {name: value.strip() for name, value in pairs}


def _string_list(variable: str) -> list[str]:
    return re.findall(r"'([^']+)'", _block(BICEP, f"var {variable} = ["))


def _params() -> dict[str, tuple[str, str | None, bool]]:
    """name → (type, default expression or None, secure)."""
    found = {}
    for match in re.finditer(r"((?:@\w+\([^\n]*\)\s*\n)*)param (\w+) (\w+)(?: = ([^\n]+))?", BICEP):
        decorators, name, kind, default = match.groups()
        found[name] = (kind, default, "@secure()" in decorators)
    return found


def test_every_setting_the_code_reads_is_set_and_nothing_else():
    code = {env for env, _, _ in Settings.documented()}
    bicep = set(_app_settings())
    assert code - bicep == set(), "settings the code reads that infra/main.bicep does not set"
    assert bicep - code - HOST_SETTINGS == set(), "app settings nothing reads"
    assert bicep >= HOST_SETTINGS
    assert REFUSED_SETTINGS.isdisjoint(bicep)


def test_values_are_the_code_defaults_unless_meant_for_production():
    params = _params()
    for env, default, _ in Settings.documented():
        value = _app_settings()[env]
        if env in PRODUCTION_VALUES:
            assert value == f"'{PRODUCTION_VALUES[env]}'", env
        elif value.startswith("'"):
            assert value == f"'{default}'", f"{env} is {value} in the Bicep, {default!r} in the code"
        elif value in params and (expression := params[value][1]) is not None:  # a parameter with a default
            assert expression.strip() in (f"'{default}'", str(default).lower()), env
        elif (number := re.fullmatch(r"string\((\w+)\)", value)) and number.group(1) in params:  # a number parameter
            assert params[number.group(1)] == ("int", str(default), False), env


def test_the_functions_host_finds_the_entry_script_and_its_storage_without_a_key():
    settings = _app_settings()
    assert settings["PYTHON_SCRIPT_FILE_NAME"] == "'functions_entry.py'"
    assert (PROJECT / "functions_entry.py").is_file()
    assert settings[f"{STORAGE_CONNECTION}__credential"] == "'managedidentity'"
    assert settings["STORAGE_BACKEND"] == "'azure'"
    assert settings["AZURE_STORAGE_CONNECTION_STRING"] == "''"
    assert settings["AZURE_STORAGE_ACCOUNT_NAME"] == settings[f"{STORAGE_CONNECTION}__accountName"] == "storage.name"
    client_id = "identity.properties.clientId"
    assert settings["AZURE_CLIENT_ID"] == settings[f"{STORAGE_CONNECTION}__clientId"] == client_id
    assert "Authorization=AAD" in settings["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"]


def test_every_container_table_and_queue_the_code_uses_is_created():
    listed = _string_list("appContainers")
    assert len(listed) == len(set(listed)), "a container listed twice: the deployment would declare it twice"
    containers = set(listed)
    used = {GALLERY_CONTAINER, GROUPS_CONTAINER, FACE_IDS_CONTAINER, SIGHTINGS_CONTAINER, ENROLLMENTS_CONTAINER}
    assert containers == set(APP_CONTAINERS) | used
    queues = set(_string_list("appQueues"))
    assert {TRAIN_QUEUE, ENROLL_QUEUE, UNKNOWN_VISITS_QUEUE} <= set(WORK_QUEUES)
    assert queues == {q for queue in WORK_QUEUES for q in (queue, poison_queue(queue))}
    assert re.search(r"for name in concat\(appContainers, \[deploymentContainerName\]\)", BICEP)
    assert re.search(r"for name in appQueues:", BICEP)
    assert set(_string_list("appTables")) == set(APP_TABLES) == {VISITS_TABLE}
    assert re.search(r"for name in appTables:", BICEP)
    assert "${storage.properties.primaryEndpoints.blob}${deploymentContainerName}" in BICEP


def test_no_storage_key_anywhere_in_the_deployment():
    deployment = [*INFRA.glob("**/*.bicep"), *INFRA.glob("**/*.json"), PROJECT / "azure.yaml"]
    texts = {path: path.read_text() for path in deployment}
    for path, text in texts.items():
        for forbidden in ("listKeys", "AccountKey=", "DefaultEndpointsProtocol", "primaryKey", "listConnectionStrings"):
            assert forbidden not in text, f"{forbidden} in {path.name}"
    assert re.search(r"allowSharedKeyAccess:\s*false", BICEP)


def test_secrets_are_secure_parameters_without_a_default_in_the_repository():
    params = _params()
    for name in ("faceApiKey", "azureFaceKey"):
        assert params[name][2], f"{name} must be @secure()"
    assert params["faceApiKey"][1] is None, "the service key must be chosen at deployment, never defaulted"
    assert params["azureFaceKey"][1] == "''"
    assert _app_settings()["FACE_API_KEY"] == "faceApiKey"


def test_parameters_file_and_template_agree():
    params = _params()
    given = json.loads((INFRA / "main.parameters.json").read_text())["parameters"]
    assert set(given) <= set(params), "main.parameters.json names parameters main.bicep does not declare"
    required = {name for name, (_, default, _) in params.items() if default is None}
    assert required <= set(given), "required parameters azd would not fill in"
    for name, entry in given.items():
        assert re.fullmatch(r"\$\{[A-Z_]+(=[^}]*)?\}", entry["value"]), f"{name} should come from the azd environment"


def test_resource_types_use_documented_api_versions():
    used = re.findall(r"'(Microsoft\.[A-Za-z]+/[A-Za-z/]+)@([0-9-]+(?:-preview)?)'", BICEP)
    assert used, "no resources found"
    for kind, version in used:
        assert version in KNOWN_API_VERSIONS.get(kind, set()), f"{kind}@{version} is not a known API version"
    kinds = {kind for kind, _ in used}
    assert {"Microsoft.Web/sites", "Microsoft.Web/serverfarms", "Microsoft.CognitiveServices/accounts"} <= kinds


def test_flex_consumption_python_311_with_the_user_assigned_identity():
    assert re.search(r"tier: 'FlexConsumption'\s*\n\s*name: 'FC1'", BICEP)
    runtime = _block(BICEP, "runtime: {")
    assert "name: 'python'" in runtime
    found = re.search(r"version: '([0-9.]+)'", runtime)
    assert found, runtime
    version = found.group(1)
    requires = tomllib.loads((PROJECT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert f">={version}" in requires
    assert "type: 'UserAssignedIdentity'" in _block(BICEP, "deployment: {")


def test_azure_yaml_deploys_this_folder_as_a_function_app_built_here():
    config = yaml.safe_load((PROJECT / "azure.yaml").read_text())
    assert (config["infra"]["path"], config["infra"].get("module", "main")) == ("infra", "main")
    [(name, service)] = config["services"].items()
    assert (service["project"], service["host"], service["language"]) == (".", "function", "python")
    assert f"'azd-service-name': '{name}'" in BICEP
    assert (PROJECT / service["project"] / "host.json").is_file()
    assert service["remoteBuild"] is False  # the remote build would miss requirements-nodeps.txt
    hook = service["hooks"]["prepackage"]
    script = PROJECT / service["project"] / hook["run"]
    assert script.is_file() and os.access(script, os.X_OK)


def test_the_packaging_hook_installs_both_requirement_files_for_the_functions_host():
    script = (PROJECT / "scripts" / "package-azure").read_text()
    assert "target=.python_packages/lib/site-packages" in script
    assert re.search(r"--no-deps -r requirements-nodeps\.txt", script)
    assert "requirements.txt" in script
    for option in ("--python-version 3.11", "--implementation cp", "--only-binary=:all:", "manylinux"):
        assert option in script
    # The source-only packages it builds apart are requirements.txt's, and the rest go through the wheel pins.
    found = re.search(r'source_only="([^"]*)"', script)
    assert found, "no source_only list in scripts/package-azure"
    source_only = found.group(1).split()
    pinned = {line.split("==")[0].lower() for line in (PROJECT / "requirements.txt").read_text().splitlines()}
    assert set(source_only) <= pinned


@pytest.mark.parametrize("needed", [".python_packages", "function_app", "functions_entry.py", "host.json"])
def test_funcignore_keeps_what_the_host_runs(needed):
    ignored = {line.strip() for line in (PROJECT / ".funcignore").read_text().splitlines() if line.strip()}
    assert needed not in ignored
    assert {"tests", ".venv", "infra", ".azure", "local.settings.json"} <= ignored


# Each retention setting of a dated container, and that container: the lifecycle rule deletes what the setting says.
RETENTION_BY_CONTAINER = {
    "VISIT_RETENTION_DAYS": VISITS_CONTAINER,
    "FRAME_RECORD_RETENTION_DAYS": SIGHTINGS_CONTAINER,
    "EVENT_RETENTION_DAYS": EVENTS_CONTAINER,
}


def test_the_lifecycle_policy_deletes_each_dated_container_after_its_retention_setting():
    settings = _app_settings()
    rules = _block(BICEP, "var retentionRules = [")
    found = dict(re.findall(r"\{ container: '([a-z-]+)', days: (\w+) \}", rules))
    assert len(found) == len(RETENTION_BY_CONTAINER), rules
    for env, container in RETENTION_BY_CONTAINER.items():
        assert settings[env] == f"string({found[container]})", f"{env}: its parameter is not the rule's"
    declared = "resource lifecycle 'Microsoft.Storage/storageAccounts/managementPolicies@2023-01-01' = "
    policy = _block(BICEP, declared + "if (!empty(activeRetentionRules)) {")
    assert "parent: storage" in policy and "name: 'default'" in policy  # the account's one policy is named default
    assert "for rule in activeRetentionRules:" in policy
    assert "prefixMatch: ['${rule.container}/']" in policy  # a prefix filter is the container, then the blob name
    assert "daysAfterModificationGreaterThan: rule.days" in policy
    assert "blobTypes: ['blockBlob', 'appendBlob']" in policy  # the records and the appended sightings and events
    assert re.search(
        r"var activeRetentionRules = filter\(retentionRules, rule => rule.days > 0\)", BICEP
    )  # 0: for ever
