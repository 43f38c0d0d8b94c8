#!/usr/bin/env python3
"""Renders the chat-template families Gradus implements with real Jinja2 and writes golden strings.

The templates below follow the published formats of each family (ChatML as used by Qwen2 and
SmolLM2, Llama 3, Zephyr). ChatTemplateTest checks that Gradus, detecting the family from the
template text, renders the same conversations character for character.

Run (Debian: apt-get install python3-jinja2):
    /usr/bin/python3 framework/core/src/test/python/chat_templates.py framework/core/src/test/resources/chat
"""
import json
import os
import sys

from jinja2 import Environment

TEMPLATES = {
    "chatml": "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content']"
              " + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}"
              "{% endif %}",
    "llama3": "{{ bos_token }}{% for message in messages %}{{ '<|start_header_id|>' + message['role']"
              " + '<|end_header_id|>\\n\\n' + message['content'] | trim + '<|eot_id|>' }}{% endfor %}"
              "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}",
    "zephyr": "{% for message in messages %}{{ '<|' + message['role'] + '|>\\n' + message['content'] + eos_token"
              " + '\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|assistant|>\\n' }}{% endif %}",
}
SPECIALS = {"chatml": ("", "<|im_end|>"), "llama3": ("<|begin_of_text|>", "<|eot_id|>"), "zephyr": ("<s>", "</s>")}
CONVERSATIONS = [
    [{"role": "user", "content": "What does the word 'gradus' mean?"}],
    [{"role": "system", "content": "You are terse."},
     {"role": "user", "content": "Define 'step'."},
     {"role": "assistant", "content": "  A single movement of the foot.  "},
     {"role": "user", "content": "And 'stair'?\nBe brief."}],
]


def main(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    env = Environment()
    for name, source in TEMPLATES.items():
        bos, eos = SPECIALS[name]
        cases = []
        for messages in CONVERSATIONS:
            for add in (False, True):
                text = env.from_string(source).render(messages=messages, add_generation_prompt=add,
                                                      bos_token=bos, eos_token=eos)
                cases.append({"messages": messages, "add_generation_prompt": add, "text": text})
        config = {"chat_template": source, "bos_token": bos or None, "eos_token": eos}
        with open(os.path.join(out_dir, name + ".json"), "w") as f:
            json.dump({"tokenizer_config": config, "cases": cases}, f, indent=1)
        print(name, len(cases), "cases")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "chat")
