"""Shared fixtures: real models (assembled by download_models.py), real HTTP servers on loopback."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from backend.app.server import BackgroundServer as LiveServer
from backend.core.config import PROJECT_ROOT, Settings, parse_config
from backend.core.net import free_port

# The suite never fetches models from the real hub at startup (config.yml: models.auto_download reads
# MITHI_AUTO_DOWNLOAD); tests of it turn it on against the stand-in (tests/fakes/hf_hub.py).
os.environ.setdefault("MITHI_AUTO_DOWNLOAD", "false")

REQUIRED_MODELS = (
    "piper/en_US-joe-medium.onnx",
    "piper/en_US-joe-medium.onnx.json",
    "whisper/tiny.en/model.bin",
    "whisper/base/model.bin",
    "llm/gemma-3-270m-q4_k_m.gguf",
)


# Every test gets its lane's markers here, from where it lives and what it needs, so none can lack one:
#   unit / integration  — its folder;
#   models              — it needs the bundled models (the `assembled_models` fixture, directly or
#                         through a server, or a module fixture that assembles them: MODEL_FIXTURES);
#   web                 — it drives a real browser (WEB_MODULES).
# `make test-fast` runs `-m "not models and not web"`; `make test` runs everything.
MODEL_FIXTURES = frozenset({"assembled_models", "assembled"})
WEB_MODULES = frozenset({"test_web_app"})


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        path = Path(str(item.path))
        item.add_marker("unit" if "unit" in path.parts else "integration")
        if MODEL_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker("models")
        if path.stem in WEB_MODULES:
            item.add_marker("web")


def models_dir() -> Path:
    return Path(os.environ.get("MITHI_MODELS_DIR") or PROJECT_ROOT / "models")


@pytest.fixture(scope="session")
def assembled_models() -> Path:
    """The bundled models, assembled into models/ if a previous `make` has not done it yet."""
    folder = models_dir()
    if not all((folder / m).is_file() for m in REQUIRED_MODELS):
        import download_models

        assert download_models.main(["--models-dir", str(folder)]) == 0, "model assembly failed"
    missing = [m for m in REQUIRED_MODELS if not (folder / m).is_file()]
    assert not missing, f"models missing after assembly: {missing}"
    return folder


class ManualClock:
    """A clock that moves only when a test moves it (``now``, :meth:`advance`): circuit-breaker cool-downs."""

    def __init__(self, now: float = 0.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def make_settings(
    overrides: dict[str, Any] | None = None, models: Path | None = None, data_dir: Path | None = None
) -> Settings:
    """config.yml from the repo with `overrides` merged in (section by section).

    Each call gets its own data dir (so its own embedded Redis) unless `data_dir` is given.
    """
    data = yaml.safe_load((PROJECT_ROOT / "config.yml").read_text())
    for section, values in (overrides or {}).items():
        if isinstance(values, dict):
            data.setdefault(section, {}).update(values)
        else:
            data[section] = values
    if models is not None:
        data.setdefault("paths", {})["models_dir"] = str(models)
    data.setdefault("paths", {})["data_dir"] = str(data_dir or tempfile.mkdtemp(prefix="mithi-data-"))
    return parse_config(data, "test config")


WEB_INDEX = '<!doctype html><html><head><script src="/assets/app-1a2b.js"></script></head></html>'
WEB_ASSET = "console.log('mithivoices');"


@pytest.fixture(scope="session")
def web_dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A stand-in for frontend/dist (the Vite build's layout), so tests do not depend on a build."""
    dist = tmp_path_factory.mktemp("dist")
    (dist / "assets").mkdir()
    (dist / "index.html").write_text(WEB_INDEX)
    (dist / "assets" / "app-1a2b.js").write_text(WEB_ASSET)
    (dist / "favicon.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    return dist


@pytest.fixture(scope="session")
def server(assembled_models: Path, web_dist: Path) -> Iterator[LiveServer]:
    """The app as `make run` configures it (piper + espeak fallback, whisper tiny.en + base), with the
    Wyoming door on (`server.app.state.settings.wyoming.port`)."""
    # every test shares this server and one client address: the per-minute request and concurrent-session
    # limits (tested on their own in test_auth_and_tenancy.py) would throttle the suite itself
    settings = make_settings(
        {
            "paths": {"web_dist": str(web_dist)},
            "limits": {"requests_per_minute": 0, "voice_sessions_per_key": 0},
            "wyoming": {"enabled": True, "port": free_port()},  # the Home Assistant door, on loopback
        },
        models=assembled_models,
    )
    with LiveServer(settings) as live:
        yield live


@pytest.fixture(scope="session")
def base_url(server: LiveServer) -> str:
    return server.url


def write_config(path: Path, models: Path, replace: dict[str, str]) -> Path:
    """The repo's config.yml with some lines changed (`replace`: line prefix → new line), pointing at
    `models` and at a data dir beside `path`: what a user does when they edit one line."""
    lines = []
    for line in (PROJECT_ROOT / "config.yml").read_text().splitlines():
        for prefix, new in {
            **replace,
            "  models_dir:": f"  models_dir: {models}",
            "  data_dir:": f"  data_dir: {path.with_suffix('.data')}",
        }.items():
            if line.startswith(prefix):
                line = new
        lines.append(line)
    path.write_text("\n".join(lines) + "\n")
    return path


__all__ = ["WEB_ASSET", "WEB_INDEX", "LiveServer", "free_port", "make_settings", "write_config"]
