from __future__ import annotations

from pathlib import Path

import pytest

from backend.core.config import PROJECT_ROOT, load_config, parse_config
from backend.core.errors import ConfigError
from backend.speech.factory import validate_provider_names


def test_repo_config_is_valid_and_matches_defaults() -> None:
    settings = load_config(PROJECT_ROOT / "config.yml")
    assert settings.tts.provider == "piper"
    assert settings.stt.model_size == "tiny.en"
    assert settings.languages == ["en", "hi", "ml", "mr", "ta", "te", "bn", "gu"]
    assert settings.limits.max_text_chars == 5000
    validate_provider_names(settings)


def test_env_interpolation_with_and_without_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_KEY", "sk-123")
    monkeypatch.delenv("UNSET_VAR", raising=False)
    s = parse_config({"openai": {"api_key": "${MY_KEY}"}, "tts": {"provider": "${UNSET_VAR:-espeak}"}})
    assert s.openai.api_key == "sk-123"
    assert s.tts.provider == "espeak"


def test_missing_env_var_names_variable_and_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOPE_NOT_SET", raising=False)
    with pytest.raises(ConfigError) as err:
        parse_config({"elevenlabs": {"api_key": "${NOPE_NOT_SET}"}})
    assert "NOPE_NOT_SET" in err.value.message
    assert "elevenlabs.api_key" in err.value.message


def test_unknown_provider_lists_known_ones() -> None:
    settings = parse_config({"tts": {"provider": "pipr"}})
    with pytest.raises(ConfigError) as err:
        validate_provider_names(settings)
    known = "piper, espeak, elevenlabs, openai, coqui, sarvam"
    assert err.value.message == f"tts.provider: 'pipr' is unknown; known: {known}"


def test_unknown_stt_provider() -> None:
    with pytest.raises(ConfigError, match=r"stt.provider: 'whisperx' is unknown; known: whisper_local"):
        validate_provider_names(parse_config({"stt": {"provider": "whisperx"}}))


def test_bad_values_report_path_value_and_rule() -> None:
    with pytest.raises(ConfigError) as err:
        parse_config(
            {"tts": {"speed": "fast", "sped": 1}, "stt": {"beam_size": 0}, "languages": ["en", "xx"]}
        )
    msg = err.value.message
    assert "tts.speed: 'fast' is invalid" in msg
    assert "tts.sped: unknown key" in msg
    assert "stt.beam_size: 0 is invalid" in msg and "greater than or equal to 1" in msg
    assert "'xx' is not a supported language" in msg


def test_tts_language_must_be_enabled() -> None:
    with pytest.raises(ConfigError, match="tts.language: 'hi' is not in languages"):
        parse_config({"tts": {"language": "hi"}, "languages": ["en"]})


def test_language_codes_are_normalised() -> None:
    s = parse_config({"stt": {"language": "hi_IN"}, "tts": {"language": "EN"}})
    assert s.stt.language == "hi" and s.tts.language == "en"


def test_empty_values_mean_default() -> None:
    s = parse_config({"tts": {"voice_id": ""}, "stt": {"language": ""}})
    assert s.tts.voice_id is None and s.stt.language is None


def test_mithi_config_env_points_at_another_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    file = tmp_path / "other.yml"
    file.write_text("tts:\n  provider: espeak\n")
    monkeypatch.setenv("MITHI_CONFIG", str(file))
    assert load_config().tts.provider == "espeak"


def test_missing_and_invalid_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.yml")
    bad = tmp_path / "bad.yml"
    bad.write_text("tts: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)
    scalar = tmp_path / "scalar.yml"
    scalar.write_text("just a string\n")
    with pytest.raises(ConfigError, match="top level must be a mapping"):
        load_config(scalar)


def test_default_speed_must_be_within_limits() -> None:
    with pytest.raises(ConfigError, match="tts.speed: 3 is outside"):
        parse_config({"tts": {"speed": 3}})


def test_log_level_is_checked() -> None:
    with pytest.raises(ConfigError, match="server.log_level: 'loud' is invalid"):
        parse_config({"server": {"log_level": "loud"}})


def test_speed_limits_must_be_ordered() -> None:
    with pytest.raises(ConfigError, match="min_speed"):
        parse_config({"limits": {"min_speed": 3, "max_speed": 2}})


def test_public_view_masks_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    s = parse_config({"openai": {"api_key": "sk-secret"}, "redis": {"url": "redis://u:pw123@h:6379/0"}})
    view = s.public_view()
    assert view["openai"]["api_key"] == "***"
    assert "sk-secret" not in str(view) and "pw123" not in str(view)
    assert view["llm"]["max_tokens"] == 96  # not a secret, despite the word "tokens"


def test_realtime_settings_are_consistent() -> None:
    with pytest.raises(ConfigError, match="speculative_ms"):
        parse_config({"realtime": {"speculative_ms": 400, "hangover_ms": 300}})
    with pytest.raises(ConfigError, match="min_input_rate"):
        parse_config({"realtime": {"min_input_rate": 44100, "max_input_rate": 16000}})


def test_wyoming_binds_to_loopback_unless_remote_is_allowed_on_purpose() -> None:
    assert parse_config({"wyoming": {"enabled": True}}, "t").wyoming.host == "127.0.0.1"
    with pytest.raises(ConfigError, match="no authentication.*allow_remote"):
        parse_config({"wyoming": {"enabled": True, "host": "0.0.0.0"}}, "t")
    remote = parse_config({"wyoming": {"enabled": True, "host": "0.0.0.0", "allow_remote": True}}, "t")
    assert remote.wyoming.host == "0.0.0.0"
    assert parse_config({"wyoming": {"enabled": False, "host": "0.0.0.0"}}, "t").wyoming.enabled is False
