"""The local runtime: template.yaml's resources in moto, and its real Lambda handlers invoked
behind emulated API Gateway HTTP API routes, SQS event-source mappings and EventBridge
Scheduler schedules — in containers (`containers=True`: each a process of its own, as many at
once per function as Lambda would run, local/container.py) or in this process, one at a time.

The template is the one source of truth: which handler serves which route or queue, with which
environment, is read from it, so a wrong handler path, variable or reference fails here.

Where this differs from AWS, on purpose:
- in this process, invocations run one at a time (os.environ is process-wide); every function
  gets its own copy of the project's modules (its code and layer folders), as if it ran in its
  own Lambda sandbox, and cannot import what only other functions' folders or layers hold;
  third-party packages are shared (so Powertools' cold-start flag is per process); a handler
  that overruns its Timeout is not killed: it finishes, then the invocation fails with
  `FunctionTimeout`, as on AWS (where its work would have stopped part-way);
- in containers, a function runs at most its concurrency at once (its SQS events'
  MaximumConcurrency, else its reserved concurrency, else `default_concurrency`); an invocation
  beyond that waits for a container instead of being throttled; a handler's exception comes
  back as a `HandlerError` (its type, message and stack trace), a timeout kills the container;
  a container's stdout and stderr, its CloudWatch log, go to this process's stdout;
- a failed SQS message becomes visible again after `retry_visibility_seconds` (default 0) so a
  test needn't wait; AWS waits the queue's full VisibilityTimeout (pass None for that);
- the SQS poller does short polls; AWS long-polls and batches within MaximumBatchingWindow.
"""

from __future__ import annotations

import base64
import functools
import importlib.util
import json
import logging
import os
import re
import secrets as random_tokens
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import parse_qsl, unquote

import boto3
from botocore.exceptions import ClientError
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from .aws import FAKE_CREDENTIALS, MotoServer, QuietRequestHandler, aws_environment
from .container import (Container, ContainerPool, ContainerSetup, ContainerSpec, FunctionIdentity, FunctionTimeout,
                        HandlerError, HandlerImportError, InvocationError, LambdaContext, UnimportableModules,
                        handler_not_found, import_module_error, marshal_result)
from .template import DEFAULT_STACK_NAME, IMPLICIT_HTTP_API, Template, TemplateError, cfn_string

log = logging.getLogger(__name__)

# Variables Lambda sets itself and refuses in a function's configuration.
RESERVED_VARIABLES = frozenset({
    "_HANDLER", "_X_AMZN_TRACE_ID", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
    "AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR",
})

# What a function keeps of the host process's environment: the OS basics a sandbox has too,
# plus what moto and pytest read while an invocation runs. Everything else (a developer's
# exports, a test's setdefault) is dropped, so a variable the template forgot fails here.
_HOST_VARIABLES = re.compile(
    r"PATH|HOME|USER|LANG|LC_\w+|TZ|TMPDIR|TEMP|TMP|PYTHON\w*|VIRTUAL_ENV|SSL_CERT_\w+"
    r"|REQUESTS_CA_BUNDLE|CURL_CA_BUNDLE|(?i:(https?|no|all)_proxy)|MOTO_\w+|PYTEST_\w+")

_QUEUE_ATTRIBUTES = (
    "FifoQueue", "ContentBasedDeduplication", "DeduplicationScope", "FifoThroughputLimit",
    "VisibilityTimeout", "DelaySeconds", "MessageRetentionPeriod", "MaximumMessageSize",
    "ReceiveMessageWaitTimeSeconds", "RedrivePolicy", "RedriveAllowPolicy",
)
_TABLE_OPTIONS = ("ProvisionedThroughput", "GlobalSecondaryIndexes", "LocalSecondaryIndexes",
                  "StreamSpecification")
_PASSWORD_OPTIONS = {"PasswordLength": int, "ExcludeCharacters": str, "ExcludeNumbers": bool,
                     "ExcludePunctuation": bool, "ExcludeUppercase": bool, "ExcludeLowercase": bool,
                     "IncludeSpace": bool, "RequireEachIncludedType": bool}
_TEXT_MEDIA = re.compile(r"text/.*|application/(json|xml|javascript)|.*\+(json|xml)")
_SQS_BATCH_LIMIT = 10


# -- what the template declares, resolved --------------------------------------------------

@dataclass(frozen=True)
class LambdaFunction:
    logical_id: str
    name: str
    arn: str
    handler: str
    code_dir: Path
    module_file: Path
    layer_dirs: tuple[Path, ...]
    timeout: float
    memory_mb: int
    runtime: str
    environment: Mapping[str, str]
    reserved_concurrency: int | None = None  # ReservedConcurrentExecutions

    @property
    def identity(self) -> FunctionIdentity:
        return FunctionIdentity(self.name, self.arn, self.memory_mb)

    @property
    def import_roots(self) -> tuple[Path, ...]:
        """Where this function's own modules come from (its sandbox's /var/task and /opt/python)."""
        return (self.code_dir, *self.layer_dirs)


@dataclass(frozen=True)
class LocalQueue:
    logical_id: str
    name: str
    url: str
    arn: str
    fifo: bool
    content_based_deduplication: bool
    visibility_timeout: int
    dead_letter_arn: str | None
    redrive_allow_policy: Mapping[str, Any] | None


@dataclass(frozen=True)
class HttpRoute:
    function_id: str
    api_id: str
    method: str  # upper case, or ANY
    path: str | None  # None: the $default route
    pattern: re.Pattern[str] | None

    @property
    def route_key(self) -> str:
        return "$default" if self.path is None else f"{self.method} {self.path}"

    def specificity(self) -> tuple[bool, bool, int, bool]:
        """Sort key, most specific first: API Gateway prefers exact paths over parameters over
        greedy parameters, an explicit method over ANY, and $default last."""
        path = self.path or ""
        return self.path is None, "+}" in path, path.count("{"), self.method == "ANY"


@dataclass(frozen=True)
class SqsTrigger:
    function_id: str
    queue_id: str
    batch_size: int
    report_batch_item_failures: bool
    enabled: bool
    maximum_concurrency: int | None = None  # ScalingConfig.MaximumConcurrency


_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
_RATE_UNIT_MINUTES = {"minute": 1, "hour": 60, "day": 1440}


def _rate_minutes(expression: str) -> float | None:
    """Minutes between firings of a `rate(N unit)` schedule expression; None for any other."""
    match = _RATE.match(expression.strip())
    return int(match[1]) * _RATE_UNIT_MINUTES[match[2].rstrip("s")] if match else None


@dataclass(frozen=True)
class Schedule:
    logical_id: str
    name: str
    arn: str
    expression: str
    timezone: str
    enabled: bool
    queue_id: str | None     # the target is a queue of the template...
    function_id: str | None  # ...or one of its functions (invoked, as Scheduler does, asynchronously)
    input: str
    message_group_id: str | None


# -- what invocations return -----------------------------------------------------------------

@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: dict[str, str]
    body: bytes
    cookies: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return self.body.decode()

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class DrainResult:
    batches: int = 0
    received: int = 0
    deleted: int = 0
    failed: int = 0  # left on the queue for a retry (or, past maxReceiveCount, for the DLQ)
    errors: list[BaseException] = field(default_factory=list)  # what the handler raised
    # Batches of one drain may be delivered in parallel (containers): counts change under it.
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)


@dataclass(frozen=True)
class QueueCounts:
    visible: int
    in_flight: int
    delayed: int

    @property
    def total(self) -> int:
        return self.visible + self.in_flight + self.delayed


