"""Dry-run diff: what the next pull of a stream would change in WizCommerce, without writing.

The streams and the engine are built exactly as the pull function builds them, from its
environment, and the engine's `preview` plans every page the next run would read: no send,
no commit, no checkpoint. So the diff is what that run then does, unless SOS or WizCommerce
change in between.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict
from typing import Any

from ..sync.pull import PullRuntime


@contextmanager
def _environment(values: Mapping[str, str]) -> Iterator[None]:
    """os.environ with `values` on top, for the settings models the pull runtime reads once."""
    saved = dict(os.environ)
    os.environ.update(values)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def diff_stream(stream_name: str, pull_environment: Mapping[str, str],
                on_page: Callable[[int, int | None], None] = lambda done, total: None) -> dict[str, Any]:
    with _environment(pull_environment):
        runtime = PullRuntime()
    stream = runtime.streams.get(stream_name)
    if stream is None:
        raise KeyError(f"no pull stream {stream_name!r}; known: {', '.join(sorted(runtime.streams))}")
    preview = runtime.engine.preview(stream, on_page)
    # The action (create, update, ...) is what the run would record in the record's history.
    return {**preview, "writes": [{"action": stream.event_details(write).get("action", "write"), **asdict(write)}
                                  for write in preview["writes"]]}
