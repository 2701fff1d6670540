"""Tests for specinit.data: 1D signals, splits and subsets, and the MNIST / Fashion-MNIST loaders.

The loader tests write their own small IDX files into ``tmp_path`` (valid, corrupt, truncated,
wrong magic, wrong sizes) and point the checksum table at them with ``monkeypatch``; no test
reads a data folder outside ``tmp_path``.  The embedded default subset has its own tests in
``test_embedded_default.py``.
"""

from __future__ import annotations

import gzip
import hashlib
import math
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy import stats

from specinit import data as D
from specinit.data import images as I

# Class counts of the small "mnist" files the loader tests write: unequal like the real ones
# (5923, 6742, …, 5949 / 10), with class 5 the smallest.
TRAIN_COUNTS = [59, 67, 60, 61, 58, 54, 59, 63, 59, 60]  # 600 images
TEST_COUNTS = [10, 11, 10, 10, 10, 9, 10, 10, 10, 10]  # 100 images


def _counts(y: torch.Tensor, k: int = 10) -> list[int]:
    return torch.bincount(y, minlength=k).tolist()


# ------------------------------------------------------------------ sinusoids


def test_sinusoid_values_at_known_points():
    f = D.sinusoids([1.0, 3.0], [2.0, 0.5], [0.0, math.pi / 2])
    x = torch.tensor([0.0, 0.25, 0.5, 1 / 12], dtype=torch.float64)
    expected = [
        0.5,  # 2 sin 0 + 0.5 sin(π/2)
        2.0 + 0.5 * math.sin(1.5 * math.pi + math.pi / 2),  # 2 + 0.5 sin(2π)
        0.5 * math.sin(3 * math.pi + math.pi / 2),  # -0.5
        2 * math.sin(math.pi / 6) + 0.5 * math.sin(math.pi),  # 1
    ]
    assert torch.allclose(f(x), torch.tensor(expected, dtype=torch.float64), atol=1e-12)


def test_sinusoid_defaults_shapes_and_dtypes():
    f = D.sinusoids(2.0)
    assert (f.amplitudes, f.phases) == ((1.0,), (0.0,))
    x = np.linspace(0, 1, 9)
    col = f(x.reshape(-1, 1))
    assert col.shape == (9, 1) and col.dtype == torch.float64
    assert torch.allclose(col.flatten(), torch.from_numpy(np.sin(4 * np.pi * x)), atol=1e-12)
    flat = f(torch.linspace(0, 1, 9))
    assert flat.shape == (9,) and flat.dtype == torch.float32
    assert f(torch.tensor([0, 1])).dtype == torch.float32  # integers become float


