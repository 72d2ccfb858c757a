"""What is in the models directory, and the report ``download_models.py --list`` prints."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from backend.models.bundled import GEMMA_FILENAME
from backend.models.common import human_size
from backend.models.hub import WHISPER_REQUIRED_FILES, WHISPER_VOCABULARY_FILES
from backend.models.llms import BUNDLED_LLM, CATALOG, catalog_rows, read_selected
from backend.models.voices import Catalog, licence_note


@dataclass
class InstalledModels:
    """What :func:`list_installed` found: name → size in bytes."""

    voices: dict[str, int] = field(default_factory=dict)
    whisper: dict[str, int] = field(default_factory=dict)
    llm: dict[str, int] = field(default_factory=dict)
    incomplete: list[str] = field(default_factory=list)


def list_installed(models_dir: Path) -> InstalledModels:
    """Scan ``models_dir`` for Piper voices, whisper model dirs and GGUF files."""
    found = InstalledModels()
    piper_dir = models_dir / "piper"
    if piper_dir.is_dir():
        for onnx in sorted(piper_dir.glob("*.onnx")):
            cfg = onnx.with_name(onnx.name + ".json")
            voice_id = onnx.name[: -len(".onnx")]
            if cfg.is_file():
                found.voices[voice_id] = onnx.stat().st_size + cfg.stat().st_size
            else:
                found.incomplete.append(f"piper/{onnx.name} (no {cfg.name})")
    whisper_dir = models_dir / "whisper"
    if whisper_dir.is_dir():
        for sub in sorted(p for p in whisper_dir.iterdir() if p.is_dir()):
            names = {p.name for p in sub.iterdir() if p.is_file()}
            needed = set(WHISPER_REQUIRED_FILES)
            if needed <= names and names & set(WHISPER_VOCABULARY_FILES):
                found.whisper[sub.name] = sum(p.stat().st_size for p in sub.iterdir() if p.is_file())
            elif names:
                lacking = sorted(needed - names) or ["vocabulary.txt"]
                found.incomplete.append(f"whisper/{sub.name} (missing {', '.join(lacking)})")
    llm_dir = models_dir / "llm"
    if llm_dir.is_dir():
        for gguf in sorted(llm_dir.glob("*.gguf")):
            found.llm[gguf.name] = gguf.stat().st_size
    return found


def format_catalog_voices(catalog: Catalog, installed: dict[str, int]) -> list[str]:
    """The catalogue's neural voices, each with its licence (non-commercial ones flagged), the best one per
    language (what ``--language`` fetches) marked; then the eSpeak NG languages."""
    neural = [v for v in catalog.voices if v.neural]
    lines = ["Piper voices in the catalogue (--voices ID; --language CODE fetches the one marked best):"]
    lines.append(f"    {'voice':<28} {'lang':<4} {'state':<15}  licence")
    best = {code: catalog.best_voice(code) for code in catalog.languages}
    for voice in neural:
        flags = (("installed", voice.id in installed), ("best", best[voice.language] == voice))
        marks = [mark for mark, on in flags if on]
        lines.append(f"    {voice.id:<28} {voice.language:<4} {', '.join(marks):<15}  {licence_note(voice)}")
    without = [code for code in catalog.languages if best[code] is None]
    if without:
        lines.append(f"    (no Piper voice for {', '.join(without)}: eSpeak NG speaks them)")
    espeak = [v for v in catalog.voices if v.engine == "espeak"]
    if espeak:
        codes = ", ".join(v.language for v in espeak)
        lines.append(f"  eSpeak NG voices (built in): {codes}; licence {espeak[0].license}")
    return lines


def format_installed(models_dir: Path, found: InstalledModels, catalog: Catalog | None = None) -> str:
    """Human-readable report of :func:`list_installed`, the catalogue's voices with their licences, then
    the local LLMs one can install."""
    selected = read_selected(models_dir)
    in_use = selected.file if selected else GEMMA_FILENAME
    lines = [f"Models in {models_dir}:"]
    for title, items in (("Piper voices", found.voices), ("Whisper", found.whisper), ("LLM", found.llm)):
        lines.append(f"  {title}:" + ("" if items else " (none)"))
        for name, size in items.items():
            mark = "  (used by the app)" if title == "LLM" and name == in_use else ""
            lines.append(f"    {name:<40} {human_size(size):>10}{mark}")
    if found.incomplete:
        lines.append("  Incomplete:")
        lines.extend(f"    {item}" for item in found.incomplete)
    if catalog is not None:
        lines.append("")
        lines.extend(format_catalog_voices(catalog, found.voices))
    lines.append("")
    lines.append("Local LLMs (download_models.py --llm NAME; --llm bundled for Gemma 3 270M):")
    lines.append(f"    {'name':<24} {'disk':>9} {'RAM':>8} {'tokens/s':>9}  {'tools':<5}  licence")
    for row in catalog_rows(found.llm):
        model = CATALOG[row["name"]]
        state = " *in use" if model.filename == in_use else " installed" if row["installed"] else ""
        tools = "yes" if row["tools"] else "no"
        lines.append(
            f"    {row['name']:<24} {human_size(row['disk']):>9} {row['ram_gib']:>4.1f} GiB "
            f"{'~' + str(row['tokens_per_s']):>9}  {tools:<5}  {row['licence']}{state}"
        )
    lines.append(
        f"    ({BUNDLED_LLM}: gemma-3-270m base, 241.4 MiB, 0.5 GiB, 54 tokens/s measured; "
        "~ = estimated from file size on 2 CPU cores)"
    )
    return "\n".join(lines)