class LocalRuntime:
    """template.yaml running locally. `start()` (or `with`) creates the AWS resources in moto;
    then `invoke`, `invoke_http` / `start_http`, `drain` / `start_pollers`, `fire_schedule` and
    `redrive` drive the functions the way AWS would."""

    def __init__(self, template_path: str | Path, project_root: str | Path | None = None, *,
                 parameters: Mapping[str, Any] | None = None,
                 secret_values: Mapping[str, Any] | None = None,
                 endpoint_url: str | None = None,
                 stack_name: str = DEFAULT_STACK_NAME,
                 retry_visibility_seconds: int | None = 0,
                 timeouts: Mapping[str, float] | None = None,
                 containers: bool = False,
                 default_concurrency: int = 4,
                 container_setup: Iterable[ContainerSetup] = ()):
        """
        template_path: the SAM template; project_root: what CodeUri/ContentUri are relative to
        (default: the template's folder, as for `sam build`). parameters: overrides of the
        template's parameter defaults. secret_values: initial value per secret logical id (a
        dict is stored as JSON); other secrets get SecretString or GenerateSecretString.
        endpoint_url: a running moto server to use, else one is started (and stopped) here.
        stack_name: prefix of the derived physical names; moto state is per process, so
        runtimes sharing a process need different stack names. timeouts: per function logical
        id, a Timeout to use instead of the template's (e.g. to test a run near its limit).
        containers: run each function in containers, processes of their own (local/container.py),
        up to its concurrency at once, as Lambda does; else in this process, one invocation at a
        time (a test can then reach into a handler, e.g. monkeypatch what it calls). A function's
        concurrency: its SQS events' ScalingConfig.MaximumConcurrency, else its
        ReservedConcurrentExecutions, else `default_concurrency`. container_setup: code run in
        every container before its cold start (also `self.container_setup`, a list).
        """
        self.template = Template(template_path, parameters=parameters, stack_name=stack_name)
        self.project_root = Path(project_root).resolve() if project_root else self.template.path.parent
        self.retry_visibility_seconds = retry_visibility_seconds
        self._secret_values = dict(secret_values or {})
        self._timeouts = dict(timeouts or {})
        self.containers = containers
        self.default_concurrency = default_concurrency
        self.container_setup: list[ContainerSetup] = list(container_setup)
        # Who else reads the containers' log lines (this process's stdout gets them anyway).
        self.output_listeners: list[Callable[[str], None]] = []
        self._pools: dict[str, ContainerPool] = {}
        self._pools_lock = threading.Lock()
        self._output_lock = threading.Lock()
        self._endpoint_url = endpoint_url
        self._moto: MotoServer | None = None

        self.functions: dict[str, LambdaFunction] = {}
        self.queues: dict[str, LocalQueue] = {}
        self.routes: list[HttpRoute] = []
        self.triggers: list[SqsTrigger] = []
        self.schedules: dict[str, Schedule] = {}
        self._layer_dirs: dict[str, Path] = {}  # layer ARN → folder on sys.path
        self._api_stages: dict[str, str] = {}  # HTTP API id → stage name
        self.sqs: Any = None
        self.dynamodb: Any = None
        self.secretsmanager: Any = None

        self._invoke_lock = threading.Lock()
        self._handlers: dict[str, Callable[[Any, Any], Any]] = {}
        self._modules: dict[str, dict[str, ModuleType]] = {}  # per function: its own copies
        self._project_roots: tuple[Path, ...] = ()  # every code and layer folder of the template
        self._foreign_modules: dict[str, frozenset[str]] = {}  # per function: what it cannot import
        self._http_server: Any = None
        self._http_thread: threading.Thread | None = None
        self.http_url: str | None = None
        self._pollers: list[threading.Thread] = []
        self._schedulers: list[threading.Thread] = []
        self._stop_schedules = threading.Event()
        self._stop_polling = threading.Event()

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def endpoint_url(self) -> str:
        if self._endpoint_url is None:
            raise RuntimeError("LocalRuntime is not started")
        return self._endpoint_url

    def start(self) -> "LocalRuntime":
        if self._endpoint_url is None:
            self._moto = MotoServer()
            self._endpoint_url = self._moto.start()
        self.sqs, self.dynamodb, self.secretsmanager = (
            _client(service, self._endpoint_url, self.template.region)
            for service in ("sqs", "dynamodb", "secretsmanager"))
        self._provision()
        return self

    def stop(self) -> None:
        self.stop_scheduler()
        self.stop_pollers()
        self.stop_http()
        with self._pools_lock:
            pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            pool.close()
        if self._moto is not None:
            self._moto.stop()
            self._moto = None
            self._endpoint_url = None

    def __enter__(self) -> "LocalRuntime":
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def aws_environment(self) -> dict[str, str]:
        """Variables that point a process's boto3 at this runtime's moto (see local.aws)."""
        return aws_environment(self.endpoint_url, self.template.region)

    def outputs(self) -> dict[str, Any]:
        """Physical names by logical id: table names, queue URLs, secret ARNs, and `HttpApiUrl`
        once the HTTP front runs."""
        outputs = {logical_id: self.template.ref(logical_id)
                   for kind in ("AWS::DynamoDB::Table", "AWS::SQS::Queue", "AWS::SecretsManager::Secret")
                   for logical_id in self.template.resources(kind)}
        if self.http_url:
            outputs["HttpApiUrl"] = self.http_url
        return outputs

    def ref(self, logical_id: str) -> Any:
        """What `!Ref logical_id` resolves to locally."""
        return self.template.ref(logical_id)

    # -- provisioning --------------------------------------------------------------------------

    def _provision(self) -> None:
        secrets = self.template.resources("AWS::SecretsManager::Secret")
        unknown = sorted(set(self._secret_values) - set(secrets))
        if unknown:
            raise TemplateError(f"secret_values: no AWS::SecretsManager::Secret named {', '.join(unknown)}")
        provisioners = {
            "AWS::SecretsManager::Secret": self._create_secret,
            "AWS::DynamoDB::Table": self._create_table,
            "AWS::SQS::Queue": self._create_queue,
            "AWS::Serverless::LayerVersion": self._load_layer,
            "AWS::Serverless::HttpApi": self._load_http_api,
            "AWS::Serverless::Function": self._load_function,
            "AWS::Scheduler::Schedule": self._load_schedule,
        }
        pending = {logical_id: provisioners[kind] for kind in provisioners
                   for logical_id in self.template.resources(kind)}
        done: set[str] = set()

        def provision(logical_id: str, trail: tuple[str, ...]) -> None:
            # Dependencies first, so every Ref/GetAtt in a resource's properties has its value.
            if logical_id in done:
                return
            if logical_id in trail:
                raise TemplateError(f"circular references: {' -> '.join((*trail, logical_id))}")
            for dependency in sorted(self.template.dependencies(logical_id) & pending.keys()):
                provision(dependency, (*trail, logical_id))
            pending[logical_id](logical_id)
            done.add(logical_id)

        for logical_id in pending:
            provision(logical_id, ())
        if len({route.api_id for route in self.routes}) > 1:
            raise TemplateError("HttpApi events use several APIs; the local front serves one")
        code_dirs = (function.code_dir for function in self.functions.values())
        self._project_roots = tuple(dict.fromkeys((*self._layer_dirs.values(), *code_dirs)))
        for function in self.functions.values():
            others = set(self._project_roots) - set(function.import_roots)
            self._foreign_modules[function.logical_id] = frozenset(
                _top_level_modules(others) - _top_level_modules(function.import_roots))

    def _physical_name(self, logical_id: str, suffix: str = "") -> str:
        return f"{self.template.stack_name}-{logical_id}{suffix}"

    def _create_secret(self, logical_id: str) -> None:
        prop = self.template.prop
        request = {"Name": prop(logical_id, "Name") or self._physical_name(logical_id)}
        if description := prop(logical_id, "Description"):
            request["Description"] = description
        if logical_id in self._secret_values:
            value = self._secret_values[logical_id]
            request["SecretString"] = value if isinstance(value, str) else json.dumps(value)
        elif (value := prop(logical_id, "SecretString")) is not None:
            request["SecretString"] = value
        elif (spec := prop(logical_id, "GenerateSecretString")) is not None:
            request["SecretString"] = self._generated_secret(logical_id, spec)
        # Neither: CloudFormation creates the secret without a value, and so do we.
        created = self._create(logical_id, request["Name"], lambda: self.secretsmanager.create_secret(**request))
        arn = created["ARN"]
        self.template.register(logical_id, arn, Id=arn)

    def _generated_secret(self, logical_id: str, spec: Mapping[str, Any]) -> str:
        options = {key: (_is_true(spec[key]) if kind is bool else kind(spec[key]))
                   for key, kind in _PASSWORD_OPTIONS.items() if key in spec}
        password = self.secretsmanager.get_random_password(**options)["RandomPassword"]
        template, key = spec.get("SecretStringTemplate"), spec.get("GenerateStringKey")
        if (template is None) != (key is None):
            raise TemplateError(f"Resources.{logical_id}.Properties.GenerateSecretString: "
                                "SecretStringTemplate and GenerateStringKey go together")
        if template is None:
            return password
        return json.dumps({**json.loads(template), key: password})

    def _create_table(self, logical_id: str) -> None:
        prop = self.template.prop
        name = prop(logical_id, "TableName") or self._physical_name(logical_id)
        request = {
            "TableName": name,
            "KeySchema": prop(logical_id, "KeySchema"),
            "AttributeDefinitions": prop(logical_id, "AttributeDefinitions"),
            "BillingMode": prop(logical_id, "BillingMode", default="PROVISIONED"),
        }
        request.update({key: value for key in _TABLE_OPTIONS
                        if (value := prop(logical_id, key)) is not None})
        table = self._create(logical_id, name, lambda: self.dynamodb.create_table(**request))["TableDescription"]
        ttl = prop(logical_id, "TimeToLiveSpecification")
        if ttl and _is_true(ttl.get("Enabled")):
            self.dynamodb.update_time_to_live(TableName=name, TimeToLiveSpecification={
                "AttributeName": ttl["AttributeName"], "Enabled": True})
        attributes = {"Arn": table["TableArn"]}
        if "LatestStreamArn" in table:
            attributes["StreamArn"] = table["LatestStreamArn"]
        self.template.register(logical_id, name, **attributes)

    def _create_queue(self, logical_id: str) -> None:
        prop = self.template.prop
        fifo = _is_true(prop(logical_id, "FifoQueue", default=False))
        name = prop(logical_id, "QueueName") or self._physical_name(logical_id, ".fifo" if fifo else "")
        attributes = {key: json.dumps(value) if isinstance(value, dict) else cfn_string(value)
                      for key in _QUEUE_ATTRIBUTES if (value := prop(logical_id, key)) is not None}
        self._ensure_no_queue(logical_id, name)
        url = self.sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        self.queues[logical_id] = LocalQueue(
            logical_id=logical_id, name=name, url=url, arn=arn, fifo=fifo,
            content_based_deduplication=_is_true(attributes.get("ContentBasedDeduplication", False)),
            visibility_timeout=int(attributes.get("VisibilityTimeout", 30)),
            dead_letter_arn=(prop(logical_id, "RedrivePolicy") or {}).get("deadLetterTargetArn"),
            redrive_allow_policy=prop(logical_id, "RedriveAllowPolicy"))
        self._check_redrive_allowed(self.queues[logical_id])
        self.template.register(logical_id, url, Arn=arn, QueueName=name, QueueUrl=url)

    def _check_redrive_allowed(self, source: LocalQueue) -> None:
        # SQS refuses a RedrivePolicy naming a DLQ whose RedriveAllowPolicy excludes the source;
        # moto ignores RedriveAllowPolicy, so the check is here.
        dlq = next((queue for queue in self.queues.values() if queue.arn == source.dead_letter_arn), None)
        policy = (dlq and dlq.redrive_allow_policy) or {"redrivePermission": "allowAll"}
        permission = policy.get("redrivePermission")
        if permission == "denyAll" or (permission == "byQueue"
                                       and source.arn not in policy.get("sourceQueueArns", [])):
            raise TemplateError(f"Resources.{source.logical_id}.Properties.RedrivePolicy: the "
                                f"RedriveAllowPolicy of {dlq.logical_id} does not allow it as a source")

    def _ensure_no_queue(self, logical_id: str, name: str) -> None:
        # CreateQueue answers an existing queue's URL when the attributes match: refuse instead,
        # a leftover queue would carry another stack's messages.
        try:
            self.sqs.get_queue_url(QueueName=name)
        except ClientError as error:
            if "NonExistentQueue" in error.response["Error"]["Code"]:
                return
            raise
        raise self._already_exists(logical_id, name)

    def _create(self, logical_id: str, name: str, create: Callable[[], Any]) -> Any:
        try:
            return create()
        except ClientError as error:
            if error.response["Error"]["Code"] in ("ResourceInUseException", "ResourceExistsException"):
                raise self._already_exists(logical_id, name) from error
            raise

    def _already_exists(self, logical_id: str, name: str) -> RuntimeError:
        return RuntimeError(f"{logical_id}: {name} already exists in moto. moto keeps its state per "
                            "process: give each LocalRuntime in a process its own stack_name")

    def _load_layer(self, logical_id: str) -> None:
        content_uri = self.template.prop(logical_id, "ContentUri")
        content_dir = self._local_dir(logical_id, "ContentUri", content_uri)
        # Lambda puts /opt/python on sys.path. `sam build` with BuildMethod python* copies the
        # folder there; without a build method the folder must already contain python/.
        build_method = self.template.metadata(logical_id).get("BuildMethod", "")
        import_dir = content_dir if build_method.startswith("python") else content_dir / "python"
        name = self.template.prop(logical_id, "LayerName") or self._physical_name(logical_id)
        arn = f"arn:aws:lambda:{self.template.region}:{self.template.account_id}:layer:{name}:1"
        self._layer_dirs[arn] = import_dir
        self.template.register(logical_id, arn)

    def _load_http_api(self, logical_id: str) -> None:
        auth = self.template.prop(logical_id, "Auth") or {}
        if auth.get("DefaultAuthorizer", "NONE") != "NONE":
            raise TemplateError(f"Resources.{logical_id}.Properties.Auth: authorizers are not emulated")
        api_id = re.sub(r"[^a-z0-9]", "", logical_id.lower())[:10]
        self._api_stages[api_id] = self.template.prop(logical_id, "StageName", default="$default")
        self.template.register(logical_id, api_id)

    def _load_function(self, logical_id: str) -> None:
        prop = self.template.prop
        where = f"Resources.{logical_id}.Properties"
        if prop(logical_id, "PackageType", default="Zip") != "Zip" or prop(logical_id, "InlineCode"):
            raise TemplateError(f"{where}: only zip functions with a CodeUri folder are emulated")
        code_dir = self._local_dir(logical_id, "CodeUri", prop(logical_id, "CodeUri"))
        handler = prop(logical_id, "Handler")
        module = (handler or "").rpartition(".")[0]
        module_file = code_dir / (module.replace(".", "/") + ".py")
        if not module or not module_file.is_file():
            raise TemplateError(f"{where}.Handler: {handler!r} needs "
                                f"{_relative(module_file, self.project_root)}, which does not exist")
        name = prop(logical_id, "FunctionName") or self._physical_name(logical_id)
        variables = prop(logical_id, "Environment", "Variables", default={})
        reserved = sorted(RESERVED_VARIABLES & variables.keys())
        if reserved:
            raise TemplateError(f"{where}.Environment.Variables: {', '.join(reserved)} reserved by Lambda")
        environment = {}
        for key, value in variables.items():
            if isinstance(value, (dict, list)):
                raise TemplateError(f"{where}.Environment.Variables.{key}: not a string: {value!r}")
            environment[key] = cfn_string(value)
        layer_dirs = []
        for arn in prop(logical_id, "Layers", default=[]):
            if arn in self._layer_dirs:
                layer_dirs.append(self._layer_dirs[arn])
            else:
                log.info("%s: layer %s is not in the template; its packages must be installed locally",
                         logical_id, arn)
        function = LambdaFunction(
            logical_id=logical_id, name=name,
            arn=f"arn:aws:lambda:{self.template.region}:{self.template.account_id}:function:{name}",
            handler=handler, code_dir=code_dir, module_file=module_file, layer_dirs=tuple(layer_dirs),
            timeout=float(prop(logical_id, "Timeout", default=3)),
            memory_mb=int(prop(logical_id, "MemorySize", default=128)),
            runtime=prop(logical_id, "Runtime", default=""), environment=environment,
            reserved_concurrency=_optional_int(prop(logical_id, "ReservedConcurrentExecutions")))
        self.functions[logical_id] = function
        self.template.register(logical_id, name, Arn=function.arn)
        for event_name, event in prop(logical_id, "Events", default={}).items():
            self._load_event(function, event_name, event)

    def _load_event(self, function: LambdaFunction, event_name: str, event: Mapping[str, Any]) -> None:
        where = f"Resources.{function.logical_id}.Properties.Events.{event_name}"
        kind, properties = event.get("Type"), event.get("Properties", {})
        if kind == "HttpApi":
            self.routes.append(self._http_route(function, where, properties))
        elif kind == "SQS":
            self.triggers.append(self._sqs_trigger(function, where, properties))
        else:
            raise TemplateError(f"{where}: event type {kind} is not emulated locally")

    def _http_route(self, function: LambdaFunction, where: str, properties: Mapping[str, Any]) -> HttpRoute:
        if str(properties.get("PayloadFormatVersion", "2.0")) != "2.0":
            raise TemplateError(f"{where}.PayloadFormatVersion: only 2.0 is emulated")
        if properties.get("Auth", {}).get("Authorizer", "NONE") != "NONE":
            raise TemplateError(f"{where}.Auth: authorizers are not emulated")
        api_id = properties.get("ApiId") or self.template.ref(IMPLICIT_HTTP_API)
        path, method = properties.get("Path"), properties.get("Method")
        if (path is None) != (method is None):
            raise TemplateError(f"{where}: give both Path and Method, or neither for $default")
        if path is None:
            return HttpRoute(function.logical_id, api_id, "ANY", None, None)
        return HttpRoute(function.logical_id, api_id, method.upper(), path, _route_pattern(path))

    def _sqs_trigger(self, function: LambdaFunction, where: str, properties: Mapping[str, Any]) -> SqsTrigger:
        queue = self._queue_by_arn(properties.get("Queue"), f"{where}.Queue")
        if "FilterCriteria" in properties:
            raise TemplateError(f"{where}.FilterCriteria: event filtering is not emulated")
        batch_size = int(properties.get("BatchSize", 10))
        batching_window = int(properties.get("MaximumBatchingWindowInSeconds", 0))
        if batch_size > _SQS_BATCH_LIMIT and (queue.fifo or batching_window < 1):
            raise TemplateError(f"{where}.BatchSize: above 10 needs a standard queue and "
                                "MaximumBatchingWindowInSeconds >= 1")
        # CreateEventSourceMapping refuses this, so the deployment would fail.
        if queue.visibility_timeout < function.timeout:
            raise TemplateError(f"{where}: queue {queue.logical_id} VisibilityTimeout "
                                f"{queue.visibility_timeout}s is less than the function Timeout "
                                f"{function.timeout:g}s")
        response_types = properties.get("FunctionResponseTypes", [])
        maximum_concurrency = _optional_int(properties.get("ScalingConfig", {}).get("MaximumConcurrency"))
        if maximum_concurrency is not None and not 2 <= maximum_concurrency <= 1000:
            raise TemplateError(f"{where}.ScalingConfig.MaximumConcurrency: {maximum_concurrency} is "
                                "not between 2 and 1000")
        return SqsTrigger(function_id=function.logical_id, queue_id=queue.logical_id, batch_size=batch_size,
                          report_batch_item_failures="ReportBatchItemFailures" in response_types,
                          enabled=_is_true(properties.get("Enabled", True)),
                          maximum_concurrency=maximum_concurrency)

    def _load_schedule(self, logical_id: str) -> None:
        prop = self.template.prop
        where = f"Resources.{logical_id}.Properties"
        # Only what the local scheduler uses: RoleArn and the like name IAM, which is not emulated.
        target_arn = prop(logical_id, "Target", "Arn")
        function = next((f for f in self.functions.values() if f.arn == target_arn), None)
        queue = None if function else self._queue_by_arn(target_arn, f"{where}.Target.Arn")
        body = prop(logical_id, "Target", "Input")
        if body is None:
            raise TemplateError(f"{where}.Target.Input: missing; give the message body explicitly")
        group_id = prop(logical_id, "Target", "SqsParameters", "MessageGroupId")
        if queue and queue.fifo and not (group_id and queue.content_based_deduplication):
            raise TemplateError(f"{where}.Target: a FIFO queue target needs SqsParameters.MessageGroupId "
                                "and ContentBasedDeduplication on the queue")
        name = prop(logical_id, "Name") or self._physical_name(logical_id)
        group = prop(logical_id, "GroupName", default="default")
        arn = f"arn:aws:scheduler:{self.template.region}:{self.template.account_id}:schedule/{group}/{name}"
        self.schedules[logical_id] = Schedule(
            logical_id=logical_id, name=name, arn=arn,
            expression=prop(logical_id, "ScheduleExpression", default=""),
            timezone=prop(logical_id, "ScheduleExpressionTimezone", default="UTC"),
            enabled=prop(logical_id, "State", default="ENABLED") == "ENABLED",
            queue_id=queue and queue.logical_id, function_id=function and function.logical_id, input=body,
            message_group_id=group_id)
        self.template.register(logical_id, name, Arn=arn)

    def _queue_by_arn(self, arn: Any, where: str) -> LocalQueue:
        for queue in self.queues.values():
            if queue.arn == arn:
                return queue
        raise TemplateError(f"{where}: {arn!r} is not a queue or function of this template "
                            "(the only targets emulated)")

    def _local_dir(self, logical_id: str, key: str, uri: Any) -> Path:
        if not isinstance(uri, str):
            raise TemplateError(f"Resources.{logical_id}.Properties.{key}: {uri!r} — only a local "
                                "folder is emulated")
        folder = (self.project_root / uri).resolve()
        if not folder.is_dir():
            raise TemplateError(f"Resources.{logical_id}.Properties.{key}: {uri!r} is not a folder "
                                f"under {self.project_root}")
        return folder

    # -- invoking a function ------------------------------------------------------------------

    def invoke(self, function_id: str, event: Any, *, timeout_seconds: float | None = None) -> Any:
        """Invoke the handler as Lambda would: the event and the response go through JSON, the
        context counts down from the Timeout (or `timeout_seconds`), os.environ is exactly the
        function's. In this process the handler's own exception propagates; in a container it
        comes back as a HandlerError (its type, message and stack trace)."""
        function = self._function(function_id)
        timeout = timeout_seconds or self._timeouts.get(function_id, function.timeout)
        event_json = json.dumps(event)
        if self.containers:
            with self._pool(function).container() as container:
                return container.invoke(event_json, timeout)
        with self._invoke_lock, self._sandbox(function):
            handler = self._handler(function)
            context = LambdaContext(function.identity, timeout)
            started = time.monotonic()
            result = handler(json.loads(event_json), context)
            elapsed = time.monotonic() - started
        if elapsed > timeout:
            raise FunctionTimeout(f"{function_id}: Task timed out after {timeout:g} seconds "
                                  f"(ran {elapsed:.2f} s)")
        try:
            return marshal_result(result)
        except TypeError as error:
            raise InvocationError(f"{function_id}: Runtime.MarshalError: {error}") from error

    def recycle(self, function_id: str | None = None) -> None:
        """Forget a function's (or every function's) loaded code: the next invocation is a cold
        start, as after Lambda replaces a sandbox (containers: they are stopped, a busy one when
        its invocation ends)."""
        with self._pools_lock:
            pools = [pool for logical_id, pool in self._pools.items() if function_id in (None, logical_id)]
        for pool in pools:
            pool.recycle()
        with self._invoke_lock:
            for logical_id in [function_id] if function_id else list(self._handlers):
                self._handlers.pop(logical_id, None)
                self._modules.pop(logical_id, None)

    def concurrency(self, function_id: str) -> int:
        """How many invocations of the function run at once: 1 in this process; in containers,
        its SQS events' ScalingConfig.MaximumConcurrency, else its ReservedConcurrentExecutions,
        else the runtime's default."""
        if not self.containers:
            return 1
        function = self._function(function_id)
        scaling = [trigger.maximum_concurrency for trigger in self.triggers
                   if trigger.function_id == function_id and trigger.maximum_concurrency]
        return max(scaling, default=None) or function.reserved_concurrency or self.default_concurrency

    def _pool(self, function: LambdaFunction) -> ContainerPool:
        with self._pools_lock:
            if function.logical_id not in self._pools:
                self._pools[function.logical_id] = ContainerPool(
                    self.concurrency(function.logical_id), functools.partial(self._start_container, function.logical_id))
            return self._pools[function.logical_id]

    def _start_container(self, function_id: str) -> Container:
        # The function as it is now: a test may have replaced it (e.g. its environment) before.
        function = self._function(function_id)
        spec = ContainerSpec(
            function_id=function_id, identity=function.identity, handler=function.handler, location=_relative(function.module_file, self.project_root),
            import_roots=[str(root) for root in function.import_roots],
            foreign_modules=sorted(self._foreign_modules[function_id]), setup=list(self.container_setup))
        container = Container(spec, self._environment(function, os.environ), self._forward_output)
        container.start()
        return container

    def _forward_output(self, line: str) -> None:
        """A container's log line (its stdout and stderr; CloudWatch on AWS): to this process's
        stdout as it is now (pytest's capture, a redirect), and to the output listeners."""
        with self._output_lock:
            sys.stdout.write(line)
            sys.stdout.flush()
            for listener in self.output_listeners:
                listener(line)

    def _function(self, function_id: str) -> LambdaFunction:
        try:
            return self.functions[function_id]
        except KeyError:
            known = ", ".join(self.functions)
            raise KeyError(f"no function {function_id!r}; the template has {known}") from None

    def _handler(self, function: LambdaFunction) -> Callable[[Any, Any], Any]:
        if function.logical_id not in self._handlers:
            self._handlers[function.logical_id] = _import_handler(function, self.project_root)
        return self._handlers[function.logical_id]

    @contextmanager
    def _sandbox(self, function: LambdaFunction) -> Iterator[None]:
        """For the duration of an invocation, the process looks like the function's sandbox:
        its environment, its import path, its own copies of the project's modules (the ones its
        cold start imported under this environment), and none of other functions' folders and
        layers (the editable install or a test's sys.path would otherwise hide a missing layer)."""
        saved_environ = dict(os.environ)
        saved_path = list(sys.path)
        foreign = UnimportableModules(self._foreign_modules[function.logical_id])
        _replace_environ(self._environment(function, saved_environ))
        sys.path[:0] = [str(root) for root in function.import_roots]
        sys.meta_path.insert(0, foreign)
        others = _take_modules(self._project_roots)
        sys.modules.update(self._modules.get(function.logical_id, {}))
        try:
            yield
        finally:
            modules = _take_modules(self._project_roots)
            if function.logical_id in self._handlers:  # a failed cold start keeps nothing
                self._modules[function.logical_id] = modules
            sys.modules.update(others)
            sys.meta_path.remove(foreign)
            sys.path[:] = saved_path
            _replace_environ(saved_environ)

    def _environment(self, function: LambdaFunction, host: Mapping[str, str]) -> dict[str, str]:
        environment = {key: value for key, value in host.items() if _HOST_VARIABLES.fullmatch(key)}
        environment.update(self.aws_environment())
        environment.update({
            "AWS_LAMBDA_FUNCTION_NAME": function.name,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory_mb),
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{function.name}",
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{function.runtime}",
            "LAMBDA_TASK_ROOT": str(function.code_dir),
            "_HANDLER": function.handler,
            # What `sam local` sets: Powertools' Tracer then stays off instead of calling X-Ray.
            "AWS_SAM_LOCAL": "true",
        })
        environment.update(function.environment)
        return environment

    # -- API Gateway HTTP API -----------------------------------------------------------------

    def invoke_http(self, method: str, path: str, body: str | bytes | dict | list | None = None,
                    headers: Mapping[str, str] | None = None) -> HttpResponse:
        """One request through the HTTP API, in-process. `path` may carry a query string; a dict
        or list body is sent as JSON."""
        headers = {name.lower(): value for name, value in (headers or {}).items()}
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
            headers.setdefault("content-type", "application/json")
        data = body.encode() if isinstance(body, str) else body or b""
        raw_path, _, query = path.partition("?")
        headers.setdefault("host", "localhost")
        headers.setdefault("content-length", str(len(data)))
        return self._serve_http(method, raw_path, query, list(headers.items()), data, "127.0.0.1")

    def start_http(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve the HTTP API on a real port (threaded); returns its base URL (`http_url`)."""
        if self.http_url:
            return self.http_url
        self._http_server = make_server(host, port, self._wsgi_app, threaded=True,
                                        request_handler=QuietRequestHandler)
        self._http_thread = threading.Thread(target=self._http_server.serve_forever,
                                             kwargs={"poll_interval": 0.05}, name="local-http-api", daemon=True)
        self._http_thread.start()
        self.http_url = f"http://{host}:{self._http_server.server_port}"
        return self.http_url

    def stop_http(self) -> None:
        if self._http_server is not None:
            self._http_server.shutdown()
            self._http_thread.join()
            self._http_server.server_close()
            self._http_server = self._http_thread = self.http_url = None

    def _wsgi_app(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = Request(environ)
        raw_path = environ.get("RAW_URI", request.path).partition("?")[0]
        result = self._serve_http(request.method, raw_path, request.query_string.decode(),
                                  list(request.headers.items()), request.get_data(),
                                  request.remote_addr or "127.0.0.1")
        response = Response(result.body, status=result.status, headers=list(result.headers.items()))
        if "content-type" not in result.headers:
            del response.headers["Content-Type"]
        for cookie in result.cookies:
            response.headers.add("Set-Cookie", cookie)
        return response(environ, start_response)

    def _serve_http(self, method: str, raw_path: str, query: str, headers: list[tuple[str, str]],
                    body: bytes, source_ip: str) -> HttpResponse:
        method = method.upper()
        if not self.routes:
            return _gateway_error(404, "Not Found")
        api_id = self.routes[0].api_id
        stage = self._api_stages[api_id]
        path = unquote(raw_path)
        if stage != "$default":
            if not (path == f"/{stage}" or path.startswith(f"/{stage}/")):
                return _gateway_error(404, "Not Found")
            path = path[len(stage) + 1:] or "/"
        match = self._route(method, path)
        if match is None:
            return _gateway_error(404, "Not Found")
        route, path_parameters = match
        event = _http_api_event(route, method, raw_path, query, headers, body, source_ip,
                                api_id=api_id, stage=stage,
                                path_parameters=path_parameters, region=self.template.region,
                                account_id=self.template.account_id)
        try:
            result = self.invoke(route.function_id, event)
        except Exception:
            log.exception("%s failed on %s", route.function_id, route.route_key)
            return _gateway_error(500, "Internal Server Error")
        return _http_api_response(route, result)

    def _route(self, method: str, path: str) -> tuple[HttpRoute, dict[str, str]] | None:
        for route in sorted(self.routes, key=HttpRoute.specificity):
            if route.method not in (method, "ANY"):
                continue
            if route.pattern is None:
                return route, {}
            if matched := route.pattern.fullmatch(path):
                return route, matched.groupdict()
        return None

    # -- SQS event-source mappings ------------------------------------------------------------

    def drain(self, source: str, *, max_batches: int | None = None, wait_seconds: float = 1.0,
              timeout_seconds: float | None = None) -> DrainResult:
        """Deliver a queue's messages to its function, batch by batch, until the queue is settled
        (or `max_batches`). `source` is the queue's or the function's logical id. Settled: a
        receive comes back empty and the queue holds nothing, or nothing has come back for
        `wait_seconds` although messages are still in flight (being retried) or delayed.
        With containers, as many batches are delivered at once as the trigger's concurrency."""
        return self._drain(self._trigger(source), max_batches, wait_seconds, timeout_seconds)

    def start_pollers(self, interval_seconds: float = 0.1, *, sources: Iterable[str] | None = None) -> None:
        """Poll every enabled SQS trigger in the background, like the event-source mappings: as
        many pollers per trigger, each with a batch in flight, as its concurrency. `sources`:
        only these triggers (queue or function logical ids), e.g. to drain another by hand."""
        if self._pollers:
            return
        self._stop_polling.clear()
        chosen = self.triggers if sources is None else [self._trigger(source) for source in sources]
        for trigger in chosen:
            for number in range(self._trigger_concurrency(trigger) if trigger.enabled else 0):
                poller = threading.Thread(target=self._poll, args=(trigger, interval_seconds),
                                          name=f"poller-{trigger.queue_id}-{number}", daemon=True)
                poller.start()
                self._pollers.append(poller)

    def stop_pollers(self) -> None:
        self._stop_polling.set()
        for poller in self._pollers:
            poller.join()
        self._pollers.clear()

    def queue_counts(self, queue_id: str) -> QueueCounts:
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=self._queue(queue_id).url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
                            "ApproximateNumberOfMessagesDelayed"])["Attributes"]
        return QueueCounts(visible=int(attributes["ApproximateNumberOfMessages"]),
                           in_flight=int(attributes["ApproximateNumberOfMessagesNotVisible"]),
                           delayed=int(attributes["ApproximateNumberOfMessagesDelayed"]))

    def _poll(self, trigger: SqsTrigger, interval_seconds: float) -> None:
        while not self._stop_polling.is_set():
            try:
                delivered = self._drain(trigger, max_batches=1, wait_seconds=0, timeout_seconds=None).batches
            except Exception:  # moto gone during shutdown, or a bug: keep the poller alive
                log.exception("polling %s failed", trigger.queue_id)
                delivered = 0
            if not delivered:
                self._stop_polling.wait(interval_seconds)

    def _trigger(self, source: str) -> SqsTrigger:
        matches = [trigger for trigger in self.triggers if source in (trigger.queue_id, trigger.function_id)]
        if len(matches) != 1:
            known = ", ".join(f"{t.queue_id} → {t.function_id}" for t in self.triggers)
            raise KeyError(f"{source!r} names {len(matches)} SQS triggers, not one (triggers: {known})")
        if not matches[0].enabled:
            raise RuntimeError(f"the SQS trigger {matches[0].queue_id} → {matches[0].function_id} "
                               "is disabled in the template")
        return matches[0]

    def _queue(self, queue_id: str) -> LocalQueue:
        try:
            return self.queues[queue_id]
        except KeyError:
            raise KeyError(f"no queue {queue_id!r}; the template has {', '.join(self.queues)}") from None

    def _trigger_concurrency(self, trigger: SqsTrigger) -> int:
        function_concurrency = self.concurrency(trigger.function_id)
        return min(trigger.maximum_concurrency or function_concurrency, function_concurrency)

    def _drain(self, trigger: SqsTrigger, max_batches: int | None, wait_seconds: float,
               timeout_seconds: float | None) -> DrainResult:
        result = DrainResult()
        batches = _BatchAllowance(max_batches)
        workers = min(self._trigger_concurrency(trigger), max_batches or sys.maxsize)
        if workers == 1:
            self._drain_batches(trigger, batches, result, wait_seconds, timeout_seconds)
            return result
        with ThreadPoolExecutor(workers, thread_name_prefix=f"drain-{trigger.queue_id}") as executor:
            running = [executor.submit(self._drain_batches, trigger, batches, result, wait_seconds, timeout_seconds)
                       for _ in range(workers)]
        for worker in running:
            worker.result()  # an SQS error in any worker is the drain's
        return result

    def _drain_batches(self, trigger: SqsTrigger, batches: _BatchAllowance, result: DrainResult,
                       wait_seconds: float, timeout_seconds: float | None) -> None:
        idle_since = None
        while batches.take():
            messages = self._receive_batch(trigger)
            if messages:
                self._deliver(trigger, messages, result, timeout_seconds)
                idle_since = None
                continue
            batches.give_back()
            idle_since = idle_since or time.monotonic()
            if time.monotonic() - idle_since >= wait_seconds:
                break
            if self.queue_counts(trigger.queue_id).total == 0:
                break
            time.sleep(0.05)

    def _receive_batch(self, trigger: SqsTrigger) -> list[dict[str, Any]]:
        queue = self.queues[trigger.queue_id]
        messages: list[dict[str, Any]] = []
        while (wanted := trigger.batch_size - len(messages)) > 0:
            received = self.sqs.receive_message(
                QueueUrl=queue.url, MaxNumberOfMessages=min(_SQS_BATCH_LIMIT, wanted),
                MessageSystemAttributeNames=["All"], MessageAttributeNames=["All"], WaitTimeSeconds=0,
            ).get("Messages", [])
            if not received:
                break
            messages.extend(received)
        return messages

    def _deliver(self, trigger: SqsTrigger, messages: list[dict[str, Any]], result: DrainResult,
                 timeout_seconds: float | None) -> None:
        queue = self.queues[trigger.queue_id]
        event = {"Records": [_sqs_record(message, queue, self.template.region) for message in messages]}
        with result.lock:
            result.batches += 1
            result.received += len(messages)
        try:
            response = self.invoke(trigger.function_id, event, timeout_seconds=timeout_seconds)
            failed_ids = (_batch_item_failures(response, messages) if trigger.report_batch_item_failures
                          else set())
        except Exception as error:  # the whole batch goes back to the queue
            log.warning("%s failed on a batch of %d from %s: %s", trigger.function_id, len(messages),
                        trigger.queue_id, error, exc_info=not isinstance(error, (InvocationError, HandlerError)))
            with result.lock:
                result.errors.append(error)
            failed_ids = {message["MessageId"] for message in messages}
        done = [message for message in messages if message["MessageId"] not in failed_ids]
        failed = [message for message in messages if message["MessageId"] in failed_ids]
        for chunk in _chunks(done):
            deleted = self.sqs.delete_message_batch(QueueUrl=queue.url, Entries=_receipts(chunk))
            for failure in deleted.get("Failed", []):  # e.g. visibility ran out: SQS redelivers it
                log.warning("%s: could not delete a processed message: %s", trigger.queue_id, failure)
        if failed and self.retry_visibility_seconds is not None:
            for chunk in _chunks(failed):
                self.sqs.change_message_visibility_batch(
                    QueueUrl=queue.url,
                    Entries=[{**entry, "VisibilityTimeout": self.retry_visibility_seconds}
                             for entry in _receipts(chunk)])
        with result.lock:
            result.deleted += len(done)
            result.failed += len(failed)

    # -- EventBridge Scheduler ----------------------------------------------------------------

    def fire_schedule(self, logical_id: str, *, scheduled_time: datetime | None = None) -> str:
        """Send the schedule's Target.Input to its queue, or invoke its function with it, as
        EventBridge Scheduler does when the schedule fires (context attributes such as
        <aws.scheduler.scheduled-time> filled in). Returns the SQS message id, or for a function
        the execution id (Scheduler invokes asynchronously: the result goes nowhere; locally the
        invocation runs before this returns, and its exception propagates).
        A DISABLED schedule never fires: RuntimeError."""
        try:
            schedule = self.schedules[logical_id]
        except KeyError:
            known = ", ".join(self.schedules)
            raise KeyError(f"no schedule {logical_id!r}; the template has {known}") from None
        if not schedule.enabled:
            raise RuntimeError(f"{logical_id}: State is DISABLED, EventBridge Scheduler would not fire it")
        when = scheduled_time or datetime.now(timezone.utc)
        body, execution_id = schedule.input, random_tokens.token_hex(8)
        for attribute, value in {
            "schedule-arn": schedule.arn,
            "scheduled-time": when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "execution-id": execution_id,
            "attempt-number": "1",
        }.items():
            body = body.replace(f"<aws.scheduler.{attribute}>", value)
        if schedule.function_id:
            self.invoke(schedule.function_id, json.loads(body))
            return execution_id
        request = {"QueueUrl": self.queues[schedule.queue_id].url, "MessageBody": body}
        if schedule.message_group_id:
            request["MessageGroupId"] = schedule.message_group_id
        return self.sqs.send_message(**request)["MessageId"]

    def start_scheduler(self, *, seconds_per_minute: float = 60.0) -> None:
        """Fire every enabled `rate(...)` schedule on its interval in the background, as
        EventBridge Scheduler does (other expressions are fired by hand with `fire_schedule`).
        `seconds_per_minute` compresses time for tests: 1.0 fires `rate(1 minute)` every second.
        A firing that raises is logged and the schedule goes on, like Scheduler's async invoke."""
        if self._schedulers:
            return
        self._stop_schedules.clear()
        for schedule in self.schedules.values():
            minutes = _rate_minutes(schedule.expression)
            if schedule.enabled and minutes:
                thread = threading.Thread(target=self._tick, args=(schedule.logical_id, minutes * seconds_per_minute),
                                          name=f"scheduler-{schedule.logical_id}", daemon=True)
                thread.start()
                self._schedulers.append(thread)

    def stop_scheduler(self) -> None:
        self._stop_schedules.set()
        for thread in self._schedulers:
            thread.join()
        self._schedulers.clear()

    def _tick(self, logical_id: str, interval_seconds: float) -> None:
        while not self._stop_schedules.wait(interval_seconds):
            try:
                self.fire_schedule(logical_id)
            except Exception:  # moto gone during shutdown, or the target failed: keep the schedule
                log.exception("schedule %s failed", logical_id)

    # -- DLQ redrive ----------------------------------------------------------------------------

    def redrive(self, dlq_id: str, *, destination: str | None = None) -> int:
        """Move every message of a dead-letter queue back to its source queue (the one whose
        RedrivePolicy names it), or to `destination`, like SQS's StartMessageMoveTask / the
        console's "redrive to source". Returns how many moved.

        As on SQS, a moved message is a new message: new id, the destination's delay, retention
        and receive count start over; body and message attributes are kept, and for FIFO the
        message group. Its deduplication id is the DLQ message's id (SQS gives a dead FIFO
        message its own id as deduplication id), so a redrive within five minutes of the
        original send is not swallowed by the source queue's deduplication window."""
        dlq = self._queue(dlq_id)
        target = self._queue(destination) if destination else self._redrive_source(dlq)
        if target.fifo != dlq.fifo:
            raise ValueError(f"{dlq_id} → {target.logical_id}: SQS moves messages only between queues "
                             "of the same type (FIFO or standard)")
        moved = 0
        while messages := self.sqs.receive_message(
                QueueUrl=dlq.url, MaxNumberOfMessages=_SQS_BATCH_LIMIT, MessageSystemAttributeNames=["All"],
                MessageAttributeNames=["All"], VisibilityTimeout=30, WaitTimeSeconds=0).get("Messages", []):
            entries = [_moved_entry(index, message, target.fifo) for index, message in enumerate(messages)]
            sent = self.sqs.send_message_batch(QueueUrl=target.url, Entries=entries)
            if sent.get("Failed"):
                raise RuntimeError(f"redrive {dlq_id} → {target.logical_id}: {sent['Failed']}")
            self.sqs.delete_message_batch(QueueUrl=dlq.url, Entries=_receipts(messages))
            moved += len(messages)
        return moved

    def _redrive_source(self, dlq: LocalQueue) -> LocalQueue:
        sources = [queue for queue in self.queues.values() if queue.dead_letter_arn == dlq.arn]
        if len(sources) != 1:
            # SQS remembers each message's source; moto does not, so only one is unambiguous.
            names = ", ".join(queue.logical_id for queue in sources) or "none"
            raise ValueError(f"{dlq.logical_id} is the dead-letter queue of {names}; pass destination=")
        return sources[0]


