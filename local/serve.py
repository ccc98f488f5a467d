"""Serve the embedded stack from its own process until interrupted.

Prints one JSON line with the endpoints when ready, so another process (a benchmark, a demo
in another terminal) can use it, and drive the emulators through their `/_admin` endpoints.
This keeps the emulators' and moto's memory out of the measurements of the process under test.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from dataclasses import asdict

from .stack import EmbeddedStack


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=2000)
    parser.add_argument("--customers", type=int, default=50)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--with-ids", action="store_true", help="list the stocked, mapped SOS item ids too")
    args = parser.parse_args(argv)

    stack = EmbeddedStack(items=args.items, customers=args.customers, seed_value=args.seed)
    endpoints = stack.start()
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    ready = {"endpoints": asdict(endpoints), "wiz_api_key": stack.wiz.api_key,
             "sos_credentials": stack.sos.credentials(), "summary": _counts(stack.summary)}
    if args.with_ids:
        ready["stocked_mapped_item_ids"] = stack.stocked_mapped_item_ids()
    print(json.dumps(ready), flush=True)
    try:
        stopped.wait()
    except KeyboardInterrupt:
        pass
    finally:
        stack.stop()
        sys.exit(0)


def _counts(summary: dict) -> dict:
    return {key: (len(value) if isinstance(value, list) else value) for key, value in summary.items()}


if __name__ == "__main__":
    main()
