"""The release artefacts: metadata, the built wheel in a fresh environment, and the extras.

``test_wheel_installs_and_imports`` builds the sdist and the wheel from a copy of the tracked
source (no network: ``python -m build --no-isolation``), checks them with ``twine check``,
installs the wheel — not the editable tree — into a new virtual environment and imports the
public API there.  The new environment borrows this one's installed dependencies through a path
entry (so nothing is downloaded) but none of its ``.pth`` hooks, so the editable install is
invisible to it.
"""

from __future__ import annotations

import email
import re
import shutil
import subprocess
import sys
import sysconfig
import textwrap
import zipfile
from pathlib import Path

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

import specinit
from specinit._core.extras import EXTRAS

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_metadata_pins_no_torch_version():
    deps = PYPROJECT["project"]["dependencies"]
    torch = [d for d in deps if re.match(r"torch\b", d)]
    assert torch == ["torch>=2.1"], "torch is a range in the metadata; the CPU pin lives in constraints.txt"
    assert "==" not in " ".join(deps)
    assert "torch==2.13.0" in (ROOT / "constraints.txt").read_text()


def test_core_dependencies_are_the_light_ones():
    names = {re.split(r"[<>=;\[ ]", d)[0].lower() for d in PYPROJECT["project"]["dependencies"]}
    assert names == {"torch", "numpy", "scipy", "tqdm"}


def test_every_extra_module_is_installed_by_its_extra():
    extras = PYPROJECT["project"]["optional-dependencies"]
    distribution = {"sklearn": "scikit-learn", "yaml": "pyyaml"}
    for extra, modules in EXTRAS.items():
        declared = " ".join(extras[extra]).lower()
        for module in modules:
            name = distribution.get(module, module)
            if name in declared:
                continue
            # an extra may include another one (ray = lab + ray)
            included = re.findall(r"specinit\[([a-z,]+)\]", declared)
            assert any(name in " ".join(extras[e]).lower() for inc in included for e in inc.split(",")), (
                f"extra {extra!r} does not install {name}"
            )


def test_version_matches_the_changelog():
    text = (ROOT / "CHANGELOG.md").read_text()
    released = re.findall(r"^## \[(\d+\.\d+\.\d+)\] - (\d{4}-\d{2}-\d{2})$", text, flags=re.M)
    assert released, "CHANGELOG.md has Keep-a-Changelog release headings: ## [x.y.z] - YYYY-MM-DD"
    assert released[0][0] == specinit.__version__, "bump src/specinit/_version.py with the changelog"
    assert re.search(r"^## \[Unreleased\]$", text, flags=re.M)
    # every release heading has its link reference at the bottom
    for version, _ in released:
        assert re.search(rf"^\[{re.escape(version)}\]: ", text, flags=re.M), version


def _source_copy(dest: Path) -> Path:
    """The build's inputs (pyproject, the files its metadata names, the package source) in
    ``dest``, without caches: the build never touches the working tree.
    """
    for name in ("pyproject.toml", "README.md", "LICENSE", "CHANGELOG.md"):
        dest.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, dest / name)
    shutil.copytree(ROOT / "src", dest / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    return dest


@pytest.mark.slow
def test_wheel_installs_and_imports(tmp_path):
    source = _source_copy(tmp_path / "src-copy")
    dist = tmp_path / "dist"
    build = [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(dist), str(source)]
    out = subprocess.run(build, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    wheels, sdists = sorted(dist.glob("*.whl")), sorted(dist.glob("*.tar.gz"))
    assert len(wheels) == 1 and len(sdists) == 1
    assert wheels[0].name.startswith(f"specinit-{specinit.__version__}-")

    check = subprocess.run(
        [sys.executable, "-m", "twine", "check", "--strict", *map(str, wheels + sdists)],
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0, check.stdout + check.stderr

    with zipfile.ZipFile(wheels[0]) as wheel:
        names = set(wheel.namelist())
        meta = email.message_from_bytes(
            wheel.read(next(n for n in names if n.endswith(".dist-info/METADATA")))
        )
    assert "specinit/py.typed" in names
    assert "specinit/data/embedded/mnist/train-images-idx3-ubyte.gz" in names
    assert not any(n.startswith("tests/") for n in names)
    requires = meta.get_all("Requires-Dist")
    assert "torch>=2.1" in requires and not any(r.startswith("torch==") for r in requires)
    assert set(meta.get_all("Provides-Extra")) >= {"plot", "sklearn", "lab", "ray", "all"}

    env = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(env)], check=True)
    python = env / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    # this environment's dependencies, as a plain path entry (its .pth hooks, among them the
    # editable install of specinit, are not run for a directory added this way)
    (Path(site) / "borrowed.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    pip = [str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheels[0])]
    out = subprocess.run(pip, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr

    script = textwrap.dedent(
        f"""
        import sys, torch, specinit
        from specinit import models
        assert specinit.__file__.startswith({site!r}), specinit.__file__
        assert specinit.__version__ == {specinit.__version__!r}
        missing = [n for n in specinit.__all__ if not hasattr(specinit, n)]
        assert not missing, missing
        net = specinit.init_(models.mlp(2, [16, 16], 1, "tanh"), "odd_sigmoid", generator=0)
        spec = specinit.spectrum_1d(models.coordinate_mlp(1, 32, 2), -1.0, 1.0, n=64)
        x = torch.randn(32, 2, generator=torch.Generator().manual_seed(0))
        trace = specinit.hessian_trace(net, "mse", (x, torch.zeros(32, 1)), num_matvecs=6, generator=0)
        images = specinit.data.mnist(limit_train=20, limit_test=10)
        assert images.source.startswith("embedded"), images.source
        import math
        assert spec.centroid() > 0 and math.isfinite(trace.estimate)
        print("ok", len(specinit.__all__))
        """
    )
    out = subprocess.run([str(python), "-c", script], capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.startswith("ok")

    command = subprocess.run([str(env / "bin" / "specinit"), "--version"], capture_output=True, text=True)
    assert command.returncode == 0 and specinit.__version__ in command.stdout, command.stderr
