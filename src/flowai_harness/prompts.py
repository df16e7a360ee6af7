"""Layered system prompts (public module ``flowai_harness.prompts``).

``layered_prompt`` renders a sectioned system prompt; ``augment_prompt_tools`` merges extra rows
into its ``# Tools`` table (used by ``define_runtime`` and ``create_runtime``).
"""

from __future__ import annotations

from flowai_harness.specs.prompts import LayeredPrompt, augment_prompt_tools, layered_prompt

__all__ = ["LayeredPrompt", "augment_prompt_tools", "layered_prompt"]
