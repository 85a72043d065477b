from __future__ import annotations

from pathlib import Path

import pytest

from function_app.settings import Settings

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_configuration_table_lists_every_setting_with_its_default():
    text = README.read_text()
    for env, default, doc in Settings.documented():
        assert f"| `{env}` | `{default}` | {doc} |" in text, f"README's table is out of date for {env}"


def test_settings_come_from_the_environment():
    settings = Settings.from_env(
        {"FACE_MATCH_THRESHOLD": "0.35", "STORAGE_BACKEND": "azure", "FACE_DETECT_UPSAMPLE": "0"}
    )
    assert settings.match_threshold == 0.35
    assert settings.storage_backend == "azure"
    assert settings.detect_upsample == 0
    assert settings.detector == "blazeface"


def test_functions_host_storage_setting_is_the_fallback_connection_string():
    assert Settings.from_env({"AzureWebJobsStorage": "UseDevelopmentStorage=true"}).storage_connection_string == (
        "UseDevelopmentStorage=true"
    )


def test_a_bad_value_names_the_setting():
    with pytest.raises(ValueError, match="FACE_MIN_SIZE='big' is not a valid int"):
        Settings.from_env({"FACE_MIN_SIZE": "big"})
