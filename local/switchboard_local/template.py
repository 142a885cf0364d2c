"""Load a SAM template and resolve its CloudFormation intrinsics for the local runtime.

The runtime needs the same values CloudFormation would compute (table names, queue URLs,
ARNs, parameter values), but for resources created in the local emulator. Physical names
are deterministic (`{stack}-{LogicalId}`) so that every process (the runtime, `switchboard
invoke`, the CLI) agrees on them without a shared registry; only KMS key ids are random and
are looked up through an alias (see `emulator.py`).
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"
PARTITION = "aws"
URL_SUFFIX = "amazonaws.com"
DEFAULT_STACK_NAME = "switchboard-local"


class TemplateError(ValueError):
    """The template (or a parameter override) cannot be used as given."""


# --------------------------------------------------------------------------- YAML loading

# Short-form tag -> long-form key, as CloudFormation expands them.
_SHORT_TAGS = {
    "Ref": "Ref",
    "Condition": "Condition",
    "GetAtt": "Fn::GetAtt",
    "Sub": "Fn::Sub",
    "If": "Fn::If",
    "Equals": "Fn::Equals",
    "Not": "Fn::Not",
    "And": "Fn::And",
    "Or": "Fn::Or",
    "Join": "Fn::Join",
    "Select": "Fn::Select",
    "Split": "Fn::Split",
    "FindInMap": "Fn::FindInMap",
    "Base64": "Fn::Base64",
    "GetAZs": "Fn::GetAZs",
    "ImportValue": "Fn::ImportValue",
    "Cidr": "Fn::Cidr",
    "ToJsonString": "Fn::ToJsonString",
    "Length": "Fn::Length",
}


class CfnLoader(yaml.SafeLoader):
    """A SafeLoader that understands CloudFormation's short-form intrinsic tags."""


def _make_constructor(key: str) -> Callable[[yaml.Loader, yaml.Node], dict[str, Any]]:
    def construct(loader: yaml.Loader, node: yaml.Node) -> dict[str, Any]:
        if isinstance(node, yaml.ScalarNode):
            value: Any = loader.construct_scalar(node)
            # `!GetAtt Res.Attr` is the string form of ["Res", "Attr"].
            if key == "Fn::GetAtt":
                value = value.split(".", 1)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            assert isinstance(node, yaml.MappingNode)
            value = loader.construct_mapping(node, deep=True)
        return {key: value}

    return construct


for _tag, _key in _SHORT_TAGS.items():
    CfnLoader.add_constructor(f"!{_tag}", _make_constructor(_key))


def load_yaml(path: str | Path) -> dict[str, Any]:
    with open(path, encoding="utf-8") as fh:
        data = yaml.load(fh, Loader=CfnLoader)  # CfnLoader is a SafeLoader
    if not isinstance(data, dict):
        raise TemplateError(f"{path}: not a CloudFormation template")
    return data


# --------------------------------------------------------------------------- model

FUNCTION_TYPES = ("AWS::Serverless::Function",)
LAYER_TYPES = ("AWS::Serverless::LayerVersion", "AWS::Lambda::LayerVersion")
API_TYPES = ("AWS::Serverless::Api",)


def _is_intrinsic(value: Any) -> bool:
    if not (isinstance(value, dict) and len(value) == 1):
        return False
    key = next(iter(value))
    return key in ("Ref", "Condition") or key.startswith("Fn::")


def merge_globals(global_value: Any, local_value: Any) -> Any:
    """SAM's Globals rules: maps merge (resource wins), lists concatenate, scalars override.

    Intrinsics count as scalars, so a resource's `!Ref` replaces a global one wholesale.
    """
    if _is_intrinsic(global_value) or _is_intrinsic(local_value):
        return local_value
    if isinstance(global_value, dict) and isinstance(local_value, dict):
        merged = dict(global_value)
        for key, value in local_value.items():
            merged[key] = merge_globals(global_value[key], value) if key in global_value else value
        return merged
    if isinstance(global_value, list) and isinstance(local_value, list):
        return global_value + local_value
    return local_value


def _coerce_parameter(value: Any) -> str:
    # CloudFormation parameter values are strings; YAML may have parsed them otherwise.
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return str(value)


