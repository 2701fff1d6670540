"""CIFAR-10 and CIFAR-100 from the official "python version" archives, checked against their MD5.

Nothing here touches the network, nor searches the disk: the data root is the ``data_dir=``
argument (the CLI's ``--data-dir``), else ``$SPECINIT_DATA`` (:func:`specinit.data.data_source`,
the same rule as MNIST).  The root holds the folders the official archives unpack to::

    <root>/cifar-10-batches-py/data_batch_1 ... data_batch_5, test_batch, batches.meta
    <root>/cifar-100-python/train, test, meta

(``cifar-10-python.tar.gz`` and ``cifar-100-python.tar.gz`` from
https://www.cs.toronto.edu/~kriz/cifar.html, unpacked in the root).  Each file is checked against
the MD5 the dataset's authors publish for the official files (:data:`CIFAR_MD5`, the values
torchvision checks too) before it is read, so a truncated or substituted file is named in a
:class:`~specinit.data.DataFileError`; ``verify=False`` skips that check for files you made
yourself in the same format (a test's tiny batches, a re-encoded copy) — their sizes are then
whatever the files hold.  The pickles are read by an unpickler that only rebuilds NumPy arrays
and plain containers, never arbitrary objects.  No CIFAR subset ships with the package.
"""

from __future__ import annotations

import functools
import hashlib
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from specinit._core.rng import GeneratorLike, as_generator
from specinit.data.images import ENV_VAR, DataFileError, DataSource, FullDataRequired, data_source
from specinit.data.splits import Split, balanced_indices

__all__ = [
    "cifar10",
    "cifar100",
    "read_cifar_batch",
    "check_cifar",
    "CIFAR_DATASETS",
    "CIFAR_FOLDERS",
    "CIFAR_FILES",
    "CIFAR_MD5",
    "CIFAR_SIZES",
]

#: The CIFAR datasets by the names the lab uses.
CIFAR_DATASETS = ("cifar10", "cifar100")

#: The folder each official archive unpacks to, inside the data root.
CIFAR_FOLDERS: dict[str, str] = {"cifar10": "cifar-10-batches-py", "cifar100": "cifar-100-python"}

#: The files of each dataset: (training batches, test batches, metadata).
CIFAR_FILES: dict[str, tuple[tuple[str, ...], tuple[str, ...], str]] = {
    "cifar10": (
        ("data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5"),
        ("test_batch",),
        "batches.meta",
    ),
    "cifar100": (("train",), ("test",), "meta"),
}

#: Published MD5 of every official file (https://www.cs.toronto.edu/~kriz/cifar.html; the same
#: values torchvision's ``CIFAR10`` / ``CIFAR100`` check), by dataset and file name.
CIFAR_MD5: dict[str, dict[str, str]] = {
    "cifar10": {
        "data_batch_1": "c99cafc152244af753f735de768cd75f",
        "data_batch_2": "d4bba439e000b95fd0a9bffe97cbabec",
        "data_batch_3": "54ebc095f3ab1f0389bbae665268c751",
        "data_batch_4": "634d18415352ddfa80567beed471001a",
        "data_batch_5": "482c414d41f54cd18b22e5b47cb7c3cb",
        "test_batch": "40351d587109b95175f43aff81a1287e",
        "batches.meta": "5ff9c542aee3614f3951f8cda6e48888",
    },
    "cifar100": {
        "train": "16019d7e3df5f24257cddd939b257f8d",
        "test": "f0ef6b0ae62326f3e7ffdfab6717acfc",
        "meta": "7973b15100ade9c7d40fb424638fde48",
    },
}

#: (train, test) images of each full official dataset.
CIFAR_SIZES: dict[str, tuple[int, int]] = {"cifar10": (50000, 10000), "cifar100": (50000, 10000)}

#: Classes of each dataset (CIFAR-100: its fine labels; the coarse ones group them into 20).
_CLASSES = {"cifar10": 10, "cifar100": 100}

# What the restricted unpickler may rebuild: NumPy arrays (both module paths NumPy has used).
_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
}