# -- helpers ---------------------------------------------------------------------------------

class _BatchAllowance:
    """How many more batches a drain may take (None: no limit); its workers take them in parallel."""

    def __init__(self, limit: int | None):
        self._left = limit
        self._lock = threading.Lock()

    def take(self) -> bool:
        with self._lock:
            if self._left is None:
                return True
            if self._left <= 0:
                return False
            self._left -= 1
            return True

    def give_back(self) -> None:
        with self._lock:
            if self._left is not None:
                self._left += 1


_boto_session_lock = threading.Lock()


@functools.cache
def _boto_session() -> boto3.session.Session:
    # One session for every runtime in the process: it caches the service models, which makes
    # creating a runtime's clients ten times faster. Sessions are not thread-safe, hence the lock.
    return boto3.session.Session(aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
                                 aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"])


def _client(service: str, endpoint_url: str, region: str) -> Any:
    with _boto_session_lock:
        return _boto_session().client(service, endpoint_url=endpoint_url, region_name=region)


def _is_true(value: Any) -> bool:
    return cfn_string(value).lower() == "true"


def _optional_int(value: Any) -> int | None:
    return None if value is None else int(cfn_string(value))


def _relative(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def _replace_environ(target: Mapping[str, str]) -> None:
    # Key by key rather than clear() + update(): other threads never see an empty environment.
    for key in [key for key in os.environ if key not in target]:
        del os.environ[key]
    for key, value in target.items():
        if os.environ.get(key) != value:
            os.environ[key] = value


def _take_modules(roots: tuple[Path, ...]) -> dict[str, ModuleType]:
    """Remove from sys.modules, and return, every module loaded from under `roots`."""
    prefixes = tuple(f"{root}{os.sep}" for root in roots)
    taken = {name: module for name, module in list(sys.modules.items())
             if _module_location(module).startswith(prefixes)}
    for name in taken:
        del sys.modules[name]
    return taken


def _top_level_modules(folders: Iterable[Path]) -> set[str]:
    return {entry.stem for folder in folders for entry in folder.iterdir()
            if entry.stem.isidentifier() and (entry.suffix == ".py" or entry.is_dir())}


def _module_location(module: ModuleType | None) -> str:
    namespace = getattr(module, "__dict__", {})
    if namespace.get("__file__"):
        return namespace["__file__"]
    package_path = namespace.get("__path__")  # namespace packages have no __file__
    return next(iter(package_path), "") if package_path else ""


def _import_handler(function: LambdaFunction, project_root: Path) -> Callable[[Any, Any], Any]:
    # Every handler file is app.py: each gets its own module name.
    module_name = f"_lambda_{function.logical_id}_{function.module_file.stem}"
    location = _relative(function.module_file, project_root)
    spec = importlib.util.spec_from_file_location(module_name, function.module_file)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as error:
        del sys.modules[module_name]
        raise import_module_error(function.logical_id, location, f"{type(error).__name__}: {error}") from error
    handler = getattr(module, function.handler.rpartition(".")[2], None)
    if not callable(handler):
        raise handler_not_found(function.logical_id, function.handler, location)
    return handler


def _route_pattern(path: str) -> re.Pattern[str]:
    def segment(part: str) -> str:
        if part.startswith("{") and part.endswith("+}"):
            return f"(?P<{part[1:-2]}>.+)"
        if part.startswith("{") and part.endswith("}"):
            return f"(?P<{part[1:-1]}>[^/]+)"
        return re.escape(part)

    return re.compile("/".join(segment(part) for part in path.split("/")))


def _http_api_event(route: HttpRoute, method: str, raw_path: str, query: str,
                    headers: list[tuple[str, str]], body: bytes, source_ip: str, *, api_id: str,
                    stage: str, path_parameters: dict[str, str], region: str,
                    account_id: str) -> dict[str, Any]:
    """API Gateway HTTP API payload format 2.0."""
    merged: dict[str, str] = {}
    for name, value in headers:  # repeated headers are joined with commas
        name = name.lower()
        merged[name] = f"{merged[name]},{value}" if name in merged else value
    merged.setdefault("x-forwarded-for", source_ip)
    merged.setdefault("x-forwarded-proto", "https")
    merged.setdefault("x-forwarded-port", "443")
    merged.setdefault("x-amzn-trace-id", f"Root=1-{int(time.time()):08x}-{random_tokens.token_hex(12)}")
    cookies = [cookie.strip() for cookie in merged.pop("cookie", "").split(";") if cookie.strip()]
    now = datetime.now(timezone.utc)
    domain = merged.get("host", f"{api_id}.execute-api.{region}.amazonaws.com")
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route.route_key,
        "rawPath": raw_path,
        "rawQueryString": query,
        "headers": merged,
        "requestContext": {
            "accountId": account_id,
            "apiId": api_id,
            "domainName": domain,
            "domainPrefix": domain.split(".")[0],
            "http": {"method": method, "path": unquote(raw_path), "protocol": "HTTP/1.1",
                     "sourceIp": source_ip, "userAgent": merged.get("user-agent", "")},
            "requestId": base64.b64encode(random_tokens.token_bytes(12)).decode(),
            "routeKey": route.route_key,
            "stage": stage,
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now.timestamp() * 1000),
        },
        "isBase64Encoded": False,
    }
    if cookies:
        event["cookies"] = cookies
    if query:
        parameters: dict[str, str] = {}
        for name, value in parse_qsl(query, keep_blank_values=True):
            parameters[name] = f"{parameters[name]},{value}" if name in parameters else value
        event["queryStringParameters"] = parameters
    if path_parameters:
        event["pathParameters"] = path_parameters
    if body:
        # Text media types arrive as text; anything else base64-encoded.
        media_type = merged.get("content-type", "").split(";")[0].strip().lower()
        text = _utf8(body) if _TEXT_MEDIA.fullmatch(media_type) else None
        event["body"] = text if text is not None else base64.b64encode(body).decode()
        event["isBase64Encoded"] = text is None
    return event


