"""The operator command line, ``quota-sentinel`` (or ``python -m cli``): simulate, check, status."""

from importlib import metadata


def version() -> str:
    try:
        return metadata.version("quota-sentinel")
    except metadata.PackageNotFoundError:  # run from a checkout without `make install`
        return "0.0.0+checkout"
