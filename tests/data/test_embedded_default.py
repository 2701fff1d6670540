"""The embedded MNIST / Fashion-MNIST subsets: the default data when no folder is given.

They ship inside the package (``specinit/data/embedded/``), so README's commands work from a
clone alone: these tests check the files (checksums, sizes, class balance, licence notes, that
the package data lists them), that the loaders and the runner's ``Context`` read and name them, that
configs needing the full sets are refused in one line naming ``--data-dir``, and — slow — that
README's main job's image experiments run on them through the command line.
"""

from __future__ import annotations

import fnmatch
import gzip
import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from specinit import data as D
from specinit import lab
from specinit.cli import main
from specinit.data import images as I
from specinit.lab import Context

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]
README = (I.EMBEDDED_DIR / "README.md").read_text()
EMBEDDED = "embedded subset, 2000 train / 1000 test"
#: The experiments registered with images=True: the data-bearing part of README's main job.
IMAGE_EXPERIMENTS = ("hyperplanes", "oddsig-depth", "oddsig-data", "random-label", "swim-mnist")
#: Image experiments whose default reads only a few images, so it runs on the embedded subset
#: (spectral-target fits one MNIST digit's pixels).
SUBSET_EXPERIMENTS = ("spectral-target",)


@pytest.fixture(autouse=True)
def _no_data_folder(monkeypatch):
    """As on a fresh clone: no ``SPECINIT_DATA``."""
    monkeypatch.delenv(D.ENV_VAR, raising=False)


def _counts(y) -> list[int]:
    return np.bincount(np.asarray(y), minlength=10).tolist()


