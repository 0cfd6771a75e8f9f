"""What each operation may answer, declared beside it and turned into its OpenAPI ``responses``.

Every route handler passes ``responses=answers(...)``: the problem types its service may raise
(domain error classes, or the :class:`ProblemType` constants below), and what the route takes
(``body=True`` for a JSON body, ``idempotent=True`` for an Idempotency-Key). ``answers`` adds
what every authenticated route may answer (401, 403, 422 for a bad query, 503 when the database
is busy), groups the types by status, and documents each status as ``application/problem+json``
whose ``type`` is one of the listed values. The schemathesis test (tests/contract) checks that
the API answers nothing else.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any

import msgspec
from litestar.datastructures import ResponseHeader
from litestar.openapi import ResponseSpec
from litestar.openapi.spec import Example, OpenAPIType, Schema
from litestar.params import Body, BodyKwarg
from litestar.plugins import OpenAPISchemaPlugin
from litestar.typing import FieldDefinition

from app.api.idempotent import IdempotencyKeyInvalid, IdempotencyKeyMissing
from app.api.problems import HTTP_SLUGS, PROBLEM_MEDIA_TYPE, problem_type
from app.domain.errors import DomainError
from app.events.idempotency import IdempotencyKeyInFlight, IdempotencyKeyReused
from app.schemas import DecimalLimits

# Routes that need an API key; public ones (health, problems) leave it out.
API_KEY: list[dict[str, list[str]]] = [{"apiKey": []}]


@dataclass(frozen=True)
class ProblemType:
    """A ``type`` an answer may carry: ``/problems/<slug>`` with its status and title."""

    slug: str
    status: int
    title: str

    @property
    def uri(self) -> str:
        return problem_type(self.slug)


def _http(status: int) -> ProblemType:
    slug, title = HTTP_SLUGS[status]
    return ProblemType(slug, status, title)


UNAUTHORIZED = _http(401)
FORBIDDEN = _http(403)
NOT_FOUND = _http(404)
NOT_ACCEPTABLE = _http(406)
UNSUPPORTED_MEDIA_TYPE = _http(415)
VALIDATION = _http(422)
PAYLOAD_TOO_LARGE = _http(413)
MALFORMED = ProblemType("malformed-request", 400, "Request is malformed")
BAD_REQUEST = _http(400)
CONFLICT = ProblemType("conflict", 409, "Conflicts with the current state")
DATABASE_BUSY = ProblemType("database-busy", 503, "Database is busy")
INTERNAL_ERROR = ProblemType("internal-error", 500, "Internal error")

Declared = type[DomainError] | ProblemType
AUTHENTICATED: tuple[Declared, ...] = (BAD_REQUEST, UNAUTHORIZED, FORBIDDEN, VALIDATION, DATABASE_BUSY)
BODY: tuple[Declared, ...] = (MALFORMED, PAYLOAD_TOO_LARGE, UNSUPPORTED_MEDIA_TYPE, VALIDATION)
IDEMPOTENT: tuple[Declared, ...] = (
    IdempotencyKeyMissing,
    IdempotencyKeyInvalid,
    IdempotencyKeyInFlight,
    IdempotencyKeyReused,
)


def problem_type_of(declared: Declared) -> ProblemType:
    if isinstance(declared, ProblemType):
        return declared
    return ProblemType(declared.slug, declared.status, declared.title)


class FieldError(msgspec.Struct, kw_only=True):
    """One field that failed: where it came from (``body``, ``query``, ``header``...) and why."""

    field: str | None
    message: str | None
    source: str | None = None


class ProblemTypes(msgspec.Struct, frozen=True):
    """Marks a problem document's schema with the ``type`` values and status it can carry."""

    status: int
    uris: tuple[str, ...]


def answers(*declared: Declared, body: bool = False, idempotent: bool = False) -> dict[int, ResponseSpec]:
    """The ``responses=`` of an authenticated route: the problem types given, those of a JSON
    body (``body``) and of an Idempotency-Key (``idempotent``), and those of every route."""
    listed = [*declared, *AUTHENTICATED]
    if body:
        listed.extend(BODY)
    if idempotent:
        listed.extend(IDEMPOTENT)
    return problem_responses(problem_type_of(item) for item in listed)


def problem_responses(types: Iterable[ProblemType]) -> dict[int, ResponseSpec]:
    """One response per status, documenting the problem types of that status."""
    by_status: dict[int, dict[str, ProblemType]] = {}
    for item in types:
        by_status.setdefault(item.status, {})[item.uri] = item
    return {
        status: ResponseSpec(
            data_container=_marked(status, tuple(sorted(found))),
            media_type=PROBLEM_MEDIA_TYPE,
            generate_examples=False,
            description="; ".join(f"{uri}: {found[uri].title}" for uri in sorted(found)),
        )
        for status, found in sorted(by_status.items())
    }


def _marked(status: int, uris: tuple[str, ...]) -> Any:
    return Annotated[dict[str, Any], ProblemTypes(status=status, uris=uris)]


def header(name: str, description: str) -> ResponseHeader:
    """A header of a successful answer, for ``response_headers=`` (documentation only)."""
    # The value only gives the header's schema (a string); documentation_only keeps it off answers.
    return ResponseHeader(name=name, description=description, documentation_only=True, value="")


