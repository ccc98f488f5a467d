"""A moto server for the whole session and LocalRuntimes on the fixture template.

moto keeps state per process, so every runtime gets its own stack name (hence its own queue,
table and secret names)."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from local.aws import MotoServer
from local.runner import LocalRuntime

FIXTURES = Path(__file__).parent / "fixtures"
_stack_numbers = itertools.count()


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    with MotoServer() as server:
        yield server.endpoint_url


@pytest.fixture
def make_runtime(moto_endpoint: str) -> Iterator[Callable[..., LocalRuntime]]:
    started: list[LocalRuntime] = []

    def make(template: Path = FIXTURES / "template.yaml", **options) -> LocalRuntime:
        runtime = LocalRuntime(template, FIXTURES, endpoint_url=moto_endpoint,
                               stack_name=f"runner-t{next(_stack_numbers)}", **options)
        started.append(runtime.start())
        return runtime

    yield make
    for runtime in started:
        runtime.stop()


@pytest.fixture
def runtime(make_runtime: Callable[..., LocalRuntime]) -> LocalRuntime:
    return make_runtime()


@pytest.fixture
def write_template(tmp_path: Path) -> Callable[[str], Path]:
    """A small template whose CodeUri/ContentUri point at the fixture folders."""

    def write(body: str) -> Path:
        path = tmp_path / "template.yaml"
        path.write_text("AWSTemplateFormatVersion: '2010-09-09'\n"
                        "Transform: AWS::Serverless-2016-10-31\n" + body)
        return path

    return write
