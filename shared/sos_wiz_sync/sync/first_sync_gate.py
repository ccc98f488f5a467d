"""The first sync runs by itself (R-TIME-2): the first scheduled entity run that finds it not
done runs it, instead of only reporting `blocked` until an operator remembers to start it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .engine import LambdaContext, Stream
from .entity_streams import first_sync_missing
from .first_sync import FirstSync

if TYPE_CHECKING:
    from .deps import PullDeps


def first_sync_before(stream: Stream, deps: PullDeps, first_sync: FirstSync,
                      context: LambdaContext) -> dict[str, Any] | None:
    """Run the first sync when it is what keeps `stream` from running; its result, else None.

    One at a time under the first sync's own lease: the runs that find it busy (the schedules
    fire together) are reported blocked and run at their next schedule; one that meets the time
    limit continues itself on the pull queue. When it finishes here, the stream runs right after
    it in the same invocation. Holds (ambiguous matches) still wait for a person: they are in the
    first sync's run report and in `sos-wiz-ops doctor`."""
    if stream.blocked is None:
        return None
    missing = first_sync_missing(deps)
    if missing is None or stream.blocked() != missing:
        return None
    return first_sync.run(context)