def _utf8(data: bytes) -> str | None:
    try:
        return data.decode()
    except UnicodeDecodeError:
        return None


def _http_api_response(route: HttpRoute, result: Any) -> HttpResponse:
    """Payload format 2.0 responses: a dict with statusCode is taken as the response; anything
    else is a 200 with the result as its JSON body."""
    if not (isinstance(result, dict) and "statusCode" in result):
        return HttpResponse(200, {"content-type": "application/json"}, json.dumps(result).encode())
    body = result.get("body") or ""
    if not isinstance(body, str):
        log.error("%s answered %s with a non-string body: API Gateway rejects it", route.function_id,
                  route.route_key)
        return _gateway_error(500, "Internal Server Error")
    headers = {name.lower(): str(value) for name, value in (result.get("headers") or {}).items()}
    data = base64.b64decode(body) if result.get("isBase64Encoded") else body.encode()
    return HttpResponse(int(result["statusCode"]), headers, data, list(result.get("cookies") or []))


def _gateway_error(status: int, message: str) -> HttpResponse:
    body = json.dumps({"message": message}).encode()
    return HttpResponse(status, {"content-type": "application/json"}, body)


def _sqs_record(message: dict[str, Any], queue: LocalQueue, region: str) -> dict[str, Any]:
    """One record of the event Lambda's SQS event-source mapping delivers."""
    record = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": dict(message.get("Attributes", {})),
        "messageAttributes": {name: _lambda_message_attribute(value)
                              for name, value in message.get("MessageAttributes", {}).items()},
        "md5OfBody": message["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": queue.arn,
        "awsRegion": region,
    }
    if "MD5OfMessageAttributes" in message:
        record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    return record


