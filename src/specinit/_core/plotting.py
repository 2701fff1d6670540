"""Figures built with matplotlib's object API: no pyplot state, no backend chosen at import.

``import specinit`` never imports matplotlib; these import it when a plot is drawn.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from specinit._core.extras import needs_extra

if TYPE_CHECKING:  # pragma: no cover - typing only
    from matplotlib.axes import Axes

__all__ = ["new_axes", "figure"]


def new_axes(width: float = 6.0, height: float = 3.5) -> Axes:
    """Axes on a new ``Figure`` (no pyplot state, no backend chosen)."""
    with needs_extra("plot", "plotting"):
        from matplotlib.figure import Figure

    return Figure(figsize=(width, height)).add_subplot()


def figure(nrows: int = 1, ncols: int = 1, *, width: float, height: float) -> tuple[Any, np.ndarray]:
    """A matplotlib ``Figure`` and its 2D array of axes, without pyplot's global state."""
    with needs_extra("plot", "plotting"):
        from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height))
    return fig, fig.subplots(nrows, ncols, squeeze=False)
