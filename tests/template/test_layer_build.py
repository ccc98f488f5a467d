"""The SharedLayer as it would be deployed, built twice for the Lambda target (Python 3.13, arm64)
from the lock, without Docker: by `make build` (a real `sam build` of the whole template) and by
`make layer` (pip's cross-platform wheel selection alone, no python3.13 needed). Every compiled
part must be an arm64 / cp313 wheel, and the unzipped layer plus the largest function must fit
Lambda's 250 MB. Needs PyPI (or pip's cache) for the wheels."""

from __future__ import annotations

import os
import subprocess
from email.parser import HeaderParser
from pathlib import Path

import pytest
from cfnlint.decode import cfn_yaml
from packaging import tags
from packaging.utils import canonicalize_name

from test_lock import ROOT, locked, makefile_variable

# make target → (the layer's python/ folder, the folder holding each function's built code)
BUILDS = {"build": (ROOT / ".aws-sam" / "build" / "SharedLayer" / "python", ROOT / ".aws-sam" / "build"),
          "layer": (ROOT / "build" / "layer" / "python", ROOT / "functions")}
LAMBDA_UNZIPPED_LIMIT = 262_144_000  # 250 MB: function code and all its layers, unzipped
ELF_MACHINE = {"aarch64": 183, "x86_64": 62}  # e_machine: EM_AARCH64, EM_X86_64


def make(target: str) -> None:
    done = subprocess.run(["make", "--no-print-directory", target], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "MAKEFLAGS": ""})
    assert done.returncode == 0, f"make {target} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"


@pytest.fixture(scope="module", params=sorted(BUILDS))
def built(request) -> tuple[Path, Path]:
    make(request.param)
    return BUILDS[request.param]


@pytest.fixture(scope="module")
def layer(built) -> Path:
    return built[0]


def target_tags() -> set[str]:
    """Wheel tags pip accepts for --platform LAMBDA_WHEEL_PLATFORM --python-version LAMBDA_PYTHON."""
    major, minor = map(int, makefile_variable("LAMBDA_PYTHON").split("."))
    machine = makefile_variable("LAMBDA_PLATFORM").split("-")[0]
    platforms = [makefile_variable("LAMBDA_WHEEL_PLATFORM")] + [f"manylinux_2_{glibc}_{machine}"
                                                                  for glibc in range(17, 4, -1)]
    found = [*tags.cpython_tags((major, minor), platforms=platforms),
             *tags.compatible_tags((major, minor), interpreter=f"cp{major}{minor}", platforms=platforms)]
    return {str(tag) for tag in found}


def wheel_tags(dist_info: Path) -> set[str]:
    return set(HeaderParser().parsestr((dist_info / "WHEEL").read_text()).get_all("Tag") or [])


def template_functions() -> dict[str, set[str]]:
    """Function code folders by where they are: sam's build folder names them by logical id."""
    resources = cfn_yaml.load(str(ROOT / "template.yaml"))["Resources"]
    functions = {logical_id: Path(resource["Properties"]["CodeUri"]).name for logical_id, resource in resources.items()
                 if resource["Type"] == "AWS::Serverless::Function"}
    return {"build": set(functions), "functions": set(functions.values())}


def tree_size(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


def test_the_layer_holds_the_lock_and_the_package(layer):
    built = {}
    for dist_info in layer.glob("*.dist-info"):
        name, version = dist_info.name.removesuffix(".dist-info").rsplit("-", 1)
        built[canonicalize_name(name)] = version
    assert built == {name: version for name, (version, _) in locked().items()}
    assert (layer / "sos_wiz_sync" / "__init__.py").is_file()


def test_every_dependency_is_a_wheel_for_the_lambda_target(layer):
    accepted = target_tags()
    for dist_info in layer.glob("*.dist-info"):
        assert wheel_tags(dist_info) & accepted, f"{dist_info.name}: {sorted(wheel_tags(dist_info))}"


def test_compiled_code_is_built_for_the_lambda_architecture(layer):
    expected = ELF_MACHINE[makefile_variable("LAMBDA_PLATFORM").split("-")[0]]
    compiled = [path for path in layer.rglob("*") if path.suffix == ".so" or ".so." in path.name]
    assert compiled, "no compiled module: pydantic-core, for one, has one"
    for path in compiled:
        header = path.read_bytes()[:20]
        assert header[:4] == b"\x7fELF", f"{path} is not an ELF file"
        assert int.from_bytes(header[18:20], "little") == expected, f"{path} is for another architecture"


def test_the_layer_and_the_largest_function_fit_lambda_unzipped(built):
    layer, function_root = built
    functions = {folder.name: tree_size(folder) for folder in function_root.iterdir()
                 if (folder / "app.py").is_file()}
    assert set(functions) == template_functions()[function_root.name], sorted(functions)
    largest = max(functions, key=functions.get)
    total = tree_size(layer) + functions[largest]
    assert total < LAMBDA_UNZIPPED_LIMIT, f"layer + {largest}: {total / 1e6:.1f} MB unzipped"
