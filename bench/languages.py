"""Per language: which language the recogniser says was spoken, and how well it wrote down the words.

    python bench/languages.py [--json results.json]

The project's multilingual set (bench/multilingual_set.py: five phrases per language, spoken by eSpeak
NG) goes through the local recogniser as /voice uses it:
- **language ID**: `STTConfig.languages` = the eight languages, no language given (detection restricted
  to them, English tried first with tiny.en, the transcript's script confirming; see
  backend/speech/language_id.py), for the shipped setup (`stt.model_size: tiny.en`, base preloaded) and
  for `stt.model_size: base`;
- **error rates**, the language given: character error rate (CER, for every language) and word error
  rate (WER) of faster-whisper base (and tiny.en for English), after removing punctuation.
Prints a table per language and the machine; `--json` writes everything.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import statistics
import sys
import time
import unicodedata
from pathlib import Path

import jiwer

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from backend.core.languages import DEFAULT_LANGUAGES  # noqa: E402
from backend.speech.base import STTConfig  # noqa: E402
from backend.speech.stt_chain import STTChain  # noqa: E402
from bench.machine import describe  # noqa: E402
from bench.multilingual_set import PHRASES, espeak_audio  # noqa: E402
from tests.conftest import make_settings  # noqa: E402


def plain(text: str) -> str:
    """Lower-case, no punctuation (dandas included), single spaces: what error rates compare."""
    text = unicodedata.normalize("NFC", text.lower())
    text = re.sub(r"[^\w\s]|_", " ", text.replace("।", " ").replace("॥", " "))
    return " ".join(text.split())


def error_rates(reference: str, hypothesis: str) -> tuple[float, float]:
    ref, hyp = plain(reference), plain(hypothesis)
    if not hyp:
        return 1.0, 1.0
    return float(jiwer.cer(ref, hyp)), float(jiwer.wer(ref, hyp))


async def run() -> dict[str, object]:
    setups = {
        "tiny.en + base": make_settings({"stt": {"model_size": "tiny.en"}}),
        "base": make_settings({"stt": {"model_size": "base"}}),
    }
    chains = {name: STTChain(s) for name, s in setups.items()}
    for chain in chains.values():
        await chain.load()
    audio = {
        (lang, i): espeak_audio(text, lang) for lang, texts in PHRASES.items() for i, text in enumerate(texts)
    }
    results: dict[str, dict[str, object]] = {}
    for lang, texts in PHRASES.items():
        row: dict[str, object] = {}
        for name, chain in chains.items():
            heard, took = [], []
            for i in range(len(texts)):
                start = time.perf_counter()
                result = await chain.transcribe(audio[(lang, i)], STTConfig(languages=DEFAULT_LANGUAGES))
                took.append((time.perf_counter() - start) * 1000)
                heard.append(result.language)
            row[f"lid {name}"] = sum(h == lang for h in heard) / len(texts)
            row[f"lid {name} heard"] = heard
            row[f"lid {name} ms p50"] = round(statistics.median(took))
        models = ["tiny.en", "base"] if lang == "en" else ["base"]
        for model in models:
            cers, wers, samples = [], [], []
            for i, text in enumerate(texts):
                config = STTConfig(language=lang, model=model)
                result = await chains["base"].transcribe(audio[(lang, i)], config)
                cer, wer = error_rates(text, result.text)
                cers.append(cer)
                wers.append(wer)
                samples.append(result.text)
            row[f"cer {model}"] = round(statistics.mean(cers), 3)
            row[f"wer {model}"] = round(statistics.mean(wers), 3)
            row[f"heard {model}"] = samples
        results[lang] = row
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    results = asyncio.run(run())
    print(json.dumps(describe(("faster-whisper",)), indent=None))
    print(
        f"{'lang':5} {'LID tiny.en+base':>17} {'LID base':>9} {'CER base':>9} {'WER base':>9}  "
        "heard (base, language given)"
    )
    for lang, row in results.items():
        print(
            f"{lang:5} {row['lid tiny.en + base']:>17.0%} {row['lid base']:>9.0%} {row['cer base']:>9.2f} "
            f"{row['wer base']:>9.2f}  {row['heard base'][1]!r}"  # type: ignore[index]
        )
        if lang == "en":
            print(f"      tiny.en: CER {row['cer tiny.en']:.2f} WER {row['wer tiny.en']:.2f}")
        print(
            f"      detected (tiny.en+base): {row['lid tiny.en + base heard']}  "
            f"(base): {row['lid base heard']}"
        )
    if args.json:
        args.json.write_text(
            json.dumps({"machine": describe(), "languages": results}, ensure_ascii=False, indent=1)
        )


if __name__ == "__main__":
    main()