def _lambda_message_attribute(value: Mapping[str, Any]) -> dict[str, Any]:
    attribute = {"stringListValues": [], "binaryListValues": [], "dataType": value["DataType"]}
    if "StringValue" in value:
        attribute["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        attribute["binaryValue"] = base64.b64encode(value["BinaryValue"]).decode()
    return attribute


def _batch_item_failures(response: Any, messages: list[dict[str, Any]]) -> set[str]:
    """The ids a ReportBatchItemFailures response names. Lambda's rules: no response, no or
    an empty list means all succeeded; a malformed entry or an unknown id fails the batch."""
    if response is None:
        return set()
    if not isinstance(response, dict):
        raise InvocationError(f"batch response is not an object: {response!r}; the whole batch failed")
    failures = response.get("batchItemFailures") or []
    batch_ids = {message["MessageId"] for message in messages}
    failed_ids = set()
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        if not identifier or identifier not in batch_ids:
            raise InvocationError(f"invalid batchItemFailures entry {failure!r}; the whole batch failed")
        failed_ids.add(identifier)
    return failed_ids


def _moved_entry(index: int, message: dict[str, Any], fifo: bool) -> dict[str, Any]:
    entry: dict[str, Any] = {"Id": str(index), "MessageBody": message["Body"]}
    if message.get("MessageAttributes"):
        entry["MessageAttributes"] = {
            name: {key: value for key, value in attribute.items() if value not in ([], None)}
            for name, attribute in message["MessageAttributes"].items()}
    if fifo:
        entry["MessageGroupId"] = message["Attributes"]["MessageGroupId"]
        entry["MessageDeduplicationId"] = message["MessageId"]
    return entry


def _receipts(messages: list[dict[str, Any]]) -> list[dict[str, str]]:
    return [{"Id": str(index), "ReceiptHandle": message["ReceiptHandle"]}
            for index, message in enumerate(messages)]


def _chunks(messages: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(messages), _SQS_BATCH_LIMIT):
        yield messages[start:start + _SQS_BATCH_LIMIT]
