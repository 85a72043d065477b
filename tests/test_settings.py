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


@pytest.mark.parametrize(
    ("env", "value"),
    [
        ("FACE_MATCH_THRESHOLD", "-0.4"),  # would name every stranger
        ("FACE_MATCH_THRESHOLD", "0"),
        ("FACE_MATCH_THRESHOLD", "nan"),
        ("FACE_MATCH_THRESHOLD", "inf"),
        ("FACE_DETECT_UPSAMPLE", "-1"),
        ("FACE_DETECT_UPSAMPLE", "9"),
        ("FACE_DETECT_MAX_SIDE", "0"),
        ("FACE_MIN_SIZE", "-5"),
        ("FACE_MAX_IMAGE_BYTES", "0"),
        ("FACE_MAX_IMAGE_SIDE", "10"),
    ],
)
def test_a_number_out_of_range_stops_the_start_naming_the_setting(env, value):
    with pytest.raises(ValueError, match=f"Setting {env}=.* is out of range: it must lie between"):
        Settings.from_env({env: value})


def test_every_numeric_setting_has_a_range_its_default_lies_in():
    from dataclasses import fields

    for f in fields(Settings):
        if isinstance(f.default, int | float) and not isinstance(f.default, bool):
            low, high = f.metadata["bounds"]
            assert low <= f.default <= high, f.metadata["env"]


def test_the_landmark_model_and_match_rule_are_choices():
    with pytest.raises(ValueError, match="Unknown FACE_LANDMARK_MODEL '68': use one of 5-point, 68-point"):
        Settings.from_env({"FACE_LANDMARK_MODEL": "68"})
    assert Settings.from_env({"FACE_MATCH_RULE": "nearest"}).match_rule == "nearest"
