"""Context management with the real local model: old turns are trimmed/summarised so the prompt stays
within `agent.history_tokens`, while facts told early are still used."""

from __future__ import annotations

from pathlib import Path

from backend.agents.conversation import running_agent
from tests.conftest import make_settings


async def test_long_conversation_keeps_prompt_bounded_and_facts(
    assembled_models: Path, tmp_path: Path
) -> None:
    settings = make_settings({"agent": {"history_tokens": 160}}, models=assembled_models, data_dir=tmp_path)
    async with running_agent(settings) as agent:
        llm = agent.llm
        session = "long-conversation"
        await agent.run_turn(session, "Hello, my name is Meera and I live in Kochi.")
        topics = ["the sea", "mangoes", "trains", "monsoon rain", "elephants", "tea", "cricket", "the moon"]
        for topic in topics * 2:  # 16 more turns
            result = await agent.run_turn(session, f"Tell me one short fact about {topic}.")
            assert result.reply
        state = (await agent.graph.aget_state({"configurable": {"thread_id": session}})).values
        assert len(state["messages"]) == 2 * 17

        prompt = agent._prompt(state, state["facts"])
        history = prompt[2:]
        context = prompt[1].content
        history_tokens = sum(llm.count_tokens(m.content) + 4 for m in history)
        assert history_tokens <= 160 + 40  # the budget (the newest message is always kept)
        assert len(history) < len(state["messages"])  # old turns were trimmed…
        assert "Earlier in this conversation the user said:" in context  # …and summarised
        assert "name: Meera" in context and "city: Kochi" in context

        assert "Meera" in (await agent.run_turn(session, "What is my name?")).reply
        assert "Kochi" in (await agent.run_turn(session, "Where do I live?")).reply