@pytest.mark.parametrize("dataset", ["mnist", "fashion-mnist"])
def test_embedded_files_match_their_checksums_sizes_and_readme(dataset):
    n_train, n_test = D.EMBEDDED_SIZES[dataset]
    assert (n_train, n_test) == (2000, 1000)
    for name in D.IDX_FILES:
        path = I.EMBEDDED_DIR / dataset / name
        raw = path.read_bytes()
        digest = hashlib.sha256(raw).hexdigest()
        assert digest == D.EMBEDDED_SHA256[dataset][name]
        assert f"| {dataset}/{name} |" in README and digest in README
        assert raw[3] == 0 and raw[4:8] == b"\0\0\0\0"  # gzip: no file name, time stamp 0
        assert gzip.decompress(raw)[:4] == (b"\0\0\x08\x03" if "images" in name else b"\0\0\x08\x01")
    read = [D.read_idx(I.EMBEDDED_DIR / dataset / name) for name in D.IDX_FILES]
    assert read[0].shape == (n_train, 28, 28) and read[2].shape == (n_test, 28, 28)
    assert read[0].dtype == read[2].dtype == np.uint8
    assert _counts(read[1]) == [n_train // 10] * 10 and _counts(read[3]) == [n_test // 10] * 10
    assert read[0].min() == 0 and read[0].max() == 255
    # a few MB at most, and every file the loader reads is one the package data ships
    assert sum((I.EMBEDDED_DIR / dataset / n).stat().st_size for n in D.IDX_FILES) < 2_000_000


def test_readme_states_origin_and_licences():
    for words in (
        "class-balanced",
        "tools/make_embedded_data.py",
        "seed 0",
        "Creative Commons Attribution-Share Alike 3.0",
        "CC BY-SA 3.0",
        "Yann LeCun",
        "Corinna Cortes",
        "Christopher J. C. Burges",
        "Zalando SE",
        "The MIT License",
        "arXiv:1708.07747",
        "The above copyright notice and this permission notice shall be included",
    ):
        assert words in README, words
    assert (ROOT / "tools" / "make_embedded_data.py").is_file()


def test_the_package_data_ships_the_subsets():
    """``pyproject.toml`` lists every embedded file as package data (a wheel, not only an
    editable install, carries them)."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["specinit.data"]
    package = ROOT / "src" / "specinit" / "data"
    shipped = [p.relative_to(package).as_posix() for p in (package / "embedded").rglob("*") if p.is_file()]
    assert len(shipped) == 9  # 2 × 4 IDX files and the README
    for relative in shipped:
        assert any(fnmatch.fnmatch(relative, pattern) for pattern in patterns), relative


def test_default_data_is_the_embedded_subset_and_says_so():
    split = D.mnist()
    assert split.x_train.shape == (2000, 1, 28, 28) and split.x_test.shape == (1000, 1, 28, 28)
    assert _counts(split.y_train) == [200] * 10 and _counts(split.y_test) == [100] * 10
    assert split.x_train.min() == 0.0 and split.x_train.max() == 1.0
    assert split.source == EMBEDDED and f"source='{EMBEDDED}'" in repr(split)
    assert 0.10 < float(split.x_train.mean()) < 0.16  # MNIST's mean pixel is 0.13
    fashion = D.fashion_mnist(flatten=True)
    assert fashion.x_train.shape == (2000, 784) and fashion.source == EMBEDDED
    assert 0.25 < float(fashion.x_train.mean()) < 0.33  # Fashion-MNIST's is 0.29
    # the package's folder given explicitly is the same data, checked the same way
    again = D.mnist(data_dir=D.data_dir())
    assert again.source == EMBEDDED and torch.equal(again.x_test, split.x_test)
    small = D.mnist(flatten=True, limit_train=100, limit_test=50, generator=1)
    assert _counts(small.y_train) == [10] * 10 and _counts(small.y_test) == [5] * 10
    assert len(D.mnist(limit_train=2000).x_train) == 2000  # exactly what it holds is fine


def test_embedded_subset_refuses_more_than_it_holds():
    with pytest.raises(D.FullDataRequired) as info:
        D.mnist(limit_train=2001)
    message = str(info.value)
    assert isinstance(info.value, FileNotFoundError) and "\n" not in message
    for words in (
        "mnist: 2,001 training images needed",
        "2000 train / 1000 test",
        "--data-dir",
        "$SPECINIT_DATA",
    ):
        assert words in message, words
    with pytest.raises(D.FullDataRequired, match=r"fashion-mnist: 1,001 test images needed"):
        D.fashion_mnist(limit_test=1001)
    # the runner's one check: a limit of None means the full official split
    with pytest.raises(D.FullDataRequired, match=r"60,000 training images \(the full split\)"):
        Context().images("mnist", None, 1000)
    with pytest.raises(D.FullDataRequired, match=r"10,000 test images \(the full split\).*--data-dir"):
        Context().images("fashion_mnist", 100, None)
    assert Context().images("fashion_mnist", 2000, 1000).source == EMBEDDED


def test_context_describes_and_keys_the_data(tmp_path, monkeypatch):
    embedded = Context().describe_data()
    assert embedded["embedded"] is True and EMBEDDED in embedded["source"]
    assert "--data-dir" in embedded["source"] and embedded["root"].startswith("embedded:")
    assert Context().data_root == I.EMBEDDED_DIR
    folder = Context(tmp_path).describe_data()
    assert folder == {
        "root": str(tmp_path.resolve()),
        "embedded": False,
        "source": f"MNIST / Fashion-MNIST: official files in {tmp_path.resolve()} (given explicitly)",
    }
    with pytest.raises(ValueError, match="70,000 training images asked for"):
        Context(tmp_path).images("mnist", 70000, 10)  # checked before any file is read
    monkeypatch.setitem(D.EMBEDDED_SHA256["mnist"], "t10k-labels-idx1-ubyte.gz", "0" * 64)
    assert Context().describe_data()["root"] != embedded["root"]  # keyed on the subset's files


def test_the_image_experiments_are_the_ones_listed_here():
    builtin = [
        lab.get(n) for n in lab.names() if lab.get(n).units.__module__.startswith("specinit.lab.experiments.")
    ]
    assert {e.name for e in builtin if e.images} == set(IMAGE_EXPERIMENTS + SUBSET_EXPERIMENTS)


@pytest.mark.parametrize("name", SUBSET_EXPERIMENTS)
def test_these_default_configs_fit_the_embedded_subset(name):
    exp = lab.get(name)
    needs = exp.data_needs(exp.config()) if exp.data_needs else []
    assert needs
    for dataset, n_train, n_test in needs:
        Context().check(dataset, n_train, n_test)  # raises FullDataRequired if the subset is too small


@pytest.mark.parametrize("name", IMAGE_EXPERIMENTS)
def test_every_default_config_refuses_the_embedded_subset(name):
    """Each image experiment's full-scale default needs more images than the subset holds; its
    first image unit stops at ``Context.images`` (before any training) and names --data-dir."""
    exp = lab.get(name)
    assert exp.images
    cfg = exp.config()
    unit = next(u for u in exp.units(cfg) if u.params.get("task", "mnist") == "mnist")
    with pytest.raises(D.FullDataRequired, match=r"needed, but only the embedded subset is here.*--data-dir"):
        exp.run_unit(cfg, unit, Context())


def test_command_line_refuses_a_full_config_in_one_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["reproduce", "swim-mnist", "--out", "full", "--no-progress"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    (line,) = result.output.strip().splitlines()
    assert line.startswith("Error: mnist: 60,000 training and 10,000 test images (the full splits) needed")
    assert "--data-dir" in line and "SPECINIT_DATA" in line


@pytest.mark.slow
@pytest.mark.parametrize("name", ["swim-mnist", "hyperplanes"])
def test_readme_main_job_image_experiments_run_on_the_embedded_subset(tmp_path, monkeypatch, name):
    """README's first command's data-bearing part, through the command line, from a working
    directory with no data folder anywhere near and no ``SPECINIT_DATA``.

    Two of the five image experiments' quick runs (measured on one core of the shared 2-core
    machine: hyperplanes 29 s, oddsig-depth 98 s, oddsig-data 182 s, random-label 73 s,
    swim-mnist 12 s — all five would add about 6.5 min): ``swim-mnist`` (both datasets, 12 s)
    and ``hyperplanes`` (MNIST units beside 1D/2D ones, 29 s).  ``random-label``'s quick run is
    run end to end on the same default data by its own slow test; ``oddsig-depth`` and
    ``oddsig-data`` run tiny configs on it in ``tests/lab/experiments/test_oddsig.py``.
    """
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(
        main, ["reproduce", name, "--quick", "--out", f"runs/{name}", "--no-progress"], env={D.ENV_VAR: None}
    )
    assert result.exit_code == 0, result.output
    folder = tmp_path / "runs" / name
    results = json.loads((folder / "results.json").read_text())
    assert results["data"]["embedded"] is True and results["data"]["root"].startswith("embedded:")
    exp = lab.get(name)
    assert len(results["rows"]) == len(exp.units(exp.config(quick=True))) > 0  # every unit ran
    report = (folder / "report.md").read_text()
    data_section = report.split("## Data", 1)[1].split("##", 1)[0]
    assert EMBEDDED in data_section
    assert (folder / "report.html").is_file()
