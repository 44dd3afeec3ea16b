"""GitHub's REST API description: routing requests to its operations and checking them.

The description (``github-rest-openapi-extended.json``: GitHub's own OpenAPI document reduced
to the operations the bot uses, from ``github/rest-api-description``, plus twelve operations
taken whole from Octokit's bundle of the same description, ``@octokit/openapi`` 23.0.2; both
MIT, see the ``LICENSE-*.txt`` files beside it and ``info.x-reduced-from`` /
``info.x-extended-from``) is loaded once per process; every :class:`FakeGitHub` shares it.

Request checks use openapi-core with ``additional_properties_default_policy="forbid"``: a body
field the description does not name is a violation, even though GitHub itself silently ignores
it (a misspelt field is a bug that GitHub would hide). Unknown query parameters are violations
for the same reason. Answers can be checked too, so the fake's own JSON stays true to GitHub's.

Two things in the description need care with openapi-core:

* ``POST /repos/{owner}/{repo}/check-runs`` has ``discriminator: {propertyName: status}`` over
  *inline* ``oneOf`` branches. openapi-core resolves the status value as a component name
  (``#/components/schemas/completed``) and rejects every body. The contents answer has
  ``discriminator: {propertyName: type}`` with a branch that is an array (a directory listing),
  which has no ``type`` property to look at. Both are dropped at load time; their plain
  ``oneOf`` already says what is allowed.
* Many fields are ``nullable: true`` with an ``enum`` that lacks ``null`` (``state_reason``,
  ``start_side``, a check run's ``conclusion``). GitHub sends and accepts ``null`` there, but
  openapi-core follows OpenAPI 3.0.3 to the letter and refuses it, so ``null`` is added to
  those enums at load time.
* Parameters marked ``x-multi-segment`` (a file ``path``, a commit ``ref`` such as
  ``heads/main``) hold slashes, which openapi-core's path finder cannot match. Requests are
  routed here and handed to openapi-core with their path template already resolved.

Lists come in three kinds, told apart by the description: a plain array (``page``/``per_page``
and a ``Link`` header), an object with ``total_count`` and one array (the array is paged the
same way; ``list_key`` names it) and an array paged by ``cursor`` (webhook deliveries).
"""

from __future__ import annotations

import copy
import functools
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openapi_core import Config, OpenAPI
from openapi_core.datatypes import RequestParameters
from openapi_core.validation.request.exceptions import ParameterValidationError
from werkzeug.datastructures import Headers, ImmutableMultiDict

DESCRIPTION_FILE = Path(__file__).with_name("github-rest-openapi-extended.json")
SERVER = "https://api.github.com"
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_MAX_DETAIL = 240


@dataclass(frozen=True)
class Operation:
    """One operation of the description, with what routing and checking need to know."""

    method: str
    template: str
    operation_id: str
    pattern: re.Pattern[str] = field(compare=False)
    literal_segments: int
    query_parameters: frozenset[str]
    paginated: bool  # the answer is a list, paged by ``page`` (or by ``cursor``)
    has_body: bool
    list_key: str | None = None  # {"total_count": n, list_key: [...]}: the paged array's name

    @property
    def cursor_paged(self) -> bool:
        return self.paginated and "cursor" in self.query_parameters


@dataclass(frozen=True)
class Problem:
    """Why a request does not match the description; ``where`` is path, query or body."""

    where: str
    detail: str

    def __str__(self) -> str:
        return f"{self.where}: {self.detail}"


@dataclass(frozen=True)
class Route:
    operation: Operation
    path_params: dict[str, str]


@dataclass(frozen=True)
class NoRoute:
    reason: str


@dataclass
class _OpenAPIRequest:
    """openapi-core's ``Request`` protocol, for a request already routed to its template."""

    method: str
    path: str
    path_pattern: str
    parameters: RequestParameters
    body: bytes | None
    content_type: str
    host_url: str = SERVER


@dataclass
class _OpenAPIResponse:
    status_code: int
    content_type: str
    headers: Mapping[str, str]
    data: bytes | None


