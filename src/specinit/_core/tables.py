"""Text tables: aligned plain text for terminals, Markdown for reports."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

__all__ = ["text_table", "markdown_table"]


def text_table(rows: Sequence[Mapping[str, str]], *, markdown: bool = False) -> str:
    """Rows of string cells (keys are the columns) as a Markdown or an aligned plain-text table.

    >>> print(text_table([{"a": "1", "bb": "22"}]))
    a  bb
    -  --
    1  22
    """
    if not rows:
        raise ValueError("text_table needs at least one row")
    columns = list(rows[0])
    body = [[row[c] for c in columns] for row in rows]
    if markdown:
        return markdown_table(columns, body)
    widths = [max(len(c), *(len(cells[i]) for cells in body)) for i, c in enumerate(columns)]
    lines = [columns, ["-" * w for w in widths], *body]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) for line in lines)


def markdown_table(header: Sequence[str], body: Sequence[Sequence[str]]) -> str:
    """A Markdown table from a header row and body rows of cell strings."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cells) + " |" for cells in body]
    return "\n".join(lines)