@dataclass
class Template:
    """A SAM template with parameters bound and Globals applied."""

    path: Path
    data: dict[str, Any]
    stack_name: str = DEFAULT_STACK_NAME
    parameter_overrides: Mapping[str, str] = field(default_factory=dict)
    parameters: dict[str, str] = field(init=False)
    resources: dict[str, dict[str, Any]] = field(init=False)
    _conditions: dict[str, bool] = field(init=False, default_factory=dict)

    @classmethod
    def load(
        cls,
        path: str | Path,
        *,
        stack_name: str = DEFAULT_STACK_NAME,
        parameter_overrides: Mapping[str, str] | None = None,
    ) -> Template:
        path = Path(path).resolve()
        return cls(
            path=path,
            data=load_yaml(path),
            stack_name=stack_name,
            parameter_overrides=dict(parameter_overrides or {}),
        )

    def __post_init__(self) -> None:
        self.parameters = self._bind_parameters()
        self.resources = self._apply_globals()

    @property
    def root(self) -> Path:
        """The directory CodeUri/ContentUri paths are relative to."""
        return self.path.parent

    @property
    def declared_parameters(self) -> dict[str, dict[str, Any]]:
        return self.data.get("Parameters") or {}

    def _bind_parameters(self) -> dict[str, str]:
        declared = self.declared_parameters
        unknown = set(self.parameter_overrides) - set(declared)
        if unknown:
            raise TemplateError(f"parameters not declared in the template: {', '.join(sorted(unknown))}")
        values: dict[str, str] = {}
        for name, spec in declared.items():
            spec = spec or {}
            if name in self.parameter_overrides:
                value = _coerce_parameter(self.parameter_overrides[name])
            elif "Default" in spec:
                value = _coerce_parameter(spec["Default"])
            else:
                raise TemplateError(f"parameter {name} has no Default and no override")
            allowed = spec.get("AllowedValues")
            if allowed and value not in [_coerce_parameter(a) for a in allowed]:
                raise TemplateError(f"parameter {name}={value!r} is not one of {allowed}")
            values[name] = value
        return values

    def _apply_globals(self) -> dict[str, dict[str, Any]]:
        globals_ = self.data.get("Globals") or {}
        by_type = {
            "AWS::Serverless::Function": globals_.get("Function"),
            "AWS::Serverless::Api": globals_.get("Api"),
            "AWS::Serverless::HttpApi": globals_.get("HttpApi"),
            "AWS::Serverless::SimpleTable": globals_.get("SimpleTable"),
        }
        resources: dict[str, dict[str, Any]] = {}
        for logical_id, resource in (self.data.get("Resources") or {}).items():
            resource = copy.deepcopy(resource)
            glob = by_type.get(resource.get("Type", ""))
            if glob:
                resource["Properties"] = merge_globals(copy.deepcopy(glob), resource.get("Properties") or {})
            resource.setdefault("Properties", {})
            resources[logical_id] = resource
        return resources

    # -- conditions

    def condition(self, name: str) -> bool:
        if name not in self._conditions:
            conditions = self.data.get("Conditions") or {}
            if name not in conditions:
                raise TemplateError(f"unknown condition {name}")
            self._conditions[name] = bool(Resolver(self, {}).evaluate_condition(conditions[name]))
        return self._conditions[name]

    def is_active(self, resource: Mapping[str, Any]) -> bool:
        """False for a resource (or output) whose Condition is false: CloudFormation skips it."""
        cond = resource.get("Condition")
        return cond is None or self.condition(cond)

    # -- resources

    def of_type(self, *types: str) -> dict[str, dict[str, Any]]:
        return {
            logical_id: res
            for logical_id, res in self.resources.items()
            if res.get("Type") in types and self.is_active(res)
        }

    def active_resources(self) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.resources.items() if self.is_active(v)}

    def resource_type(self, logical_id: str) -> str | None:
        res = self.resources.get(logical_id)
        return res.get("Type") if res else None

    def api_id(self, logical_id: str) -> str:
        """A stable fake REST API id (10 lower-case alphanumerics, like API Gateway's)."""
        digest = hashlib.sha256(f"{self.stack_name}/{logical_id}".encode()).digest()
        alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
        return "".join(alphabet[b % len(alphabet)] for b in digest[:10])