class Description:
    """The loaded description: an operation table and two openapi-core validators."""

    def __init__(self, document: dict[str, Any]):
        document = _with_nullable_enums(_without_unusable_discriminators(document))
        self.document = document
        self.operations = _operations(document)
        # The document is checked when it is reduced (see the fixtures README); skipping the
        # spec validator here saves a third of a second per process.
        self._requests = OpenAPI.from_dict(
            document,
            config=Config(spec_validator_cls=None, additional_properties_default_policy="forbid"),
        )
        self._responses = OpenAPI.from_dict(document, config=Config(spec_validator_cls=None))

    # routing -------------------------------------------------------------------------------------
    def route(self, method: str, path: str) -> Route | NoRoute:
        allowed: list[str] = []
        for operation in self.operations:
            found = operation.pattern.fullmatch(path)
            if found is None:
                continue
            if operation.method == method.upper():
                return Route(operation, found.groupdict())
            allowed.append(operation.method)
        if allowed:
            methods = ", ".join(sorted(set(allowed)))
            return NoRoute(
                f"{method.upper()} is not an operation on {path} (the description has {methods})"
            )
        return NoRoute(f"no path in the description matches {path}")

    # checking ------------------------------------------------------------------------------------
    def request_problems(
        self,
        route: Route,
        path: str,
        query: Iterable[tuple[str, str]],
        content_type: str,
        body: bytes,
    ) -> list[Problem]:
        operation = route.operation
        query = list(query)
        problems = [
            Problem("query", f"unknown parameter {name!r}")
            for name in dict(query)
            if name not in operation.query_parameters
        ]
        if body and not operation.has_body:
            problems.append(
                Problem("body", f"{operation.method} {operation.template} takes no body")
            )
        request = _OpenAPIRequest(
            method=operation.method.lower(),
            path=path,
            path_pattern=operation.template,
            parameters=RequestParameters(
                query=ImmutableMultiDict(query), header=Headers(), path=dict(route.path_params)
            ),
            body=body if operation.has_body else None,
            content_type=content_type,
        )
        for error in self._requests.iter_request_errors(request):
            problems.extend(_explain(error))
        return problems

    def response_problems(
        self, route: Route, status: int, headers: Mapping[str, str], body: bytes
    ) -> list[str]:
        """What is wrong with an answer the fake gave, judged by the description."""
        operation = route.operation
        request = _OpenAPIRequest(
            method=operation.method.lower(),
            path=operation.template,
            path_pattern=operation.template,
            parameters=RequestParameters(path=dict(route.path_params)),
            body=None,
            content_type="",
        )
        response = _OpenAPIResponse(
            status_code=status,
            content_type=headers.get("Content-Type", "application/json") if body else "",
            headers=headers,
            data=body or None,
        )
        return [
            str(problem)
            for error in self._responses.iter_response_errors(request, response)
            for problem in _explain(error)
        ]


@functools.cache
def description() -> Description:
    """The description bundled with the package, loaded once per process."""
    return Description(json.loads(DESCRIPTION_FILE.read_text(encoding="utf-8")))


# building the operation table -------------------------------------------------------------------
def _operations(document: dict[str, Any]) -> list[Operation]:
    found = []
    for template, item in document["paths"].items():
        shared = item.get("parameters", [])
        for method, spec in item.items():
            if method not in HTTP_METHODS:
                continue
            parameters = [_resolve(document, p) for p in [*shared, *spec.get("parameters", [])]]
            multi_segment = {
                p["name"] for p in parameters if p["in"] == "path" and p.get("x-multi-segment")
            }
            list_key = _wrapped_list(document, spec)
            found.append(
                Operation(
                    method=method.upper(),
                    template=template,
                    operation_id=spec["operationId"],
                    pattern=_template_pattern(template, multi_segment),
                    literal_segments=sum(1 for s in template.split("/") if s and "{" not in s),
                    query_parameters=frozenset(p["name"] for p in parameters if p["in"] == "query"),
                    paginated=list_key is not None or _answers_a_list(document, spec),
                    has_body=_body_schema(document, spec) is not None,
                    list_key=list_key,
                )
            )
    # Where two templates match one path, the one with more fixed segments is the real one.
    return sorted(found, key=lambda op: -op.literal_segments)


def _template_pattern(template: str, multi_segment: Iterable[str] = ()) -> re.Pattern[str]:
    """``/repos/{owner}/{repo}`` as a regex; an ``x-multi-segment`` parameter may hold slashes."""
    multi_segment = frozenset(multi_segment)

    def segment(part: str) -> str:
        if not part.startswith("{"):
            return re.escape(part)
        name = part.strip("{}")
        return f"(?P<{name}>.+)" if name in multi_segment else f"(?P<{name}>[^/]+)"

    return re.compile("".join(segment(part) for part in re.split(r"(\{[^}]+\})", template)))


