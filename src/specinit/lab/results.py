"""Run folders: resumable per-unit results, tidy tables, ``results.json`` and a Markdown report.

A run folder holds one experiment run::

    run/
      units/<key>.json   one finished unit (a case × seed): its row of metrics
      units/<key>.npz    that unit's arrays (spectra, curves) for the figures
      results.csv        the tidy table, one row per unit
      summary.csv        per case: n, and per metric mean, std and 95% CI half-width
      results.json       config, versions, seeds, metrics, findings, timings
      *.png              figures
      report.md          tables, findings and figures for people

Units are written atomically as they finish, so an interrupted run loses nothing already
finished; re-running the same config skips finished units.  A folder made by a different
config is refused rather than mixed; its seeds are not part of that identity (each unit is one
seed), so a run grows by seeds: the folder records every seed run in it (``config.json``).
Files are written readable like any other file (mode ``0666`` less the umask).
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
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, is_dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

from specinit._core.tables import text_table

__all__ = [
    "RunDir",
    "Finding",
    "all_hold",
    "compare",
    "count_findings",
    "decided",
    "diff_stderr",
    "seed_stderr",
    "verdict",
    "below",
    "binomial_stderr",
    "config_hash",
    "environment",
    "mean_ci",
    "ci_rows",
    "ci_markdown",
    "split_columns",
    "unit_filename",
    "text_table",
]


@dataclass(frozen=True)
class Finding:
    """A qualitative claim of a paper checked against measured numbers.

    ``holds`` is three-state: ``True`` (the numbers support the claim beyond their noise),
    ``False`` (they contradict it beyond their noise) or ``None`` (not decided: the margin is
    within the noise, or the run is too small to tell).

    >>> Finding("a beats b", None, "not decided at quick scale: one seed").markdown()
    '- **not decided**: a beats b — not decided at quick scale: one seed'
    """

    claim: str
    holds: bool | None
    evidence: str

    @property
    def status(self) -> str:
        """``"holds"``, ``"does NOT hold"`` or ``"not decided"``."""
        return "not decided" if self.holds is None else ("holds" if self.holds else "does NOT hold")

    def markdown(self) -> str:
        """The finding as a Markdown list item: ``- **holds**: claim — evidence``."""
        return f"- **{self.status}**: {self.claim} — {self.evidence}"


def count_findings(findings: Iterable[Any]) -> tuple[int, int, int]:
    """How many findings hold, do not hold and are undecided: ``(held, not_held, undecided)``.

    Accepts :class:`Finding` objects or their dictionaries (as stored in ``results.json``).

    >>> count_findings([Finding("a", True, ""), {"claim": "b", "holds": None, "evidence": ""}])
    (1, 0, 1)
    """
    states = [f.get("holds") if isinstance(f, Mapping) else f.holds for f in findings]
    held = sum(1 for s in states if s is True)
    undecided = sum(1 for s in states if s is None)
    return held, len(states) - held - undecided, undecided


def decided(diff: float, stderr: float, k: float = 2.0) -> bool:
    """Whether a difference ``diff`` is beyond ``k`` standard errors ``stderr`` of its noise.

    A NaN difference or standard error (one seed: no estimate of the noise) is never decided.

    >>> decided(0.05, 0.01), decided(0.01, 0.01), decided(0.05, float("nan"))
    (True, False, False)
    """
    if not (math.isfinite(diff) and math.isfinite(stderr)):
        return False
    return abs(diff) > k * stderr


def verdict(diff: float, stderr: float, k: float = 2.0) -> bool | None:
    """A finding's ``holds`` for the claim "``diff`` > 0": True or False where the difference is
    beyond ``k`` standard errors (:func:`decided`), else None (not decided).

    >>> verdict(0.05, 0.01), verdict(-0.05, 0.01), verdict(0.01, 0.01)
    (True, False, None)
    """
    return bool(diff > 0) if decided(diff, stderr, k) else None


def all_hold(states: Iterable[bool | None]) -> bool | None:
    """A claim "for every case": False if any case is decided False, True if all are decided
    True, else None (not decided).

    >>> all_hold([True, True]), all_hold([True, None]), all_hold([None, False])
    (True, None, False)
    """
    states = list(states)
    if any(s is False for s in states):
        return False
    return True if states and all(s is True for s in states) else None


def below(mean: float, std: float, n: int, bound: float, k: float = 2.0) -> tuple[bool | None, str]:
    """Whether a mean over ``n`` seeds (sample std ``std``) lies below ``bound`` beyond ``k``
    standard errors ``std/√n``: True below, False above, None within (or for one seed, whose
    noise is unknown).  The margin in words.

    >>> below(0.01, 0.002, 3, 0.05)
    (True, 'bound − mean +0.04, 2 SE = 0.0023')
    >>> below(0.04, float("nan"), 1, 0.05)[0] is None
    True
    """
    se = std / math.sqrt(n) if n >= 2 else math.nan
    margin = bound - mean
    if not math.isfinite(se):
        return None, f"bound − mean {margin:+.3g}, noise unknown (one seed)"
    return verdict(margin, se, k), f"bound − mean {margin:+.3g}, {k:g} SE = {k * se:.2g}"


def binomial_stderr(p1: float, p2: float, n: int) -> float:
    """The standard error of the difference of two accuracies ``p1`` and ``p2`` measured on
    ``n`` test examples each: ``sqrt((p1(1-p1) + p2(1-p2)) / n)`` (independent binomials;
    conservative for paired predictions on one test set).

    >>> round(binomial_stderr(0.9, 0.9, 1000), 4)
    0.0134
    """
    if n <= 0:
        raise ValueError(f"n must be positive, got {n}")
    p1, p2 = min(max(p1, 0.0), 1.0), min(max(p2, 0.0), 1.0)
    return math.sqrt((p1 * (1 - p1) + p2 * (1 - p2)) / n)


def seed_stderr(values: Sequence[float] | np.ndarray) -> float:
    """The standard error of the mean of per-seed ``values`` (``s/√n``; NaN for fewer than 2).

    >>> round(seed_stderr([1.0, 2.0, 3.0]), 4), seed_stderr([1.0])
    (0.5774, nan)
    """
    x = np.asarray(values, dtype=float)
    if x.size < 2:
        return math.nan
    return float(x.std(ddof=1) / math.sqrt(x.size))


def diff_stderr(a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray) -> float:
    """The standard error of ``mean(a) − mean(b)`` across seeds (Welch: ``sqrt(sa²/na + sb²/nb)``);
    NaN when either side has fewer than 2 values.

    >>> round(diff_stderr([1.0, 2.0, 3.0], [1.0, 2.0, 3.0]), 4)
    0.8165
    """
    return math.sqrt(seed_stderr(a) ** 2 + seed_stderr(b) ** 2)


def compare(
    a: Sequence[float] | np.ndarray | float,
    b: Sequence[float] | np.ndarray | float,
    *,
    n_test: int | None = None,
    k: float = 2.0,
    paired: bool = False,
) -> tuple[bool | None, str]:
    """Whether ``mean(a) > mean(b)`` beyond the noise, and the margin in words.

    The noise is the larger of the seed noise (:func:`diff_stderr`, needs ≥ 2 values on each
    side; with ``paired``, ``a[i]`` and ``b[i]`` are the same case and seed and the noise is
    :func:`seed_stderr` of the differences ``a[i] − b[i]``) and, for accuracies, the binomial
    noise of ``n_test`` test examples (:func:`binomial_stderr`).  Returns ``(True, text)`` or
    ``(False, text)`` where the difference exceeds ``k`` standard errors, else ``(None, text)``;
    with no estimate of the noise at all (one value each, no ``n_test``) the answer is None.

    >>> compare([0.91, 0.92], [0.80, 0.81], n_test=1000)
    (True, 'difference +0.11, 2 SE = 0.031')
    >>> compare([0.9, 0.7], [0.8, 0.6], paired=True)[0]
    True
    >>> compare([1.0], [0.5])
    (None, 'difference +0.5, noise unknown (one value per side)')
    """
    x = np.atleast_1d(np.asarray(a, dtype=float))
    y = np.atleast_1d(np.asarray(b, dtype=float))
    diff = float(x.mean() - y.mean())
    if paired and x.shape != y.shape:
        raise ValueError(f"paired values need equal lengths, got {x.size} and {y.size}")
    noise = [seed_stderr(x - y) if paired else diff_stderr(x, y)]
    if n_test is not None:
        noise.append(binomial_stderr(float(x.mean()), float(y.mean()), n_test))
    finite = [se for se in noise if math.isfinite(se)]
    if not finite or not math.isfinite(diff):
        return None, f"difference {diff:+.3g}, noise unknown (one value per side)"
    se = max(finite)
    return verdict(diff, se, k), f"difference {diff:+.3g}, {k:g} SE = {k * se:.2g}"


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
    """Versions, the code's fingerprint and host facts recorded with every run."""
    import matplotlib
    import scipy
    import sklearn
    import torch

    from specinit import __version__
    from specinit._core.fingerprint import code_fingerprint

    return {
        "specinit": __version__,
        "code": code_fingerprint(),
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


def _umask() -> int:
    """The process's umask (read by setting it and putting it back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path``, then rename it over ``path``.

    ``mkstemp`` creates the file with mode ``0600``; it gets ``0666`` less the umask, the
    mode ``open()`` would give, so results are as readable as the rest of the folder.
    """
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.chmod(tmp, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _differences(previous: Any, current: Any) -> str:
    """Which fields differ between a stored identity and this one, for the refusal message."""
    new = _jsonable(current)
    if not isinstance(previous, Mapping) or not isinstance(new, Mapping):
        return "a config this version cannot compare"
    changed: list[str] = []

    def walk(old: Mapping[str, Any], now: Mapping[str, Any], prefix: str) -> None:
        for key in sorted(set(old) | set(now), key=str):
            a, b = old.get(key, "(none)"), now.get(key, "(none)")
            if isinstance(a, Mapping) and isinstance(b, Mapping):
                walk(a, b, f"{prefix}{key}.")
            elif a != b:
                changed.append(f"{prefix}{key}: {json.dumps(a)} there, {json.dumps(b)} now")

    walk(previous, new, "")
    more = f"; and {len(changed) - 4} more" if len(changed) > 4 else ""
    return "; ".join(changed[:4]) + more if changed else "the same fields"


def unit_filename(key: str) -> str:
    """A file-system-safe name for a unit key (readable, plus a hash so distinct keys never collide)."""
    safe = "".join(c if c.isalnum() or c in "-_.=," else "_" for c in key)
    return f"{safe}-{hashlib.sha256(key.encode()).hexdigest()[:8]}"


class RunDir:
    """One experiment's output folder, tied to the hash of its config.

    ``seeds`` (if given) are recorded beside the config rather than hashed with it: a folder
    made with other seeds is reused, and :attr:`seeds` is then every seed recorded in it (those
    of earlier runs first, then the new ones).
    """

    def __init__(self, path: str | Path, config: Any, seeds: Sequence[int] | None = None) -> None:
        self.path = Path(path)
        self.config = config
        self.hash = config_hash(config)
        self.units = self.path / "units"
        stamp = self.path / "config.json"
        previous: dict[str, Any] = json.loads(stamp.read_text()) if stamp.exists() else {}
        if previous and previous.get("hash") != self.hash:
            differences = _differences(previous.get("config"), config)
            raise FileExistsError(
                f"{self.path} holds a run of a different config ({differences}; "
                f"hash {previous.get('hash')}, this one {self.hash}); choose another --out folder "
                "or delete it"
            )
        recorded = [s for s in previous.get("seeds", []) if isinstance(s, int)]
        self.seeds = tuple(recorded + [s for s in seeds or () if s not in recorded])
        self.units.mkdir(parents=True, exist_ok=True)
        if not previous or (seeds is not None and list(self.seeds) != previous.get("seeds")):
            payload: dict[str, Any] = {"hash": self.hash, "config": _jsonable(config)}
            if seeds is not None:
                payload["seeds"] = list(self.seeds)
            _atomic_write(stamp, json.dumps(payload, indent=2).encode())

    def _unit_path(self, key: str, suffix: str) -> Path:
        return self.units / f"{unit_filename(key)}{suffix}"

    def has(self, key: str) -> bool:
        """Whether the unit ``key`` already finished (its row was written last, atomically)."""
        return self._unit_path(key, ".json").exists()

    def save_unit(self, key: str, row: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> None:
        """Store a finished unit: arrays first, then the row that marks it complete."""
        if arrays:
            buffer = io.BytesIO()
            np.savez_compressed(buffer, allow_pickle=True, **{k: np.asarray(v) for k, v in arrays.items()})
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
        """Where the figure ``name`` goes: ``<run folder>/<name>.png``."""
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
        """Write ``results.json`` (atomically), the run's summary that reports read."""
        path = self.path / "results.json"
        _atomic_write(path, json.dumps(_jsonable(payload), indent=2).encode())
        return path


def mean_ci(values: Sequence[float], confidence: float = 0.95) -> tuple[float, float, int]:
    """Mean, confidence-interval half-width and count: ``x̄ ± t_{(1+c)/2, n−1} · s / √n``.

    ``s`` is the sample standard deviation (``ddof=1``); the half-width is NaN for one value.

    >>> mean, half, n = mean_ci([1.0, 2.0, 3.0])
    >>> round(mean, 6), round(half, 4), n
    (2.0, 2.4841, 3)
    """
    mean, _, half = _mean_std_ci(values, confidence)
    return mean, half, len(values)


def _mean_std_ci(values: Sequence[float], confidence: float) -> tuple[float, float, float]:
    """Mean, sample std (``ddof=1``) and Student-t half-width; std and half-width NaN for n = 1."""
    _check_confidence(confidence)
    x = np.asarray(values, dtype=float)
    if x.ndim != 1 or x.size == 0:
        raise ValueError(f"mean_ci needs a non-empty 1-D sequence, got shape {x.shape}")
    n = int(x.size)
    if n == 1:
        return float(x[0]), math.nan, math.nan
    std = float(x.std(ddof=1))
    return float(x.mean()), std, float(stats.t.ppf((1 + confidence) / 2, n - 1) * std / math.sqrt(n))


def _check_confidence(confidence: float) -> None:
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")


def _number(value: Any) -> float | None:
    """``value`` as a float if it is a metric value (a number, a bool as 0/1, or the text
    ``nan``/``inf``/``-inf`` that :meth:`RunDir.write_results` stores), else None.
    """
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str) and value.lower() in ("nan", "inf", "-inf"):
        return float(value)
    return None


def split_columns(rows: Sequence[Mapping[str, Any]]) -> tuple[list[str], list[str]]:
    """The case columns and the metric columns of an experiment's per-unit rows.

    Case columns are those named in the unit key (``k1=v1,k2=v2,seed=s``) or holding text;
    metrics are the remaining numeric columns (those :func:`ci_rows` accepts).  ``unit`` and
    ``seed`` are neither.
    """
    columns: list[str] = []
    for row in rows:
        columns.extend(c for c in row if c not in columns and c not in ("unit", "seed"))

    def in_key(column: str) -> bool:
        return all(f",{column}=" in "," + str(r.get("unit", "")) for r in rows)

    def numeric(column: str) -> bool:
        return all(_number(r[column]) is not None for r in rows if column in r)

    by = [c for c in columns if in_key(c) or not numeric(c)]
    return by, [c for c in columns if c not in by]


def ci_rows(
    rows: Iterable[Mapping[str, Any]],
    by: Sequence[str],
    metrics: Sequence[str],
    confidence: float = 0.95,
) -> list[dict[str, Any]]:
    """Rows grouped by the ``by`` columns (groups in first-seen order, values as first seen):
    ``n`` (rows in the group) and, per metric, ``<metric>_mean``, ``<metric>_std`` (sample,
    ``ddof=1``) and ``<metric>_ci``, the half-width of the Student-t interval of :func:`mean_ci`
    (``confidence`` 0.95: the 95% interval).  Std and half-width are NaN for a group of one.

    Booleans count as 0/1 (the mean of a flag is the fraction that holds).  A metric missing
    from a group's rows is left out of that group (computed over the rows that have it
    otherwise); a ``by`` column missing from a row, or a metric value that is not a number,
    is a ``ValueError`` naming the column.

    >>> rows = [{"act": "relu", "mse": 1.0}, {"act": "relu", "mse": 3.0}, {"act": "tanh", "mse": 2.0}]
    >>> [(r["act"], r["n"], r["mse_mean"], round(r["mse_std"], 4)) for r in ci_rows(rows, ["act"], ["mse"])]
    [('relu', 2, 2.0, 1.4142), ('tanh', 1, 2.0, nan)]
    """
    _check_confidence(confidence)
    groups: dict[str, tuple[tuple, list[Mapping[str, Any]]]] = {}
    for row in rows:
        missing = [c for c in by if c not in row]
        if missing:
            raise ValueError(f"a row has no case column {missing[0]!r} to group by (row: {dict(row)})")
        key = tuple(row[c] for c in by)
        groups.setdefault(json.dumps(_jsonable(key), sort_keys=True), (key, []))[1].append(row)
    table = []
    for key, members in groups.values():
        out: dict[str, Any] = dict(zip(by, key, strict=True))
        out["n"] = len(members)
        for metric in metrics:
            values = [_metric_value(m[metric], metric) for m in members if metric in m]
            if values:
                mean, std, half = _mean_std_ci(values, confidence)
                out.update({f"{metric}_mean": mean, f"{metric}_std": std, f"{metric}_ci": half})
        table.append(out)
    return table


def _metric_value(value: Any, metric: str) -> float:
    number = _number(value)
    if number is None:
        raise ValueError(f"metric {metric!r} holds a non-number {value!r}; give only numeric metrics")
    return number


def _cell(value: Any) -> str:
    text = f"{value:g}" if isinstance(value, float) else str(value)
    return text.replace("|", "\\|")


def ci_markdown(table: Sequence[Mapping[str, Any]], by: Sequence[str], metrics: Sequence[str]) -> str:
    """A Markdown table of :func:`ci_rows` output: the ``by`` columns, ``n`` and one cell per
    metric, ``mean ± half-width of the 95% Student-t confidence interval`` across the group
    (``x̄ ± t₀.₉₇₅,ₙ₋₁·s/√n``; the mean alone for a group of one, empty for a missing metric).

    >>> rows = [{"act": "relu", "mse": 1.0}, {"act": "relu", "mse": 3.0}, {"act": "tanh", "mse": 2.0}]
    >>> print(ci_markdown(ci_rows(rows, ["act"], ["mse"]), ["act"], ["mse"]))
    | act | n | mse |
    |---|---|---|
    | relu | 2 | 2 ± 13 |
    | tanh | 1 | 2 |
    """
    lines = []
    for row in table:
        cells = {c: _cell(row[c]) for c in by}
        cells["n"] = str(row["n"])
        for metric in metrics:
            mean, half = row.get(f"{metric}_mean"), row.get(f"{metric}_ci")
            if mean is None:
                cells[metric] = ""
            elif half is None or math.isnan(half):
                cells[metric] = f"{mean:.4g}"
            else:
                cells[metric] = f"{mean:.4g} ± {half:.2g}"
        lines.append(cells)
    return text_table(lines, markdown=True)
