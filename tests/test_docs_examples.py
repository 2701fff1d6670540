"""The documentation site's Python examples run: each page's ```python blocks, in order, in one
namespace (as a reader would paste them into one session)."""

import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"
PAGES = ["index.md", "howto/initialize.md"]


@pytest.mark.parametrize("page", PAGES)
def test_page_examples_run(page, capsys):
    text = (DOCS / page).read_text()
    blocks = re.findall(r"```python\n(.*?)\n```", text, re.S)
    assert blocks, f"{page} has no python example"
    namespace: dict = {}
    for i, block in enumerate(blocks):
        exec(compile(block, f"docs/{page} (block {i + 1})", "exec"), namespace)
    capsys.readouterr()