def _resolve(document: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = document
        for key in node["$ref"].removeprefix("#/").split("/"):
            target = target[key]
        node = target
    return node


def _body_schema(document: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any] | None:
    body = spec.get("requestBody")
    if body is None:
        return None
    content = _resolve(document, body).get("content", {}).get("application/json", {})
    # GET .../contents/{path} declares a requestBody with examples and no schema: it takes none.
    return content.get("schema")


def _answers_a_list(document: dict[str, Any], spec: dict[str, Any]) -> bool:
    ok = spec.get("responses", {}).get("200")
    if ok is None:
        return False
    schema = _resolve(document, ok).get("content", {}).get("application/json", {}).get("schema", {})
    return _resolve(document, schema).get("type") == "array"


def _wrapped_list(document: dict[str, Any], spec: dict[str, Any]) -> str | None:
    """The array's name when the 200 answer is ``{"total_count": n, "<name>": [...]}``."""
    ok = spec.get("responses", {}).get("200")
    if ok is None:
        return None
    schema = _resolve(document, ok).get("content", {}).get("application/json", {}).get("schema", {})
    properties = _resolve(document, schema).get("properties", {})
    arrays = [
        name for name, prop in properties.items() if _resolve(document, prop).get("type") == "array"
    ]
    return arrays[0] if "total_count" in properties and len(arrays) == 1 else None


def _without_unusable_discriminators(document: dict[str, Any]) -> dict[str, Any]:
    """A copy without the discriminators openapi-core cannot apply (see the module docstring)."""
    document = copy.deepcopy(document)
    for node in _walk(document):
        if "discriminator" in node and not _discriminator_usable(document, node):
            del node["discriminator"]
    return document


def _discriminator_usable(document: dict[str, Any], node: dict[str, Any]) -> bool:
    branches = node.get("oneOf") or node.get("anyOf") or []
    if "mapping" not in node["discriminator"] and not all("$ref" in b for b in branches):
        return False  # inline branches have no component name to find
    return all(_resolve(document, b).get("type", "object") == "object" for b in branches)


def _with_nullable_enums(document: dict[str, Any]) -> dict[str, Any]:
    """``null`` added to the ``enum`` of every ``nullable`` schema (see the module docstring)."""
    for node in _walk(document):
        if (
            node.get("nullable") is True
            and isinstance(node.get("enum"), list)
            and None not in node["enum"]
        ):
            node["enum"] = [*node["enum"], None]
    return document


def _walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


# explaining openapi-core's errors -----------------------------------------------------------------
def _explain(error: Exception) -> list[Problem]:
    """openapi-core errors, as short sentences that say where the request went wrong."""
    if isinstance(error, ParameterValidationError):
        where = error.location
        prefix = f"parameter {error.name!r}: "
    else:
        where = "body" if "body" in type(error).__name__.lower() else "response"
        prefix = ""
    schema_errors = _schema_errors(error)
    if schema_errors:
        return [
            Problem(where, prefix + _short(f"{_pointer(e.absolute_path)}{_message(e)}"))
            for e in schema_errors
        ]
    return [Problem(where, prefix + _short(str(_innermost(error))))]


def _schema_errors(error: BaseException) -> list[Any]:
    current: BaseException | None = error
    while current is not None:
        found = getattr(current, "schema_errors", None)
        if found:
            return list(found)
        current = current.__cause__
    return []


def _message(error: Any) -> str:
    """jsonschema's message, without the (often huge) value it starts with."""
    text = str(error.message)
    shown = repr(error.instance)
    if len(shown) > 40 and shown in text:
        text = text.replace(shown, "the value")
    return text


def _innermost(error: BaseException) -> BaseException:
    while error.__cause__ is not None and not isinstance(error.__cause__, ValueError):
        error = error.__cause__
    return error


def _pointer(path: Iterable[Any]) -> str:
    steps = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)
    return f"{steps.lstrip('.')}: " if steps else ""


def _short(text: str) -> str:
    return text if len(text) <= _MAX_DETAIL else text[: _MAX_DETAIL - 1] + "…"
