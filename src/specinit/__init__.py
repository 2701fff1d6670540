"""specinit: how a neural network starts.

Initializers for PyTorch networks and measurements of what an initialization does to a
network's frequency content, trainability and generalization (arXiv 2511.02244,
2503.10587, 2509.23085, 2206.08558).
"""

from specinit import activations, data, models
from specinit.initializers import *  # noqa: F401,F403  (the torch.nn.init-shaped functions)
from specinit.initializers import __all__ as _init_all
from specinit.spectrum import FrequencyTracker, Spectrum, spectrum_1d
from specinit.train import TrainResult, train

__version__ = "0.1.0"

__all__ = [
    "activations",
    "data",
    "models",
    "spectrum_1d",
    "Spectrum",
    "FrequencyTracker",
    "train",
    "TrainResult",
    *_init_all,
]
