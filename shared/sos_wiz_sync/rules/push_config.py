"""What configuration decides for pushed records (R-CFG-3): SOS numbers (R-ORD-4), sales
reps (R-ORD-6), price tiers (R-ORD-5), where line notes go (R-ORD-3), how online payments reach
SOS (R-PAY-1). Pure: no I/O."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field

from ..config import DEFAULT_LINE_PRICE_FIELD, LinePriceField, PaymentRoute, PushSettings

SOS_NUMBER_MAX_LENGTH = 21
DIGEST_LENGTH = 6
DIGEST_MARK = "~"
# A long number keeps at least this much of its own tail, so people can still recognise it.
MIN_TAIL_LENGTH = 1
MAX_AFFIXES_LENGTH = SOS_NUMBER_MAX_LENGTH - len(DIGEST_MARK) - DIGEST_LENGTH - MIN_TAIL_LENGTH
PAYMENT_NUMBER_PREFIX = "WCP-"


def _digest(text: str) -> str:
    """6 base32 characters (30 bits) of SHA-256: stable across runs and Python versions."""
    return base64.b32encode(hashlib.sha256(text.encode()).digest()).decode()[:DIGEST_LENGTH]


def fit_sos_number(prefix: str, core: str, suffix: str) -> str:
    """R-ORD-4: `prefix + core + suffix` when it fits SOS's 21 characters.

    A longer one becomes `prefix + <tail of core> + "~" + <6-char digest of the whole core> +
    suffix`, exactly 21 characters: deterministic (a replay computes the same number, so the
    lookup-before-create finds it), different cores give different digests, and the tail keeps
    the part of the number people search by. A collision is still caught by the uniqueness
    check at push time (the number exists in SOS for another WC record → failure, no overwrite).
    """
    core = core.strip()
    if not core:
        raise ValueError("an SOS number needs a non-empty WC number")
    if len(prefix) + len(suffix) > MAX_AFFIXES_LENGTH:
        raise ValueError(f"prefix + suffix may have at most {MAX_AFFIXES_LENGTH} characters")
    number = f"{prefix}{core}{suffix}"
    if len(number) <= SOS_NUMBER_MAX_LENGTH:
        return number
    tail_length = SOS_NUMBER_MAX_LENGTH - len(prefix) - len(suffix) - len(DIGEST_MARK) - DIGEST_LENGTH
    return f"{prefix}{core[-tail_length:]}{DIGEST_MARK}{_digest(core)}{suffix}"


def payment_number(wc_payment_id: str) -> str:
    """R-PAY-1: the SOS number of a pushed WC payment, looked up before create (no duplicate)."""
    return fit_sos_number(PAYMENT_NUMBER_PREFIX, wc_payment_id, "")


def sos_id_from_reference(reference_id: str | None) -> int | None:
    """R-REF-1: a WC record's `reference_id` holds its SOS id as a decimal string."""
    reference = (reference_id or "").strip()
    return int(reference) if reference.isascii() and reference.isdigit() else None


def _sos_id(setting: str, value: str) -> int:
    """SOS ids are integers: a typo fails the cold start, naming the setting."""
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"{setting}: SOS ids are integers, got {value!r}") from None


@dataclass(frozen=True)
class PushConfig:
    """Validated once at cold start."""

    number_prefix: str = ""
    number_suffix: str = ""
    line_notes_to_comment: bool = True
    payment_route: PaymentRoute = "deposit"
    sales_reps: Mapping[str, int] = field(default_factory=dict)   # WC rep id → SOS sales rep id
    default_sales_rep: int | None = None
    price_tiers: Mapping[str, int] = field(default_factory=dict)  # WC price list id → SOS price tier id
    line_price_field: LinePriceField = DEFAULT_LINE_PRICE_FIELD   # SOS-A7: on a new SOS order

    def __post_init__(self) -> None:
        fit_sos_number(self.number_prefix, "0", self.number_suffix)  # refuses affixes that leave no room

    @classmethod
    def from_settings(cls, settings: PushSettings) -> "PushConfig":
        return cls(
            number_prefix=settings.order_number_prefix, number_suffix=settings.order_number_suffix,
            line_notes_to_comment=settings.line_notes_to_comment, payment_route=settings.payment_route,
            sales_reps={wc: _sos_id("SALES_REP_MAP", sos) for wc, sos in settings.sales_rep_map.items()},
            default_sales_rep=(_sos_id("DEFAULT_SALES_REP_ID", settings.default_sales_rep_id)
                               if settings.default_sales_rep_id else None),
            price_tiers={wc: _sos_id("PRICE_TIER_MAP", sos) for wc, sos in settings.price_tier_map.items()},
            line_price_field=settings.sos_line_price_field,
        )

    def order_number(self, wc_display_id: str) -> str:
        """R-ORD-4: the SOS number of a pushed WC order."""
        return fit_sos_number(self.number_prefix, wc_display_id, self.number_suffix)

    def sales_rep_for(self, wc_rep_id: str | None) -> int | None:
        """R-ORD-6: the mapped SOS rep; an unmapped (or absent) rep falls back to the default."""
        return self.sales_reps.get(wc_rep_id or "", self.default_sales_rep)

    def price_tier_for(self, wc_price_list_id: str | None) -> int | None:
        """R-ORD-5: the SOS tier of a WC catalog; a catalog with no tier mapping is not an error."""
        return self.price_tiers.get(wc_price_list_id or "")


def sos_ref(record_id: int | None) -> dict[str, int] | None:
    return None if record_id is None else {"id": record_id}