ETAG = header("ETag", 'The booking\'s version, such as "v3": send it back in If-Match to amend it.')
LOCATION = header("Location", "Where the created resource is read.")


def _string(**extra: Any) -> Schema:
    return Schema(type=OpenAPIType.STRING, **extra)


def problem_schema(status: int, uris: Iterable[str]) -> Schema:
    """RFC 9457 problem details as this API writes them; ``type`` one of ``uris``. Each type may
    add members of its own (``wanted`` and ``free`` of insufficient-capacity...)."""
    field_error = Schema(
        type=OpenAPIType.OBJECT,
        required=["field", "message"],
        properties={
            "field": Schema(one_of=[_string(), Schema(type=OpenAPIType.NULL)]),
            "message": Schema(one_of=[_string(), Schema(type=OpenAPIType.NULL)]),
            "source": Schema(one_of=[_string(), Schema(type=OpenAPIType.NULL)]),
        },
    )
    return Schema(
        type=OpenAPIType.OBJECT,
        required=["type", "title", "status", "detail", "instance"],
        properties={
            "type": _string(enum=list(uris), description="GET /problems/{type} describes it"),
            "title": _string(),
            "status": Schema(type=OpenAPIType.INTEGER, enum=[status]),
            "detail": _string(),
            "instance": _string(description="The path of the request"),
            "request_id": _string(description="Also in X-Request-ID; quote it when reporting"),
            "errors": Schema(type=OpenAPIType.ARRAY, items=field_error),
        },
    )


class ProblemSchemaPlugin(OpenAPISchemaPlugin):
    """Writes the schema of a problem document marked with :class:`ProblemTypes`."""

    def is_plugin_supported_field(self, field_definition: FieldDefinition) -> bool:
        return any(isinstance(item, ProblemTypes) for item in field_definition.metadata)

    def to_openapi_schema(self, field_definition: FieldDefinition, schema_creator: Any) -> Schema:
        marker = next(item for item in field_definition.metadata if isinstance(item, ProblemTypes))
        return problem_schema(marker.status, marker.uris)


class DecimalSchemaPlugin(OpenAPISchemaPlugin):
    """Writes a decimal field declaring :class:`app.schemas.DecimalLimits` as the string it is on
    the wire, with its format and the pattern of its limits."""

    def is_plugin_supported_field(self, field_definition: FieldDefinition) -> bool:
        return any(isinstance(item, DecimalLimits) for item in field_definition.metadata)

    def to_openapi_schema(self, field_definition: FieldDefinition, schema_creator: Any) -> Schema:
        limits = next(item for item in field_definition.metadata if isinstance(item, DecimalLimits))
        meta = next((item for item in field_definition.metadata if isinstance(item, msgspec.Meta)), None)
        return Schema(
            type=OpenAPIType.STRING,
            format="decimal",  # type: ignore[arg-type]
            pattern=limits.pattern,
            description=meta.description if meta is not None else None,
            examples=list(meta.examples) if meta is not None and meta.examples else None,
        )


def declared_types(responses: Mapping[int, ResponseSpec] | None) -> set[str]:
    """The problem types a route's ``responses=`` declares (for tests and the catalogue)."""
    found: set[str] = set()
    for spec in (responses or {}).values():
        for item in getattr(spec.data_container, "__metadata__", ()):
            if isinstance(item, ProblemTypes):
                found.update(item.uris)
    return found


_EXAMPLE_UUID = "5b0c7f0e-3a51-4f5e-9a3e-0d8f4b2a7c11"
_EXAMPLE_TIME = "2026-12-01T09:30:00Z"


def example_body(model: type[msgspec.Struct], **values: Any) -> BodyKwarg:
    """The ``Body`` of a route's ``data``, documented with one example of ``model``: each
    required field's declared example (or a plain value of its type), then ``values`` (a field
    given None is left out)."""
    schema = msgspec.json.schema(model)
    example = {**_example(schema, schema.get("$defs", {})), **values}
    value = {name: item for name, item in example.items() if item is not None}
    body: BodyKwarg = Body(examples=[Example(summary=f"A {model.__name__}", value=value)])
    return body


def _example(schema: dict[str, Any], defs: dict[str, Any]) -> Any:
    if "$ref" in schema:
        return _example(defs[schema["$ref"].rsplit("/", 1)[-1]], defs)
    if schema.get("examples"):
        return schema["examples"][0]
    if "enum" in schema:
        return schema["enum"][0]
    if "anyOf" in schema:
        return _example(next(s for s in schema["anyOf"] if s.get("type") != "null"), defs)
    kind = schema.get("type")
    if kind == "object":
        properties = schema.get("properties", {})
        return {name: _example(properties[name], defs) for name in schema.get("required", [])}
    if kind == "array":
        return [_example(schema.get("items", {}), defs) for _ in range(schema.get("minItems", 0))]
    if kind == "integer":
        return max(1, schema.get("minimum", 1))
    if kind == "boolean":
        return True
    if kind == "string":
        return {"uuid": _EXAMPLE_UUID, "date-time": _EXAMPLE_TIME, "decimal": "1"}.get(
            schema.get("format", ""), "text"
        )
    return None
