"""Rendering diagnoses: tables for terminals and Markdown, a report, and a comparison figure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from specinit._core.plotting import figure as new_figure
from specinit._core.tables import text_table
from specinit.doctor.diagnose import Diagnosis
from specinit.doctor.suggest import Suggestion

if TYPE_CHECKING:  # pragma: no cover - typing only
    from matplotlib.figure import Figure

__all__ = ["comparison_table", "report_markdown", "plot_comparison"]


# --------------------------------------------------------------------------- rendering


def comparison_table(diagnoses: Mapping[str, Diagnosis], *, markdown: bool = False) -> str:
    """One row per diagnosis (label first): :meth:`Diagnosis.summary`."""
    if not diagnoses:
        raise ValueError("comparison_table needs at least one diagnosis")
    return text_table([{"start": label, **d.summary()} for label, d in diagnoses.items()], markdown=markdown)


def report_markdown(
    diagnosis: Diagnosis,
    comparisons: Mapping[str, Diagnosis] | None = None,
    suggestions: Sequence[Suggestion] = (),
    *,
    title: str = "specinit inspect",
    command: str | None = None,
    figure: str | None = None,
) -> str:
    """A Markdown report: the per-layer table, problems, suggestions and the before/after table."""
    lines = [f"# {title}", ""]
    if command:
        lines += ["```bash", command, "```", ""]
    lines += [
        f"Loss: {diagnosis.loss}; batch of {diagnosis.n_samples}; input std {diagnosis.input_std:.3g}.",
        "",
        "## Per layer at initialization",
        "",
        diagnosis.table(markdown=True),
        "",
        "## Problems",
        "",
    ]
    lines += ["No problems found."] if diagnosis.ok else [f"- {p.message}" for p in diagnosis.problems]
    if suggestions:
        lines += ["", "## Suggested initializers", ""]
        lines += [f"- `{s.label}`: {s.reason}" for s in suggestions]
    if comparisons:
        lines += ["", "## Before and after", "", comparison_table(comparisons, markdown=True)]
    if figure:
        lines += ["", f"![per-layer std and gradient norms]({figure})"]
    return "\n".join(lines) + "\n"


def plot_comparison(diagnoses: Mapping[str, Diagnosis]) -> Figure:
    """Per-layer std, saturated / near-zero fractions and gradient norms of each diagnosis,
    overlaid (:meth:`specinit.measure.propagation.Propagation.plot`); returns a matplotlib ``Figure``.
    """
    if not diagnoses:
        raise ValueError("plot_comparison needs at least one diagnosis")
    fig, axes = new_figure(1, 3, width=13.0, height=3.8)
    for label, d in diagnoses.items():
        d.propagation.plot(axes[0], label=label)
    for ax in axes[0, 1:]:
        if (legend := ax.get_legend()) is not None:
            legend.remove()
    axes[0, 0].legend(fontsize="small")
    axes[0, 1].set_title("solid: saturated, dashed: near zero", fontsize="small")
    axes[0, 2].set_title("solid: ‖∂L/∂h‖, dotted: ‖∂L/∂W‖", fontsize="small")
    fig.tight_layout()
    return fig
