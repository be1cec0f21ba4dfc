"""Prompt templates for decoder-only generation teachers: the task's instruction around each source.

A task's ``prompt`` (``"Translate this English sentence into German: {source}"``) is the user's turn. When the
tokenizer has a chat template (an instruction-tuned model such as SmolLM2-Instruct), the template renders it
with the generation prompt (``<|im_start|>assistant\\n``), so the model is fine-tuned and asked in the format it
was trained on; the model's end token (``<|im_end|>``) closes the target. Without a chat template the prompt is
plain text. ``{source}`` is replaced literally (never ``str.format``): a prompt is data, not code.

The frame (what comes before and after the source) is tokenized once; only the source is cut to fit
``max_length``, so a long source never loses the template's end (the turn that asks for the answer).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tasks.errors import ConfigError
from tasks.spec import PROMPT_SOURCE

if TYPE_CHECKING:
    from tasks.spec import TaskSpec


def rendered_prompt(tokenizer: Any, spec: TaskSpec) -> str:
    """The full prompt text with ``{source}`` still in it: through the chat template when the tokenizer has one."""
    assert spec.prompt is not None
    if not getattr(tokenizer, "chat_template", None):
        return spec.prompt
    messages = [] if spec.system_prompt is None else [{"role": "system", "content": spec.system_prompt}]
    messages.append({"role": "user", "content": spec.prompt})
    try:
        return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    except Exception as exc:  # noqa: BLE001 - the model's own Jinja template: any of its errors is the template's
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        what = "system_prompt and prompt" if spec.system_prompt is not None else "prompt"
        raise ConfigError(f"task {spec.name!r}: {what}: the chat template of {tokenizer.name_or_path} refuses "
                          f"them: {first}") from None


def prompt_frame(tokenizer: Any, spec: TaskSpec) -> tuple[list[int], list[int]]:
    """The token ids before and after the source."""
    text = rendered_prompt(tokenizer, spec)
    if text.count(PROMPT_SOURCE) != 1:
        raise ConfigError(f"task {spec.name!r}: prompt: the rendered prompt holds {PROMPT_SOURCE} "
                          f"{text.count(PROMPT_SOURCE)} times (the chat template repeats it?)")
    before, after = text.split(PROMPT_SOURCE)
    prefix = tokenizer(before, add_special_tokens=False)["input_ids"] if before else []
    suffix = tokenizer(after, add_special_tokens=False)["input_ids"] if after else []
    # A plain prompt starts as the tokenizer starts a text (Llama: <s>); a chat template writes its own.
    bos = tokenizer.bos_token_id
    if not getattr(tokenizer, "chat_template", None) and bos is not None and getattr(tokenizer, "add_bos_token", False):
        prefix = [bos, *prefix]
    return prefix, suffix


def prompt_token_ids(tokenizer: Any, sources: list[str], spec: TaskSpec) -> list[list[int]]:
    """Each source written into the task's prompt, as token ids of at most ``max_length`` (the source is cut)."""
    prefix, suffix = prompt_frame(tokenizer, spec)
    budget = spec.max_length - len(prefix) - len(suffix)
    if budget < 1:
        raise ConfigError(f"task {spec.name!r}: the prompt alone takes {len(prefix) + len(suffix)} tokens, "
                          f"max_length is {spec.max_length}: no room for the source")
    bodies = tokenizer(list(sources), add_special_tokens=False)["input_ids"]
    return [prefix + body[:budget] + suffix for body in bodies]
