"""Who may read GET /metrics, and how requests refused before routing are labelled.

The real app (`create_app`) through httpx's ASGI transport, without its lifespan: no model is loaded,
which these rules do not need (the circuit family is then empty). Scrapes are compared before/after,
because the metrics of a process are shared by every app in it.
"""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

from backend.app.main import create_app
from tests.conftest import make_settings

TOKEN = "scrape-token-123"
KEY = "sk-unit-key-1"


def _client(overrides: dict) -> httpx.AsyncClient:
    app = create_app(make_settings(overrides))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1:8000")


def _value(text: str, name: str, **labels: str) -> float:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            got = {k: v for k, v in sample.labels.items() if k != "worker"}
            if sample.name == name and got == labels:
                return sample.value
    return 0.0


async def test_metrics_token_is_required_once_set_even_with_auth_off() -> None:
    async with _client({"auth": {"metrics_token": TOKEN}}) as client:
        for headers in ({}, {"Authorization": "Bearer wrong-token"}, {"X-API-Key": TOKEN}):
            resp = await client.get("/metrics", headers=headers)
            assert resp.status_code == 401, headers
            assert resp.json()["error"]["code"] == "unauthorized"
        resp = await client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        assert resp.status_code == 200 and "mithi_http_requests_total" in resp.text
        assert TOKEN not in resp.text


async def test_open_without_keys_or_token() -> None:
    async with _client({}) as client:
        resp = await client.get("/metrics")
        assert resp.status_code == 200
        assert resp.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"


async def test_refusals_before_routing_carry_the_route_they_asked_for() -> None:
    async with _client({"auth": {"api_keys": f"unit:{KEY}", "metrics_token": TOKEN}}) as client:
        scraper = {"Authorization": f"Bearer {TOKEN}"}
        before = (await client.get("/metrics", headers=scraper)).text
        assert (await client.get("/api/voices")).status_code == 401  # no key
        bad_host = await client.get(
            "/api/sessions/zq9-unit-sid", headers={"Host": "evil.example", "X-API-Key": KEY}
        )
        assert bad_host.status_code == 400 and bad_host.json()["error"]["code"] == "invalid_host"
        after = (await client.get("/metrics", headers=scraper)).text
    for route, status in (("/api/voices", "401"), ("/api/sessions/{session_id}", "400")):
        labels = {"route": route, "method": "GET", "status": status}
        assert (
            _value(after, "mithi_http_requests_total", **labels)
            - _value(before, "mithi_http_requests_total", **labels)
            == 1
        ), labels
    assert "zq9-unit-sid" not in after  # the raw path never becomes a label
