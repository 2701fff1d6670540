"""Sampled networks as scikit-learn estimators: :class:`SwimRegressor`, :class:`SwimClassifier`.

``fit`` builds ``specinit.models.mlp(d, widths, k, activation)`` and initializes it with
:func:`specinit.swim_` (hidden layers sampled from pairs of training points, readout by ridge
least squares; arXiv 2306.16830, per-layer scales arXiv 2511.02244) — no backpropagation.  The
fitted network is ``model_``, a plain ``nn.Sequential``: continue training it with
:func:`specinit.train` if you like.

>>> from sklearn.datasets import load_digits
>>> X, y = load_digits(return_X_y=True)
>>> clf = SwimClassifier(widths=(256,), random_state=0).fit(X[:1000] / 16, y[:1000])
>>> clf.score(X[1000:] / 16, y[1000:]) > 0.9
True
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.func import functional_call

from specinit._core.extras import needs_extra
from specinit._core.rng import as_generator
from specinit.initializers.readout import DEFAULT_L2
from specinit.initializers.swim import ScalesLike, swim_
from specinit.nn.models import mlp

with needs_extra("sklearn", "SwimClassifier / SwimRegressor"):
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
    from sklearn.utils import check_random_state
    from sklearn.utils.multiclass import check_classification_targets
    from sklearn.utils.validation import check_is_fitted, validate_data

__all__ = ["SwimRegressor", "SwimClassifier"]

_DTYPES = {"float32": torch.float32, "float64": torch.float64}


class _SwimBase(BaseEstimator):
    """Shared hyper-parameters, fitting and chunked prediction of the two estimators."""

    def __init__(
        self,
        widths: Sequence[int] = (512,),
        activation: str = "tanh",
        scales: ScalesLike = "constant",
        sampler: str = "swim",
        l2: float = DEFAULT_L2,
        n_candidates: int | None = None,
        random_state: int | np.random.RandomState | None = None,
        dtype: str = "float32",
        chunk_size: int | None = None,
    ) -> None:
        self.widths = widths
        self.activation = activation
        self.scales = scales
        self.sampler = sampler
        self.l2 = l2
        self.n_candidates = n_candidates
        self.random_state = random_state
        self.dtype = dtype
        self.chunk_size = chunk_size

    def _torch_dtype(self) -> torch.dtype:
        if self.dtype not in _DTYPES:
            raise ValueError(f"dtype must be one of {', '.join(_DTYPES)}, got {self.dtype!r}")
        return _DTYPES[self.dtype]

    def _generator(self) -> torch.Generator | None:
        """scikit-learn's ``random_state`` as a torch generator: an int seed is the torch seed
        itself (so ``init_(..., generator=seed)`` matches ``fit``), a ``RandomState`` gives one
        draw, ``None`` is PyTorch's global RNG (:func:`specinit._core.rng.as_generator`).
        """
        state = self.random_state
        if state is None:
            return None
        if isinstance(state, bool) or not isinstance(state, numbers.Integral):
            return as_generator(int(check_random_state(state).randint(2**31)))
        return as_generator(int(state))

    def _fit_network(self, X: np.ndarray, y: torch.Tensor, n_outputs: int, classification: bool) -> None:
        dtype = self._torch_dtype()
        widths = [int(self.widths)] if isinstance(self.widths, numbers.Integral) else list(self.widths)
        model = mlp(X.shape[1], widths, n_outputs, self.activation).to(dtype)
        swim_(
            model,
            torch.as_tensor(X, dtype=dtype),
            y,
            scales=self.scales,
            sampler=self.sampler,
            classification=classification,
            generator=self._generator(),
            l2=self.l2,
            n_candidates=self.n_candidates,
            chunk_size=self.chunk_size,
        )
        self.model_: nn.Sequential = model

    def _forward(self, X: Any) -> np.ndarray:
        """Network outputs ``(N, k)`` in float64, in row chunks.

        The forward pass runs in float64 on the fitted weights (exactly representable whatever
        ``dtype`` was), so a row's prediction does not depend on the rows batched with it.
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32])
        weights = {k: v.double() for k, v in self.model_.state_dict().items()}
        rows = self.chunk_size or 8192
        with torch.no_grad():
            x = torch.as_tensor(X, dtype=torch.float64)
            out = [functional_call(self.model_, weights, (x[s : s + rows],)) for s in range(0, len(x), rows)]
        return torch.cat(out).numpy()


