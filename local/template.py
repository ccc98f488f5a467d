"""template.yaml resolved for the local world.

SAM `Globals` are merged into their resources, intrinsic functions are resolved against the
parameters (defaults, or overrides), the conditions and the physical names of the resources the
runner created (`register`). Anything the local world cannot answer — a Ref to a resource type
that is not emulated, an unsupported intrinsic, an unknown attribute — raises `TemplateError`
naming where in the template it occurs, never an empty value that fails much later.
"""

from __future__ import annotations

import base64
import datetime
import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from cfnlint.decode import cfn_yaml

from .aws import LOCAL_ACCOUNT_ID, LOCAL_REGION

# The resource types whose Ref/GetAtt values the runner registers; a reference to any other
# type has no local meaning.
LOCAL_RESOURCE_TYPES = frozenset({
    "AWS::DynamoDB::Table",
    "AWS::SQS::Queue",
    "AWS::SecretsManager::Secret",
    "AWS::Serverless::Function",
    "AWS::Serverless::LayerVersion",
    "AWS::Serverless::HttpApi",
    "AWS::Scheduler::Schedule",
})

DEFAULT_STACK_NAME = "sos-wiz-sync-local"

# SAM names the HTTP API it creates for HttpApi events that name none.
IMPLICIT_HTTP_API = "ServerlessHttpApi"

_NO_VALUE = object()  # AWS::NoValue: the enclosing key or list item disappears
_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")


class TemplateError(ValueError):
    """The template asks for something that is wrong, or that the local world cannot provide."""


def load_document(path: Path) -> dict[str, Any]:
    """The template as plain Python data, short-form tags (`!Ref`, `!Sub`...) in long form."""
    return _plain(cfn_yaml.load(str(path)))


