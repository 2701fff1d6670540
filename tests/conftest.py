"""Test-wide settings: one torch thread per worker (pytest -n 2 on two cores) and a headless plot backend."""

import os

os.environ.setdefault("MPLBACKEND", "Agg")

import torch

torch.set_num_threads(1)
