"""Option texts the commands share (light: imported by ``specinit --help``)."""

__all__ = ["DATA_DIR_HELP", "DEVICE_HELP"]

DATA_DIR_HELP = (
    "Folder holding mnist/ and fashion-mnist/ with the official IDX files "
    "(else $SPECINIT_DATA, else the embedded subsets: 2000 train / 1000 test images "
    "per dataset, enough for --quick)."
)

DEVICE_HELP = (
    "Where models and data run: cpu, cuda, cuda:N or mps (default: the config's device, cpu "
    "unless a paper-scale config says cuda). A device this machine lacks is refused before any work."
)
