"""The WC change poll (R-PUSH-1): every minute, the confirmed orders, the cancelled orders and the
customers changed since its cursor go on the push queue as "WC record X changed" — the same
message a webhook becomes. WizCommerce documents no order or payment event, so this is how orders,
their edits, their payments (`amount_paid`) and their cancellations (R-ORD-8, WC-A19: a cancelled
order stays listed under `order_status=cancelled`) reach SOS within a minute; for customers it
catches lost webhooks. Each listing keeps its own cursor.

- Window: `updated_after` = the newest `updated_at` seen last time, less an overlap (the filter
  takes whole seconds, and a write may become visible in a list a little after its stamp), listed
  oldest first by `WizClient.changed_since`: keyset paging, so a record edited while the window
  is listed moves to its end without pushing another row past the pages read.
- A record the overlap lists again unchanged is not sent again: the cursor keeps the messages of
  the overlap window it already queued. Were it sent, it would be the same message id (SQS
  deduplicates within five minutes, the push's idempotency after that, and the push itself finds
  nothing new) — but a change parked in the DLQ would be parked again every few minutes.
- The cursor is saved after every record of the window is on the queue: a poll killed half-way
  lists the window again (duplicates, never a gap).
- Like every stream that may create records, it waits for the first sync (R-TIME-2), and its
  first window starts when the first sync finished: what existed before was matched by it, not
  pushed as new.
- A listing that relies on an assumption (the cancelled orders on WC-A19) is skipped, its cursor
  kept, while doctor's probe stored that the account's answer fits neither reading (R-OPS-5): it
  stops with that reason rather than guess what the listing shows; the other listings still run.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import boto3

from ..clients.wiz import WizClient, wc_time
from ..config import WizApiSettings, WizPollSettings
from ..models.contract import neither_stop
from ..observability import logger
from ..secrets import SecretStore
from ..store.contract import ContractReadings
from ..store.state import WC_CHANGE_POLL_HEARTBEAT, SyncState
from ..wiring import build_wiz_client
from .events import PushedEntity, RecordChanged, queued

# (cursor stream, entity, WC resource, list filters, the contract rows it relies on): orders must
# name their status, the API's default is draft; cancelled orders are a listing of their own (WC-A19).
POLLED: tuple[tuple[str, PushedEntity, str, dict[str, str], tuple[str, ...]], ...] = (
    ("wc-poll-order", "order", "orders", {"order_status": "confirmed"}, ()),
    ("wc-poll-order-cancelled", "order", "orders", {"order_status": "cancelled"}, ("WC-A19",)),
    ("wc-poll-customer", "customer", "customers", {}, ()),
)
SQS_BATCH = 10  # SendMessageBatch maximum


def _time(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def _sort_key(stamp: str | None) -> datetime:
    return _time(stamp) if stamp else datetime.min.replace(tzinfo=timezone.utc)


def window_start(cursor: str | None, first_sync_finished: str, overlap: timedelta) -> datetime:
    """Where the window starts (the client sends it floored to the second, WC-A12)."""
    return (_time(cursor) - overlap) if cursor else _time(first_sync_finished)


class WcChangePoll:
    def __init__(self, *, wiz: WizClient, state: SyncState, contract: ContractReadings, sqs: Any, queue_url: str,
                 overlap: timedelta):
        self._wiz = wiz
        self._state = state
        self._contract = contract
        self._sqs = sqs
        self._queue_url = queue_url
        self._overlap = overlap

    @classmethod
    def from_environment(cls) -> "WcChangePoll":
        settings, secrets = WizPollSettings(), SecretStore()
        return cls(wiz=build_wiz_client(WizApiSettings(), secrets=secrets), state=SyncState(settings.state_table),
                   contract=ContractReadings(settings.state_table), sqs=boto3.client("sqs"),
                   queue_url=settings.push_queue_url,
                   overlap=timedelta(seconds=settings.wc_poll_overlap_seconds))

    def run(self) -> dict[str, Any]:
        first_sync = self._state.first_sync_status()
        if first_sync.get("status") != "done":
            logger.info("WC change poll waits for the first sync (R-TIME-2)")
            return {"status": "blocked", "reason": "first sync not done"}
        polled: dict[str, Any] = {}
        stopped: dict[str, str] = {}
        for stream, entity, resource, filters, rows in POLLED:
            name = stream.removeprefix("wc-poll-")
            reason = self._stop(rows)
            if reason:
                logger.warning("WC change poll listing stopped", extra={"stream": stream, "reason": reason})
                polled[name], stopped[name] = 0, reason
            else:
                polled[name] = self._poll(stream, entity, resource, filters, first_sync["finished_at"])
        self._state.record_heartbeat(WC_CHANGE_POLL_HEARTBEAT)  # `sos-wiz-ops doctor`: the poll runs
        return {**polled, "stopped": stopped} if stopped else polled

    def _stop(self, rows: tuple[str, ...]) -> str | None:
        """Why a listing relying on these contract rows cannot run (a stored NEITHER); None: it can."""
        for row_id in rows:
            stop = neither_stop(self._contract.reading(row_id), row_id)
            if stop:
                return stop.reason
        return None

    def _poll(self, stream: str, entity: PushedEntity, resource: str, filters: dict[str, str],
              first_sync_finished: str) -> int:
        cursor = self._state.load_stream(stream).get("cursor") or {}
        after = window_start(cursor.get("updated_at"), first_sync_finished, self._overlap)
        already = set(cursor.get("queued") or [])
        queued_now: dict[str, str] = {}  # message id → updated_at, of what this poll listed
        for batch in self._batches(self._wiz.changed_since(resource, after, **filters)):
            seen = [(RecordChanged.seen("poll", entity, r), str(r.get("updated_at") or "")) for r in batch]
            self._send([queued(message) for message, _ in seen if message.id not in already])
            queued_now |= {message.id: stamp for message, stamp in seen}
        sent = len(set(queued_now) - already)
        if queued_now:
            newest = max(queued_now.values(), key=_sort_key)
            floor = _time(newest) - self._overlap if newest else None
            keep = [m for m, stamp in queued_now.items() if stamp and floor and _time(stamp) >= floor]
            self._state.save_stream(stream, cursor={"updated_at": max([newest, cursor.get("updated_at")],
                                                                         key=_sort_key),
                                                    "queued": sorted(keep)}, run=None)
        logger.info("WC change poll", extra={"stream": stream, "updated_after": wc_time(after), "enqueued": sent})
        return sent

    @staticmethod
    def _batches(pages: Iterator[list[dict[str, Any]]]) -> Iterator[list[dict[str, Any]]]:
        for page in pages:
            for start in range(0, len(page), SQS_BATCH):
                yield page[start:start + SQS_BATCH]

    def _send(self, messages: list) -> None:
        if not messages:
            return
        entries = [{"Id": str(n), "MessageBody": m.body, "MessageGroupId": m.group, "MessageDeduplicationId": m.dedup}
                   for n, m in enumerate(messages)]
        failed = self._sqs.send_message_batch(QueueUrl=self._queue_url, Entries=entries).get("Failed") or []
        if failed:  # the cursor stays; the next poll lists these again
            raise RuntimeError(f"{len(failed)} change messages not queued: {failed[0].get('Code')}")