# --------------------------------------------------------------------------- physical ids


@dataclass
class PhysicalResource:
    """What `Ref` and `Fn::GetAtt` return for one resource."""

    ref: Any
    attributes: dict[str, Any] = field(default_factory=dict)


def _bucket_name(name: str) -> str:
    name = re.sub(r"[^a-z0-9.-]", "-", name.lower()).strip("-.")
    return name[:63]


def arn(service: str, resource: str, *, region: str = REGION, account: str = ACCOUNT_ID) -> str:
    return f"arn:{PARTITION}:{service}:{region}:{account}:{resource}"


def physical_resources(template: Template, *, emulator_url: str | None = None) -> dict[str, PhysicalResource]:
    """Deterministic physical ids for every active resource.

    Names follow `{stack}-{LogicalId}` unless the template names the resource itself. Queue
    URLs use the emulator's address (what moto returns for them); the provisioner replaces
    KMS entries with the real key ids once the keys exist.
    """
    stack = template.stack_name
    queue_base = (emulator_url or f"https://sqs.{REGION}.{URL_SUFFIX}").rstrip("/")
    out: dict[str, PhysicalResource] = {}
    bare = Resolver(template, {})  # resolves name properties that only use parameters
    for logical_id, res in template.active_resources().items():
        rtype = res.get("Type", "")
        props = res.get("Properties") or {}
        default = f"{stack}-{logical_id}"

        def prop(key: str, fallback: str, props: dict[str, Any] = props) -> str:
            return str(bare.resolve(props[key])) if key in props else fallback

        if rtype in ("AWS::DynamoDB::Table", "AWS::Serverless::SimpleTable"):
            name = prop("TableName", default)
            table_arn = arn("dynamodb", f"table/{name}")
            out[logical_id] = PhysicalResource(name, {"Arn": table_arn})
        elif rtype == "AWS::SQS::Queue":
            fifo = str(bare.resolve(props.get("FifoQueue", False))).lower() == "true"
            name = prop("QueueName", default + (".fifo" if fifo else ""))
            url = f"{queue_base}/{ACCOUNT_ID}/{name}"
            out[logical_id] = PhysicalResource(url, {"Arn": arn("sqs", name), "QueueName": name, "QueueUrl": url})
        elif rtype == "AWS::S3::Bucket":
            name = prop("BucketName", _bucket_name(default))
            out[logical_id] = PhysicalResource(
                name,
                {
                    "Arn": f"arn:{PARTITION}:s3:::{name}",
                    "DomainName": f"{name}.s3.{URL_SUFFIX}",
                    "RegionalDomainName": f"{name}.s3.{REGION}.{URL_SUFFIX}",
                },
            )
        elif rtype == "AWS::KMS::Key":
            # Placeholder until provisioning: the alias is usable wherever a KeyId is.
            alias = kms_alias_name(stack, logical_id)
            out[logical_id] = PhysicalResource(alias, {"Arn": arn("kms", alias), "KeyId": alias})
        elif rtype == "AWS::KMS::Alias":
            out[logical_id] = PhysicalResource(prop("AliasName", f"alias/{default}"))
        elif rtype in ("AWS::Serverless::Function", "AWS::Lambda::Function"):
            name = prop("FunctionName", default)
            out[logical_id] = PhysicalResource(name, {"Arn": arn("lambda", f"function:{name}")})
        elif rtype in LAYER_TYPES:
            name = prop("LayerName", default)
            out[logical_id] = PhysicalResource(arn("lambda", f"layer:{name}:1"))
        elif rtype in ("AWS::Serverless::Api", "AWS::ApiGateway::RestApi"):
            out[logical_id] = PhysicalResource(template.api_id(logical_id), {"RootResourceId": "root"})
        elif rtype == "AWS::SNS::Topic":
            name = prop("TopicName", default)
            topic_arn = arn("sns", name)
            out[logical_id] = PhysicalResource(topic_arn, {"TopicArn": topic_arn, "TopicName": name})
        elif rtype == "AWS::SecretsManager::Secret":
            name = prop("Name", default)
            out[logical_id] = PhysicalResource(arn("secretsmanager", f"secret:{name}"))
        else:
            # Anything the runtime does not emulate still gets plausible values so that
            # outputs and environment variables referring to it resolve.
            service = rtype.split("::")[1].lower() if rtype.count("::") >= 2 else "unknown"
            out[logical_id] = PhysicalResource(default, {"Arn": arn(service, default)})
    if uses_implicit_api(template):
        api = PhysicalResource(template.api_id(IMPLICIT_API_ID), {"RootResourceId": "root"})
        out.setdefault(IMPLICIT_API_ID, api)
    return out


