"""Doors: thin adapters between a wire protocol and the voice engine (backend.engine)."""