class _ArraysOnly(pickle.Unpickler):
    """Rebuilds dicts, lists, strings, bytes, numbers and NumPy arrays, nothing else."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to rebuild {module}.{name}: a CIFAR batch holds arrays only")


def _name(dataset: str) -> str:
    name = dataset.replace("-", "").replace("_", "").lower()
    if name not in CIFAR_FOLDERS:
        raise ValueError(f"unknown CIFAR dataset {dataset!r}; known: {', '.join(CIFAR_DATASETS)}")
    return name


def read_cifar_batch(path: str | Path) -> dict[str, Any]:
    """One CIFAR python batch (a pickled dict) with ``str`` keys: ``data`` as uint8
    ``(N, 3, 32, 32)`` images (the file's rows are 1024 red, 1024 green, 1024 blue values, row
    by row) and the label lists (``labels``; CIFAR-100: ``fine_labels``, ``coarse_labels``) as
    int64 arrays; a metadata file comes back with its names decoded.  Raises
    :class:`~specinit.data.DataFileError` naming the file when it is not such a batch.
    """
    path = Path(path)
    try:
        with path.open("rb") as handle:
            raw = _ArraysOnly(handle, encoding="bytes").load()
    except FileNotFoundError:
        raise
    except (OSError, EOFError, pickle.UnpicklingError, ValueError, TypeError, AttributeError) as exc:
        raise DataFileError(
            f"{path}: not a CIFAR python batch ({exc}); the file is corrupt or truncated"
        ) from exc
    if not isinstance(raw, dict):
        raise DataFileError(f"{path}: not a CIFAR python batch (holds a {type(raw).__name__}, not a dict)")
    out: dict[str, Any] = {}
    for key, value in raw.items():
        name = key.decode() if isinstance(key, bytes) else str(key)
        if isinstance(value, list) and value and isinstance(value[0], bytes):
            value = [v.decode() for v in value]
        out[name] = value
    if "data" in out:
        data = np.asarray(out["data"])
        if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
            raise DataFileError(f"{path}: expected uint8 rows of 3072 pixels, got {data.dtype} {data.shape}")
        out["data"] = data.reshape(-1, 3, 32, 32)
        for label in ("labels", "fine_labels", "coarse_labels"):
            if label in out:
                out[label] = np.asarray(out[label], dtype=np.int64)
                if out[label].shape != (len(data),):
                    raise DataFileError(f"{path}: {len(data)} images but {out[label].shape[0]} {label}")
    return out


def _md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@functools.lru_cache(maxsize=16)
def _verified(path: Path, expected: str | None, _size: int, _mtime_ns: int) -> dict[str, Any]:
    """One file's contents, MD5-checked first unless ``expected`` is None; cached per
    (resolved path, size, mtime), so a changed file is read again.
    """
    if expected is not None:
        actual = _md5(path)
        if actual != expected:
            raise DataFileError(
                f"{path}: checksum mismatch, MD5 is {actual} but the official file has {expected}; "
                "the file is corrupt, truncated or not the official one: replace it (or pass "
                "verify=False for files you made yourself)"
            )
    return read_cifar_batch(path)


def _expected_files(name: str) -> str:
    folder = CIFAR_FOLDERS[name]
    return (
        f"Expected these files in <data root>/{folder}/ (the official archive unpacked):\n"
        + "".join(f"  {file}  md5 {digest}\n" for file, digest in CIFAR_MD5[name].items())
        + f"Point specinit at the data root with --data-dir (data_dir= in Python) or ${ENV_VAR}. "
        "Nothing is downloaded."
    )


def check_cifar(
    source: DataSource, dataset: str, n_train: int | None = None, n_test: int | None = None
) -> None:
    """Raise unless ``source`` can give ``n_train`` / ``n_test`` images of ``dataset``
    (``None``: no need): the embedded subset holds no CIFAR (:class:`~specinit.data.FullDataRequired`,
    one line naming ``--data-dir``), more than the official split is a ``ValueError``, and missing
    files a ``FileNotFoundError`` naming them with their MD5.  Contents are checked when read.
    """
    name = _name(dataset)
    if source.embedded:
        raise FullDataRequired(
            f"{name}: no CIFAR data ships with specinit; point --data-dir (data_dir= in Python) or "
            f"${ENV_VAR} at the folder holding {CIFAR_FOLDERS[name]}/"
        )
    full = CIFAR_SIZES[name]
    for part, need, held in zip(("training", "test"), (n_train, n_test), full, strict=True):
        if need is not None and need > held:
            raise ValueError(f"{name}: {need:,} {part} images asked for, but the dataset has {held:,}")
    folder = source.root / CIFAR_FOLDERS[name]
    missing = [f for f in CIFAR_MD5[name] if not (folder / f).is_file()]
    if missing:
        raise FileNotFoundError(
            f"{name} data: searched {folder} (data root {source.origin}); missing "
            f"{', '.join(missing)}.\n{_expected_files(name)}"
        )


def _part(
    images: np.ndarray, labels: np.ndarray, limit: int | None, flatten: bool, g: torch.Generator | None
) -> tuple[Tensor, Tensor]:
    """Images as float32 in [0, 1] (optionally a class-balanced subset of ``limit``), labels int64."""
    y = torch.from_numpy(labels)
    if limit is not None:
        index = balanced_indices(y, limit, g)
        y, pixels = y[index], torch.from_numpy(images[index.numpy()])
    else:
        pixels = torch.from_numpy(images.copy())
    x = pixels.to(torch.float32).div_(255.0)
    return (x.reshape(len(x), -1) if flatten else x), y


def _load(
    dataset: str,
    data_dir: str | Path | None,
    flatten: bool,
    limit_train: int | None,
    limit_test: int | None,
    generator: GeneratorLike,
    verify: bool,
    label: str,
) -> Split:
    name = _name(dataset)
    source = data_source(data_dir)
    check_cifar(source, name)
    folder = source.root / CIFAR_FOLDERS[name]
    train_files, test_files, meta = CIFAR_FILES[name]

    def read(file: str) -> dict[str, Any]:
        path = (folder / file).resolve()
        stat = path.stat()
        return _verified(path, CIFAR_MD5[name][file] if verify else None, stat.st_size, stat.st_mtime_ns)

    read(meta)  # verified like the batches, so a damaged download is named whole
    parts = []
    for files in (train_files, test_files):
        batches = [read(f) for f in files]
        missing = [f for f, b in zip(files, batches, strict=True) if "data" not in b or label not in b]
        if missing:
            raise DataFileError(f"{folder}: {', '.join(missing)} hold no 'data' and {label!r} entries")
        parts.append(
            (np.concatenate([b["data"] for b in batches]), np.concatenate([b[label] for b in batches]))
        )
    classes = 20 if label == "coarse_labels" else _CLASSES[name]
    for _, labels in parts:
        if labels.size and (labels.min() < 0 or labels.max() >= classes):
            raise DataFileError(f"{folder}: labels outside 0..{classes - 1}")
    # Two sub-seeds drawn up front (as for MNIST): the test subset depends on (generator, limit_test).
    train_seed, test_seed = torch.randint(2**62, (2,), generator=as_generator(generator)).tolist()
    x_train, y_train = _part(*parts[0], limit_train, flatten, as_generator(train_seed))
    x_test, y_test = _part(*parts[1], limit_test, flatten, as_generator(test_seed))
    described = f"{'official' if verify else 'unverified'} files in {folder}"
    return Split(x_train, y_train, x_test, y_test, num_classes=classes, name=name, source=described)


def cifar10(
    *,
    data_dir: str | Path | None = None,
    flatten: bool = False,
    limit_train: int | None = None,
    limit_test: int | None = None,
    generator: GeneratorLike = 0,
    verify: bool = True,
) -> Split:
    """CIFAR-10 (Krizhevsky 2009): 50,000 training and 10,000 test colour images of 10 classes.

    Images are float32 in [0, 1] with shape ``(N, 3, 32, 32)`` (RGB), or ``(N, 3072)`` with
    ``flatten=True``; labels are int64 in 0..9.  ``limit_train`` / ``limit_test`` keep a
    class-balanced random subset drawn with ``generator`` (as :func:`specinit.data.mnist`).
    The files are read from ``<data root>/cifar-10-batches-py/`` and checked against
    :data:`CIFAR_MD5` unless ``verify=False``; nothing is downloaded.
    """
    return _load("cifar10", data_dir, flatten, limit_train, limit_test, generator, verify, "labels")


def cifar100(
    *,
    data_dir: str | Path | None = None,
    flatten: bool = False,
    limit_train: int | None = None,
    limit_test: int | None = None,
    generator: GeneratorLike = 0,
    verify: bool = True,
    coarse: bool = False,
) -> Split:
    """CIFAR-100: 50,000 training and 10,000 test colour images of 100 classes (``coarse=True``:
    the 20 superclasses instead).  Arguments and outputs as in :func:`cifar10`; the files are
    read from ``<data root>/cifar-100-python/``.
    """
    label = "coarse_labels" if coarse else "fine_labels"
    return _load("cifar100", data_dir, flatten, limit_train, limit_test, generator, verify, label)
