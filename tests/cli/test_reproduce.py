"""`specinit reproduce` speaks plainly: every ordinary mistake is one `Error:` line before any
work, seeds grow a run folder, times add up over invocations, --no-progress prints one line per
unit."""

import gzip
import json
import shutil
import time
from dataclasses import dataclass

import pytest
from click.testing import CliRunner

from specinit import lab
from specinit.cli import main
from specinit.data.images import EMBEDDED_DIR
from specinit.lab import checks
from specinit.lab.experiment import Summary, register_module, seeds_units


@dataclass(frozen=True)
class CliConfig:
    value: int = 2
    seeds: tuple[int, ...] = (0,)


def check_config(cfg):
    checks.positive(cfg, "value")


def units(cfg):
    return seeds_units([{"value": cfg.value}], cfg.seeds)


def run_unit(cfg, unit, context):
    time.sleep(0.05)
    return {"value": cfg.value, "seed": unit.params["seed"], "square": cfg.value**2}, {}


def summarize(cfg, rows, arrays, run):
    return Summary()


register_module(
    __name__, name="cli-test", title="tiny", source="tests", default=CliConfig(), quick=CliConfig()
)


def reproduce(*args):
    return CliRunner().invoke(main, ["reproduce", *map(str, args)])


def assert_one_error_line(result, *words):
    assert result.exit_code != 0, result.output
    assert isinstance(result.exception, SystemExit), result.exception  # no traceback
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.output
    for word in words:
        assert word in errors[0], errors[0]


@pytest.mark.parametrize(
    ("setting", "words"),
    [
        ("width=-4", ["--set", "width must be positive, got -4"]),
        ("lrs=", ["lrs: no value given"]),
        ("lrs=[]", ["lrs is empty"]),
        ("steps=none", ["steps: expected int", "cannot be none"]),
        ("activations=relu,sinee", ["unknown activation 'sinee'"]),
        ("task=step=0.05", ["task is a nested config", "task.step=0.05"]),
        ("task.step=-1", ["task.step must be positive"]),
        ("task.stepp=1", ["unknown config field 'stepp' of SparseTask"]),
        ("init=xavier_normall", ["unknown initialization method(s) 'xavier_normall'"]),
    ],
)
def test_impossible_values_fail_before_any_work(tmp_path, setting, words):
    start = time.perf_counter()
    result = reproduce("inr-depth", "--quick", "--no-progress", "--set", setting, "--out", tmp_path / "run")
    assert_one_error_line(result, *words)
    assert not (tmp_path / "run").exists() and time.perf_counter() - start < 10


def test_a_nested_field_is_set_by_its_dotted_name():
    cfg = lab.get("inr-depth").config(quick=True, overrides={"task.step": "0.05", "task.grid": "512"})
    assert (cfg.task.step, cfg.task.grid, cfg.task.lo) == (0.05, 512, -1.0)


def test_missing_and_corrupt_data_files_are_one_error_line(tmp_path):
    result = reproduce(
        "oddsig-depth", "--quick", "--no-progress", "--data-dir", tmp_path / "empty", "--out", tmp_path / "e"
    )
    assert_one_error_line(result, "missing train-images-idx3-ubyte.gz")
    assert not (tmp_path / "e").exists()  # refused before anything is written
    data = tmp_path / "data"
    for name in ("mnist", "fashion-mnist"):
        shutil.copytree(EMBEDDED_DIR / name, data / name)
    images = data / "mnist" / "train-images-idx3-ubyte.gz"
    images.write_bytes(images.read_bytes()[:1000])  # a truncated download
    result = reproduce(
        "oddsig-depth", "--quick", "--no-progress", "--data-dir", data, "--out", tmp_path / "o"
    )
    assert_one_error_line(result, str(images), "corrupt")
    with gzip.open(images, "wb") as handle:  # a valid gzip of the wrong content
        handle.write(b"\0\0\x08\x03")
    result = reproduce(
        "oddsig-depth", "--quick", "--no-progress", "--data-dir", data, "--out", tmp_path / "p"
    )
    assert_one_error_line(result, "checksum mismatch")


def test_a_folder_of_another_config_is_refused_naming_the_difference(tmp_path):
    assert reproduce("cli-test", "--out", tmp_path, "--no-progress").exit_code == 0
    result = reproduce("cli-test", "--set", "value=3", "--out", tmp_path)
    assert_one_error_line(result, "holds a run of a different config", "config.value: 2 there, 3 now")
    assert_one_error_line(
        reproduce("cli-test", "--set", "value=0", "--out", tmp_path), "value must be positive"
    )


def test_seeds_grow_a_run_folder_and_times_add_up(tmp_path):
    first = reproduce("cli-test", "--seeds", "1", "--out", tmp_path, "--no-progress")
    assert first.exit_code == 0, first.output
    assert "cli-test: unit 1/1 (value=2, seed=0) done in" in first.stderr
    again = reproduce("cli-test", "--seeds", "3", "--out", tmp_path, "--no-progress")
    assert again.exit_code == 0, again.output
    assert "1 unit(s) reused" in again.stdout
    lines = [line for line in again.stderr.splitlines() if " done in " in line]
    assert [line.split(" done in ")[0] for line in lines] == [
        "cli-test: unit 2/3 (value=2, seed=1)",
        "cli-test: unit 3/3 (value=2, seed=2)",
    ]
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["seeds"] == [0, 1, 2] and [r["seed"] for r in results["rows"]] == [0, 1, 2]
    unit_seconds = sum(r["seconds"] for r in results["rows"])  # the first invocation's unit too
    assert results["unit_seconds"] == pytest.approx(unit_seconds) and unit_seconds >= 0.15
    assert results["seconds"] >= unit_seconds and results["reused_units"] == 1
    assert "invocation_seconds" in results
    assert "over every invocation" in (tmp_path / "report.md").read_text()
    # fewer seeds asked of a folder that holds more: nothing runs, the results keep them all
    last = reproduce("cli-test", "--seeds", "1", "--out", tmp_path, "--no-progress")
    assert last.exit_code == 0 and "3 unit(s) reused" in last.stdout and " done in " not in last.stderr
    assert json.loads((tmp_path / "results.json").read_text())["seeds"] == [0, 1, 2]


def test_progress_bars_stay_without_unit_lines(tmp_path):
    result = reproduce("cli-test", "--out", tmp_path)
    assert result.exit_code == 0 and " done in " not in result.output
