#!/usr/bin/env python3
"""Renders a chat template with jinja2 for a set of conversations, as Hugging Face's
apply_chat_template does (its `tojson` included), and writes them as JSON:
[{"messages": [...], "tools": [...], "add_generation_prompt": bool, "text": "..."}]. The reference
for magi's chat formats. The template is a GGUF model's own (tokenizer.chat_template) or a .jinja
file (Tests/MagiChatTests/Fixtures/llama3-instruct.jinja is Meta Llama 3 Instruct's published
template; Qwen2.5 Instruct's, the Hermes-style ChatML tool format, comes from llama.cpp's
models/templates). A template that reads `tools` also renders conversations with tool
definitions, calls and results.
Usage: render-chat-templates.py MODEL.gguf|TEMPLATE.jinja OUT.json"""
import json
import sys

import gguf
import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment

CONVERSATIONS = [
    [{"role": "user", "content": "What is the capital of France?"}],
    [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "Hi"}],
    [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello! How can I help?"},
     {"role": "user", "content": "Tell me a joke\nabout cats."}],
    [{"role": "system", "content": "日本語で答えてください。"}, {"role": "user", "content": "こんにちは 👋"}],
    [{"role": "user", "content": "  padded question \n\n"}, {"role": "assistant", "content": "\n answer "},
     {"role": "user", "content": "next"}],
]

WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "Current weather in a city, in °C.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string", "description": "e.g. Zürich"},
                                                   "days": {"type": "integer", "minimum": 1}},
                   "required": ["city"]}}}
NOW = {"type": "function", "function": {"name": "now", "description": "The time.",
                                        "parameters": {"type": "object", "properties": {}}}}


def call(name, arguments):
    return {"type": "function", "function": {"name": name, "arguments": arguments}}


TOOL_CONVERSATIONS = [
    ([WEATHER], [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "Weather in Zürich?"}]),
    ([WEATHER, NOW], [{"role": "system", "content": "Use tools."}, {"role": "user", "content": "Weather and time?"},
                      {"role": "assistant", "content": "",
                       "tool_calls": [call("get_weather", {"city": "Zürich", "days": 2}), call("now", {})]},
                      {"role": "tool", "content": "{\"temp\": 3}"}, {"role": "tool", "content": "12:00"},
                      {"role": "assistant", "content": "3 °C at 12:00."}, {"role": "user", "content": "And tomorrow?"}]),
    ([NOW], [{"role": "system", "content": "S"}, {"role": "user", "content": "Time?"},
             {"role": "assistant", "content": "Let me check.", "tool_calls": [call("now", {})]},
             {"role": "tool", "content": "line one\nline <two> & \"three\""}]),
]


def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    """transformers' `tojson` for chat templates (jinja2's own sorts keys and escapes HTML)."""
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


def main():
    source_path, out = sys.argv[1], sys.argv[2]
    if source_path.endswith(".jinja"):
        with open(source_path, encoding="utf-8") as f:
            source = f.read()
    else:
        source = gguf.GGUFReader(source_path).fields["tokenizer.chat_template"].contents()
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
    env.filters["tojson"] = tojson
    template = env.from_string(source)
    cases = []
    for messages in CONVERSATIONS:
        for add in (True, False):
            text = template.render(messages=messages, add_generation_prompt=add, bos_token="", eos_token="")
            cases.append({"messages": messages, "add_generation_prompt": add, "text": text})
    if "tools" in source:
        for tools, messages in TOOL_CONVERSATIONS:
            for add in (True, False):
                text = template.render(messages=messages, tools=tools, add_generation_prompt=add, bos_token="", eos_token="")
                cases.append({"messages": messages, "tools": tools, "add_generation_prompt": add, "text": text})
    with open(out, "w", encoding="utf-8") as f:
        json.dump(cases, f, ensure_ascii=False, indent=1)


if __name__ == "__main__":
    main()
