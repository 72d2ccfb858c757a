"""GET /health, /api/voices, /api/languages."""

from __future__ import annotations

import httpx

from tests.helpers.rest import assert_error


def test_health_reports_providers_versions_uptime(base_url: str) -> None:
    body = httpx.get(f"{base_url}/health").json()
    assert body["status"] == "ok"
    assert body["uptime_s"] >= 0
    tts = body["providers"]["tts"]
    assert tts["piper"]["status"] == "loaded" and tts["piper"]["role"] == "primary"
    assert "en_US-joe-medium" in tts["piper"]["voices_loaded"]
    assert tts["espeak"]["role"] == "language_fallback"
    stt = body["providers"]["stt"]["whisper_local"]
    assert stt["status"] == "loaded" and {"tiny.en", "base"} <= set(stt["models_loaded"])
    for package in ("python", "piper-tts", "faster-whisper", "fastapi"):
        assert body["versions"][package]


def test_voices_marks_installed_and_filters_by_language(base_url: str) -> None:
    voices = httpx.get(f"{base_url}/api/voices").json()
    by_id = {v["id"]: v for v in voices}
    assert by_id["en_US-joe-medium"]["installed"] and by_id["en_US-joe-medium"]["available"]
    assert not by_id["hi_IN-pratham-medium"]["installed"]
    for field in (
        "name",
        "language",
        "locale",
        "gender",
        "engine",
        "quality",
        "sample_rate",
        "license",
        "source",
    ):
        assert field in by_id["en_US-joe-medium"]
    assert {f"espeak-{c}" for c in ("en", "hi", "ml", "mr", "ta", "te", "bn", "gu")} <= set(by_id)
    hindi = httpx.get(f"{base_url}/api/voices", params={"language": "hi"}).json()
    assert hindi and all(v["language"] == "hi" for v in hindi)
    assert {v["id"] for v in hindi} >= {"hi_IN-pratham-medium", "espeak-hi"}
    installed = httpx.get(f"{base_url}/api/voices", params={"language": "hi_IN", "installed": "true"}).json()
    assert [v["id"] for v in installed] == ["espeak-hi"]


def test_voices_bad_language(base_url: str) -> None:
    assert_error(httpx.get(f"{base_url}/api/voices", params={"language": "zz"}), 422, "unsupported_language")
    assert_error(httpx.get(f"{base_url}/api/voices", params={"installed": "perhaps"}), 422, "invalid_request")


def test_languages(base_url: str) -> None:
    langs = {lang["code"]: lang for lang in httpx.get(f"{base_url}/api/languages").json()}
    assert {"en", "hi", "ml", "mr", "ta", "te", "bn", "gu"} <= set(langs)
    assert langs["hi"]["native_name"] == "हिन्दी" and langs["hi"]["enabled"]
    assert langs["en"]["default_voice"] == "en_US-joe-medium"
    assert langs["ta"]["default_voice"] == "espeak-ta"
    assert all(langs[c]["stt_supported"] for c in ("en", "hi", "gu"))  # base is multilingual
    assert langs["ne"]["enabled"] is False and langs["ne"]["default_voice"] is None
    # what each language gets now: Joe (Piper) for English, eSpeak NG for the rest; Whisper on this machine
    assert langs["en"]["tts_kind"] == "neural"
    assert all(langs[c]["tts_kind"] == "espeak" for c in ("hi", "ml", "mr", "ta", "te", "bn", "gu"))
    assert all(langs[c]["stt_kind"] == "local" for c in ("en", "hi", "ml", "mr", "ta", "te", "bn", "gu"))
    assert langs["ne"]["tts_kind"] == "none" and langs["ne"]["stt_kind"] == "none"  # not enabled
