"""The names OpenAI's speech API uses that `/v1` accepts (shared by the routes and the OpenAPI document)."""

from __future__ import annotations

# OpenAI's voice names map to the default voice of the request's language, unless the openai TTS engine
# is enabled: then they are its voices (catalogue ids alloy, nova, ...).
OPENAI_VOICES = (
    "alloy",
    "ash",
    "ballad",
    "coral",
    "echo",
    "fable",
    "nova",
    "onyx",
    "sage",
    "shimmer",
    "verse",
    "marin",
    "cedar",
)
TTS_MODELS = ("tts-1", "tts-1-hd", "gpt-4o-mini-tts")
