"""The lab: the papers' experiments with seeds and confidence intervals, sweeps over their
configs (local processes or Ray), a results store and offline reports.

* :mod:`.experiment` — the registry (:func:`get`, :func:`names`, :class:`Experiment`);
* :mod:`.runner` — :func:`run`: resumable run folders keyed on config (its device included),
  code and data;
* :mod:`.suite` — :func:`run_suite`: several experiments in parallel workers (``reproduce all``);
* :mod:`.config` — the one parser of config values (``--set``, sweep files, ``inspect --arg``);
* :mod:`.checks` — config checks experiments run before any work (``check_config``);
* :mod:`.results` — run folders, mean ± CI tables, findings;
* :mod:`.sweep` and :mod:`.store` — grids × seeds into a SQLite store;
* :mod:`.report` — the one writer of ``report.md`` and ``report.html``;
* :mod:`.experiments` — the fourteen experiments (loaded on the first lookup).
"""

from specinit._core.extras import check_extra
from specinit.lab.experiment import (
    SCALES,
    Experiment,
    Summary,
    Unit,
    get,
    names,
    register,
    register_module,
    seeds_units,
)
from specinit.lab.runner import Context, RunReport, default_out, run
from specinit.lab.suite import Outcome, run_suite

# The lab's own modules import without the extra; what they run needs it: say so up front.
check_extra("lab", "specinit.lab (experiments, sweeps, reports, the command line)")

__all__ = [
    "run",
    "run_suite",
    "Outcome",
    "get",
    "names",
    "Experiment",
    "Unit",
    "Summary",
    "RunReport",
    "Context",
    "default_out",
    "SCALES",
    "register",
    "register_module",
    "seeds_units",
]
