"""What the pull streams and the first sync work with (`PullDeps`), and how the pull function
builds it from its environment (`pull_environment`). The bottom of `sync/`: the streams, the
first sync and the pull function import it; it imports none of them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3

from ..clients.sos import SosClient
from ..clients.wiz import WizClient
from ..config import PaymentRoute, PullSettings, SosApiSettings, TablesSettings, WizApiSettings
from ..secrets import SecretStore
from ..store.contract import ContractReadings
from ..store.leases import Leases
from ..store.mappings import Mappings
from ..store.state import SyncState
from ..wiring import ContractFollower, build_sos_client, build_wiz_client


@dataclass(frozen=True)
class PullDeps:
    sos: SosClient
    wiz: WizClient
    state: SyncState
    wiz_concurrency: int
    # The entity streams (customers, orders, invoices, shipments, payments, reconciliation):
    mappings: Mappings | None = None
    order_number_prefix: str = ""   # R-ORD-4: what pushed SOS order numbers look like (no echo, R-ORD-7)
    order_number_suffix: str = ""
    enqueue_push: Callable[[str, str, str], None] | None = None  # (body, group id, dedup id) → push queue
    # SendMessage arguments → the inventory hook queue (None: the hook is off in this deployment)
    enqueue_inventory_recheck: Callable[[dict[str, str]], None] | None = None
    reconciliation_lag_seconds: int = 900
    payment_route: PaymentRoute = "deposit"  # SOS-A11: "deposit" never probes /payment


@dataclass(frozen=True)
class PullEnvironment:
    """Built once per cold start from the pull function's environment."""

    deps: PullDeps
    leases: Leases
    settings: PullSettings
    sqs: Any
    contract: ContractFollower  # R-OPS-5: the stored readings, read again at each run's start

    def send_to_pull_queue(self, body: str) -> None:
        self.sqs.send_message(QueueUrl=self.settings.pull_queue_url, MessageBody=body)


def pull_environment() -> PullEnvironment:
    tables = TablesSettings()
    pull = PullSettings()
    wiz_api = WizApiSettings()
    secrets = SecretStore()
    sos = build_sos_client(SosApiSettings(), state_table=tables.state_table, secrets=secrets)
    wiz = build_wiz_client(wiz_api, secrets=secrets)
    contract = ContractFollower(ContractReadings(tables.state_table), sos, wiz)
    contract.follow()  # R-OPS-5: SOS-A11, WC-A10 as doctor's or the first sync's probe settled them
    sqs = boto3.client("sqs")

    def enqueue_push(body: str, group: str, dedup: str) -> None:
        sqs.send_message(QueueUrl=pull.push_queue_url, MessageBody=body, MessageGroupId=group,
                         MessageDeduplicationId=dedup)

    def enqueue_inventory_recheck(message: dict[str, str]) -> None:
        sqs.send_message(QueueUrl=pull.inventory_hook_queue_url, **message)

    deps = PullDeps(sos=sos, wiz=wiz, state=SyncState(tables.state_table), wiz_concurrency=wiz_api.wiz_max_concurrency,
                    mappings=Mappings(tables.mappings_table), order_number_prefix=pull.order_number_prefix,
                    order_number_suffix=pull.order_number_suffix,
                    enqueue_push=enqueue_push if pull.push_queue_url else None,
                    enqueue_inventory_recheck=enqueue_inventory_recheck if pull.inventory_hook_queue_url else None,
                    reconciliation_lag_seconds=pull.reconciliation_lag_seconds,
                    payment_route=pull.payment_route)
    return PullEnvironment(deps=deps, leases=Leases(tables.state_table), settings=pull, sqs=sqs, contract=contract)
