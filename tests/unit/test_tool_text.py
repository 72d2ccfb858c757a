"""Tool calls a local model writes as text (Qwen's <tool_call> blocks, Llama's bare JSON) are read back
while plain replies stream on at once."""

from __future__ import annotations

from backend.llm.tool_text import ToolCallText, parse_tool_calls

OFFERED = {"book_appointment", "get_current_datetime"}


def _stream(pieces: list[str]) -> tuple[list[str], str, tuple[object, ...]]:
    reader = ToolCallText(OFFERED)
    spoken = [out for piece in pieces if (out := reader.feed(piece))]
    rest, calls = reader.finish()
    return spoken, rest, calls


def test_plain_text_streams_at_once() -> None:
    spoken, rest, calls = _stream(["Hello", " there,", " how can I help?"])
    assert spoken == ["Hello", " there,", " how can I help?"] and rest == "" and calls == ()


def test_qwen_tool_call_block_becomes_a_call() -> None:
    pieces = [
        "<tool",
        "_call>\n",
        '{"name": "book_appointment", ',
        '"arguments": {"date": "2026-12-05", ',
        '"time": "15:00"}}',
        "\n</tool_call>",
    ]
    spoken, rest, calls = _stream(pieces)
    assert spoken == [] and rest == ""
    assert len(calls) == 1
    call = calls[0]
    assert call.name == "book_appointment" and call.arguments == {"date": "2026-12-05", "time": "15:00"}  # type: ignore[attr-defined]


def test_two_blocks_and_llama_json_and_string_arguments() -> None:
    text = (
        '<tool_call>{"name": "get_current_datetime", "arguments": {}}</tool_call>\n'
        '<tool_call>{"name": "book_appointment", "arguments": "{\\"time\\": \\"09:00\\"}"}</tool_call>'
    )
    calls = parse_tool_calls(text, OFFERED)
    assert [c.name for c in calls] == ["get_current_datetime", "book_appointment"]
    assert calls[1].arguments == {"time": "09:00"}
    llama = parse_tool_calls('<|python_tag|>{"name": "get_current_datetime", "parameters": {}}', OFFERED)
    assert [c.name for c in llama] == ["get_current_datetime"]
    assert len({c.id for c in calls}) == 2


def test_text_then_a_call_speaks_the_text_and_makes_the_call() -> None:
    spoken, rest, calls = _stream(
        ["Sure, one moment. ", "<tool_", 'call>{"name": "get_current_datetime", "arguments": {}}</tool_call>']
    )
    assert "".join(spoken) + rest == "Sure, one moment. "
    assert [c.name for c in calls] == ["get_current_datetime"]  # type: ignore[attr-defined]


def test_what_only_looks_like_a_call_is_released_as_text() -> None:
    # JSON that is not a call of an offered tool, and a "<" that opens no call, are said as they are
    spoken, rest, calls = _stream(['{"name": "format_disk", "arguments": {}}'])
    assert spoken == [] and rest == '{"name": "format_disk", "arguments": {}}' and calls == ()
    spoken, rest, calls = _stream(["<3 you too", "!"])
    assert "".join(spoken) + rest == "<3 you too!" and calls == ()
    assert parse_tool_calls("<tool_call>{broken", OFFERED) == ()
    assert parse_tool_calls('{"name": "book_appointment", "arguments": [1]}', OFFERED) == ()
