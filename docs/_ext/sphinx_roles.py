"""A griffe extension for the API pages: reST cross-reference roles become code spans.

The package's docstrings follow the Google style but name other objects with reST roles
(``:class:`~flowai_harness.handle.Runtime```), which Markdown would show as they are. This turns
each role into an inline code span of the name (the last dotted part with ``~``, as Sphinx does),
reST's double backquotes into single ones, and the ``::`` that opens a reST literal block into
``:`` (the indented block after it is already code in Markdown).
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_ROLE = re.compile(r":(?:py:)?(?:class|func|meth|mod|attr|data|exc|obj|const|type):`(~?)([^`]+)`")
_DOUBLE_BACKQUOTES = re.compile(r"``([^`]+)``")
_LITERAL_BLOCK = re.compile(r"(?<=\S)::$(?=\n[ \t]*\n)", flags=re.M)


def _code_span(match: re.Match[str]) -> str:
    name = match[2]
    return f"`{name.rsplit('.', 1)[-1] if match[1] else name}`"


def plain_markdown(text: str) -> str:
    """Return ``text`` with reST roles, double backquotes and literal-block markers in Markdown."""
    text = _DOUBLE_BACKQUOTES.sub(r"`\1`", _ROLE.sub(_code_span, text))
    return _LITERAL_BLOCK.sub(":", text)


class SphinxRoles(griffe.Extension):
    """Rewrite every docstring when griffe loads an object."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        """Rewrite the docstring of ``obj``, if it has one."""
        if obj.docstring is not None:
            obj.docstring.value = plain_markdown(obj.docstring.value)
