"""Time a slice of random-label's paper scale on this machine: one training step per network
(batch 128, forward + backward + Adam, float32) and Hessian-vector products on 100 CIFAR-shaped
images, for VGG-11, VGG-16 and ResNet-18.  The per-image costs scale the paper config's work
(docs/howto/devices.md says how).

    OMP_NUM_THREADS=2 PYTHONPATH=src python bench/paper_scale_slice.py
"""

import time

import torch

import specinit
from specinit.measure.curvature import HessianOperator
from specinit.nn import resnet18, vgg11, vgg16
from specinit.training import train


def main() -> None:
    torch.set_num_threads(2)
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(256, 3, 32, 32, generator=gen)
    y = torch.randint(0, 10, (256,), generator=gen)
    options = {"loss": "cross_entropy", "optimizer": "adam", "progress": False}
    for build in (vgg11, vgg16, resnet18):
        net = specinit.init_(build(10), "kaiming_normal", generator=0)
        train(net, x[:128], y[:128], steps=1, **options)  # warm-up
        start = time.perf_counter()
        train(net, x, y, epochs=1, batch_size=128, **options)
        step = (time.perf_counter() - start) / 256
        op = HessianOperator(net.eval(), "cross_entropy", (x[:100], y[:100]), generator=0)
        v = torch.randn(op.size, generator=gen)
        op.matvec(v)  # warm-up
        start = time.perf_counter()
        for _ in range(2):
            op.matvec(v)
        hvp = (time.perf_counter() - start) / 2 / 100
        name = build.__name__
        print(f"{name}: train {step * 1e3:.1f} ms/image, Hessian-vector product {hvp * 1e3:.1f} ms/image")


if __name__ == "__main__":
    main()
