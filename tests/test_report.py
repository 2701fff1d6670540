"""Reports: confidence intervals, exact reproduce commands, and offline HTML for runs and sweeps."""

import base64
import json
import math
import shlex
from html.parser import HTMLParser

import pytest
from click.testing import CliRunner

from specinit import experiments
from specinit.cli import main
from specinit.report import ci_markdown, ci_rows, mean_ci, reproduce_command, split_columns, write_report
from specinit.store import RunStore
from specinit.sweep import execute, parse_sweep, plan

TINY_SETS = ["--set", "activations=relu", "--set", "depths=1", "--set", "lrs=0.01", "--set", "steps=20"]


class Page(HTMLParser):
    """Tables (rows of cell texts), image sources, link targets and code blocks of an HTML page."""

    def __init__(self, text):
        super().__init__()
        self.tables, self.images, self.links, self.code = [], [], [], []
        self._cell = self._code = None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = ""
        elif tag == "img":
            self.images.append(attrs["src"])
        elif tag == "a":
            self.links.append(attrs["href"])
        elif tag == "code":
            self._code = ""

    def handle_endtag(self, tag):
        if tag in ("td", "th"):
            self.tables[-1][-1].append(self._cell.strip())
            self._cell = None
        elif tag == "code":
            self.code.append(self._code)
            self._code = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data
        if self._code is not None:
            self._code += data


def test_mean_ci_is_the_student_t_interval():
    # Closed-form Student-t quantiles: df=2: (2p−1)/√(2p(1−p)); df=1: tan(π(p−½)).
    t2 = 0.95 / math.sqrt(2 * 0.975 * 0.025)
    mean, half, n = mean_ci([1.0, 2.0, 3.0])  # s = 1
    assert (mean, n) == (2.0, 3) and half == pytest.approx(t2 / math.sqrt(3), rel=1e-10)
    mean, half, n = mean_ci([0.5, 0.7], confidence=0.9)  # s = √0.02, s/√2 = 0.1
    assert mean == pytest.approx(0.6) and half == pytest.approx(math.tan(0.45 * math.pi) * 0.1, rel=1e-10)
    mean, half, n = mean_ci([4.0])
    assert mean == 4.0 and math.isnan(half) and n == 1
    with pytest.raises(ValueError, match="non-empty 1-D"):
        mean_ci([])
    with pytest.raises(ValueError, match="confidence must be in"):
        mean_ci([1.0, 2.0], confidence=1.0)


def test_columns_split_into_cases_and_metrics_and_group_across_seeds():
    rows = [{"unit": f"activation={a},depth={d},seed={s}", "activation": a, "depth": d, "seed": s,
             "note": "x", "lr": 0.01, "mse": float(s + d)}
            for a in ("relu", "sine(omega0=5)") for d in (1, 2) for s in (0, 1, 2)]
    by, metrics = split_columns(rows)
    assert by == ["activation", "depth", "note"] and metrics == ["lr", "mse"]
    table = ci_rows(rows, by, metrics)
    assert len(table) == 4 and all(row["n"] == 3 for row in table)
    assert table[1]["activation"] == "relu" and table[1]["depth"] == "2"
    assert table[1]["mse_mean"] == 3.0 and table[1]["mse_ci"] == pytest.approx(mean_ci([2, 3, 4])[1])
    assert table[1]["lr_ci"] == 0.0
    single = ci_rows(rows[:1], ["activation"], ["mse"])
    assert single == [{"activation": "relu", "n": 1, "mse_mean": 1.0, "mse_ci": single[0]["mse_ci"]}]
    assert math.isnan(single[0]["mse_ci"])
    assert ci_markdown(table[:1] + single, ["activation"], ["mse"]).splitlines() == [
        "| activation | seeds | mse |", "|---|---|---|",
        f"| relu | 3 | 2 ± {mean_ci([1, 2, 3])[1]:.2g} |", "| relu | 1 | 1 |"]
    with pytest.raises(ValueError, match="metric 'note' holds a non-number 'x'"):
        ci_rows(rows, ["activation"], ["note"])


