"""First-sync matching (R-TIME-2, R-REF-3): which SOS record is which WizCommerce record, decided
before anything is created. By Reference ID first, then by a natural key (email, number) where
it is unambiguous; an ambiguous candidate is reported and never guessed. Pure: no I/O."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from .push_config import fit_sos_number, sos_id_from_reference
from .sos_to_wc import PULLED_ORDER_SOURCE, is_pushed_order_number

How = Literal["reference", "key"]


@dataclass(frozen=True)
class SosSide:
    id: str
    keys: frozenset[str] = frozenset()  # natural keys, normalised (e.g. a lower-cased email)


@dataclass(frozen=True)
class WcSide:
    id: str
    reference_id: str | None
    keys: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Match:
    sos_id: str
    wc_id: str
    how: How


@dataclass(frozen=True)
class Ambiguity:
    """Records that share a natural key with more than one record of the other system."""

    sos_ids: tuple[str, ...]
    wc_ids: tuple[str, ...]
    reason: str


@dataclass
class Matching:
    matches: list[Match] = field(default_factory=list)
    ambiguous: list[Ambiguity] = field(default_factory=list)
    already_linked: int = 0
    # A WC record whose Reference ID names an SOS record that is linked to another WC record
    # (or two WC records naming one SOS record): a conflict an operator has to look at.
    conflicts: list[Ambiguity] = field(default_factory=list)


def match_records(sos: Iterable[SosSide], wc: Iterable[WcSide], *, linked_sos: Mapping[str, str],
                  linked_wc: Mapping[str, str]) -> Matching:
    """Match the records no stored mapping links yet. `linked_sos` maps SOS id → WC id and
    `linked_wc` WC id → SOS id for the mappings already stored (they are kept, never re-pointed)."""
    sos_by_id = {record.id: record for record in sos}
    wc_records = list(wc)
    result = Matching()
    free_sos = {sos_id for sos_id in sos_by_id if sos_id not in linked_sos}
    free_wc: list[WcSide] = []
    for record in wc_records:
        if record.id in linked_wc:
            result.already_linked += 1
        else:
            free_wc.append(record)

    # 1. Reference ID: the WC record names its SOS record.
    claims: dict[str, list[WcSide]] = defaultdict(list)
    unreferenced: list[WcSide] = []
    for record in free_wc:
        sos_id = sos_id_from_reference(record.reference_id)
        if sos_id is not None and str(sos_id) in sos_by_id:
            claims[str(sos_id)].append(record)
        else:
            unreferenced.append(record)
    for sos_id, records in claims.items():
        if len(records) == 1 and sos_id in free_sos:
            result.matches.append(Match(sos_id, records[0].id, "reference"))
            free_sos.discard(sos_id)
        else:
            reason = ("SOS record is linked to another WC record" if sos_id not in free_sos
                      else "several WC records carry this SOS id as Reference ID")
            result.conflicts.append(Ambiguity((sos_id,), tuple(r.id for r in records), reason))
            free_sos.discard(sos_id)

    # 2. Natural keys, where each side has exactly one candidate.
    sos_by_key: dict[str, set[str]] = defaultdict(set)
    for sos_id in free_sos:
        for key in sos_by_id[sos_id].keys:
            sos_by_key[key].add(sos_id)
    wc_candidates = {record.id: set().union(*(sos_by_key.get(key, set()) for key in record.keys))
                     for record in unreferenced}
    claimed_by: dict[str, set[str]] = defaultdict(set)
    for wc_id, candidates in wc_candidates.items():
        for sos_id in candidates:
            claimed_by[sos_id].add(wc_id)
    reported: set[frozenset[str]] = set()
    for wc_id, candidates in wc_candidates.items():
        if not candidates:
            continue
        if len(candidates) == 1 and len(claimed_by[next(iter(candidates))]) == 1:
            result.matches.append(Match(next(iter(candidates)), wc_id, "key"))
            continue
        wc_ids = set().union(*(claimed_by[sos_id] for sos_id in candidates))
        group = frozenset(candidates | {f"wc:{w}" for w in wc_ids})
        if group not in reported:
            reported.add(group)
            result.ambiguous.append(Ambiguity(tuple(sorted(candidates)), tuple(sorted(wc_ids)),
                                              f"{len(candidates)} SOS and {len(wc_ids)} WC records share a key"))
    return result


def email_key(email: str | None) -> frozenset[str]:
    value = (email or "").strip().casefold()
    return frozenset({value}) if value else frozenset()


def number_key(number: str | None) -> frozenset[str]:
    value = (number or "").strip()
    return frozenset({value}) if value else frozenset()


def wc_order_keys(display_id: str | None, prefix: str, suffix: str) -> frozenset[str]:
    """The SOS numbers a WC order may have: the one the push gives it (R-ORD-4), or its own
    number (an order that came from SOS shows the SOS number)."""
    number = (display_id or "").strip()
    if not number:
        return frozenset()
    return frozenset({fit_sos_number(prefix, number, suffix), number})


def first_sync_order_origin(sos_number: str, wc_display_id: str | None, wc_source: str | None,
                            prefix: str, suffix: str) -> Literal["wc", "sos"]:
    """Where a matched order was placed: decides which way its edits flow afterwards (R-ORD-2:
    WC-placed orders push their edits; R-ORD-7: SOS-origin orders are edited in SOS)."""
    if wc_source == PULLED_ORDER_SOURCE:
        return "sos"
    if is_pushed_order_number(sos_number, prefix, suffix):
        return "wc"
    pushed_number = fit_sos_number(prefix, wc_display_id, suffix) if (wc_display_id or "").strip() else None
    # Without prefix/suffix a pushed order has WC's own number: an order in WC is placed there
    # unless our pull made it, which `source` says.
    return "wc" if sos_number == pushed_number else "sos"
