"""Run folders: resumable per-unit results, tidy tables, ``results.json`` and a Markdown report.

A run folder holds one experiment run::

    run/
      units/<key>.json   one finished unit (a case × seed): its row of metrics
      units/<key>.npz    that unit's arrays (spectra, curves) for the figures
      results.csv        the tidy table, one row per unit
      summary.csv        mean ± std across seeds per case
      results.json       config, versions, seeds, metrics, findings, timings
      *.png              figures
      report.md          tables, findings and figures for people

Units are written atomically as they finish, so an interrupted run loses nothing already
finished; re-running the same config skips finished units.  A folder made by a different
config is refused rather than mixed.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import os
import platform
import sys
import tempfile
from dataclasses import asdict, dataclass, is_dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

__all__ = [
    "RunDir",
    "Finding",
    "config_hash",
    "environment",
    "figure",
    "summarize_rows",
    "markdown_table",
    "text_table",
    "unit_filename",
]


@dataclass(frozen=True)
class Finding:
    """A qualitative claim of a paper checked against measured numbers."""

    claim: str
    holds: bool
    evidence: str

    def markdown(self) -> str:
        """The finding as a Markdown list item: ``- **holds**: claim — evidence``."""
        return f"- **{'holds' if self.holds else 'does NOT hold'}**: {self.claim} — {self.evidence}"


def _jsonable(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return _jsonable(asdict(value))
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


def config_hash(config: Any) -> str:
    """A short stable hash of a config (dataclass or mapping)."""
    text = json.dumps(_jsonable(config), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def environment() -> dict[str, str]:
    """Versions and host facts recorded with every run."""
    import matplotlib
    import scipy
    import sklearn
    import torch

    from specinit import __version__

    return {
        "specinit": __version__,
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "scikit-learn": sklearn.__version__,
        "matplotlib": matplotlib.__version__,
        "platform": platform.platform(),
        "host": platform.node(),
        "cpus": str(os.cpu_count()),
        "torch_threads": str(torch.get_num_threads()),
        "flush_denormal": "on during experiment runs (Gaussian activations underflow)",
    }


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def unit_filename(key: str) -> str:
    """A file-system-safe name for a unit key (readable, plus a hash so distinct keys never collide)."""
    safe = "".join(c if c.isalnum() or c in "-_.=," else "_" for c in key)
    return f"{safe}-{hashlib.sha256(key.encode()).hexdigest()[:8]}"


def figure(nrows: int = 1, ncols: int = 1, *, width: float, height: float) -> tuple[Any, np.ndarray]:
    """A matplotlib ``Figure`` and its 2D array of axes, without pyplot's global state."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height))
    return fig, fig.subplots(nrows, ncols, squeeze=False)


class RunDir:
    """One experiment's output folder, tied to the hash of its config."""

    def __init__(self, path: str | Path, config: Any) -> None:
        self.path = Path(path)
        self.config = config
        self.hash = config_hash(config)
        self.units = self.path / "units"
        self.units.mkdir(parents=True, exist_ok=True)
        stamp = self.path / "config.json"
        payload = json.dumps({"hash": self.hash, "config": _jsonable(config)}, indent=2)
        if stamp.exists():
            previous = json.loads(stamp.read_text()).get("hash")
            if previous != self.hash:
                raise FileExistsError(
                    f"{self.path} holds a run of a different config (hash {previous}, this one "
                    f"{self.hash}); choose another --out folder or delete it"
                )
        else:
            _atomic_write(stamp, payload.encode())

    def _unit_path(self, key: str, suffix: str) -> Path:
        return self.units / f"{unit_filename(key)}{suffix}"

    def has(self, key: str) -> bool:
        """Whether the unit ``key`` already finished (its row was written last, atomically)."""
        return self._unit_path(key, ".json").exists()

    def save_unit(self, key: str, row: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> None:
        """Store a finished unit: arrays first, then the row that marks it complete."""
        if arrays:
            buffer = io.BytesIO()
            np.savez_compressed(buffer, **{k: np.asarray(v) for k, v in arrays.items()})
            _atomic_write(self._unit_path(key, ".npz"), buffer.getvalue())
        _atomic_write(self._unit_path(key, ".json"), json.dumps(_jsonable(row)).encode())

    def load_unit(self, key: str) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """A finished unit's row and arrays."""
        row = json.loads(self._unit_path(key, ".json").read_text())
        npz = self._unit_path(key, ".npz")
        arrays: dict[str, np.ndarray] = {}
        if npz.exists():
            with np.load(npz) as data:
                arrays = {k: data[k] for k in data.files}
        return row, arrays

    def figure_path(self, name: str) -> Path:
        return self.path / f"{name}.png"

    def write_table(self, name: str, rows: Sequence[Mapping[str, Any]]) -> Path:
        """Write ``rows`` as ``<name>.csv`` (columns in first-seen order)."""
        columns: list[str] = []
        for row in rows:
            columns.extend(k for k in row if k not in columns)
        path = self.path / f"{name}.csv"
        with path.open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=columns)
            writer.writeheader()
            writer.writerows(rows)
        return path

    def write_results(self, payload: Mapping[str, Any]) -> Path:
        path = self.path / "results.json"
        _atomic_write(path, json.dumps(_jsonable(payload), indent=2).encode())
        return path


def summarize_rows(
    rows: Iterable[Mapping[str, Any]], by: Sequence[str], metrics: Sequence[str]
) -> list[dict[str, Any]]:
    """Mean, standard deviation and count of ``metrics`` across rows grouped by ``by``."""
    groups: dict[tuple, list[Mapping[str, Any]]] = {}
    for row in rows:
        groups.setdefault(tuple(row[k] for k in by), []).append(row)
    table = []
    for key, members in groups.items():
        out: dict[str, Any] = dict(zip(by, key))
        out["n_seeds"] = len(members)
        for metric in metrics:
            values = np.array([float(m[metric]) for m in members], dtype=float)
            out[f"{metric}_mean"] = float(np.mean(values))
            out[f"{metric}_std"] = float(np.std(values, ddof=1)) if len(values) > 1 else 0.0
        table.append(out)
    return table


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


def markdown_table(
    rows: Sequence[Mapping[str, Any]], by: Sequence[str], metrics: Sequence[str]
) -> str:
    """A Markdown table of summarized rows with ``mean ± std`` cells."""
    header = [*by, "seeds", *metrics]
    body = []
    for row in rows:
        cells = [_fmt(row[k]) for k in by] + [str(row["n_seeds"])]
        cells += [f"{_fmt(row[f'{m}_mean'])} ± {_fmt(row[f'{m}_std'])}" for m in metrics]
        body.append(cells)
    return _markdown(header, body)


def text_table(rows: Sequence[Mapping[str, str]], *, markdown: bool = False) -> str:
    """Rows of string cells (keys are the columns) as a Markdown or an aligned plain-text table."""
    if not rows:
        raise ValueError("text_table needs at least one row")
    columns = list(rows[0])
    body = [[row[c] for c in columns] for row in rows]
    if markdown:
        return _markdown(columns, body)
    widths = [max(len(c), *(len(cells[i]) for cells in body)) for i, c in enumerate(columns)]
    lines = [columns, ["-" * w for w in widths], *body]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(line, widths)) for line in lines)


def _markdown(header: Sequence[str], body: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cells) + " |" for cells in body]
    return "\n".join(lines)
