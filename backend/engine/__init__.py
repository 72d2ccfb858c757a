"""The transport-agnostic voice engine: listener → turn-taking policy → responder (see session.py)."""
