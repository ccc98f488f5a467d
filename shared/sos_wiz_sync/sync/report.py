"""Run counts (R-OPS-2): seen, changed, unchanged, skipped by reason, failed by reason."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

FAILURE_SAMPLE_SIZE = 50  # enough to act on, small enough for one DynamoDB item


@dataclass
class RunCounts:
    seen: int = 0
    changed: int = 0
    unchanged: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    failed: dict[str, int] = field(default_factory=dict)
    notes: dict[str, int] = field(default_factory=dict)  # stream-specific counts, e.g. unchanged_after_hook
    gauges: dict[str, int] = field(default_factory=dict)  # latest readings, e.g. products without Reference ID
    failures: list[dict[str, Any]] = field(default_factory=list)

    def skip(self, reason: str, n: int = 1) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + n

    def note(self, name: str, n: int = 1) -> None:
        self.notes[name] = self.notes.get(name, 0) + n

    def fail(self, record_id: str, reason: str, **details: Any) -> None:
        self.failed[reason] = self.failed.get(reason, 0) + 1
        if len(self.failures) < FAILURE_SAMPLE_SIZE:
            self.failures.append({"record_id": record_id, "reason": reason, **details})

    def merge(self, other: "RunCounts") -> None:
        """Add a settled page's counts to the run's."""
        self.seen += other.seen
        self.changed += other.changed
        self.unchanged += other.unchanged
        for mine, theirs in ((self.skipped, other.skipped), (self.failed, other.failed), (self.notes, other.notes)):
            for key, n in theirs.items():
                mine[key] = mine.get(key, 0) + n
        self.gauges.update(other.gauges)
        self.failures.extend(other.failures[:max(0, FAILURE_SAMPLE_SIZE - len(self.failures))])

    @property
    def failed_total(self) -> int:
        return sum(self.failed.values())

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, value: dict[str, Any] | None) -> "RunCounts":
        return cls(**value) if value else cls()


def render_report(report: dict[str, Any]) -> str:
    """A run report as an operator reads it (R-OPS-2)."""
    def breakdown(counts: dict[str, int]) -> str:
        return ", ".join(f"{reason} {n}" for reason, n in sorted(counts.items())) or "none"

    lines = [
        f"run {report['run_id']}  stream {report['stream']}  status {report['status']}",
        f"  started {report['started_at']}  took {report['duration_seconds']} s in {report['invocations']} invocation(s)",
        f"  seen {report['seen']}  changed {report['changed']}  unchanged {report['unchanged']}",
        f"  skipped {sum(report['skipped'].values())}: {breakdown(report['skipped'])}",
        f"  failed {sum(report['failed'].values())}: {breakdown(report['failed'])}",
        f"  api calls: SOS {report['api_calls']['sos']}, WizCommerce {report['api_calls']['wiz']}",
    ]
    extras = {**report.get("notes", {}), **report.get("gauges", {})}
    if extras:
        lines.append(f"  notes: {breakdown(extras)}")
    for failure in report.get("failures", [])[:5]:
        detail = f" ({failure['detail']})" if failure.get("detail") else ""  # e.g. the record and field
        lines.append(f"  failure: record {failure['record_id']}: {failure['reason']}{detail}")
    probe = report.get("contract")  # the first sync's contract probe (R-OPS-5)
    if probe:
        cost = f"{probe['sos_calls']} SOS + {probe['wc_calls']} WizCommerce calls"
        if "settled" in probe:
            neither = "".join(f"; {row_id} fits neither reading: {seen}" for row_id, seen in probe["neither"].items())
            lines.append(f"  contract probe: {len(probe['settled'])} rows settled{neither} ({cost}); "
                         "sos-wiz-ops doctor --contract shows each")
        else:
            lines.append(f"  contract probe not finished ({probe['reason']}): rows stay as stored, safe defaults "
                         f"({cost})")
    for held in report.get("ambiguous", [])[:5]:  # the first sync's holds: they wait for a person
        lines.append(f"  held ({held['kind']}): {held['entity']} SOS {', '.join(held['sos_ids'])} / "
                     f"WC {', '.join(held['wc_ids'])}: {held['reason']}")
    return "\n".join(lines)
