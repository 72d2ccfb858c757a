"""Scrapes of /metrics, compared before and after (other tests share the server)."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
from prometheus_client.parser import text_string_to_metric_families


@dataclass
class Scrape:
    text: str
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float]
    workers: set[str]

    def value(self, name: str, **labels: str) -> float:
        """The sample's value, 0 when it is not exported yet (a counter not incremented)."""
        return self.samples.get((name, frozenset(labels.items())), 0.0)

    def family(self, name: str) -> dict[frozenset[tuple[str, str]], float]:
        return {labels: v for (n, labels), v in self.samples.items() if n == name}


def delta(after: Scrape, before: Scrape, name: str, **labels: str) -> float:
    return after.value(name, **labels) - before.value(name, **labels)


def scrape(url: str, headers: dict[str, str] | None = None) -> Scrape:
    resp = httpx.get(f"{url}/metrics", headers=headers, timeout=30)
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
    workers: set[str] = set()
    for family in text_string_to_metric_families(resp.text):
        for sample in family.samples:
            labels = dict(sample.labels)
            if "worker" in labels:
                workers.add(labels.pop("worker"))
            key = (sample.name, frozenset(labels.items()))
            assert key not in samples, f"duplicate series {key}"
            samples[key] = sample.value
    return Scrape(resp.text, samples, workers)
