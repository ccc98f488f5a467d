"""Test-wide setup: the package under shared/ and the local stack are importable; no test
ever reaches a real AWS account."""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for path in (ROOT / "shared", ROOT):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "sos-wiz-sync-tests")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "SosWizSyncTests")
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")


def pytest_addoption(parser):
    # Here, not in tests/resilience/conftest.py: pytest reads options only from the top conftest.
    parser.addoption("--resilience-scale", choices=("default", "full"), default=None,
                     help="sizes of tests/resilience (default: $RESILIENCE_SCALE or 'default'; "
                          "'full' is for benchmarks/resilience.py)")