def test_reproduce_command_parses_back_to_the_config():
    exp = experiments.get("inr-depth")
    cfg = exp.config(quick=True, seeds=3, overrides={"width": "16", "activations": "relu,sine(omega0=5)"})
    config = json.loads(json.dumps(cfg, default=vars))
    command = reproduce_command("inr-depth", config, "runs/x y")
    assert command == ("specinit reproduce inr-depth --quick --seeds 3 "
                       "--set 'activations=relu,sine(omega0=5)' --set width=16 --out 'runs/x y'")
    assert reproduce_command("inr-depth", json.loads(json.dumps(exp.default, default=vars)), "o") == \
        "specinit reproduce inr-depth --out o"
    nested = {**config, "task": {**config["task"], "step": 0.2}}  # --set cannot reach inside task
    assert reproduce_command("inr-depth", nested, "o") is None
    assert reproduce_command("no-such-experiment", config, "o") is None


@pytest.mark.slow
def test_reproduce_writes_an_offline_html_report_whose_command_is_exact(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    args = ["reproduce", "inr-depth", "--quick", "--seeds", "2", *TINY_SETS, "--out", "runs/tiny", "--no-progress"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "report: runs/tiny/report.html" in result.output
    page = Page((tmp_path / "runs/tiny/report.html").read_text())
    ci = next(t for t in page.tables if "train_mse" in t[0])
    assert ci[0][:3] == ["activation", "depth", "seeds"] and ci[1][:3] == ["relu", "1", "2"]
    assert " ± " in ci[1][ci[0].index("test_mse")]
    env = next(t for t in page.tables if t[0] == ["", "value"])
    assert ["torch", __import__("torch").__version__] in env and any(r[0] == "host" for r in env)
    pngs = [src for src in page.images if src.startswith("data:image/png;base64,")]
    assert len(pngs) == len(page.images) == 3
    assert all(base64.b64decode(src.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n" for src in pngs)
    command = next(line for block in page.code for line in block.splitlines() if line.startswith("specinit reproduce"))
    again = CliRunner().invoke(main, [*shlex.split(command)[1:], "--no-progress"])
    assert again.exit_code == 0 and "2 unit(s) reused" in again.output, again.output  # same config

    index = CliRunner().invoke(main, ["report", "runs"])
    assert index.exit_code == 0 and "report: runs/report.html" in index.output
    assert "tiny/report.html" in Page((tmp_path / "runs/report.html").read_text()).links
    assert (tmp_path / "runs/tiny/report.md").read_text().count("generated by `specinit report`") == 1
    empty = CliRunner().invoke(main, ["report", str(tmp_path / "runs/tiny/units")])
    assert empty.exit_code == 2 and "no sweep.sqlite" in empty.output


@pytest.mark.slow
def test_sweep_report_shows_points_runs_failures_and_commands(tmp_path):
    spec = parse_sweep({"experiment": "inr-depth", "quick": True, "seeds": 2,
                        "set": {"depths": [1], "lrs": [0.01], "steps": 20},
                        "grid": {"activations": ["relu", "bogus"]}})
    with RunStore(tmp_path / "sweep.sqlite") as store:
        store.set_meta(experiment="inr-depth", name="tiny", command="specinit sweep tiny.toml --out x")
        for run in plan(spec):
            store.add(execute(run, tmp_path))
    written = write_report(tmp_path)
    assert written == [tmp_path / "report.html"] and (tmp_path / "report.md").is_file()
    page = Page(written[0].read_text())
    ci = next(t for t in page.tables if "train_mse" in t[0])
    assert [row[:4] for row in ci] == [["activations", "activation", "depth", "seeds"], ["relu", "relu", "1", "2"]]
    runs = next(t for t in page.tables if t[0][:2] == ["run", "status"])
    assert [row[:2] for row in runs[1:]] == [["activations=relu seed=0", "done"], ["activations=relu seed=1", "done"],
                                            ["activations=bogus seed=0", "failed"], ["activations=bogus seed=1", "failed"]]
    assert sum("unknown activation 'bogus'" in block for block in page.code) == 2
    assert page.images and all((tmp_path / src).is_file() for src in page.images)
    run_reports = [href for href in page.links if href.endswith("report.html")]
    assert len(run_reports) == 2 and all((tmp_path / href).is_file() for href in run_reports)
    commands = "\n".join(page.code)
    assert "specinit sweep tiny.toml --out x" in commands
    assert commands.count("specinit reproduce inr-depth --quick --set activations=relu") == 2
