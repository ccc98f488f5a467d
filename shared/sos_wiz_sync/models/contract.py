"""A stored contract reading as the code uses it (R-OPS-5): the choice a settled reading makes,
the safe default until then, and a stop when the account's answer fitted neither reading.
Pure: the readings come from store/contract.py, decided by rules/contract.py."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

NEITHER = "neither"  # a stored reading: the account's answer fitted no known reading


class ContractStop(Exception):
    """The stored reading of an assumption fits neither known reading: what needs it stops here,
    with this reason, rather than guess (R-OPS-5)."""

    def __init__(self, row_id: str, evidence: str | None):
        super().__init__(f"{row_id}: this account's answer fits neither known reading ({evidence}); stopped rather "
                         "than guess: see sos-wiz-ops doctor --contract")
        self.row_id = row_id
        self.evidence = evidence
        self.reason = str(self)


def neither_stop(stored: Mapping[str, Any] | None, row_id: str) -> ContractStop | None:
    """The stop a row's stored reading calls for: a ContractStop when it fits neither known
    reading, else None (settled, or not yet: the safe default applies)."""
    if (stored or {}).get("reading") == NEITHER:
        return ContractStop(row_id, (stored or {}).get("evidence"))
    return None


def settled_choice(stored: Mapping[str, Any] | None, row_id: str, choices: Mapping[str, Any], default: Any) -> Any:
    """What the code uses under a row's stored reading: its choice when settled, `default` (the
    safe one) until then; ContractStop when the stored reading is NEITHER."""
    stop = neither_stop(stored, row_id)
    if stop:
        raise stop
    return choices.get((stored or {}).get("reading"), default)
