"""The OpenAI Realtime API door: /v1/realtime over the transport-agnostic VoiceEngine."""
