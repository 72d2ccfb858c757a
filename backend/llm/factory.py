"""LLM provider registry: `llm.provider` name → class (imported lazily, like the speech factory)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from backend.providers.registry import load_registered

if TYPE_CHECKING:
    from backend.core.config import Settings
    from backend.llm.base import LLMProvider

LLM_PROVIDERS: dict[str, str] = {
    "llama_cpp": "backend.llm.providers.llama_cpp_llm:LlamaCppLLM",
    "openai": "backend.llm.providers.openai_llm:OpenAILLM",
    "groq": "backend.llm.providers.openai_llm:GroqLLM",
}


def llm_class(name: str, key: str = "llm.provider") -> type[LLMProvider]:
    return load_registered(LLM_PROVIDERS, name, key)


def build_llm(settings: Settings) -> LLMProvider:
    return llm_class(settings.llm.provider)(settings)
