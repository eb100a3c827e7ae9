"""P5: the deploy build's sizes (``.aws-sam/build``, what ``sam deploy`` zips and uploads).

Lambda's limits count the unzipped size, which is the sum of the file sizes in the zip: directories
hold no bytes there. ``du -sb`` counts 4 KiB per directory on top and so reads higher; both are shown.
MB here is 10^6 bytes (the stricter reading of the targets); MiB is 2^20.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

from local import REPO_ROOT
from local.template import load_template

DEPLOY_BUILD = REPO_ROOT / ".aws-sam" / "build"
RUNTIME_PACKAGES = ("boto3", "botocore", "s3transfer")


def _files(root: Path) -> list[Path]:
    return sorted(path for path in root.rglob("*") if path.is_file() and not path.is_symlink())


def _zipped_bytes(root: Path, files: list[Path]) -> int:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in files:
            archive.write(path, path.relative_to(root))
    return buffer.getbuffer().nbytes


def artifact_size(root: Path) -> dict[str, Any]:
    files = _files(root)
    directories = [path for path in root.rglob("*") if path.is_dir()]
    unzipped = sum(path.stat().st_size for path in files)
    return {
        "unzipped_bytes": unzipped,
        "files": len(files),
        "zipped_bytes": _zipped_bytes(root, files),
        "du_apparent_bytes": unzipped + 4096 * (len(directories) + 1),
    }


def distribution_sizes(python: Path) -> dict[str, int]:
    """Bytes per installed distribution of a layer's python/ folder (its RECORD), and the project's ``shared``."""
    sizes: dict[str, int] = {}
    for dist_info in python.glob("*.dist-info"):
        name = dist_info.name.split("-")[0].lower().replace("_", "-")
        total = 0
        for line in (dist_info / "RECORD").read_text().splitlines():
            path = python / line.split(",")[0]
            if line and path.is_file():
                total += path.stat().st_size
        sizes[name] = total
    sizes["shared (the project)"] = sum(path.stat().st_size for path in _files(python / "shared"))
    return dict(sorted(sizes.items(), key=lambda item: -item[1]))


# Only needed when Tracing=Active (infra/layer/requirements-tracing.txt).
TRACING_DISTRIBUTIONS = ("aws-xray-sdk", "wrapt")
# What AWS's public layer AWSLambdaPowertoolsPythonV3-python313-arm64 ([all] extras) would bring instead.
PUBLIC_POWERTOOLS_LAYER_HAS = (
    "aws-lambda-powertools",
    "pydantic",
    "pydantic-core",
    "typing-extensions",
    "annotated-types",
    "typing-inspection",
    "jmespath",
    "aws-xray-sdk",
    "wrapt",
)


def measure(build_dir: Path = DEPLOY_BUILD) -> dict[str, Any]:
    if not build_dir.is_dir():
        raise SystemExit(f"{build_dir} is missing: run `make build`")
    resources = load_template()["Resources"]
    layers: dict[str, Any] = {}
    functions: dict[str, Any] = {}
    for artifact in sorted(path for path in build_dir.iterdir() if path.is_dir()):
        kind = resources.get(artifact.name, {}).get("Type", "")
        size = artifact_size(artifact)
        if kind == "AWS::Serverless::LayerVersion":
            python = artifact / "python"
            size["runtime_packages_bundled"] = [
                name for name in RUNTIME_PACKAGES if any(python.glob(name)) or any(python.glob(f"{name}-*.dist-info"))
            ]
            distributions = distribution_sizes(python)
            size["distributions"] = distributions
            size["tracing_only_bytes"] = sum(distributions.get(name, 0) for name in TRACING_DISTRIBUTIONS)
            size["without_public_powertools_layer_bytes"] = size["unzipped_bytes"] - sum(
                distributions.get(name, 0) for name in PUBLIC_POWERTOOLS_LAYER_HAS
            )
            layers[artifact.name] = size
        else:
            functions[artifact.name] = size
    return {
        "build_dir": str(build_dir.relative_to(REPO_ROOT)),
        "layers": layers,
        "functions": functions,
        "largest_function_bytes": max((f["unzipped_bytes"] for f in functions.values()), default=0),
    }
