"""A throttled SOS answer is the account's rate limit (SOS-A3), never counted as an SOS outage."""

from __future__ import annotations

import pytest

from sos_wiz_sync.clients.reasons import failure_reason
from sos_wiz_sync.clients.sos import SosError
from sos_wiz_sync.push.failures import is_permanent, push_failure_reason


@pytest.mark.parametrize("http_status", [429, 200])
def test_a_throttle_in_either_form_is_reported_as_the_accounts_rate_limit_not_sos_502(http_status):
    throttled = SosError("POST", "/salesorder", http_status, "error", "Throttle limit exceeded")
    assert failure_reason(throttled) == "sos-throttled"
    assert push_failure_reason(throttled).startswith("sos-throttled: the SOS account's request rate limit")
    assert not is_permanent(throttled)  # SQS retries it


def test_an_sos_error_answered_with_http_200_is_still_an_sos_502():
    assert failure_reason(SosError("GET", "/item", 200, "error", "Something broke")) == "sos-502"