IMPLICIT_API_ID = "ServerlessRestApi"


def uses_implicit_api(template: Template) -> bool:
    """SAM creates `ServerlessRestApi` for Api events that name no RestApiId."""
    return any(
        "RestApiId" not in props
        for fn in template.of_type(*FUNCTION_TYPES).values()
        for _name, props in iter_events(fn, "Api")
    )


def kms_alias_name(stack_name: str, logical_id: str) -> str:
    return f"alias/{stack_name}-{logical_id}"


# --------------------------------------------------------------------------- intrinsics

_NO_VALUE = object()  # AWS::NoValue: drops the enclosing key or list item
_SUB_VAR = re.compile(r"\$\{([^}]*)\}")


class Resolver:
    """Evaluates intrinsic functions against bound parameters and physical resources."""

    def __init__(self, template: Template, physical: Mapping[str, PhysicalResource]) -> None:
        self.template = template
        self.physical = physical

    @property
    def pseudo(self) -> dict[str, Any]:
        return {
            "AWS::Region": REGION,
            "AWS::AccountId": ACCOUNT_ID,
            "AWS::StackName": self.template.stack_name,
            "AWS::StackId": arn("cloudformation", f"stack/{self.template.stack_name}/local"),
            "AWS::Partition": PARTITION,
            "AWS::URLSuffix": URL_SUFFIX,
            "AWS::NotificationARNs": [],
        }

    def resolve(self, value: Any) -> Any:
        result = self._resolve(value)
        return None if result is _NO_VALUE else result

    def _resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            items = [self._resolve(v) for v in value]
            return [v for v in items if v is not _NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, arg),) = value.items()
            handler = self._functions.get(key)
            if handler is not None:
                return handler(self, arg)
        out = {}
        for key, item in value.items():
            resolved = self._resolve(item)
            if resolved is not _NO_VALUE:
                out[key] = resolved
        return out

    # -- individual functions

    def ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return _NO_VALUE
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.template.parameters:
            spec = self.template.declared_parameters.get(name) or {}
            value = self.template.parameters[name]
            ptype = str(spec.get("Type", "String"))
            if ptype == "CommaDelimitedList" or ptype.startswith("List<"):
                return [v.strip() for v in value.split(",")] if value else []
            return value
        if name in self.physical:
            return self.physical[name].ref
        raise TemplateError(f"Ref to unknown parameter or resource {name!r}")

    def get_att(self, arg: Any) -> Any:
        if isinstance(arg, str):
            arg = arg.split(".", 1)
        logical_id, attribute = arg[0], self._resolve(arg[1])
        res = self.physical.get(logical_id)
        if res is None:
            raise TemplateError(f"Fn::GetAtt on unknown resource {logical_id!r}")
        if attribute not in res.attributes:
            raise TemplateError(f"Fn::GetAtt {logical_id}.{attribute} is not supported locally")
        return res.attributes[attribute]

    def sub(self, arg: Any) -> str:
        if isinstance(arg, list):
            text, variables = arg[0], {k: self._resolve(v) for k, v in (arg[1] or {}).items()}
        else:
            text, variables = arg, {}

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):  # ${!Literal} escapes to ${Literal}
                return "${" + name[1:] + "}"
            if name in variables:
                value = variables[name]
            elif "." in name and not name.startswith("AWS::"):
                value = self.get_att(name.split(".", 1))
            else:
                value = self.ref(name)
            if isinstance(value, list):
                value = ",".join(str(v) for v in value)
            return str(value)

        return _SUB_VAR.sub(replace, text)

    def fn_if(self, arg: list[Any]) -> Any:
        name, when_true, when_false = arg
        return self._resolve(when_true if self.template.condition(name) else when_false)

    def join(self, arg: list[Any]) -> str:
        delimiter, items = arg[0], self._resolve(arg[1])
        return str(delimiter).join(str(v) for v in items)

    def select(self, arg: list[Any]) -> Any:
        index, items = int(self._resolve(arg[0])), self._resolve(arg[1])
        return items[index]

    def split(self, arg: list[Any]) -> list[str]:
        delimiter, text = arg[0], self._resolve(arg[1])
        return str(text).split(delimiter)

    def find_in_map(self, arg: list[Any]) -> Any:
        name, top, second = (self._resolve(a) for a in arg)
        try:
            return self.template.data["Mappings"][name][top][second]
        except KeyError as exc:
            raise TemplateError(f"Fn::FindInMap {name}/{top}/{second} not found") from exc

    def base64(self, arg: Any) -> str:
        return base64.b64encode(str(self._resolve(arg)).encode()).decode()

    def get_azs(self, _arg: Any) -> list[str]:
        return [f"{REGION}{z}" for z in "abc"]

    def to_json_string(self, arg: Any) -> str:
        return json.dumps(self._resolve(arg), separators=(",", ":"))

    def import_value(self, arg: Any) -> Any:
        raise TemplateError(f"Fn::ImportValue {self._resolve(arg)!r}: cross-stack imports are not emulated")

    # -- conditions

    def evaluate_condition(self, value: Any) -> bool:
        if isinstance(value, dict) and len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Condition":
                return self.template.condition(arg)
            if key == "Fn::Equals":
                left, right = (self._resolve(a) for a in arg)
                return _coerce_parameter(left) == _coerce_parameter(right)
            if key == "Fn::Not":
                return not self.evaluate_condition(arg[0])
            if key == "Fn::And":
                return all(self.evaluate_condition(a) for a in arg)
            if key == "Fn::Or":
                return any(self.evaluate_condition(a) for a in arg)
        resolved = self._resolve(value)
        if isinstance(resolved, bool):
            return resolved
        return str(resolved).lower() == "true"

    _functions: dict[str, Callable[[Resolver, Any], Any]] = {
        "Ref": ref,
        "Fn::GetAtt": get_att,
        "Fn::Sub": sub,
        "Fn::If": fn_if,
        "Fn::Join": join,
        "Fn::Select": select,
        "Fn::Split": split,
        "Fn::FindInMap": find_in_map,
        "Fn::Base64": base64,
        "Fn::GetAZs": get_azs,
        "Fn::ToJsonString": to_json_string,
        "Fn::ImportValue": import_value,
        "Fn::Equals": lambda self, arg: self.evaluate_condition({"Fn::Equals": arg}),
        "Fn::Not": lambda self, arg: self.evaluate_condition({"Fn::Not": arg}),
        "Fn::And": lambda self, arg: self.evaluate_condition({"Fn::And": arg}),
        "Fn::Or": lambda self, arg: self.evaluate_condition({"Fn::Or": arg}),
        "Condition": lambda self, arg: self.template.condition(arg),
    }


def logical_id_of(value: Any) -> str | None:
    """The resource a raw `Ref`/`GetAtt` points at (before resolution), if it is one."""
    if isinstance(value, dict) and len(value) == 1:
        ((key, arg),) = value.items()
        if key == "Ref" and isinstance(arg, str):
            return arg
        if key == "Fn::GetAtt":
            return (arg.split(".", 1) if isinstance(arg, str) else arg)[0]
    return None


def stringify_env(values: Mapping[str, Any]) -> dict[str, str]:
    """Lambda environment variables are strings; YAML booleans/numbers become text."""
    return {k: _coerce_parameter(v) for k, v in values.items() if v is not None}


def iter_events(function: Mapping[str, Any], *types: str) -> Iterable[tuple[str, dict[str, Any]]]:
    for name, event in ((function.get("Properties") or {}).get("Events") or {}).items():
        if event.get("Type") in types:
            yield name, event.get("Properties") or {}
