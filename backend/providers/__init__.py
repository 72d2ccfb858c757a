"""Provider machinery shared by every kind of provider (speech, LLM): the fallback chains and their
circuit breakers (`failover.py`), the pooled HTTP client and vendor-status table of the hosted
providers (`hosted.py`), and the `"module:Class"` registries the factories resolve (`registry.py`).
Stands on `backend.core` only."""