def test_sinusoids_validation():
    with pytest.raises(ValueError, match="same length"):
        D.sinusoids([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match=">= 0"):
        D.sinusoids([-1.0])
    with pytest.raises(ValueError, match="NaN/inf"):
        D.sinusoids([1.0], phases=[float("nan")])
    with pytest.raises(ValueError, match="at least one"):
        D.Sinusoids(freqs=(), amplitudes=(), phases=())
    with pytest.raises(ValueError, match="shape"):
        D.sinusoids(1.0)(torch.zeros(4, 2))
    with pytest.raises(ValueError, match="NaN/inf"):
        D.sinusoids(1.0)(torch.tensor([0.0, float("inf")]))


def test_random_sinusoids_seeded_and_in_range():
    a = D.random_sinusoids(50, 8.0, generator=3)
    assert a == D.random_sinusoids(50, 8.0, generator=3)
    assert a != D.random_sinusoids(50, 8.0, generator=4)
    assert all(0 <= f < 8.0 for f in a.freqs)
    assert all(0 <= v < 1 for v in a.amplitudes)
    assert all(0 <= p < 2 * math.pi for p in a.phases)
    assert a.max_freq == max(a.freqs)
    g1, g2 = torch.Generator().manual_seed(7), torch.Generator().manual_seed(7)
    assert D.random_sinusoids(2, 1.0, generator=g1) == D.random_sinusoids(2, 1.0, generator=g2)
    with pytest.raises(ValueError, match="n_components"):
        D.random_sinusoids(0, 1.0, generator=0)
    with pytest.raises(ValueError, match="max_freq"):
        D.random_sinusoids(2, 0.0, generator=0)
    with pytest.raises(TypeError, match="generator must be a torch.Generator, an int seed or None"):
        D.random_sinusoids(2, 1.0, generator="3")  # type: ignore[arg-type]  # a wrong type, on purpose


# ------------------------------------------------------------------ grids and samples


def test_grid_by_step_and_by_n():
    g = D.grid_1d(0.0, 1.0, step=0.1)
    assert g.shape == (10, 1) and g.dtype == torch.float32
    assert torch.allclose(g.flatten(), torch.arange(10) / 10)
    assert D.grid_1d(0.0, 1.0, step=0.1, endpoint=True).shape == (11, 1)
    # a step that does not divide the interval stops below hi, endpoint or not
    for endpoint in (False, True):
        odd = D.grid_1d(0.0, 1.0, step=0.3, endpoint=endpoint, dtype=torch.float64).flatten()
        assert torch.allclose(odd, torch.tensor([0.0, 0.3, 0.6, 0.9], dtype=torch.float64))
    by_n = D.grid_1d(-1.0, 1.0, n=4).flatten()
    assert torch.allclose(by_n, torch.tensor([-1.0, -0.5, 0.0, 0.5]))
    closed = D.grid_1d(-1.0, 1.0, n=5, endpoint=True, dtype=torch.float64).flatten()
    assert closed[-1].item() == 1.0 and torch.allclose(
        closed.diff(), torch.full((4,), 0.5, dtype=torch.float64)
    )


def test_grid_errors():
    with pytest.raises(ValueError, match="exactly one"):
        D.grid_1d(0, 1)
    with pytest.raises(ValueError, match="exactly one"):
        D.grid_1d(0, 1, n=3, step=0.1)
    with pytest.raises(ValueError, match="lo < hi"):
        D.grid_1d(1, 1, n=3)
    with pytest.raises(ValueError, match="finite"):
        D.grid_1d(0, float("inf"), n=3)
    with pytest.raises(ValueError, match="step"):
        D.grid_1d(0, 1, step=-0.1)
    with pytest.raises(ValueError, match="n must be an integer >= 2"):
        D.grid_1d(0, 1, n=1, endpoint=True)
    with pytest.raises(TypeError, match="n must be an integer"):
        D.grid_1d(0, 1, n=2.5)  # type: ignore[arg-type]  # a wrong type, on purpose
    with pytest.raises(TypeError, match="step must be a real number"):
        D.grid_1d(0, 1, step="0.1")  # type: ignore[arg-type]  # a wrong type, on purpose
    with pytest.raises(TypeError, match="lo must be a real number"):
        D.grid_1d(None, 1, n=3)  # type: ignore[arg-type]  # a wrong type, on purpose


def test_sample_1d_without_noise_is_the_function_on_the_grid():
    f = D.sinusoids([1.0, 5.0], [1.0, 0.3])
    x, y = D.sample_1d(f, -1.0, 1.0, n=200)
    assert x.shape == y.shape == (200, 1)
    assert torch.equal(x, D.grid_1d(-1.0, 1.0, n=200))
    assert torch.allclose(y, f(x))
    # sparse sampling at step 1/4 of sin(2π·4x) hits only its zeros (aliased to a constant)
    _, aliased = D.sample_1d(D.sinusoids(4.0), 0.0, 2.0, step=0.25, dtype=torch.float64)
    assert aliased.abs().max() < 1e-12
    # a function returning (N,) is reshaped to a column
    _, col = D.sample_1d(lambda t: t.flatten() ** 2, 0.0, 1.0, n=5)
    assert col.shape == (5, 1)


def test_sample_1d_noise_is_seeded_and_gaussian():
    f = D.sinusoids(1.0)
    kwargs = dict(n=4000, noise=0.2, dtype=torch.float64)
    x, y1 = D.sample_1d(f, 0.0, 1.0, generator=5, **kwargs)
    _, y2 = D.sample_1d(f, 0.0, 1.0, generator=5, **kwargs)
    _, y3 = D.sample_1d(f, 0.0, 1.0, generator=6, **kwargs)
    assert torch.equal(y1, y2) and not torch.equal(y1, y3)
    residual = ((y1 - f(x)) / 0.2).flatten().numpy()
    assert stats.kstest(residual, "norm").pvalue > 1e-3
    with pytest.raises(ValueError, match="noise"):
        D.sample_1d(f, 0.0, 1.0, n=3, noise=-1.0)
    with pytest.raises(ValueError, match="NaN/inf"):
        D.sample_1d(lambda t: t / 0.0, 0.0, 1.0, n=3)


# ------------------------------------------------------------------ labels, subsets, splits


def test_random_labels_permutes_and_keeps_counts():
    y = torch.arange(2000) % 10
    before = y.clone()
    shuffled = D.random_labels(y, generator=0)
    assert torch.equal(y, before)  # input untouched
    assert _counts(shuffled) == _counts(y)
    assert (shuffled != y).float().mean() > 0.8  # ~90% change for 10 balanced classes
    assert torch.equal(shuffled, D.random_labels(y, generator=0))
    assert not torch.equal(shuffled, D.random_labels(y, generator=1))
    with pytest.raises(ValueError, match="1D"):
        D.random_labels(y.reshape(200, 10), generator=0)


def test_balanced_subset_counts_pairs_and_determinism():
    y = torch.arange(1000) % 10
    x = torch.arange(1000, dtype=torch.float32).unsqueeze(1)
    xs, ys = D.balanced_subset(x, y, 100, generator=0)
    assert _counts(ys) == [10] * 10
    assert torch.equal(xs.flatten().long() % 10, ys)  # rows stay paired
    assert bool((xs.flatten().diff() > 0).all())  # original order kept
    assert torch.equal(xs, D.balanced_subset(x, y, 100, generator=0)[0])
    assert not torch.equal(xs, D.balanced_subset(x, y, 100, generator=1)[0])
    _, odd = D.balanced_subset(x, y, 105, generator=0)
    assert sorted(_counts(odd)) == [10] * 5 + [11] * 5


def test_balanced_subset_water_fills_small_classes():
    y = torch.tensor([0] * 2 + [1] * 50 + [2] * 50)
    x = torch.zeros(len(y), 3)
    assert _counts(D.balanced_subset(x, y, 30, generator=0)[1], 3) == [2, 14, 14]
    assert sorted(_counts(D.balanced_subset(x, y, 31, generator=0)[1], 3)) == [2, 14, 15]
    assert _counts(D.balanced_subset(x, y, 102, generator=0)[1], 3) == [2, 50, 50]


def test_balanced_subset_errors():
    y = torch.arange(100) % 10
    x = torch.zeros(100, 2)
    with pytest.raises(ValueError, match="larger than the 100 samples"):
        D.balanced_subset(x, y, 101, generator=0)
    with pytest.raises(ValueError, match="smaller than the number of classes"):
        D.balanced_subset(x, y, 5, generator=0)
    with pytest.raises(ValueError, match="different numbers of samples"):
        D.balanced_subset(x[:50], y, 20, generator=0)
    with pytest.raises(TypeError, match="integer class labels"):
        D.balanced_subset(x, y.float(), 20, generator=0)
    with pytest.raises(ValueError, match="NaN/inf"):
        D.balanced_subset(torch.full((100, 2), float("nan")), y, 20, generator=0)


def test_train_val_split_partitions_and_stratifies():
    y = torch.cat([torch.zeros(30), torch.ones(70)]).long()
    x = torch.arange(100)
    x_tr, y_tr, x_va, y_va = D.train_val_split(x, y, 0.2, generator=0)
    assert len(x_va) == 20 and len(x_tr) == 80
    assert torch.equal(torch.cat([x_tr, x_va]).sort().values, x)  # a partition
    assert bool((x_tr.diff() > 0).all() and (x_va.diff() > 0).all())  # original order kept
    assert torch.equal(y_tr, y[x_tr]) and torch.equal(y_va, y[x_va])
    assert _counts(y_va, 2) == [6, 14]  # 20% of each class
    again = D.train_val_split(x, y, 0.2, generator=0)
    assert all(torch.equal(a, b) for a, b in zip((x_tr, y_tr, x_va, y_va), again, strict=True))
    assert not torch.equal(x_va, D.train_val_split(x, y, 0.2, generator=1)[2])
    # regression targets need stratify=False
    reg = torch.linspace(0, 1, 100)
    with pytest.raises(TypeError, match="integer class labels"):
        D.train_val_split(x, reg, 0.2, generator=0)
    assert len(D.train_val_split(x, reg, 0.25, generator=0, stratify=False)[2]) == 25
    with pytest.raises(ValueError, match="val_fraction"):
        D.train_val_split(x, y, 1.0, generator=0)
    with pytest.raises(ValueError, match="empty"):
        D.train_val_split(x, y, 0.001, generator=0)


def test_stratified_split_never_moves_a_whole_class_to_validation():
    y = torch.tensor([0] * 10 + [1])
    x = torch.arange(11)
    for seed in range(5):
        _, y_tr, _, y_va = D.train_val_split(x, y, 0.5, generator=seed)
        assert _counts(y_tr, 2) == [4, 1] and _counts(y_va, 2) == [6, 0]  # round(5.5) = 6 held out
    # a singleton class in a large fraction: it stays in train, the others still split
    y = torch.tensor([0] * 4 + [1] * 4 + [2])
    _, y_tr, _, y_va = D.train_val_split(torch.arange(9), y, 0.9, generator=0)
    assert _counts(y_tr, 3) == [1, 1, 1] and _counts(y_va, 3) == [3, 3, 0]
    with pytest.raises(ValueError, match="keeps one sample of each class .* no validation samples"):
        D.train_val_split(torch.arange(3), torch.tensor([0, 1, 2]), 0.5, generator=0)
    # unstratified splits are not constrained
    plain = D.train_val_split(torch.arange(3), torch.tensor([0, 1, 2]), 0.5, generator=0, stratify=False)
    assert len(plain[2]) == 2


def test_split_validates_lengths():
    with pytest.raises(ValueError, match="x_train and y_train"):
        D.Split(torch.zeros(3, 2), torch.zeros(2), torch.zeros(1, 2), torch.zeros(1))
    assert "train=(3, 2)" in repr(
        D.Split(torch.zeros(3, 2), torch.zeros(3), torch.zeros(1, 2), torch.zeros(1))
    )


def test_digits_split():
    split = D.digits(generator=0)
    assert split.x_train.shape == (1348, 64) and split.x_test.shape == (449, 64)
    assert split.num_classes == 10 and split.name == "digits"
    assert split.x_train.dtype == torch.float32 and split.y_train.dtype == torch.int64
    assert split.x_train.min() == 0.0 and split.x_train.max() == 1.0
    total = np.array(_counts(split.y_train)) + np.array(_counts(split.y_test))
    assert np.all(np.abs(np.array(_counts(split.y_test)) - 0.25 * total) < 1)  # stratified
    same = D.digits(generator=0)
    assert torch.equal(split.x_test, same.x_test) and torch.equal(split.y_train, same.y_train)
    assert not torch.equal(split.y_test, D.digits(generator=1).y_test)
    assert D.digits(flatten=False).x_train.shape == (1348, 1, 8, 8)


# --------------------------------------------------------- MNIST / Fashion-MNIST: files the tests write


def _idx_bytes(array: np.ndarray, code: int, magic_zero: int = 0) -> bytes:
    header = struct.pack(">HBB", magic_zero, code, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def _gz(array: np.ndarray) -> bytes:
    """An unsigned-byte IDX file, gzip-compressed like the official ones."""
    return gzip.compress(_idx_bytes(array, 0x08), mtime=0)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _labels(counts: list[int], seed: int) -> np.ndarray:
    """Labels with the given class counts, in a seeded random order."""
    return np.random.default_rng(seed).permutation(np.repeat(np.arange(10), counts)).astype(np.uint8)


def _images(labels: np.ndarray, seed: int) -> np.ndarray:
    """Random 28×28 images that carry their label (pixel (0, 0) = 20·label) and their position
    in the file (pixels (0, 1), (0, 2) = index // 256, index % 256); every image holds 0 and 255."""
    n = len(labels)
    images = np.random.default_rng(seed).integers(0, 256, (n, 28, 28), dtype=np.uint8)
    images[:, 0, 0] = labels * 20
    images[:, 0, 1], images[:, 0, 2] = np.arange(n) // 256, np.arange(n) % 256
    images[:, 27, 26], images[:, 27, 27] = 0, 255
    return images


@dataclass
class FakeData:
    """A data root written by the tests, its labels (in file order) and its checksums."""

    root: Path
    labels: dict[str, tuple[np.ndarray, np.ndarray]]
    sha256: dict[str, dict[str, str]]

    def folder(self, dataset: str = "mnist") -> Path:
        return self.root / dataset


def _write_dataset(folder: Path, train: np.ndarray, test: np.ndarray, seed: int) -> dict[str, str]:
    folder.mkdir(parents=True, exist_ok=True)
    arrays = (_images(train, seed), train, _images(test, seed + 1), test)
    for name, array in zip(D.IDX_FILES, arrays, strict=True):
        (folder / name).write_bytes(_gz(array))
    return {name: _sha(folder / name) for name in D.IDX_FILES}


@pytest.fixture
def fake_data(tmp_path, monkeypatch) -> FakeData:
    """Small MNIST / Fashion-MNIST files in ``tmp_path/data``; the official checksum table is
    pointed at them (restored after the test) and ``SPECINIT_DATA`` is unset."""
    monkeypatch.delenv(D.ENV_VAR, raising=False)
    root = tmp_path / "data"
    labels = {
        "mnist": (_labels(TRAIN_COUNTS, 0), _labels(TEST_COUNTS, 1)),
        "fashion-mnist": (_labels([60] * 10, 2), _labels([10] * 10, 3)),
    }
    sha = {}
    for seed, (dataset, (train, test)) in enumerate(labels.items()):
        sha[dataset] = _write_dataset(root / dataset, train, test, 10 * seed)
        monkeypatch.setitem(D.SHA256, dataset, sha[dataset])
    return FakeData(root, labels, sha)


def test_loader_reads_a_data_folder(fake_data):
    split = D.mnist(data_dir=fake_data.root)
    train, test = fake_data.labels["mnist"]
    assert split.x_train.shape == (600, 1, 28, 28) and split.x_test.shape == (100, 1, 28, 28)
    assert split.x_train.dtype == torch.float32 and split.y_train.dtype == torch.int64
    assert split.x_train.min() == 0.0 and split.x_train.max() == 1.0  # /255
    assert split.y_train.tolist() == train.tolist() and split.y_test.tolist() == test.tolist()  # file order
    assert _counts(split.y_train) == TRAIN_COUNTS and _counts(split.y_test) == TEST_COUNTS
    assert torch.equal((split.x_train[:, 0, 0, 0] * 255).round().long(), 20 * split.y_train)  # paired
    assert split.num_classes == 10 and split.name == "mnist"
    assert split.source == f"official files in {fake_data.folder('mnist').resolve()}"
    assert "source='official files in" in repr(split)
    fashion = D.fashion_mnist(data_dir=str(fake_data.root), flatten=True)
    assert fashion.x_train.shape == (600, 784) and fashion.x_test.shape == (100, 784)
    assert _counts(fashion.y_train) == [60] * 10 and _counts(fashion.y_test) == [10] * 10
    assert fashion.name == "fashion-mnist"


def test_environment_variable_names_the_data_folder(fake_data, monkeypatch):
    monkeypatch.setenv(D.ENV_VAR, str(fake_data.root))
    split = D.mnist(limit_train=20, limit_test=10)
    assert split.source == f"official files in {fake_data.folder('mnist').resolve()}"
    assert len(split.x_train) == 20 and D.data_source().origin == f"from ${D.ENV_VAR}"


def test_limits_are_balanced_and_deterministic(fake_data):
    root = fake_data.root
    full = D.mnist(data_dir=root, flatten=True)
    small = D.mnist(data_dir=root, flatten=True, limit_train=100, limit_test=55, generator=3)
    assert _counts(small.y_train) == [10] * 10
    assert sorted(_counts(small.y_test)) == [5] * 5 + [6] * 5
    again = D.mnist(data_dir=root, flatten=True, limit_train=100, limit_test=55, generator=3)
    assert torch.equal(small.x_train, again.x_train) and torch.equal(small.y_test, again.y_test)
    assert not torch.equal(
        small.x_train, D.mnist(data_dir=root, flatten=True, limit_train=100, generator=4).x_train
    )
    # the test subset depends on (seed, limit_test) only, not on limit_train
    for limit_train in (25, 300):  # 25: a remainder draw that shifts a common generator
        other = D.mnist(data_dir=root, flatten=True, limit_train=limit_train, limit_test=55, generator=3)
        assert torch.equal(other.x_test, small.x_test) and torch.equal(other.y_test, small.y_test)
    reseeded = D.mnist(data_dir=root, flatten=True, limit_train=10, limit_test=55, generator=4)
    assert not torch.equal(reseeded.x_test, small.x_test)
    generator = torch.Generator().manual_seed(3)  # a generator seed works like the int seed
    assert torch.equal(
        D.mnist(data_dir=root, flatten=True, limit_train=100, limit_test=55, generator=generator).x_test,
        small.x_test,
    )
    # each subset image is one of the full set's images (found by the index it carries), with
    # that image's label, in the file's order
    index = ((small.x_train[:, 1:3] * 255).round().long() * torch.tensor([256, 1])).sum(1)
    assert torch.equal(small.x_train, full.x_train[index]) and torch.equal(small.y_train, full.y_train[index])
    assert bool((index.diff() > 0).all())
    # "as equal as possible" when the smallest class (5: 54 images) runs out
    labels = full.y_train
    _, y = D.balanced_subset(labels, labels, 550, generator=0)
    taken = np.array(_counts(y))
    assert taken.sum() == 550 and taken[5] == 54
    assert np.all((taken == TRAIN_COUNTS) | (taken >= taken.max() - 1))
    with pytest.raises(ValueError, match="larger than the 600 samples"):  # a folder has no refusal
        D.mnist(data_dir=root, limit_train=601)


# ------------------------------------------------------------------ data folder resolution


def test_data_source_order_explicit_env_embedded(tmp_path, monkeypatch):
    explicit, env = tmp_path / "explicit", tmp_path / "env"
    monkeypatch.setenv(D.ENV_VAR, str(env))
    assert D.data_dir(explicit) == explicit.resolve()
    assert D.data_dir(str(explicit)) == explicit.resolve()
    assert D.data_source(explicit) == D.DataSource(explicit.resolve(), "given explicitly", False)
    assert D.data_dir() == env.resolve() and D.data_source().origin == f"from ${D.ENV_VAR}"
    monkeypatch.setenv(D.ENV_VAR, "")  # empty means unset: the embedded subset
    assert D.data_source() == D.DataSource(I.EMBEDDED_DIR, "embedded default", True)
    assert D.data_dir() == I.EMBEDDED_DIR
    monkeypatch.delenv(D.ENV_VAR)
    assert D.data_source().embedded
    assert D.data_source(I.EMBEDDED_DIR).embedded  # the package's folder given explicitly
    assert D.data_source(explicit).key == str(explicit.resolve())
    assert D.data_source().key.startswith("embedded:") and D.data_source().key == D.data_source().key


def test_no_upward_search_for_a_sibling_data_folder(tmp_path, monkeypatch):
    """A ``<sibling>/data`` (or ``data``) folder beside the working directory is never picked up:
    with no folder given the loaders read the embedded subset."""
    monkeypatch.delenv(D.ENV_VAR, raising=False)
    checkout = tmp_path / "root" / "main" / "sub"
    checkout.mkdir(parents=True)
    for folder in (tmp_path / "root" / "team" / "data", tmp_path / "root" / "main" / "data"):
        _write_dataset(folder / "mnist", _labels([2] * 10, 0), _labels([1] * 10, 1), 0)
    monkeypatch.chdir(checkout)
    assert D.data_dir() == I.EMBEDDED_DIR
    assert D.mnist().source.startswith("embedded subset")


def test_missing_data_messages(tmp_path, monkeypatch):
    monkeypatch.delenv(D.ENV_VAR, raising=False)
    (tmp_path / "mnist").mkdir()
    (tmp_path / "mnist" / "t10k-labels-idx1-ubyte.gz").write_bytes(_gz(_labels([1] * 10, 0)))
    with pytest.raises(FileNotFoundError) as info:
        D.mnist(data_dir=tmp_path)
    message = str(info.value)
    assert str(tmp_path / "mnist") in message
    for name in D.IDX_FILES:
        assert name in message
        assert D.SHA256["mnist"][name] in message
    assert "missing train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images" in message
    assert "t10k-labels" not in message.split("missing")[1].split(".\n")[0]  # the file that is there
    for hint in ("--data-dir", "SPECINIT_DATA", "given explicitly"):
        assert hint in message
    assert "searched upward" not in message and "team" not in message  # no folder is searched for
    with pytest.raises(FileNotFoundError, match=r"fashion-mnist data: searched .*nowhere.*missing"):
        D.fashion_mnist(data_dir=tmp_path / "nowhere")
    monkeypatch.setenv(D.ENV_VAR, str(tmp_path / "unset-folder"))
    with pytest.raises(FileNotFoundError, match=r"unset-folder.*from \$SPECINIT_DATA"):
        D.mnist()


# ------------------------------------------------------------------ corrupt files and the IDX reader


@pytest.mark.parametrize("damage", ["flip", "truncate"])
def test_corrupt_file_is_rejected_with_its_checksum(fake_data, damage):
    root = fake_data.root
    path = fake_data.folder() / "t10k-labels-idx1-ubyte.gz"
    assert D.mnist(data_dir=root).y_test[:3].tolist() == fake_data.labels["mnist"][1][:3].tolist()
    raw = bytearray(path.read_bytes())
    if damage == "flip":
        raw[len(raw) // 2] ^= 0xFF
        raw.append(0)  # also changes the size, so the per-process cache sees a new file
    else:
        raw = raw[: len(raw) // 2]
    path.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match="checksum mismatch") as info:
        D.mnist(data_dir=root)
    assert str(path.resolve()) in str(info.value)
    assert fake_data.sha256["mnist"]["t10k-labels-idx1-ubyte.gz"] in str(info.value)
    assert "not the official one" in str(info.value)


@pytest.mark.parametrize(
    "name, content, message",
    [
        (
            "t10k-labels-idx1-ubyte.gz",
            gzip.compress(_idx_bytes(np.zeros(100, np.uint8), 0x08, 1)),
            "bad IDX magic",
        ),
        ("t10k-labels-idx1-ubyte.gz", _gz(np.zeros(100, np.uint8))[:-12], "cannot decompress"),
        ("t10k-labels-idx1-ubyte.gz", _gz(np.zeros(99, np.uint8)), r"expected 100 labels in 0\.\.9"),
        ("t10k-labels-idx1-ubyte.gz", _gz(np.full(100, 10, np.uint8)), r"expected 100 labels in 0\.\.9"),
        (
            "t10k-images-idx3-ubyte.gz",
            _gz(np.zeros((100, 27, 28), np.uint8)),
            r"expected uint8 images of shape \(N, 28, 28\), got \(100, 27, 28\)",
        ),
    ],
    ids=["wrong-magic", "truncated-gzip", "label-count", "label-value", "image-size"],
)
def test_bad_files_with_a_matching_checksum_are_rejected(fake_data, monkeypatch, name, content, message):
    """Files that pass the checksum (the table is pointed at them) but are not valid data."""
    path = fake_data.folder() / name
    path.write_bytes(content)
    monkeypatch.setitem(D.SHA256["mnist"], name, _sha(path))
    with pytest.raises(ValueError, match=message) as info:
        D.mnist(data_dir=fake_data.root)
    assert str(fake_data.folder().resolve()) in str(info.value)


def test_checksums_are_computed_once_per_process(fake_data, monkeypatch):
    calls = []
    original = I._sha256
    monkeypatch.setattr(I, "_sha256", lambda path: calls.append(path) or original(path))
    I._verified_idx.cache_clear()
    D.mnist(data_dir=fake_data.root, limit_train=10, limit_test=10)
    D.mnist(data_dir=fake_data.root, flatten=True)
    assert sorted(p.name for p in calls) == sorted(D.IDX_FILES)
    assert {p.parent for p in calls} == {fake_data.folder().resolve()}


def test_read_idx_formats_and_errors(tmp_path):
    values = np.arange(-6, 6, dtype=np.int16).reshape(3, 4)
    raw = tmp_path / "a.idx"
    raw.write_bytes(_idx_bytes(values, 0x0B))
    assert np.array_equal(D.read_idx(raw), values) and D.read_idx(raw).dtype.isnative
    packed = tmp_path / "b.idx.gz"
    floats = np.linspace(0, 1, 5, dtype=np.float32)
    packed.write_bytes(gzip.compress(_idx_bytes(floats, 0x0D)))
    assert np.array_equal(D.read_idx(packed), floats)
    labels = tmp_path / "labels-idx1-ubyte.gz"  # the official labels' layout: magic 2049, N bytes
    labels.write_bytes(_gz(np.arange(10, dtype=np.uint8)))
    assert (
        labels.read_bytes()[:2] == b"\x1f\x8b" and gzip.decompress(labels.read_bytes())[:4] == b"\0\0\x08\x01"
    )
    read = D.read_idx(labels)
    assert read.shape == (10,) and read.dtype == np.uint8 and read.tolist() == list(range(10))

    bad_magic = tmp_path / "c.idx"
    bad_magic.write_bytes(_idx_bytes(values, 0x0B, magic_zero=1))
    with pytest.raises(ValueError, match="bad IDX magic"):
        D.read_idx(bad_magic)
    unknown_type = tmp_path / "c2.idx"
    unknown_type.write_bytes(_idx_bytes(values.astype(np.uint8), 0x0A))
    with pytest.raises(ValueError, match=r"bad IDX magic number 0x00000a02"):
        D.read_idx(unknown_type)
    short = tmp_path / "d.idx"
    short.write_bytes(_idx_bytes(values, 0x0B)[:-2])
    with pytest.raises(ValueError, match=r"d\.idx: IDX header says shape \(3, 4\)"):
        D.read_idx(short)
    header_only = tmp_path / "d2.idx"
    header_only.write_bytes(_idx_bytes(values, 0x0B)[:10])
    with pytest.raises(ValueError, match=r"truncated IDX header \(10 bytes, need 12\)"):
        D.read_idx(header_only)
    tiny = tmp_path / "d3.idx"
    tiny.write_bytes(b"\0\0")
    with pytest.raises(ValueError, match="only 2 bytes"):
        D.read_idx(tiny)
    truncated = tmp_path / "e.idx.gz"
    truncated.write_bytes(gzip.compress(_idx_bytes(values, 0x0B))[:-10])
    with pytest.raises(ValueError, match="e.idx.gz: cannot decompress"):
        D.read_idx(truncated)
    with pytest.raises(FileNotFoundError):
        D.read_idx(tmp_path / "missing.idx")
