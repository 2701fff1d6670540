"""Small CIFAR files in the official python-pickle format, for the loader and lab tests."""

import hashlib
import pickle

import numpy as np

from specinit.data import CIFAR_FILES, CIFAR_FOLDERS


def _batch(n, seed, classes, cifar100=False):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n, 3072), dtype=np.uint8)
    labels = [int(k) % classes for k in range(n)]
    if cifar100:
        return {b"data": images, b"fine_labels": labels, b"coarse_labels": [k % 20 for k in labels]}
    return {b"data": images, b"labels": labels, b"batch_label": b"test batch"}


def write_cifar(root, dataset="cifar10", n=20):
    """Small files in the official format: the same folder, file names, pickle layout."""
    folder = root / CIFAR_FOLDERS[dataset]
    folder.mkdir(parents=True)
    train, test, meta = CIFAR_FILES[dataset]
    classes = 100 if dataset == "cifar100" else 10
    for i, name in enumerate((*train, *test)):
        with (folder / name).open("wb") as handle:
            pickle.dump(_batch(n, i, classes, dataset == "cifar100"), handle)
    with (folder / meta).open("wb") as handle:
        pickle.dump({b"label_names": [f"class{k}".encode() for k in range(classes)]}, handle)
    return folder


def md5s(folder):
    return {f.name: hashlib.md5(f.read_bytes()).hexdigest() for f in folder.iterdir()}
