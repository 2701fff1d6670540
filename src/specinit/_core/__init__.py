"""Plumbing every layer of specinit shares (internal: import from here, never re-export).

One rule each: :mod:`.rng` (a seed or generator → a ``torch.Generator``), :mod:`.placement`
(a model's device and dtype, its train/eval mode), :mod:`.checks` (input validation),
:mod:`.fourier` (uniform grids, windows, one-sided transforms), :mod:`.plotting` (figures without
pyplot state), :mod:`.tables` (text and Markdown tables), :mod:`.records` (compact reprs),
:mod:`.deprecation` (renamed arguments), :mod:`.autodiff` (differentiating any model twice, and
one-line errors when it cannot be), :mod:`.fingerprint` (the code's identity) and
:mod:`.extras` (optional dependencies and the error naming the extra that installs them).
"""
