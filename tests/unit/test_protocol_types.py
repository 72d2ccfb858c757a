"""The web app's server event types (frontend/src/protocol.generated.ts) match the engine's events."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "gen_protocol_types.py"
sys.path.insert(0, str(ROOT / "scripts"))

import gen_protocol_types  # noqa: E402


def test_generated_types_are_up_to_date() -> None:
    result = subprocess.run([sys.executable, str(SCRIPT), "--check"], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_check_fails_on_drift(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    stale = tmp_path / "protocol.generated.ts"
    stale.write_text(gen_protocol_types.render().replace("'response.sentence'", "'response.said'"))
    monkeypatch.setattr(gen_protocol_types, "TARGET", stale)
    monkeypatch.setattr(sys, "argv", ["gen_protocol_types.py", "--check"])
    assert gen_protocol_types.main() == 1
    monkeypatch.setattr(gen_protocol_types, "TARGET", ROOT / "frontend" / "src" / "protocol.generated.ts")
    assert gen_protocol_types.main() == 0


def test_every_server_event_is_in_the_union() -> None:
    text = gen_protocol_types.render()
    for kind in ("response.sentence", "provider.failover", "response.done", "error", "session.started"):
        assert f"'{kind}'" in text
