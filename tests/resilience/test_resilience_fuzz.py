"""Scenario 4 — fuzzed webhooks (DESIGN: ingress answers 4xx with a reason on bad input, never a
5xx; nothing is enqueued that is not a valid, authentic event).

Generated requests go through the HTTP API route of template.yaml (the runner's API Gateway
payload 2.0, text or base64 bodies by content type) to the real ingress handler and moto's FIFO
push queue. Each request is built with the answer it must get:

| kind | built as | answer | queued |
|---|---|---|---|
| valid | a signed thin customer event (`{"id","event","timestamp","data":{"id"}}` plus whatever else a sender adds), unicode in its ids, any content type, the signature (hex or base64) among others (rotation) | 202 (ids SQS cannot carry raw, e.g. U+FFFF, are escaped in the message) | once, as "customer X changed" |
| unhandled | a signed envelope of an event we do not act on (order, payment, deleted, invented) | 200 | no |
| replayed | an accepted request sent again verbatim | 202 | no (FIFO deduplication) |
| broken | signed bytes that are not a JSON object: random bytes, text, truncated JSON, other JSON types | 400 | no |
| mistyped / missing | a valid event with one field of a wrong type, or a required field removed | 400 naming the field | no |
| forged | a valid event with no, empty, garbled, wrong-secret or another body's signature, or an altered body | 401 | no |
| huge | above 256 KiB, signed or not | 413 | no |

Every answer below 500; every 4xx a JSON body with a non-empty reason that quotes no value from
the request; afterwards the queue holds exactly the change messages of the valid events, each
once; no log line holds the personal data the bodies carried.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import re
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from local.stack import LOCAL_WEBHOOK_SECRET
from resilience_logs import Needles, find_leaks
from sos_wiz_sync.push.events import RecordChanged, queued

ROUTE = "/webhooks/wizcommerce"
MAX_BODY = 256 * 1024
# SQS message characters (#x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD | #x10000-#x10FFFF)
NOT_SQS_TEXT = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
CONTENT_TYPES = ("application/json", "application/json; charset=utf-8", "text/plain", "application/octet-stream",
                 "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", None)
_ids = itertools.count(1)


@dataclass
class Request:
    kind: str
    body: bytes
    headers: dict[str, str]
    status: int
    message: str | None = None         # the change message a valid event is queued as
    raw_ids: str = ""                  # its envelope and record ids as the sender wrote them
    field_name: str | None = None      # the field a 400 must name
    markers: list[str] = field(default_factory=list)  # values from the body no answer may quote

    def __repr__(self) -> str:
        shown = self.body if len(self.body) <= 300 else self.body[:300] + b"..."
        return (f"Request({self.kind!r}, {len(self.body)} bytes {shown!r}, headers={self.headers!r}, "
                f"expects {self.status}, field={self.field_name!r})")


def sign(body: bytes, secret: str = LOCAL_WEBHOOK_SECRET, *, hex_digest: bool = False) -> str:
    digest = hmac.new(secret.encode(), body, hashlib.sha256)
    return digest.hexdigest() if hex_digest else base64.b64encode(digest.digest()).decode()


def headers(body: bytes, content_type: str | None, signature: str | None) -> dict[str, str]:
    found = {} if content_type is None else {"content-type": content_type}
    if signature is not None:
        found["x-wizcommerce-signature"] = signature
    return found


# -- events ------------------------------------------------------------------------------------

# Any unicode, and now and then what trips encoders: noncharacters SQS refuses raw, a line
# separator, an emoji, NUL (JSON escapes it)
free_text = st.builds(str.__add__, st.text(max_size=40), st.sampled_from(["", "", "", "\ufffe", "\uffff", "\u2028",
                                                                         "🙂", "\u0000"]))


@st.composite
def events(draw) -> tuple[dict, list[str]]:
    """A valid thin customer event with unique ids, unicode in them, and personal data a sender
    might add beside the id (the ingress ignores it; no log may show it)."""
    # Fixed-width numbers: hypothesis replays a case and needs its sizes (the truncation points
    # of a broken body drawn from this one) to be the same whatever number the counter is at.
    number = next(_ids)
    n = f"{number:07d}"
    email, phone = f"fuzz{n}@buyer{n}.example", f"+1-555-{number % 1000:03d}-{number % 10000:04d}"
    kind = draw(st.sampled_from(("customer.created", "customer.updated")))
    data = {"id": f"cust_fuzz_{n}{draw(free_text)}"[:128], "email": email, "phone": phone,
            "address_line_1": f"{n} Fuzz Lane"}
    envelope = {"id": f"webhook_fuzz_{n}_{draw(st.text(max_size=8))}", "event": kind,
                "timestamp": "2025-01-01T00:00:00.000Z", "data": data}
    return envelope, [email, phone, data["address_line_1"]]


def change_message(event: dict, auth: str) -> str:
    """The queued message, carrying the signature form that verified the delivery (WC-A6)."""
    return queued(RecordChanged(id=event["id"], entity="customer", wc_id=event["data"]["id"], source="webhook",
                                event=event["event"], auth=auth)).body


def serialized(event: dict, ascii_only: bool) -> bytes:
    return json.dumps(event, ensure_ascii=ascii_only).encode()


@st.composite
def valid_requests(draw) -> Request:
    event, personal = draw(events())
    body = serialized(event, draw(st.booleans()))
    others = draw(st.lists(st.binary(min_size=32, max_size=32).map(lambda raw: base64.b64encode(raw).decode()),
                           max_size=2))
    hex_digest = draw(st.booleans())
    signatures = draw(st.permutations([sign(body, hex_digest=hex_digest), *others]))
    # Ids with characters SQS cannot carry raw are queued escaped, never refused (issue 13)
    return Request("valid", body, headers(body, draw(st.sampled_from(CONTENT_TYPES)), ", ".join(signatures)),
                   202, message=change_message(event, "hmac-hex" if hex_digest else "hmac-base64"),
                   raw_ids=event["id"] + event["data"]["id"], markers=personal)


@st.composite
def unhandled_requests(draw) -> Request:
    event, personal = draw(events())
    event["event"] = draw(st.sampled_from(["order.confirmed", "payment.succeeded", "customer.deleted",
                                           "customer.contact.updated"])
                          | st.from_regex(r"fuzz\.[a-z_]{1,20}", fullmatch=True))
    body = serialized(event, True)
    return Request("unhandled", body, headers(body, "application/json", sign(body)), 200, markers=personal)


@st.composite
def broken_requests(draw) -> Request:
    event, personal = draw(events())
    valid = serialized(event, True)
    body = draw(st.one_of(
        st.binary(max_size=300),
        st.text(max_size=200).map(str.encode),
        st.integers(0, len(valid) - 1).map(lambda end: valid[:end]),
        st.sampled_from([b"[]", b"null", b"42", b'"text"', b"true", b"[{}]", b"{}"]),
    ))
    return Request("broken", body, headers(body, draw(st.sampled_from(CONTENT_TYPES)), sign(body)), 400,
                   markers=personal)


# (path in the event, a value of the wrong type) — values pydantic's lax mode cannot coerce
MISTYPES = [
    (("id",), {"x": 1}), (("event",), ["customer.updated"]), (("timestamp",), {"when": "now"}),
    (("timestamp",), "yesterday-ish"), (("data",), ["not", "an", "object"]), (("data", "id"), {"id": 1}),
]
REQUIRED = [("id",), ("event",), ("timestamp",), ("data",), ("data", "id")]


@st.composite
def invalid_field_requests(draw) -> Request:
    event, personal = draw(events())
    path, value = draw(st.sampled_from(MISTYPES)) if draw(st.booleans()) else (draw(st.sampled_from(REQUIRED)), None)
    target = event
    for key in path[:-1]:
        target = target[key]
    if value is None:
        target.pop(path[-1])
        kind = "missing"
    else:
        target[path[-1]] = value
        kind = "mistyped"
    body = serialized(event, True)
    return Request(kind, body, headers(body, "application/json", sign(body)), 400, field_name=path[-1],
                   markers=personal)


@st.composite
def forged_requests(draw) -> Request:
    event, personal = draw(events())
    body = serialized(event, True)
    how = draw(st.sampled_from(["none", "empty", "garbled", "wrong secret", "other body", "altered body",
                                "header key", "other header"]))
    signature: str | None = {
        "none": None, "empty": "", "garbled": draw(st.text(min_size=1, max_size=60).filter(lambda t: "," not in t)),
        "wrong secret": sign(body, draw(st.text(min_size=1, max_size=30).filter(lambda s: s != LOCAL_WEBHOOK_SECRET))),
        "other body": sign(body + b" "), "altered body": sign(body), "header key": None, "other header": None,
    }[how]
    sent = body.replace(b"fuzz", b"fuzZ", 1) if how == "altered body" else body
    found = headers(sent, "application/json", signature)
    if how == "header key":
        found["x-webhook-key"] = LOCAL_WEBHOOK_SECRET  # header mode is not what this account uses
    if how == "other header":
        found["x-wizcommerce-signatures"] = sign(body)
    return Request(f"forged ({how})", sent, found, 401, markers=personal)


@st.composite
def huge_requests(draw) -> Request:
    size = draw(st.integers(MAX_BODY + 1, 3 * MAX_BODY))
    if draw(st.booleans()):
        event, personal = draw(events())
        event["data"]["note"] = "n" * size
        body = serialized(event, True)
    else:
        chunk = draw(st.binary(min_size=1, max_size=16))
        body, personal = chunk * (size // len(chunk) + 1), []
    signature = sign(body) if draw(st.booleans()) else None
    return Request("huge", body, headers(body, draw(st.sampled_from(CONTENT_TYPES)), signature), 413,
                   markers=personal)


@dataclass(frozen=True)
class Replay:
    pick: int  # which of the recently accepted requests to send again


requests = st.one_of(valid_requests(), unhandled_requests(), broken_requests(), invalid_field_requests(),
                     forged_requests(), huge_requests(), st.integers(min_value=0).map(Replay))
REPLAYABLE = 20  # the last accepted requests a replay picks from: well inside SQS's 5-minute window


# -- the scenario ------------------------------------------------------------------------------

def queued_bodies(runtime) -> Counter:
    """Every message on the push queue (taken off it)."""
    url, found = runtime.ref("PushQueue"), Counter()
    while messages := runtime.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=300
                                                  ).get("Messages", []):
        found.update(message["Body"] for message in messages)
    return found


def test_fuzzed_webhooks_get_no_5xx_queue_only_valid_events_and_reject_with_a_reason(make_stack, scale, figures,
                                                                                    log_journal):
    runtime = make_stack().stack.runtime
    answers: Counter = Counter()
    accepted: list[Request] = []
    expected_queue: Counter = Counter()
    personal = Needles()
    started = time.monotonic()

    @settings(max_examples=scale.fuzz_examples, derandomize=True, database=None, deadline=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much])
    @given(request=requests)
    def one_request(request: Request | Replay) -> None:
        if isinstance(request, Replay):
            if not accepted:
                return
            recent = accepted[-REPLAYABLE:]
            request = replace(recent[request.pick % len(recent)], kind="replayed")
        # Given a request built to get a known answer; When it is posted to the webhook route
        answer = runtime.invoke_http("POST", ROUTE, request.body, request.headers)
        answers[(request.kind.split(" ")[0], answer.status)] += 1
        personal.add("personal data", "fuzzed body", request.markers)
        # Then it gets that answer, never a 5xx, and a rejection says why without quoting the body
        assert answer.status < 500, (request.kind, answer.status, answer.text[:300])
        assert answer.status == request.status, (request.kind, answer.status, answer.text[:300])
        if 400 <= answer.status < 500:
            reason = answer.json()["message"]
            assert reason.strip(), request.kind
            assert not any(marker in reason for marker in request.markers), reason
            if request.field_name:
                assert request.field_name in reason, (request.kind, request.field_name, reason)
        if request.kind == "valid" and answer.status == 202:
            accepted.append(request)
            expected_queue[request.message] += 1

    one_request()
    elapsed = time.monotonic() - started
    # And the push queue holds exactly the valid events' change messages, each once (a replay is
    # deduplicated)
    queued = queued_bodies(runtime)
    assert queued == expected_queue
    # And ids SQS cannot carry raw (U+FFFE, U+FFFF, NUL) were queued too, escaped, and decode back
    unqueueable_raw = sum(1 for request in accepted if NOT_SQS_TEXT.search(request.raw_ids))
    assert unqueueable_raw > 0
    assert not any(NOT_SQS_TEXT.search(body) for body in queued)
    assert {RecordChanged.model_validate_json(request.message).wc_id for request in accepted} <= {
        RecordChanged.model_validate_json(body).wc_id for body in queued}
    # And no log line holds the personal data the bodies carried
    assert find_leaks(log_journal.lines, personal) == []
    by_kind = Counter()
    for (kind, status), count in answers.items():
        by_kind[f"{kind} {status}"] += count
    figures.record("fuzz", requests=sum(answers.values()), answers_5xx=sum(n for (_, s), n in answers.items()
                                                                            if s >= 500),
                   queued=sum(expected_queue.values()), queued_with_ids_sqs_cannot_carry=unqueueable_raw,
                   queued_invalid=0, seconds=round(elapsed, 1),
                   by_kind_and_status=dict(sorted(by_kind.items())))
    assert set(answers) >= {("valid", 202), ("unhandled", 200), ("replayed", 202), ("broken", 400),
                            ("mistyped", 400), ("missing", 400), ("forged", 401), ("huge", 413)}
