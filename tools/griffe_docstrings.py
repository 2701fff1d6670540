"""A griffe extension for the documentation site (mkdocs.yml loads it).

specinit's docstrings are written for ``help()`` and Sphinx-style readers; this turns the reST
habits they use into Markdown when mkdocstrings renders them, without touching the source:

* roles (``:func:`init_```, ``:mod:`.spectrum```, ``:class:`~specinit.nn.models.CoordinateMLP```)
  become code spans linked to the object's reference entry where the site documents it — the
  target is resolved like Sphinx does (the object, its module, the enclosing packages, then
  ``specinit``) and emitted as an *optional* autoref, so a name the site does not render stays
  plain code instead of breaking ``mkdocs build --strict``;
* ``x, y: …`` entries of an Args section (one description for several parameters) become one
  entry per parameter, which the Google-style parser understands;
* doctest blocks (``>>>`` lines and their output) become fenced ``pycon`` code blocks, and a
  paragraph ending in ``::`` ends in ``:`` (its indented block is already a Markdown code block).
"""

from __future__ import annotations

import re
from typing import Any

import griffe

ROLE = re.compile(r":(?:func|mod|class|meth|attr|data|exc|obj|const):`(~?)([^`]+)`")


def _lookup(collection: Any, path: str) -> str | None:
    try:
        obj = collection[path]
    except (KeyError, ValueError, griffe.AliasResolutionError, griffe.CyclicAliasError):
        return None
    return obj.path


def _resolve(collection: Any, obj: griffe.Object, target: str) -> str | None:
    target = target.strip()
    if target.startswith("specinit"):
        return _lookup(collection, target)
    name = target.lstrip(".")
    scopes: list[str] = []
    node: Any = obj
    while node is not None:
        scopes.append(node.path)
        node = node.parent
    for scope in scopes:
        found = _lookup(collection, f"{scope}.{name}")
        if found:
            return found
    return None


def _roles(text: str, collection: Any, obj: griffe.Object) -> str:
    def replace(match: re.Match[str]) -> str:
        tilde, target = match.groups()
        shown = target.lstrip(".")
        if tilde:
            shown = shown.rsplit(".", 1)[-1]
        if "(" not in shown and match.group(0).startswith((":func:", ":meth:")):
            shown += "()"
        resolved = _resolve(collection, obj, target)
        if resolved is None:
            return f"`{shown}`"
        return f'<autoref identifier="{resolved}" optional><code>{shown}</code></autoref>'

    return ROLE.sub(replace, text)


SECTION = re.compile(r"^(\s*)(Args|Arguments|Parameters|Other Parameters):\s*$")
GROUPED = re.compile(r"^(\s+)([A-Za-z_]\w*(?:\s*,\s*[A-Za-z_]\w*)+):(\s.*)?$")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _grouped_args(text: str) -> str:
    """``x, y: …`` in an Args section (one description for several parameters, as help() readers
    like it) becomes one entry per parameter with the same description, which the Google
    parser understands.
    """
    lines = text.split("\n")
    out: list[str] = []
    i = 0
    in_args, section_indent = False, ""
    while i < len(lines):
        line = lines[i]
        section = SECTION.match(line)
        if section:
            in_args, section_indent = True, section.group(1)
            out.append(line)
            i += 1
            continue
        if in_args and line.strip() and _indent(line) <= len(section_indent):
            in_args = False
        grouped = GROUPED.match(line) if in_args else None
        if grouped:
            indent, names, first = grouped.group(1), grouped.group(2), grouped.group(3) or ""
            body = []
            i += 1
            while i < len(lines) and lines[i].strip() and _indent(lines[i]) > len(indent):
                body.append(lines[i])
                i += 1
            for name in (n.strip() for n in names.split(",")):
                out.append(f"{indent}{name}:{first}")
                out += body
            continue
        out.append(line)
        i += 1
    return "\n".join(out)


def _doctests(text: str) -> str:
    out: list[str] = []
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.lstrip()
        if stripped.startswith(">>>"):
            indent = line[: len(line) - len(stripped)]
            block = []
            while i < len(lines) and lines[i].strip():
                block.append(lines[i][len(indent) :] if lines[i].startswith(indent) else lines[i])
                i += 1
            if out and out[-1].strip():
                out.append("")
            out += [f"{indent}```pycon", *(f"{indent}{b}" for b in block), f"{indent}```"]
            continue
        if line.rstrip().endswith("::") and not stripped.startswith(("*", "-")):
            line = line.rstrip()[:-1]
        out.append(line)
        i += 1
    return "\n".join(out)


class SphinxRolesToMarkdown(griffe.Extension):
    """Rewrite every docstring of the loaded package once it is fully loaded."""

    def on_package(self, *, pkg: griffe.Module, loader: griffe.GriffeLoader, **kwargs: Any) -> None:
        collection = loader.modules_collection
        seen: set[int] = set()

        def walk(obj: griffe.Object) -> None:
            if id(obj) in seen:
                return
            seen.add(id(obj))
            if obj.docstring is not None:
                obj.docstring.value = _roles(_doctests(_grouped_args(obj.docstring.value)), collection, obj)
            for member in obj.members.values():
                if not member.is_alias:
                    walk(member)

        walk(pkg)
