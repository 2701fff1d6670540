"""The init doctor: what a model's start does to a batch, in numbers and plain words.

* :mod:`.diagnose` — :func:`diagnose`: per-layer signal, saturation, dead units, effective rank
  and gradients, the input-gradient bandwidth and the top Hessian eigenvalue, and the problems
  found (:class:`Thresholds`), for models of any library: every non-linearity the model computes
  is recorded (activation modules, functional calls such as the ``F.relu`` inside
  ``nn.TransformerEncoderLayer``, recurrent gates replayed from the weights; what is not seen is
  said), token-id inputs are measured against the embedded tokens, and ``(N, L, D)`` sequences
  have their features on the last axis;
* :mod:`.suggest` — :func:`suggest` initializers for the model and :func:`compare` the same
  measurements after each;
* :mod:`.render` — tables, a Markdown report and a comparison figure.

The ``specinit inspect`` command (:mod:`specinit.cli`) runs all three on a user's model.
"""

from specinit.doctor.diagnose import (
    DataBandwidth,
    Diagnosis,
    LayerDiagnosis,
    Problem,
    Thresholds,
    data_grid,
    diagnose,
    effective_rank,
    fit_input_layout,
    model_output,
)
from specinit.doctor.render import comparison_table, plot_comparison, report_markdown
from specinit.doctor.suggest import DEEP, Suggestion, compare, suggest

__all__ = [
    "diagnose",
    "Diagnosis",
    "LayerDiagnosis",
    "Problem",
    "Thresholds",
    "DataBandwidth",
    "data_grid",
    "effective_rank",
    "model_output",
    "fit_input_layout",
    "suggest",
    "compare",
    "Suggestion",
    "DEEP",
    "comparison_table",
    "report_markdown",
    "plot_comparison",
]
