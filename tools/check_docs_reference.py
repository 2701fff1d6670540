"""Check that the documentation site documents every public name of specinit.

Run after ``mkdocs build --strict``::

    PYTHONPATH=src python tools/check_docs_reference.py [site/objects.inv]

Public names are those in ``specinit.__all__`` and, walking down, in the ``__all__`` of every
specinit module listed there (``specinit.nn``, ``specinit.measure.curvature``, …).  A name
counts as documented when the site's inventory (``site/objects.inv``, the Sphinx inventory v2
that mkdocstrings writes) holds its path under the package that exports it, its canonical path
(where it is defined), or the path of any other public export of the same object.  Exits 1
listing every missing name, 0 when none is missing.
"""

from __future__ import annotations

import importlib
import sys
import types
import warnings
import zlib
from pathlib import Path


def read_inventory(path: Path) -> set[str]:
    """The object names in a Sphinx inventory v2 file (``objects.inv``)."""
    raw = path.read_bytes()
    header_end = 0
    for _ in range(4):
        header_end = raw.index(b"\n", header_end) + 1
    header = raw[:header_end].decode()
    if not header.startswith("# Sphinx inventory version 2"):
        raise SystemExit(f"{path}: not a Sphinx inventory version 2 file")
    names = set()
    for line in zlib.decompress(raw[header_end:]).decode().splitlines():
        if line.strip():
            names.add(line.split(" ", 1)[0])
    return names


def public_names(root: str = "specinit") -> list[tuple[str, str, object]]:
    """``(module, name, object)`` for every name in ``__all__`` of ``root`` and of every public
    specinit module its ``__all__`` lists, recursively.
    """
    found: list[tuple[str, str, object]] = []
    seen: set[str] = set()

    def walk(module_name: str) -> None:
        if module_name in seen:
            return
        seen.add(module_name)
        module = importlib.import_module(module_name)
        for name in getattr(module, "__all__", ()):
            obj = getattr(module, name)
            found.append((module_name, name, obj))
            if isinstance(obj, types.ModuleType) and obj.__name__.startswith(f"{root}."):
                walk(obj.__name__)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        walk(root)
    return found


def canonical(obj: object) -> str | None:
    if isinstance(obj, types.ModuleType):
        return obj.__name__
    module, qualname = getattr(obj, "__module__", None), getattr(obj, "__qualname__", None)
    if isinstance(module, str) and isinstance(qualname, str):
        return f"{module}.{qualname}"
    return None


def missing(inventory: set[str]) -> list[str]:
    names = public_names()
    # Paths under which the same object is exported (re-exports are one object, many paths).
    exported: dict[int, set[str]] = {}
    for module_name, name, obj in names:
        if not isinstance(obj, (int, float, str, bytes, bool, type(None))):
            exported.setdefault(id(obj), set()).add(f"{module_name}.{name}")
    absent = []
    for module_name, name, obj in names:
        path = f"{module_name}.{name}"
        candidates = {path, canonical(obj)} | exported.get(id(obj), set())
        if not candidates & inventory:
            absent.append(path)
    return absent


def main(argv: list[str]) -> int:
    inventory_path = Path(argv[1] if len(argv) > 1 else "site/objects.inv")
    if not inventory_path.is_file():
        print(f"{inventory_path} not found: run `mkdocs build --strict` first", file=sys.stderr)
        return 2
    inventory = read_inventory(inventory_path)
    absent = missing(inventory)
    total = len(public_names())
    if absent:
        print(f"{len(absent)} of {total} public names are not in the API reference:", file=sys.stderr)
        for path in absent:
            print(f"  {path}", file=sys.stderr)
        return 1
    print(f"all {total} public names are in the API reference ({inventory_path})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
