"""A chat-template GGUF made in the test: the bundled Gemma 3 270M weights with a chat template added
(the `gguf` package rewrites the metadata, the tensors are copied as they are), so the chat prompt
style and tool offering run through llama.cpp for real without downloading an instruct model."""

from __future__ import annotations

from pathlib import Path

#: A Qwen 2.5-style template, tools included (its `<tool_call>` reply format is what the agent reads back),
#: using Gemma's turn markers so the base weights see a familiar layout.
CHAT_TEMPLATE_WITH_TOOLS = (
    "{{ bos_token }}"
    "{%- if tools %}<start_of_turn>user\nYou may call these tools. To call one, reply with "
    '<tool_call>{"name": ..., "arguments": {...}}</tool_call>\n'
    "{%- for tool in tools %}{{ tool | tojson }}\n{%- endfor %}<end_of_turn>\n{%- endif %}"
    "{%- for message in messages %}"
    "{%- if message.role == 'assistant' %}<start_of_turn>model\n"
    "{%- if message.tool_calls %}{%- for call in message.tool_calls %}<tool_call>"
    "{{ {'name': call.function.name, 'arguments': call.function.arguments} | tojson }}</tool_call>"
    "{%- endfor %}{%- endif %}{{ message.content }}<end_of_turn>\n"
    "{%- elif message.role == 'tool' %}<start_of_turn>user\n<tool_response>{{ message.content }}"
    "</tool_response><end_of_turn>\n"
    "{%- else %}<start_of_turn>user\n{{ message.content }}<end_of_turn>\n{%- endif %}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}<start_of_turn>model\n{%- endif %}"
)


def with_chat_template(source: Path, dest: Path, template: str = CHAT_TEMPLATE_WITH_TOOLS) -> Path:
    """Write `source` (a GGUF) to `dest` with `tokenizer.chat_template` set to `template`."""
    import gguf
    from gguf.scripts.gguf_new_metadata import MetadataDetails, copy_with_new_metadata

    reader = gguf.GGUFReader(source, "r")
    arch_field = reader.get_field(gguf.Keys.General.ARCHITECTURE)
    assert arch_field is not None, f"{source} has no architecture"
    writer = gguf.GGUFWriter(dest, arch=str(arch_field.contents()), endianess=reader.endianess)
    alignment = reader.get_field(gguf.Keys.General.ALIGNMENT)
    if alignment is not None:
        writer.data_alignment = int(alignment.contents())
    new = {gguf.Keys.Tokenizer.CHAT_TEMPLATE: MetadataDetails(gguf.GGUFValueType.STRING, template)}
    copy_with_new_metadata(reader, writer, new, [])
    return dest
