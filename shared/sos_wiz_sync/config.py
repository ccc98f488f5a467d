"""Function configuration from environment variables, validated once at cold start.

A missing or malformed variable fails with its name at import time of the handler,
not with a KeyError deep inside a request.

Plain pydantic models over os.environ rather than pydantic-settings: these are flat strings,
numbers, booleans and two JSON maps, and pydantic-settings' import (asyncio, argparse, pydantic
dataclasses) cost every cold start 0.06-0.2 s, a third of the webhook ingress's import.
"""

from __future__ import annotations

import json
import os
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field


def _json_object(value: object) -> object:
    if isinstance(value, str):
        value = json.loads(value or "{}")
    if not isinstance(value, dict):
        raise ValueError("must be a JSON object")
    return {str(k): str(v) for k, v in value.items()}


JsonMap = Annotated[dict[str, str], BeforeValidator(_json_object)]


class _Env(BaseModel):
    """Fields from the environment variables of the same name in any case (SOS_SECRET_ID →
    sos_secret_id); keyword arguments take precedence."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    def __init__(self, **values: Any):
        environment = {name.lower(): value for name, value in os.environ.items()}
        super().__init__(**{**environment, **values})


class SosApiSettings(_Env):
    sos_api_base_url: str = "https://api.sosinventory.com/api/v2"
    sos_token_url: str = "https://api.sosinventory.com/oauth2/token"
    sos_secret_id: str
    sos_max_rps: float = Field(default=2.0, gt=0)  # one request per 500 ms (the contract)
    # The zone SOS reads `updatedsince` in (undocumented: the account's zone) and how far each
    # window reaches back before the previous run's start.
    sos_timezone: str = "UTC"
    sos_updatedsince_overlap_seconds: int = Field(default=300, ge=0)
    sos_max_concurrency: int = Field(default=2, ge=1)
    http_timeout_seconds: float = Field(default=20.0, gt=0)
    # SosMaxRps is the deployment's total, shared through the state table (clients/budget.py);
    # each function says whose turn comes first. Unset: lowest, so no caller delays an order.
    sos_priority: Literal["push", "hook", "pull"] = "pull"
    sos_shared_budget: bool = True


class WizApiSettings(_Env):
    wiz_api_base_url: str = "https://api.wizcommerce.com"
    wiz_secret_id: str
    wiz_max_concurrency: int = Field(default=8, ge=1)
    http_timeout_seconds: float = Field(default=20.0, gt=0)


class TablesSettings(_Env):
    mappings_table: str
    state_table: str


PaymentRoute = Literal["deposit", "payment"]


class PullSettings(_Env):
    pull_queue_url: str
    push_queue_url: str = ""
    inventory_hook_queue_url: str = ""  # empty when the SOS quantity hook is not deployed
    # Stop taking new pages when less than this is left, and continue in a fresh invocation.
    pull_time_reserve_ms: int = Field(default=60_000, ge=0)
    # The push's SOS order numbers (R-ORD-4): an SOS order numbered so is one we pushed (R-ORD-7).
    order_number_prefix: str = ""
    order_number_suffix: str = ""
    # Reconciliation (R-CUS-2) leaves a WC change this long to its webhook before it counts as missed.
    reconciliation_lag_seconds: int = Field(default=900, ge=0)
    # SOS-A11: the payments pull probes /payment only where the push's route is "payment".
    payment_route: PaymentRoute = "deposit"


# SOS-A7: the casing of an SOS line's price on a new sales order, until a doctor probe reads the
# account's (an edit writes the casing its record came with).
LinePriceField = Literal["unitPrice", "unitprice"]
DEFAULT_LINE_PRICE_FIELD: LinePriceField = "unitPrice"


# R-OPS-5: how often a warm push or hook container reads the stored contract readings again.
CONTRACT_REREAD_SECONDS = 300.0


class PushSettings(_Env):
    push_dlq_url: str
    idempotency_table: str
    idempotency_ttl_seconds: int = Field(default=14 * 24 * 3600, gt=0)
    order_number_prefix: str = ""
    order_number_suffix: str = ""
    line_notes_to_comment: bool = True
    # R-PAY-1: "deposit" sets the SOS sales order's depositAmount (documented); "payment" posts
    # to /payment, which only some SOS accounts answer.
    payment_route: PaymentRoute = "deposit"
    sales_rep_map: JsonMap = Field(default_factory=dict)
    default_sales_rep_id: str = ""
    price_tier_map: JsonMap = Field(default_factory=dict)
    sos_line_price_field: LinePriceField = DEFAULT_LINE_PRICE_FIELD
    # R-OPS-5: a warm container reads the stored contract readings again at most this often
    # (one Query of the CONTRACT# items), so a reading doctor or the first sync settles reaches it.
    contract_reread_seconds: float = Field(default=CONTRACT_REREAD_SECONDS, ge=0)


class WizPollSettings(_Env):
    """The WC change poll (R-PUSH-1): where it keeps its cursors and sends its messages."""

    state_table: str
    push_queue_url: str
    wc_poll_overlap_seconds: int = Field(default=120, ge=1)


class IngressSettings(_Env):
    wiz_secret_id: str
    push_queue_url: str


# SQS FIFO forgets a deduplication id after five minutes: a longer coalescing window would let
# a second message per item and window through (see docs/architecture.md, "Coalescing").
FIFO_DEDUP_INTERVAL_SECONDS = 300


class SosHookSettings(_Env):
    """SOS quantity hook ingress (R-INV-6). `coalesce_window_seconds` is W, the hook queue's
    DelaySeconds; the template sets both from one parameter."""

    sos_hook_secret_id: str
    inventory_hook_queue_url: str
    coalesce_window_seconds: int = Field(default=5, ge=1, le=FIFO_DEDUP_INTERVAL_SECONDS)


class HookSubscriptionSettings(_Env):
    """The subscription command: the path-token secret, and the state table whose lease
    guards an SOS OAuth refresh."""

    sos_hook_secret_id: str
    state_table: str
