"""Helpers shared by test modules (tests import from here, never from another test module)."""
