"""Snippets and highlighted titles: escaped HTML with ``<mark>`` around matches.

Matching runs through the index's own analyser, so a query typed without
accents (``etats-unis``) highlights the words as written (« États-Unis »).
"""

from __future__ import annotations

from collections.abc import Iterable
from html import escape

from whoosh import highlight

SNIPPET_CHARS = 240
#: Text shown when nothing in the body matched (a title-only match).
LEAD_CHARS = 200


class MarkFormatter(highlight.HtmlFormatter):
    """``<mark>word</mark>``, everything else HTML-escaped, fragments joined by `` … ``."""

    def __init__(self) -> None:
        super().__init__(tagname="mark", between=" … ")

    def _text(self, text: str) -> str:
        return escape(text, quote=False)

    def format_token(self, text, token, replace=False):
        return f"<mark>{self._text(highlight.get_text(text, token, replace))}</mark>"


def stems_to_mark(terms: Iterable[tuple[str, str]], schema) -> frozenset[str]:
    """The ranking-field terms to highlight: the query's own, and the stems of
    words it searched in the ``exact`` field (phrases, prefixes, typos)."""
    analyzer = schema["text"].analyzer
    marks = set()
    for fieldname, text in terms:
        if fieldname in ("title", "text"):
            marks.add(text)
        elif fieldname == "exact":
            marks.update(t.text for t in analyzer(text, mode="query"))
    return frozenset(marks)


def _highlight(text: str, marks: frozenset[str], analyzer, fragmenter) -> str:
    return highlight.highlight(text, marks, analyzer, fragmenter, MarkFormatter(), top=2, mode="index")


def make_snippet(body: str, marks: frozenset[str], analyzer) -> str:
    """A short extract of ``body`` around the ``marks`` (escaped HTML).

    :param marks: from :func:`stems_to_mark`.
    :param analyzer: the body field's analyser.
    """
    snippet = ""
    if marks and body:
        fragmenter = highlight.ContextFragmenter(maxchars=SNIPPET_CHARS, surround=80)
        snippet = _highlight(body.replace("\n", " "), marks, analyzer, fragmenter)
    if not snippet:
        lead = body[:LEAD_CHARS].replace("\n", " ")
        if len(body) > LEAD_CHARS:
            lead = lead.rsplit(" ", 1)[0] + " …"
        snippet = escape(lead, quote=False)
    return snippet


def highlight_title(title: str, marks: frozenset[str], analyzer) -> str:
    """The whole title, escaped, with the ``marks`` highlighted."""
    marked = _highlight(title, marks, analyzer, highlight.WholeFragmenter()) if marks else ""
    return marked or escape(title, quote=False)
