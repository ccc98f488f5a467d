"""AWS for the local stack: moto server in this process, and the environment pointing boto3 at it.

moto keeps its state per process, not per server: every `MotoServer` started in one process
sees the same queues and tables. Keep the names of concurrent stacks apart (the runner derives
them from its stack name).
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from moto.server import DomainDispatcherApplication, create_backend_app
from moto.sqs import models as sqs_models
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from sos_wiz_sync.store.dynamo import dynamodb_client, dynamodb_resource

LOCAL_REGION = "us-east-1"
LOCAL_ACCOUNT_ID = "123456789012"  # moto's default account: the ARNs it generates use it

FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_SECURITY_TOKEN": "testing",
}


def aws_environment(endpoint_url: str, region: str = LOCAL_REGION) -> dict[str, str]:
    """What a process needs so that every boto3 client talks to moto and never to a real account."""
    return {
        "AWS_ENDPOINT_URL": endpoint_url,
        "AWS_DEFAULT_REGION": region,
        "AWS_REGION": region,
        **FAKE_CREDENTIALS,
    }


def use_local_aws(endpoint_url: str, region: str = LOCAL_REGION) -> None:
    """Point every boto3 client this process creates from now on at moto, the package's cached
    DynamoDB client and resource included (one made before would still talk to another endpoint)."""
    os.environ.update(aws_environment(endpoint_url, region))
    dynamodb_resource.cache_clear()
    dynamodb_client.cache_clear()


class QuietRequestHandler(WSGIRequestHandler):
    """No access-log line per request: boto3 makes many, and they drown what matters."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


class MotoServer:
    """moto server on 127.0.0.1 and a free port, in a daemon thread of this process.

    moto's own `ThreadedMotoServer` logs every request and polls for shutdown every 0.5 s;
    this serves the same moto application without either."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        self._host = host
        self._port = port
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self.endpoint_url: str | None = None

    def start(self) -> str:
        _make_sqs_fifo_deduplication_faithful()
        application = _OneRequestAtATime(DomainDispatcherApplication(create_backend_app))
        self._server = make_server(self._host, self._port, application, threaded=True,
                                   request_handler=QuietRequestHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="moto-server", daemon=True)
        self._thread.start()
        self.endpoint_url = f"http://{self._host}:{self._server.server_port}"
        return self.endpoint_url

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._thread.join()
            self._server.server_close()
            self._server = self._thread = self.endpoint_url = None

    def __enter__(self) -> "MotoServer":
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


class _OneRequestAtATime:
    """moto's backends are not thread-safe: a conditional write checks, then writes; an SQS
    receive reads which FIFO message groups are in flight, then marks its own messages. Two
    requests interleaving there both succeed, or hand out two messages of one group at once —
    what DynamoDB and SQS never do, and what the runner's parallel containers would provoke.
    So moto serves one request at a time (a millisecond or two each; no caller long-polls)."""

    def __init__(self, application: Any):
        self._application = application
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        with self._lock:
            answer = self._application(environ, start_response)
            try:
                return list(answer)
            finally:
                if hasattr(answer, "close"):
                    answer.close()


_DEDUP_WINDOW_MS = sqs_models.DEDUPLICATION_TIME_IN_SECONDS * 1000


def _make_sqs_fifo_deduplication_faithful() -> None:
    """Two places where moto's FIFO deduplication differs from SQS, both of which would let a
    test pass locally that loses or duplicates messages on AWS:

    - moto deduplicates only against messages still in the queue; SQS remembers a deduplication
      id for five minutes after the send, whatever became of the message (deleted, or moved to
      the DLQ), and silently drops a resend in that window;
    - when SQS moves a FIFO message to its DLQ it replaces the deduplication id by the message
      id, so that two dead messages never deduplicate each other in the DLQ; moto keeps the old
      id. A moved message is told from a fresh send by its receive count.

    Both per queue (moto ignores DeduplicationScope messageGroup: stricter, never laxer).
    Patches the in-process moto models once; has no effect on a moto server in another process.
    """
    queue_cls = sqs_models.Queue
    if getattr(queue_cls, "_local_fifo_dedup_patched", False):
        return
    original_add = queue_cls.add_message

    def add_message(self: sqs_models.Queue, message: sqs_models.Message) -> None:
        if self.fifo_queue and message.approximate_receive_count:
            message.deduplication_id = message.id
        elif self.fifo_queue and message.deduplication_id:
            sent = self.__dict__.setdefault("_deduplication_ids_sent", OrderedDict())  # in send order
            while sent and next(iter(sent.values())) <= message.sent_timestamp - _DEDUP_WINDOW_MS:
                sent.popitem(last=False)
            if message.deduplication_id in sent:
                return
            sent[message.deduplication_id] = message.sent_timestamp
        original_add(self, message)

    queue_cls.add_message = add_message
    queue_cls._local_fifo_dedup_patched = True
