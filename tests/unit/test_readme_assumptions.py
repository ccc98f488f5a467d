"""README's "Where the real APIs may differ" lists every assumption of the contracts' Assumptions
index by its id (../shared/api/sos.md SOS-A1..A23, wizcommerce.md WC-A1..A19), one row each."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"
IDS = [f"SOS-A{n}" for n in range(1, 24)] + [f"WC-A{n}" for n in range(1, 20)]


def section(text: str, title: str) -> str:
    start = text.index(f"## {title}")
    end = text.find("\n## ", start + 1)
    return text[start:end if end != -1 else None]


def test_every_assumption_id_has_exactly_one_row():
    rows = re.findall(r"^\| ((?:SOS|WC)-A\d+) \|", section(README.read_text(), "Where the real APIs may differ"),
                      flags=re.MULTILINE)
    assert sorted(rows) == sorted(IDS)