class SwimRegressor(RegressorMixin, _SwimBase):
    """A sampled (SWIM) network for regression; ``y`` ``(N,)`` or ``(N, k)``.

    Parameters: ``widths`` hidden widths; ``activation`` a specinit activation name; ``scales`` a
    schedule name or one ``s1`` per hidden layer (:func:`specinit.scale_schedule`); ``sampler``
    ``"swim"``, ``"uniform"`` or ``"random_feature"``; ``l2`` the relative ridge of the readout
    (:func:`specinit.initializers.readout.fit_readout`); ``n_candidates`` candidate pairs per layer
    (default ``max(N, width)``); ``random_state`` int, RandomState or None; ``dtype`` ``"float32"``
    or ``"float64"``; ``chunk_size`` rows processed at once (bounds memory).
    """

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def fit(self, X: Any, y: Any) -> SwimRegressor:
        """Sample the hidden layers from ``(X, y)`` and fit the ridge readout; returns ``self``."""
        X, y = validate_data(self, X, y, multi_output=True, y_numeric=True, dtype=[np.float64, np.float32])
        target = torch.tensor(y, dtype=torch.float64)
        self._single_output = target.dim() == 1
        target = target[:, None] if self._single_output else target
        self._fit_network(X, target, target.shape[1], classification=False)
        return self

    def predict(self, X: Any) -> np.ndarray:
        """Network outputs: ``(N,)`` when fitted on 1-D ``y``, else ``(N, k)``."""
        out = self._forward(X)
        return out[:, 0] if self._single_output else out


class SwimClassifier(ClassifierMixin, _SwimBase):
    """A sampled (SWIM) network for classification: pairs with different labels make neurons,
    the readout regresses one-hot targets, ``predict`` takes the argmax.

    ``predict_proba`` clips the regression outputs at 0 and normalizes each row,
    ``p_c = max(f_c, 0) / Σ_c' max(f_c', 0)`` (a row with no positive output puts all its mass on
    its argmax), so rows sum to 1 and agree with ``predict``.  These are not calibrated
    probabilities.  Parameters: as :class:`SwimRegressor`.
    """

    def fit(self, X: Any, y: Any) -> SwimClassifier:
        """Sample the hidden layers from labelled pairs of ``X`` and fit the one-hot readout;
        returns ``self``.
        """
        X, y = validate_data(self, X, y, dtype=[np.float64, np.float32])
        check_classification_targets(y)
        self.classes_, codes = np.unique(y, return_inverse=True)
        labels = torch.tensor(codes, dtype=torch.int64)
        self._fit_network(X, labels, len(self.classes_), classification=True)
        return self

    def decision_function(self, X: Any) -> np.ndarray:
        """Outputs ``(N, n_classes)``; for two classes ``f_1 − f_0`` ``(N,)`` (> 0: ``classes_[1]``)."""
        out = self._forward(X)
        return out[:, 1] - out[:, 0] if out.shape[1] == 2 else out

    def predict(self, X: Any) -> np.ndarray:
        """The class with the largest network output, ``(N,)``."""
        out = self._forward(X)
        return self.classes_[out.argmax(1)]

    def predict_proba(self, X: Any) -> np.ndarray:
        """Clipped, row-normalized outputs ``(N, n_classes)`` (see the class docstring; not calibrated)."""
        out = self._forward(X)
        positive = np.clip(out, 0, None)
        total = positive.sum(1, keepdims=True)
        fallback = np.eye(out.shape[1])[out.argmax(1)]
        return np.where(total > 0, positive / np.where(total > 0, total, 1), fallback)
