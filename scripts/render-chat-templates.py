#!/usr/bin/env python3
"""Renders a chat template with jinja2 for a set of conversations, as Hugging Face's
apply_chat_template does, and writes them as JSON:
[{"messages": [...], "add_generation_prompt": bool, "text": "..."}]. The reference for magi's
chat formats. The template is a GGUF model's own (tokenizer.chat_template) or a .jinja file
(Tests/MagiChatTests/Fixtures/llama3-instruct.jinja is Meta Llama 3 Instruct's published template).
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


def main():
    source_path, out = sys.argv[1], sys.argv[2]
    if source_path.endswith(".jinja"):
        with open(source_path, encoding="utf-8") as f:
            source = f.read()
    else:
        source = gguf.GGUFReader(source_path).fields["tokenizer.chat_template"].contents()
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
    template = env.from_string(source)
    cases = []
    for messages in CONVERSATIONS:
        for add in (True, False):
            text = template.render(messages=messages, add_generation_prompt=add, bos_token="", eos_token="")
            cases.append({"messages": messages, "add_generation_prompt": add, "text": text})
    with open(out, "w", encoding="utf-8") as f:
        json.dump(cases, f, ensure_ascii=False, indent=1)


if __name__ == "__main__":
    main()
