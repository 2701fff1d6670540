"""The shared task plumbing of the lab: the image-fitting task of ``spectral-target``."""

import math

import numpy as np
import torch

from specinit.lab.tasks import PixelTask, pixel_nyquist, plot_images, sinusoid_image


def test_pixel_task_trains_on_every_second_pixel_and_tests_on_the_rest():
    image = torch.arange(36.0).reshape(6, 6)
    x, y, x_test, y_test = PixelTask(image).split()
    assert x.shape == (9, 2) and x_test.shape == (27, 2) and y.shape == (9, 1) and y_test.shape == (27, 1)
    assert y.reshape(-1).tolist() == image[::2, ::2].reshape(-1).tolist()
    assert not set(map(tuple, x.tolist())) & set(map(tuple, x_test.tolist()))
    assert x.min() == -1 and PixelTask(image).coords().max() == 1
    spacing = float(x[1, 1] - x[0, 1])  # every second pixel of 6 on [-1, 1]
    assert math.isclose(PixelTask(image).cutoff, 1 / (2 * spacing), rel_tol=1e-6)
    assert pixel_nyquist(32) == 31 / 8


def test_sinusoid_image_is_the_sum_of_its_components():
    image = sinusoid_image(9, [(1.0, 0.0, 2.0, 0.0), (0.0, 0.5, 1.0, 0.3)])
    axis = torch.linspace(-1, 1, 9)
    expected = 2 * torch.sin(2 * math.pi * axis)[:, None] + torch.sin(math.pi * axis + 0.3)[None, :]
    assert torch.allclose(image, expected, atol=1e-6)


def test_plot_images_writes_a_grid_with_gaps(tmp_path):
    img = np.linspace(0, 1, 16)
    plot_images([[("truth", img), ("fit", img * 0.5)], [("truth", img), ("n/a", None)]], tmp_path / "g.png")
    assert (tmp_path / "g.png").stat().st_size > 0
