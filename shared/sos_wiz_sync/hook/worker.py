"""Inventory hook worker (R-INV-6): re-read each hinted item from SOS and push its inventory
through the same plan/send/commit path and last-pushed state as the 2-hourly pull, so the
two never fight and the pull counts what the hook already had right (`unchanged_after_hook`).
Each write carries when its item was read, so whichever of the two writes last, WizCommerce
ends on the newest read (sync/inventory.py).

Retries are for what may pass later (429, 5xx, network): that record fails, SQS redelivers
it and parks it in the DLQ after maxReceiveCount. A 4xx will not pass on a retry, and every
retry costs a read from SOS's small account-wide budget: it is logged and counted, and the
next pull (which reconciles everything) reports it in its run.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from ..clients.http import ApiError, map_bounded
from ..clients.reasons import failure_reason
from ..clients.sos import SosClient, read_clock
from ..clients.wiz import WizClient
from ..config import CONTRACT_REREAD_SECONDS, SosApiSettings, TablesSettings, WizApiSettings
from ..models.hook import InventoryHookMessage
from ..models.sos import SosItem, SosRecordError, read_record
from ..observability import logger, metrics
from ..secrets import SecretStore
from ..store.contract import ContractReadings
from ..store.state import SyncState
from ..sync.inventory import product_skus_by_reference, sync_inventory_items
from ..sync.report import RunCounts
from ..wiring import ContractFollower, build_sos_client, build_wiz_client


def retryable(error: Exception) -> bool:
    """429/5xx and network errors may pass later; a 4xx will not until someone fixes something."""
    return not isinstance(error, ApiError) or error.transient


def queued_message(record: SQSRecord) -> InventoryHookMessage | None:
    try:
        return InventoryHookMessage.model_validate_json(record.body)
    except ValidationError:
        return None  # fails on its own in handle_batch's record handler


class InventoryHookWorker:
    def __init__(self, *, sos: SosClient, wiz: WizClient, state: SyncState, sos_concurrency: int,
                 wiz_concurrency: int, contract: ContractFollower | None = None):
        self._sos = sos
        self._contract = contract
        self._wiz = wiz
        self._state = state
        self._sos_concurrency = sos_concurrency
        self._wiz_concurrency = wiz_concurrency

    @classmethod
    def from_environment(cls) -> "InventoryHookWorker":
        tables, sos_api, wiz_api, secrets = TablesSettings(), SosApiSettings(), WizApiSettings(), SecretStore()
        sos, wiz = (build_sos_client(sos_api, state_table=tables.state_table, secrets=secrets),
                    build_wiz_client(wiz_api, secrets=secrets))
        # R-OPS-5: SOS-A17's kit type as the pull follows it, read again every CONTRACT_REREAD_SECONDS
        contract = ContractFollower(ContractReadings(tables.state_table), sos, wiz, reread_seconds=CONTRACT_REREAD_SECONDS)
        return cls(sos=sos, wiz=wiz, state=SyncState(tables.state_table), sos_concurrency=sos_api.sos_max_concurrency,
                   wiz_concurrency=wiz_api.wiz_max_concurrency, contract=contract)

    def handle_batch(self, event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        """One sync for the batch's distinct items; a record fails only if its item should be retried."""
        if self._contract:
            self._contract.follow_if_due()
        messages = [message for raw in event.get("Records", []) if (message := queued_message(SQSRecord(raw)))]
        if any(not message.force_write for message in messages):  # SOS-A14: the ingress took a hook's JSON
            self._sos.first_use("SOS-A14", "JSON", "a hook delivery's body read as a JSON object with an item id")
        retry = self.sync({message.item_id for message in messages},
                          force_write={message.item_id for message in messages if message.force_write})

        def settle(record: SQSRecord) -> None:
            item_id = InventoryHookMessage.model_validate_json(record.body).item_id  # malformed: fails, parks
            if item_id in retry:
                raise retry[item_id]

        return process_partial_response(event=event, record_handler=settle,
                                        processor=BatchProcessor(EventType.SQS), context=context)

    def sync(self, item_ids: Collection[int], force_write: Collection[int] = ()) -> dict[int, Exception]:
        """Re-read these items and push what changed (and those of `force_write` even if not);
        returns the errors worth a retry, by item id."""
        counts = RunCounts()
        errors: dict[int, Exception] = {}
        items, read_at = self._read_items(sorted(item_ids), counts, errors)
        unmapped: list[int] = []  # no WC product has this Reference ID (R-INV-5)
        if items:
            try:
                # Asked every time, not taken from the last-pushed record: a product that lost or
                # changed its Reference ID since must not get this item's inventory (R-REF-1).
                products = self._wiz.products_by_reference_ids([str(item.id) for item in items])
                skus = product_skus_by_reference(products, counts)
            except Exception as error:  # noqa: BLE001 - decided per item below
                errors |= {item.id: error for item in items}
                for item in items:
                    counts.fail(str(item.id), failure_reason(error))
            else:
                unmapped = [item.id for item in items if str(item.id) not in skus]
                write_errors = sync_inventory_items(items, read_at, skus, wiz=self._wiz, state=self._state,
                                                    concurrency=self._wiz_concurrency, counts=counts,
                                                    force_write={str(item_id) for item_id in force_write},
                                                    kit_types=self._sos.kit_types())
                errors |= {int(item_id): error for item_id, error in write_errors.items()}
        retry = {item_id: error for item_id, error in errors.items() if retryable(error)}
        self._report(item_ids, unmapped, counts, retry)
        return retry

    def _read_items(self, item_ids: list[int], counts: RunCounts, errors: dict[int, Exception]
                    ) -> tuple[list[SosItem], dict[str, int]]:
        """The items SOS still has, and when each answer came (SOS as it was then, or earlier)."""
        items, read_at = [], {}

        def read(item_id: int) -> tuple[SosItem, int]:
            return read_record(SosItem, self._sos.get("item", item_id), "item"), read_clock()

        for item_id, answer, error in map_bounded(read, item_ids, self._sos_concurrency):
            if error is None:
                item, read_at[str(item_id)] = answer
                items.append(item)
            elif isinstance(error, ApiError) and error.status == 404:
                counts.seen += 1
                counts.skip("not-in-sos")  # deleted since the hook fired: nothing to push
            elif isinstance(error, SosRecordError):  # a retry reads the same: the pull's pass quarantines it
                counts.seen += 1
                counts.fail(str(item_id), error.count_key, **error.details())
            else:
                counts.fail(str(item_id), failure_reason(error))
                errors[item_id] = error
        return items, read_at

    @staticmethod
    def _report(item_ids: Collection[int], unmapped: list[int], counts: RunCounts,
                retry: dict[int, Exception]) -> None:
        logger.info("inventory hook batch", extra={
            "sos_item_ids": sorted(item_ids), "counts": counts.to_dict(), "unmapped_sos_item_ids": unmapped,
            "retrying_sos_item_ids": sorted(retry)})
        for name, value in (("InventoryHookItemsWritten", counts.changed),
                            ("InventoryHookItemsUnchanged", counts.unchanged),
                            ("InventoryHookItemsSkipped", sum(counts.skipped.values())),
                            ("InventoryHookItemsFailed", counts.failed_total)):
            metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
