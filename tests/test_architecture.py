"""The house rules of the layered package (docs/architecture.md), checked on the source tree."""

import ast
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1] / "src" / "specinit"
#: Each layer imports only from layers below it (peers of one rank do not import each other).
RANKS = {
    "_core": 0,
    "_version": 0,
    "nn": 1,
    "data": 1,
    "training": 2,
    "initializers": 3,
    "measure": 4,
    "estimators": 5,
    "targeting": 5,
    "doctor": 6,
    "lab": 7,
    "cli": 8,
    "__main__": 9,
}
MODULES = sorted(p for p in ROOT.rglob("*.py"))


def _unit(path: pathlib.Path) -> str:
    parts = path.relative_to(ROOT).parts
    return parts[0].removesuffix(".py")


def _imports(path: pathlib.Path) -> list[tuple[str, list[str]]]:
    """``(module, names)`` of every absolute ``specinit`` import, also those inside functions."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "specinit" or node.module.startswith("specinit."):
                found.append((node.module, [a.name for a in node.names]))
        elif isinstance(node, ast.Import):
            found += [(a.name, []) for a in node.names if a.name.split(".")[0] == "specinit"]
    return found


def _target(module: str, names: list[str]) -> list[str]:
    parts = module.split(".")
    return [parts[1]] if len(parts) > 1 else names  # `from specinit import lab` targets lab


@pytest.mark.parametrize(
    "path",
    [p for p in MODULES if p.name != "__init__.py" or p.parent != ROOT],
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_layers_import_only_downward(path):
    unit = _unit(path)
    rank = RANKS[unit]
    for module, names in _imports(path):
        for target in _target(module, names):
            if target not in RANKS or target == unit:
                continue
            assert RANKS[target] < rank, f"{path.relative_to(ROOT)} imports {module} ({target}) from below"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_private_name_crosses_a_package_boundary(path):
    unit = _unit(path)
    for module, names in _imports(path):
        parts = module.split(".")
        if len(parts) < 2 or parts[1] == unit or parts[1].startswith("_"):
            continue
        private = [n for n in names if n.startswith("_") and not n.startswith("__")]
        assert not private, f"{path.relative_to(ROOT)} imports {private} from {module}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_is_over_650_lines(path):
    assert len(path.read_text().splitlines()) <= 650


def test_only_the_cli_imports_click():
    users = [p for p in MODULES if "import click" in p.read_text() and _unit(p) != "cli"]
    assert users == []


def test_import_specinit_is_light():
    code = (
        "import sys, specinit; heavy = sorted({m.split('.')[0] for m in sys.modules} & "
        "{'torch', 'numpy', 'scipy', 'click', 'sklearn', 'matplotlib', 'ray'}) + "
        "sorted(m for m in sys.modules "
        "if m.startswith(('specinit.lab', 'specinit.cli', 'specinit.estimators'))); print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_every_public_name_loads_on_first_use():
    code = (
        "import sys, specinit\n"
        "assert 'torch' not in sys.modules\n"
        "missing = [n for n in specinit.__all__ if getattr(specinit, n, None) is None]\n"
        "print(missing, specinit.init_ is specinit.initializers.init_, 'torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[] True True"
