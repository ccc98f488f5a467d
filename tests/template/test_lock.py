"""The lock (shared/requirements.txt, written by `make lock`) against what it locks: the declared
dependencies (pyproject.toml [project].dependencies), the development environment (installed with
the lock as constraints) and the Lambda target of template.yaml and the Makefile. A dependency
added, bumped or dropped on one side only fails here, so what is deployed is what was tested."""

from __future__ import annotations

import re
import tomllib
from functools import cache
from importlib import metadata
from pathlib import Path

from cfnlint.decode import cfn_yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
LOCK = ROOT / "shared" / "requirements.txt"
_PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>\S+)")


@cache
def makefile_variable(name: str) -> str:
    match = re.search(rf"^{name}\s*:?=\s*(\S+)", (ROOT / "Makefile").read_text(), re.MULTILINE)
    assert match, f"Makefile sets no {name}"
    return match.group(1)


def lambda_environment(extra: str = "") -> dict[str, str]:
    """Marker environment of the Lambda target (the Makefile's LAMBDA_PYTHON on Linux arm64)."""
    python = makefile_variable("LAMBDA_PYTHON")
    return {"python_version": python, "python_full_version": f"{python}.0", "implementation_name": "cpython",
            "platform_python_implementation": "CPython", "implementation_version": f"{python}.0",
            "os_name": "posix", "sys_platform": "linux", "platform_system": "Linux",
            "platform_machine": "aarch64", "platform_release": "", "platform_version": "", "extra": extra}


@cache
def locked() -> dict[str, tuple[str, int]]:
    """Name → (version, number of hashes) for every entry of the lock."""
    entries: dict[str, tuple[str, int]] = {}
    current = None
    for line in LOCK.read_text().splitlines():
        if match := _PIN.match(line):
            current = canonicalize_name(match["name"])
            assert current not in entries, f"{current} is locked twice"
            entries[current] = (match["version"], 0)
        elif line.strip().startswith("--hash=sha256:") and current:
            version, hashes = entries[current]
            entries[current] = (version, hashes + 1)
        elif line.strip() and not line.lstrip().startswith("#"):
            raise AssertionError(f"not a pinned requirement, a hash or a comment: {line!r}")
    return entries


def declared() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return [Requirement(text) for text in project["dependencies"]]


def closure(roots: list[Requirement]) -> set[str]:
    """Every distribution `roots` pull in on the Lambda target, read from the installed metadata
    (whose versions test_the_dev_environment_has_the_locked_versions pins to the lock)."""
    needed: set[str] = set()
    seen: set[tuple[str, str]] = set()
    todo = [(req, extra) for req in roots for extra in ("", *req.extras)]
    while todo:
        req, extra = todo.pop()
        name = canonicalize_name(req.name)
        if (name, extra) in seen:
            continue
        seen.add((name, extra))
        needed.add(name)
        for text in metadata.distribution(name).requires or []:
            dependency = Requirement(text)
            if dependency.marker is None or dependency.marker.evaluate(lambda_environment(extra)):
                todo += [(dependency, e) for e in ("", *dependency.extras)]
    return needed


def test_every_lock_entry_is_an_exact_version_with_hashes():
    assert locked(), "the lock is empty"
    for name, (version, hashes) in locked().items():
        Version(version)  # an exact, valid version
        assert hashes, f"{name}=={version} has no hash: regenerate with `make lock`"


def test_every_declared_dependency_is_locked_at_a_version_it_allows():
    for requirement in declared():
        name = canonicalize_name(requirement.name)
        assert name in locked(), f"{requirement} is declared but not locked: run `make lock`"
        version = locked()[name][0]
        assert requirement.specifier.contains(version, prereleases=True), (
            f"the lock has {name}=={version}, pyproject.toml asks for {requirement}: run `make lock`")


def test_the_dev_environment_has_the_locked_versions():
    for name, (version, _) in locked().items():
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            raise AssertionError(f"{name} is locked but not installed: reinstall (`make clean test`)") from None
        assert Version(installed) == Version(version), (
            f"{name} {installed} is installed, the lock has {version}: reinstall (`make clean test`)")


def test_the_lock_holds_exactly_what_the_declared_dependencies_need_on_lambda():
    needed = closure(declared())
    assert not needed - set(locked()), f"needed but not locked (run `make lock`): {sorted(needed - set(locked()))}"
    assert not set(locked()) - needed, f"locked but not needed (run `make lock`): {sorted(set(locked()) - needed)}"


def test_the_lock_the_layer_and_the_functions_target_one_runtime_and_architecture():
    template = cfn_yaml.load(str(ROOT / "template.yaml"))
    runtime = f"python{makefile_variable('LAMBDA_PYTHON')}"
    architecture = {"aarch64": "arm64", "x86_64": "x86_64"}[makefile_variable("LAMBDA_PLATFORM").split("-")[0]]
    assert makefile_variable("LAMBDA_WHEEL_PLATFORM").endswith(f"_{makefile_variable('LAMBDA_PLATFORM').split('-')[0]}")
    function_globals = template["Globals"]["Function"]
    assert (function_globals["Runtime"], function_globals["Architectures"]) == (runtime, [architecture])
    layer = template["Resources"]["SharedLayer"]
    assert (layer["Properties"]["CompatibleRuntimes"], layer["Properties"]["CompatibleArchitectures"]) == (
        [runtime], [architecture])
    assert (layer["Metadata"]["BuildMethod"], layer["Metadata"]["BuildArchitecture"]) == (runtime, architecture)
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] == "AWS::Serverless::Function":
            properties = resource["Properties"]
            assert properties.get("Runtime", runtime) == runtime, logical_id
            assert properties.get("Architectures", [architecture]) == [architecture], logical_id
