"""A held-out voice set for the latency bench: questions spoken by eSpeak NG voices the app never speaks
with (its English voice is Piper), at two speaking rates, some with a pause inside the sentence (250 or
450 ms, where speakers hesitate: after a function word, before the word they are looking for — "Can you
recommend a | good book?") and some over background noise, mixing turns the LLM answers with tool and
memory turns. (Until 2026-12-03 the pauses came after phrases that are sentences by themselves, "What
is the largest planet | in our solar system?": see docs/BENCHMARKS.md for what that costs.)

    python bench/heldout_voices.py [--out DIR]      # writes the WAVs and a manifest.json to listen to

`heldout_set()` returns the utterances as 16 kHz PCM16 for bench/voice_latency.py. Everything is made
here, offline, from Debian's `espeak-ng` (deterministic: the same set on every machine).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from backend.media.audio import decode_audio, pcm16_to_wav  # noqa: E402

RATE = 16000
# eSpeak NG voices and variants (accent + voice variant) that Mithivoices does not speak with
VOICES = ("en-us+m3", "en-gb-scotland+f2", "en-029+m5", "en-gb-x-rp+f4", "en-us-nyc+m7")
SPEEDS = (150, 185)  # words per minute: slow-ish and brisk
# hesitations inside a sentence: a short one (under the default 300 ms hangover) and a long one (over it)
PAUSES_MS = (250, 450)
NOISE_SNR_DB = 20.0

Kind = Literal["llm", "tool", "memory"]


@dataclass(frozen=True)
class Prompt:
    text: str  # `|` marks where the speaker pauses (a hesitation, mid-phrase)
    kind: Kind
    clause: str | None = None  # the same words paused after a phrase that is a sentence by itself


PROMPTS = (
    Prompt("What is the capital of France?", "llm"),
    Prompt("How are you doing today?", "llm"),
    Prompt("Tell me one fact about the ocean.", "llm"),
    Prompt(
        "What is the largest planet in | our solar system?",
        "llm",
        "What is the largest planet | in our solar system?",
    ),
    Prompt("Can you recommend a | good book?", "llm", "Can you recommend | a good book?"),
    Prompt("What should I eat for breakfast?", "llm"),
    Prompt("Why is the sky blue?", "llm"),
    Prompt("Give me a tip for | sleeping better.", "llm", "Give me a tip | for sleeping better."),
    Prompt("What time is it?", "tool"),
    Prompt("What is the date today?", "tool"),
    Prompt("Book me a checkup tomorrow at | three.", "tool", "Book me a checkup | tomorrow at three."),
    Prompt("Do I have any appointments?", "tool"),
    Prompt("My name is Arjun.", "memory"),
    Prompt("What is my name?", "memory"),
)


@dataclass(frozen=True)
class Utterance:
    text: str  # what is said (without pause marks)
    kind: Kind
    voice: str
    speed: int
    pause: int  # ms of the pause inside the sentence (0: none)
    noise: bool
    speech_end: float  # seconds from the start to the end of the words (before noise was added)
    pcm: bytes  # 16 kHz PCM16 LE mono

    def describe(self) -> dict[str, object]:
        return {k: v for k, v in asdict(self).items() if k != "pcm"}


def _loud_frames(pcm: bytes, threshold: float, frame_ms: int) -> np.ndarray:
    """Indices of the `frame_ms` frames of `pcm` (16 kHz PCM16) louder than `threshold` RMS."""
    audio = np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768
    frame = RATE * frame_ms // 1000
    frames = audio[: len(audio) // frame * frame].reshape(-1, frame)
    return np.nonzero(np.sqrt((frames**2).mean(axis=1)) > threshold)[0]


def speech_end_s(pcm: bytes, threshold: float = 0.01, frame_ms: int = 20) -> float:
    """Seconds from the start of `pcm` (16 kHz PCM16) to the end of the last `frame_ms` frame louder than
    `threshold` RMS (0.01 = -40 dBFS, a usual speech-presence level; Piper's speech peaks around 0.3)."""
    loud = _loud_frames(pcm, threshold, frame_ms)
    return float((loud[-1] + 1) * frame_ms / 1000) if loud.size else 0.0


def speech_start_s(pcm: bytes, threshold: float = 0.01, frame_ms: int = 20) -> float:
    """Seconds from the start of `pcm` to the start of the first frame louder than `threshold` RMS."""
    loud = _loud_frames(pcm, threshold, frame_ms)
    return float(loud[0] * frame_ms / 1000) if loud.size else 0.0


def espeak_audio(text: str, voice: str, speed: int, pause_ms: int) -> np.ndarray:
    """eSpeak NG → float32 at 16 kHz; `|` becomes an SSML break of `pause_ms`."""
    if shutil.which("espeak-ng") is None:
        raise SystemExit("espeak-ng is not installed: run `make dev-deps` (apt-get install espeak-ng)")
    ssml = "<speak>" + text.replace("|", f'<break time="{pause_ms}ms"/>') + "</speak>"
    wav = subprocess.run(
        ["espeak-ng", "-v", voice, "-s", str(speed), "-m", "--stdout", ssml],
        check=True,
        capture_output=True,
    ).stdout
    return decode_audio(wav, sample_rate=RATE)


def _with_noise(audio: np.ndarray, seed: int) -> np.ndarray:
    """Add pink-ish background noise (a fan, a room) at NOISE_SNR_DB below the speech."""
    rng = np.random.default_rng(seed)
    white = rng.standard_normal(audio.size).astype(np.float32)
    pink = np.convolve(white, np.ones(8, np.float32) / 8, mode="same")  # a gentle low-pass
    voiced = audio[np.abs(audio) > 0.01]
    speech_rms = float(np.sqrt(np.mean(voiced**2))) if voiced.size else 0.1
    noise_rms = speech_rms / (10 ** (NOISE_SNR_DB / 20))
    pink *= noise_rms / max(float(np.sqrt(np.mean(pink**2))), 1e-9)
    return np.clip(audio + pink, -1.0, 1.0)


Pauses = Literal["hesitation", "clause"]


def heldout_set(turns: int = 28, pauses: Pauses = "hesitation") -> list[Utterance]:
    """`turns` utterances cycling through prompts, voices and speeds; every third one over noise. The
    memory pair stays in order (the name is told before it is asked). `pauses="clause"` moves each
    pause to after a phrase that is a sentence by itself (which no end-of-turn rule can tell from the
    end of the question)."""
    out = []
    for index in range(turns):
        prompt = PROMPTS[index % len(PROMPTS)]
        if pauses == "clause" and prompt.clause:
            prompt = Prompt(prompt.clause, prompt.kind)
        voice = VOICES[index % len(VOICES)]
        speed = SPEEDS[(index // len(VOICES)) % len(SPEEDS)]
        noise = index % 3 == 2
        pause = PAUSES_MS[index // len(PROMPTS) % len(PAUSES_MS)] if "|" in prompt.text else 0
        audio = espeak_audio(prompt.text, voice, speed, pause)
        end = speech_end_s((np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes())
        if noise:
            audio = _with_noise(audio, seed=index)
        pcm = (np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes()
        text = " ".join(prompt.text.replace("|", " ").split())
        out.append(Utterance(text, prompt.kind, voice, speed, pause, noise, end, pcm))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--turns", type=int, default=28)
    parser.add_argument("--pauses", choices=("hesitation", "clause"), default="hesitation")
    parser.add_argument("--out", type=Path, default=Path("bench-heldout"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    manifest = []
    for index, utterance in enumerate(heldout_set(args.turns, args.pauses)):
        name = f"{index:02d}-{utterance.kind}.wav"
        (args.out / name).write_bytes(pcm16_to_wav(utterance.pcm, RATE))
        manifest.append({"file": name, **utterance.describe()})
    (args.out / "manifest.json").write_text(json.dumps(manifest, indent=2))
    print(f"{len(manifest)} utterances in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
