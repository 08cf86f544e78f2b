"""Reads template.yaml: the table definitions, the HTTP routes and the schedules, so that nothing about
them is restated here."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"


class _CfnLoader(yaml.SafeLoader):
    """Keeps CloudFormation short-form intrinsics (!Ref X) as {"Ref": X} / {"Fn::GetAtt": ...}."""


def _intrinsic(loader: _CfnLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


_CfnLoader.add_multi_constructor("!", _intrinsic)


def load(path: Path = TEMPLATE) -> dict[str, Any]:
    return yaml.load(path.read_text(), Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass


@dataclass(frozen=True)
class Authorizer:
    name: str
    function_id: str
    identity_headers: tuple[str, ...]  # lower-case header names that must be present
    cache_seconds: int
    simple_responses: bool


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # /api/v1/packs/{pack_id}
    function_id: str
    pattern: re.Pattern[str]
    authorizer: Authorizer | None = None

    @property
    def route_key(self) -> str:
        return f"{self.method} {self.path}"

    def match(self, method: str, path: str) -> dict[str, str] | None:
        if method != self.method and self.method != "ANY":
            return None
        found = self.pattern.fullmatch(path)
        return found.groupdict() if found else None


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    code_dir: Path
    module: str
    handler: str
    timeout_seconds: int


@dataclass(frozen=True)
class Schedule:
    function_id: str
    expression: str
    payload: str | None


def _path_pattern(path: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^}]+\})", path)
    regex = "".join(
        f"(?P<{p[1:-1].rstrip('+')}>.+)" if p.endswith("+}") else f"(?P<{p[1:-1]}>[^/]+)" if p.startswith("{")
        else re.escape(p)
        for p in parts
    )
    return re.compile(regex)


def resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


def functions(template: dict[str, Any]) -> dict[str, FunctionSpec]:
    defaults = template.get("Globals", {}).get("Function", {})
    result = {}
    for logical_id, resource in resources(template, "AWS::Serverless::Function").items():
        props = resource["Properties"]
        module, handler = props["Handler"].rsplit(".", 1)
        result[logical_id] = FunctionSpec(
            logical_id=logical_id,
            code_dir=ROOT / props["CodeUri"],
            module=module,
            handler=handler,
            timeout_seconds=int(props.get("Timeout", defaults.get("Timeout", 3))),
        )
    return result


def authorizers(template: dict[str, Any]) -> tuple[dict[str, Authorizer], str | None]:
    """The HTTP API's Lambda authorizers by name, and the default one (None: routes are public by default)."""
    (api,) = resources(template, "AWS::Serverless::HttpApi").values()
    auth = api["Properties"].get("Auth", {})
    found = {}
    for name, spec in auth.get("Authorizers", {}).items():
        identity = spec.get("Identity", {})
        found[name] = Authorizer(
            name=name,
            function_id=spec["FunctionArn"]["Fn::GetAtt"][0],
            identity_headers=tuple(h.lower() for h in identity.get("Headers", [])),
            cache_seconds=int(identity.get("ReauthorizeEvery", 300)),
            simple_responses=bool(spec.get("EnableSimpleResponses")),
        )
    return found, auth.get("DefaultAuthorizer")


def routes(template: dict[str, Any]) -> list[Route]:
    known, default = authorizers(template)
    found = []
    for logical_id, resource in resources(template, "AWS::Serverless::Function").items():
        for event in resource["Properties"].get("Events", {}).values():
            if event["Type"] == "HttpApi":
                props = event["Properties"]
                method = props["Method"].upper()
                name = props.get("Auth", {}).get("Authorizer", default)
                authorizer = None if name in (None, "NONE") else known[name]
                found.append(Route(method, props["Path"], logical_id, _path_pattern(props["Path"]), authorizer))
    # Static segments win over parameters, as API Gateway matches the most specific route first.
    return sorted(found, key=lambda r: (r.path.count("{"), -len(r.path)))


def schedules(template: dict[str, Any]) -> list[Schedule]:
    found = []
    for logical_id, resource in resources(template, "AWS::Serverless::Function").items():
        for event in resource["Properties"].get("Events", {}).values():
            if event["Type"] in {"ScheduleV2", "Schedule"}:
                props = event["Properties"]
                found.append(Schedule(logical_id, props["ScheduleExpression"], props.get("Input")))
    return found


def table_definitions(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """CreateTable arguments for each AWS::DynamoDB::Table, from its own properties."""
    tables = {}
    for logical_id, resource in resources(template, "AWS::DynamoDB::Table").items():
        props = resource["Properties"]
        definition: dict[str, Any] = {
            "AttributeDefinitions": props["AttributeDefinitions"],
            "KeySchema": props["KeySchema"],
            "BillingMode": props.get("BillingMode", "PROVISIONED"),
        }
        if props.get("GlobalSecondaryIndexes"):
            definition["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
        if props.get("StreamSpecification"):
            definition["StreamSpecification"] = {"StreamEnabled": True, **props["StreamSpecification"]}
        tables[logical_id] = {"definition": definition, "ttl": props.get("TimeToLiveSpecification")}
    return tables


def global_environment(template: dict[str, Any]) -> dict[str, Any]:
    return template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})


def parameter_defaults(template: dict[str, Any]) -> dict[str, str]:
    return {name: str(p.get("Default", "")) for name, p in template.get("Parameters", {}).items()}


_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")


def rate_seconds(expression: str) -> int:
    """Seconds between runs of a rate() schedule; cron() is not run locally (ValueError)."""
    found = _RATE.match(expression.strip())
    if not found:
        raise ValueError(f"only rate() schedules run locally, not {expression!r}")
    unit = found.group(2).rstrip("s")
    return int(found.group(1)) * {"minute": 60, "hour": 3600, "day": 86400}[unit]


@dataclass(frozen=True)
class QueueSource:
    """An SQS event source mapping: the function, the queue's logical id, the batch size, and whether the
    function reports partial batch failures."""

    function_id: str
    queue_id: str
    batch_size: int
    partial_failures: bool


@dataclass(frozen=True)
class StreamSource:
    """A DynamoDB Streams event source mapping: the function, the batch size, the filter pattern, and whether the
    function reports partial batch failures."""

    function_id: str
    batch_size: int
    pattern: Any
    partial_failures: bool


def stream_sources(template: dict[str, Any]) -> list[StreamSource]:
    import json

    found = []
    for logical_id, resource in resources(template, "AWS::Serverless::Function").items():
        for event in resource["Properties"].get("Events", {}).values():
            if event["Type"] == "DynamoDB":
                props = event["Properties"]
                filters = (props.get("FilterCriteria") or {}).get("Filters") or []
                found.append(StreamSource(logical_id, int(props.get("BatchSize", 100)),
                                          json.loads(filters[0]["Pattern"]) if filters else {},
                                          "ReportBatchItemFailures" in props.get("FunctionResponseTypes", [])))
    return found


def queue_sources(template: dict[str, Any]) -> list[QueueSource]:
    found = []
    for logical_id, resource in resources(template, "AWS::Serverless::Function").items():
        for event in resource["Properties"].get("Events", {}).values():
            if event["Type"] == "SQS":
                props = event["Properties"]
                found.append(QueueSource(logical_id, props["Queue"]["Fn::GetAtt"][0], int(props.get("BatchSize", 10)),
                                         "ReportBatchItemFailures" in props.get("FunctionResponseTypes", [])))
    return found
