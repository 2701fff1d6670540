"""mkdocs hooks for the documentation site (mkdocs.yml loads this file).

Two generated parts: the table of ``specinit.__all__`` on reference/specinit.md (each name
linked to the page that documents it) and each command's ``--help`` on reference/cli.md.

TeX math in the Markdown pages (``$…$`` inline, ``$$…$$`` display — what GitHub renders) is
converted to MathML at build time with latex2mathml, so pages need no JavaScript and fetch
nothing when read; browsers render MathML natively.  Code blocks and code spans are left alone.
"""

from __future__ import annotations

import re
import sys

from latex2mathml.converter import convert

FENCE = re.compile(r"^(```|~~~).*?^\1[ \t]*$", re.M | re.S)
CODE_SPAN = re.compile(r"(`+)(?!`).+?(?<!`)\1", re.S)
DISPLAY = re.compile(r"\$\$(.+?)\$\$", re.S)
INLINE = re.compile(r"(?<![\\$\w])\$(?=\S)([^$\n]+?)(?<=\S)\$(?![\w$])")


def _math(source: str, display: bool) -> str:
    mathml = convert(source.strip(), display="block" if display else "inline").replace("\\_", "_")
    if display:
        return f'\n\n<div class="math-display">{mathml}</div>\n\n'
    # in a span: a line that starts with <math> would otherwise become a raw HTML block
    return f'<span class="math">{mathml}</span>'


def _convert_math(markdown: str) -> str:
    if "$" not in markdown:
        return markdown
    stash: list[str] = []

    def keep(match: re.Match[str]) -> str:
        stash.append(match.group(0))
        return f"\x00{len(stash) - 1}\x00"

    text = FENCE.sub(keep, markdown)
    text = CODE_SPAN.sub(keep, text)
    text = DISPLAY.sub(lambda m: _math(m.group(1), True), text)
    text = INLINE.sub(lambda m: _math(m.group(1), False), text)
    return re.sub("\x00(\\d+)\x00", lambda m: stash[int(m.group(1))], text)


# The modules whose members the reference pages render (docs/reference/*.md), in page order:
# a top-level name links to the first of these that exports the same object.
DOCUMENTED = [
    "specinit.nn.activations",
    "specinit.nn.layers",
    "specinit.nn.models",
    "specinit.data",
    "specinit.training",
    "specinit.training.pinn",
    "specinit.initializers",
    "specinit.measure.spectrum",
    "specinit.measure.layer_spectra",
    "specinit.measure.propagation",
    "specinit.measure.bandwidth",
    "specinit.measure.hyperplanes",
    "specinit.measure.curvature",
    "specinit.measure.kernels",
    "specinit.estimators",
    "specinit.targeting.targets",
    "specinit.targeting.families",
    "specinit.targeting.search",
    "specinit.doctor",
    "specinit.lab",
]


def _first_line(obj: object) -> str:
    doc = (getattr(obj, "__doc__", None) or "").strip().split("\n\n")[0]
    doc = " ".join(doc.split())
    doc = re.sub(r":(?:func|mod|class|meth|attr|data|exc|obj):`~?\.?([^`]+)`", r"`\1`", doc)
    doc = doc.replace("``", "`").replace("|", "\\|")
    return doc if len(doc) <= 160 else doc[:157].rsplit(" ", 1)[0] + " …"


def toplevel_table() -> str:
    """A Markdown table of ``specinit.__all__``: each name linked to where it is documented."""
    import importlib
    import types
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        specinit = importlib.import_module("specinit")
        where: dict[int, str] = {}
        for module_name in DOCUMENTED:
            module = importlib.import_module(module_name)
            for name in module.__all__:
                obj = getattr(module, name)
                path = f"{module_name}.{name}"
                if path in sys.modules and sys.modules[path] is not obj:
                    # a function named like its module (doctor.diagnose): documented in full
                    path = f"{obj.__module__}.{obj.__qualname__}"
                where.setdefault(id(obj), path)
        rows = ["| name | documented as | summary |", "|---|---|---|"]
        for name in specinit.__all__:
            if name == "__version__":
                continue
            obj = getattr(specinit, name)
            if isinstance(obj, types.ModuleType):
                target, summary = obj.__name__, _first_line(obj)
            else:
                target = where.get(id(obj))
                if target is None:
                    raise ValueError(f"specinit.{name} is not rendered by any reference page")
                summary = _first_line(obj)
            rows.append(f"| `{name}` | [`{target}`][{target}] | {summary} |")
    return "\n".join(rows)


def cli_help() -> str:
    """Each ``specinit`` command's ``--help`` text, one section a command (click renders it)."""
    import click

    from specinit.cli import main

    parts = []
    root = click.Context(main, info_name="specinit", terminal_width=78, max_content_width=78)
    parts.append(f"## `specinit`\n\n```text\n{main.get_help(root)}\n```")
    for name in main.list_commands(root):
        command = main.get_command(root, name)
        ctx = click.Context(command, info_name=name, parent=root, terminal_width=78, max_content_width=78)
        parts.append(f"## `specinit {name}`\n\n```text\n{command.get_help(ctx)}\n```")
    return "\n\n".join(parts)


def on_page_markdown(markdown: str, **kwargs: object) -> str:
    """Fill the generated parts (``{{ TOPLEVEL_TABLE }}`` in reference/specinit.md,
    ``{{ CLI_HELP }}`` in reference/cli.md), then turn TeX math into MathML.
    """
    if "{{ TOPLEVEL_TABLE }}" in markdown:
        markdown = markdown.replace("{{ TOPLEVEL_TABLE }}", toplevel_table())
    if "{{ CLI_HELP }}" in markdown:
        markdown = markdown.replace("{{ CLI_HELP }}", cli_help())
    return _convert_math(markdown)
