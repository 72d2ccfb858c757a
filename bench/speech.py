"""Speech benchmarks on the local engines: TTS first audio + real-time factor, STT latency by model.

    python bench/speech.py [--runs 20] [--json results.json]

TTS first audio is measured like a client sees it: POST /api/tts/generate with stream=true over real
HTTP on loopback, from sending the request to receiving the first audio bytes. STT is measured on the
provider (decode excluded) for each installed model, with the short encoder window on and off, on a
~3 s utterance spoken by Piper (its word error rate), plus the word error rate over a 14-sentence set
of assistant-style requests (`corpus WER`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from backend.app.server import BackgroundServer  # noqa: E402
from backend.core.config import PROJECT_ROOT, Settings, load_config  # noqa: E402
from backend.media.audio import decode_audio  # noqa: E402
from backend.speech.base import STTConfig, TTSConfig  # noqa: E402
from backend.speech.providers.piper_tts import PiperTTS  # noqa: E402
from backend.speech.providers.whisper_local_stt import WhisperLocalSTT  # noqa: E402
from bench.machine import describe  # noqa: E402

ONE_SENTENCE_REPLIES = [
    "Hello!",
    "Sure, I can help you with that.",
    "Your appointment is booked for Tuesday at three in the afternoon.",
    "The nearest pharmacy is open until nine tonight.",
]
PARAGRAPH = (
    "Welcome to Mithivoices. This platform runs entirely on your own machine. "
    "It can speak eight languages, understand what you say, and answer in real time. "
    "Nothing leaves the box unless you choose a cloud provider in the configuration file."
)
UTTERANCE = "Please book a table for two people at seven tonight."
# Short assistant-style requests for the accuracy check (word error rate over the whole set).
CORPUS = [
    UTTERANCE,
    "What time does the museum open on Sunday morning?",
    "I would like to cancel my appointment with the dentist.",
    "Can you remind me to call my mother tomorrow?",
    "The train to Chennai leaves from platform number four.",
    "How much does a ticket to the airport cost?",
    "Turn off the lights in the kitchen please.",
    "My name is Priya and I live in Bangalore.",
    "Is it going to rain this afternoon?",
    "Send a message to Rahul saying I will be late.",
    "What is the weather like in Mumbai today?",
    "I need to buy milk, bread and some eggs.",
    "Yes.",
    "Book it for Friday at ten in the morning please, and add a reminder one hour before.",
]


def stats(values: list[float]) -> dict[str, float]:
    """Median, p95, min and count ({"n": 0} for no values)."""
    if not values:
        return {"n": 0}
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return {
        "median": round(statistics.median(ordered), 1),
        "p95": round(p95, 1),
        "min": round(ordered[0], 1),
        "n": len(ordered),
    }


def tts_first_audio_http(url: str, runs: int) -> dict[str, dict]:
    out: dict[str, dict] = {}
    with httpx.Client(base_url=url, timeout=60) as client:
        for text in ONE_SENTENCE_REPLIES:
            for stream in (True, False):
                times = []
                for i in range(runs + 2):
                    start = time.perf_counter()
                    with client.stream(
                        "POST", "/api/tts/generate", json={"text": text, "stream": stream}
                    ) as r:
                        r.raise_for_status()
                        first = None
                        for chunk in r.iter_raw():
                            if chunk and first is None:
                                first = time.perf_counter() - start
                        assert first is not None
                    if i >= 2:  # two warm-up requests
                        times.append(first * 1000)
                out[f"{'stream' if stream else 'whole'}: {text}"] = stats(times)
    return out


async def tts_rtf(settings: Settings, runs: int) -> dict[str, float]:
    piper = PiperTTS(settings)
    await piper.load()
    config = TTSConfig(voice_id=settings.piper.default_voice, language="en")
    rtfs, totals = [], []
    for _ in range(runs):
        start = time.perf_counter()
        audio = await piper.synthesize_pcm(PARAGRAPH, config)
        elapsed = time.perf_counter() - start
        rtfs.append(elapsed / audio.duration)
        totals.append(elapsed * 1000)
    return {"rtf_median": round(statistics.median(rtfs), 4), "audio_s": round(audio.duration, 2)} | {
        f"synth_ms_{k}": v for k, v in stats(totals).items() if k in ("median", "p95")
    }


async def stt_latency(settings: Settings, runs: int) -> dict[str, dict]:
    from tests.helpers.speech import word_error_rate

    piper = PiperTTS(settings)
    await piper.load()
    voice = TTSConfig(voice_id=settings.piper.default_voice, language="en")
    corpus = [decode_audio(await piper.synthesize(text, voice)) for text in CORPUS]
    audio = corpus[0]
    results: dict[str, dict] = {"utterance_s": {"value": round(len(audio) / 16000, 2)}}
    for window in (settings.whisper_local.short_window_seconds, 0.0):
        cfg = settings.model_copy(deep=True)
        cfg.whisper_local.short_window_seconds = window
        stt = WhisperLocalSTT(cfg)
        for model in stt.models():
            for language in [None, "en"] if not model.endswith(".en") else [None]:
                config = STTConfig(model=model, language=language)
                await stt.transcribe(audio, config)  # warm-up (and load)
                times, wers = [], []
                for _ in range(runs):
                    start = time.perf_counter()
                    result = await stt.transcribe(audio, config)
                    times.append((time.perf_counter() - start) * 1000)
                    wers.append(word_error_rate(UTTERANCE, result.text))
                shown = f"{window:g}s" if window else "30s (off)"
                label = f"{model} window={shown} lang={language or 'auto'}"
                reference = " ".join(CORPUS)
                hypothesis = " ".join([(await stt.transcribe(a, config)).text for a in corpus])
                results[label] = stats(times) | {
                    "wer": round(float(np.mean(wers)), 3),
                    "corpus_wer": round(word_error_rate(reference, hypothesis), 3),
                    "text": result.text,
                }
    return results


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()

    settings = load_config(PROJECT_ROOT / "config.yml")
    machine = describe(("piper-tts", "faster-whisper", "ctranslate2", "onnxruntime"))
    print("machine:", json.dumps(machine))
    results: dict[str, object] = {"machine": machine, "runs": args.runs}

    with BackgroundServer(settings) as server:
        results["tts_first_audio_http_ms"] = tts_first_audio_http(server.url, args.runs)
    results["tts_piper_paragraph"] = asyncio.run(tts_rtf(settings, max(5, args.runs // 2)))
    results["stt_latency_ms"] = asyncio.run(stt_latency(settings, max(10, args.runs // 2)))

    print("\nTTS first audio over HTTP (ms, request sent -> first audio bytes)")
    for label, s in results["tts_first_audio_http_ms"].items():  # type: ignore[union-attr]
        print(f"  {label:80s} median {s['median']:7.1f}  p95 {s['p95']:7.1f}  (n={s['n']})")
    print("\nPiper paragraph:", results["tts_piper_paragraph"])
    print("\nSTT latency (ms, decoded 16 kHz audio in -> transcript out)")
    for label, s in results["stt_latency_ms"].items():  # type: ignore[union-attr]
        if "median" in s:
            print(
                f"  {label:45s} median {s['median']:7.1f}  p95 {s['p95']:7.1f}  "
                f"WER {s['wer']:.3f}  corpus WER {s['corpus_wer']:.3f}  {s['text']!r}"
            )
        else:
            print(f"  {label}: {s['value']}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