class Template:
    def __init__(self, path: str | Path, *, parameters: Mapping[str, Any] | None = None,
                 stack_name: str = DEFAULT_STACK_NAME, region: str = LOCAL_REGION,
                 account_id: str = LOCAL_ACCOUNT_ID):
        self.path = Path(path).resolve()
        if not self.path.is_file():
            raise TemplateError(f"{self.path}: no such template")
        document = load_document(self.path)
        self.stack_name = stack_name
        self.region = region
        self.account_id = account_id
        self._pseudo = {
            "AWS::Region": region,
            "AWS::AccountId": account_id,
            "AWS::StackName": stack_name,
            "AWS::StackId": f"arn:aws:cloudformation:{region}:{account_id}:stack/{stack_name}/local",
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NotificationARNs": [],
        }
        self.parameters = _parameter_values(document.get("Parameters", {}), parameters or {})
        self._mappings = document.get("Mappings", {})
        self._condition_specs = document.get("Conditions", {})
        self._conditions: dict[str, bool] = {}
        self._resources = _with_globals(document.get("Resources", {}), document.get("Globals", {}))
        self._add_implicit_http_api()
        self._physical: dict[str, dict[str, Any]] = {}

    # -- what the template declares --------------------------------------------------------

    def resources(self, type_name: str) -> dict[str, dict[str, Any]]:
        """The resources of one type that this deployment creates (their Condition holds)."""
        return {logical_id: resource for logical_id, resource in self._resources.items()
                if resource.get("Type") == type_name and self.is_created(logical_id)}

    def is_created(self, logical_id: str) -> bool:
        condition = self._resource(logical_id, "Resources").get("Condition")
        return condition is None or self.condition(condition, f"Resources.{logical_id}.Condition")

    def prop(self, logical_id: str, *keys: str, default: Any = None) -> Any:
        """A resource property (nested by `keys`) with every intrinsic resolved."""
        value = self._resource(logical_id, "Resources").get("Properties", {})
        for key in keys:
            if not isinstance(value, dict) or key not in value:
                return default
            value = value[key]
        where = ".".join(("Resources", logical_id, "Properties", *keys))
        resolved = self.resolve(value, f"{self.path.name} {where}")
        return default if resolved is _NO_VALUE else resolved

    def metadata(self, logical_id: str) -> dict[str, Any]:
        """A resource's Metadata (SAM keeps build settings there), as written."""
        return self._resource(logical_id, "Resources").get("Metadata", {})

    def dependencies(self, logical_id: str) -> set[str]:
        """Resources this one refers to (Ref, GetAtt, Sub, DependsOn): they must exist first."""
        resource = self._resource(logical_id, "Resources")
        depends_on = resource.get("DependsOn", [])
        names = set([depends_on] if isinstance(depends_on, str) else depends_on)
        names.update(_referenced_names(resource.get("Properties", {})))
        return {name for name in names if name in self._resources and name != logical_id}

    # -- what the runner created -----------------------------------------------------------

    def register(self, logical_id: str, ref: Any, **attributes: Any) -> None:
        """The physical values of a created resource: what `Ref` and `GetAtt` return locally."""
        self._resource(logical_id, "register")
        self._physical[logical_id] = {"Ref": ref, **attributes}

    def ref(self, logical_id: str) -> Any:
        return self._attribute(logical_id, "Ref", self.path.name)

    def attribute(self, logical_id: str, name: str) -> Any:
        return self._attribute(logical_id, name, self.path.name)

    # -- intrinsic functions ---------------------------------------------------------------

    def resolve(self, value: Any, where: str) -> Any:
        """`value` with every intrinsic function resolved; `where` names it in errors."""
        if isinstance(value, list):
            items = (self.resolve(item, f"{where}[{index}]") for index, item in enumerate(value))
            return [item for item in items if item is not _NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (key, argument), = value.items()
            if key == "Ref" or key.startswith("Fn::"):
                function = self._intrinsics.get(key)
                if function is None:
                    raise TemplateError(f"{where}: {key} is not supported by the local runtime")
                return function(self, argument, where)
        resolved = ((key, self.resolve(item, f"{where}.{key}")) for key, item in value.items())
        return {key: item for key, item in resolved if item is not _NO_VALUE}

    def condition(self, name: str, where: str) -> bool:
        if name not in self._conditions:
            if name not in self._condition_specs:
                raise TemplateError(f"{where}: no condition named {name!r} in Conditions")
            self._conditions[name] = self._truth(self._condition_specs[name], f"Conditions.{name}")
        return self._conditions[name]

    def _truth(self, expression: Any, where: str) -> bool:
        if isinstance(expression, dict) and len(expression) == 1:
            (key, argument), = expression.items()
            if key == "Condition":
                return self.condition(argument, where)
            if key == "Fn::Equals":
                left, right = (cfn_string(self.resolve(item, f"{where}.{key}")) for item in argument)
                return left == right
            if key == "Fn::Not":
                return not self._truth(argument[0], f"{where}.{key}")
            if key == "Fn::And":
                return all(self._truth(item, f"{where}.{key}") for item in argument)
            if key == "Fn::Or":
                return any(self._truth(item, f"{where}.{key}") for item in argument)
        raise TemplateError(f"{where}: not a condition expression: {expression!r}")

    def _ref(self, name: str, where: str) -> Any:
        if name in self.parameters:
            return self.parameters[name]
        if name == "AWS::NoValue":
            return _NO_VALUE
        if name in self._pseudo:
            return self._pseudo[name]
        return self._attribute(name, "Ref", where)

    def _get_att(self, argument: Any, where: str) -> Any:
        if isinstance(argument, str):
            name, _, attribute = argument.partition(".")
        else:
            name, attribute = argument[0], self.resolve(argument[1], where)
        return self._attribute(name, attribute, where)

    def _sub(self, argument: Any, where: str) -> str:
        text, variables = (argument, {}) if isinstance(argument, str) else argument
        values = {name: self.resolve(value, f"{where}.{name}") for name, value in variables.items()}

        def substitute(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in values:
                value = values[name]
            elif "." in name and name not in self._pseudo:
                value = self._get_att(name, f"{where} ${{{name}}}")
            else:
                value = self._ref(name, f"{where} ${{{name}}}")
            return _scalar_string(value, f"{where} ${{{name}}}")

        return _SUB_VARIABLE.sub(substitute, text)

    def _if(self, argument: Any, where: str) -> Any:
        name, if_true, if_false = argument
        chosen = if_true if self.condition(name, where) else if_false
        return self.resolve(chosen, where)

    def _join(self, argument: Any, where: str) -> str:
        delimiter, items = argument
        items = self.resolve(items, where)
        return delimiter.join(_scalar_string(item, where) for item in items)

    def _select(self, argument: Any, where: str) -> Any:
        index, items = self.resolve(argument, where)
        items = list(items)
        if not 0 <= int(index) < len(items):
            raise TemplateError(f"{where}: index {index} out of range for {items!r}")
        return items[int(index)]

    def _split(self, argument: Any, where: str) -> list[str]:
        delimiter, text = self.resolve(argument, where)
        return _scalar_string(text, where).split(delimiter)

    def _find_in_map(self, argument: Any, where: str) -> Any:
        map_name, top, second = (cfn_string(key) for key in self.resolve(argument, where))
        try:
            return self._mappings[map_name][top][second]
        except KeyError:
            raise TemplateError(f"{where}: Mappings has no {map_name}.{top}.{second}") from None

    def _base64(self, argument: Any, where: str) -> str:
        text = _scalar_string(self.resolve(argument, where), where)
        return base64.b64encode(text.encode()).decode()

    def _to_json_string(self, argument: Any, where: str) -> str:
        return json.dumps(self.resolve(argument, where), separators=(",", ":"))

    _intrinsics = {
        "Ref": _ref,
        "Fn::GetAtt": _get_att,
        "Fn::Sub": _sub,
        "Fn::If": _if,
        "Fn::Join": _join,
        "Fn::Select": _select,
        "Fn::Split": _split,
        "Fn::FindInMap": _find_in_map,
        "Fn::Base64": _base64,
        "Fn::ToJsonString": _to_json_string,
    }

    # -- helpers ---------------------------------------------------------------------------

    def _resource(self, logical_id: str, where: str) -> dict[str, Any]:
        try:
            return self._resources[logical_id]
        except KeyError:
            raise TemplateError(f"{where}: no resource {logical_id!r} in {self.path.name}") from None

    def _attribute(self, name: str, attribute: str, where: str) -> Any:
        label = f"Ref {name}" if attribute == "Ref" else f"GetAtt {name}.{attribute}"
        if name not in self._resources:
            raise TemplateError(f"{where}: {label}: no such parameter or resource in the template")
        resource_type = self._resources[name].get("Type")
        if not self.is_created(name):
            condition = self._resources[name]["Condition"]
            raise TemplateError(f"{where}: {label}: not created, its condition {condition} is false")
        physical = self._physical.get(name)
        if physical is None:
            if resource_type in LOCAL_RESOURCE_TYPES:
                raise TemplateError(f"{where}: {label}: {resource_type} not created yet "
                                    "(a circular reference?)")
            raise TemplateError(f"{where}: {label}: {resource_type} is not emulated locally")
        if attribute not in physical:
            known = ", ".join(sorted(set(physical) - {"Ref"})) or "none"
            raise TemplateError(f"{where}: {label}: {resource_type} has no attribute {attribute!r} "
                                f"locally (known: {known})")
        return physical[attribute]

    def _add_implicit_http_api(self) -> None:
        events = (event for resource in self._resources.values()
                  if resource.get("Type") == "AWS::Serverless::Function"
                  for event in resource.get("Properties", {}).get("Events", {}).values())
        if any(event.get("Type") == "HttpApi" and "ApiId" not in event.get("Properties", {})
               for event in events):
            self._resources.setdefault(IMPLICIT_HTTP_API, {"Type": "AWS::Serverless::HttpApi"})


def _parameter_values(declared: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(overrides) - set(declared))
    if unknown:
        raise TemplateError(f"Parameters: no parameter named {', '.join(unknown)} in the template")
    values = {}
    for name, spec in declared.items():
        if name in overrides:
            raw = overrides[name]
        elif "Default" in spec:
            raw = spec["Default"]
        else:
            raise TemplateError(f"Parameters.{name}: no Default; pass a value for it")
        values[name] = _parameter_value(name, spec, raw)
    return values


def _parameter_value(name: str, spec: Mapping[str, Any], raw: Any) -> Any:
    """What `Ref` of the parameter returns on CloudFormation: a string (numbers too), or a list
    of strings for list types; values the parameter's constraints would reject fail here too."""
    where = f"Parameters.{name}"
    kind = spec.get("Type", "String")
    if kind == "CommaDelimitedList" or kind.startswith("List<"):
        return [cfn_string(item) for item in raw] if isinstance(raw, list) else cfn_string(raw).split(",")
    value = cfn_string(raw)
    if kind == "Number":
        try:
            float(value)
        except ValueError:
            raise TemplateError(f"{where}: {value!r} is not a Number") from None
    allowed = spec.get("AllowedValues")
    if allowed is not None and value not in [cfn_string(item) for item in allowed]:
        raise TemplateError(f"{where}: {value!r} is not one of AllowedValues {allowed}")
    pattern = spec.get("AllowedPattern")
    if pattern is not None and not re.fullmatch(pattern, value):
        raise TemplateError(f"{where}: {value!r} does not match AllowedPattern {pattern!r}")
    return value


def _with_globals(resources: Mapping[str, Any], globals_: Mapping[str, Any]) -> dict[str, Any]:
    """SAM's Globals: `Globals.Function` applies to every AWS::Serverless::Function, etc."""
    result = {}
    for logical_id, resource in resources.items():
        section = resource.get("Type", "").removeprefix("AWS::Serverless::")
        if section in globals_ and resource["Type"].startswith("AWS::Serverless::"):
            properties = _merge_global(globals_[section], resource.get("Properties", {}))
            resource = {**resource, "Properties": properties}
        result[logical_id] = resource
    return result


def _merge_global(global_value: Any, local_value: Any) -> Any:
    """SAM's rule: maps merge (the resource wins on a conflict), lists concatenate (globals
    first), anything else — scalars and intrinsic functions — is replaced by the resource's."""
    if _is_plain_map(global_value) and _is_plain_map(local_value):
        merged = dict(global_value)
        for key, value in local_value.items():
            merged[key] = _merge_global(global_value[key], value) if key in global_value else value
        return merged
    if isinstance(global_value, list) and isinstance(local_value, list):
        return global_value + local_value
    return local_value


def _is_plain_map(value: Any) -> bool:
    if not isinstance(value, dict):
        return False
    if len(value) == 1:
        key = next(iter(value))
        return not (key in ("Ref", "Condition") or key.startswith("Fn::"))
    return True


def _referenced_names(value: Any) -> Iterator[str]:
    if isinstance(value, list):
        for item in value:
            yield from _referenced_names(item)
    elif isinstance(value, dict):
        if len(value) == 1:
            (key, argument), = value.items()
            if key == "Ref" and isinstance(argument, str):
                yield argument
            elif key == "Fn::GetAtt":
                yield argument.partition(".")[0] if isinstance(argument, str) else argument[0]
            elif key == "Fn::Sub":
                text, variables = (argument, {}) if isinstance(argument, str) else argument
                for name in _SUB_VARIABLE.findall(text):
                    if not name.startswith("!") and name not in variables:
                        yield name.partition(".")[0]
        for item in value.values():
            yield from _referenced_names(item)


def cfn_string(value: Any) -> str:
    """How CloudFormation turns a YAML scalar into a string (YAML `true` is "true")."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _scalar_string(value: Any, where: str) -> str:
    if isinstance(value, (dict, list)) or value is _NO_VALUE:
        raise TemplateError(f"{where}: expected a string, got {value!r}")
    return cfn_string(value)


def _plain(value: Any) -> Any:
    """cfn-lint's line-tracking node classes → plain dict/list/str; unquoted YAML dates → text."""
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, str):
        return str(value)
    if isinstance(value, datetime.date):
        return value.isoformat()
    return value
