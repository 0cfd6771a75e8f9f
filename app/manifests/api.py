"""Carriers read their consolidated manifests (operators read every carrier's).

A carrier organisation's key sees the manifests of the carriers it is linked to
(``carrier_accounts``); any other manifest is 404. A manifest or a version is answered in the
format ``Accept`` asks for: ``application/json`` (DCSA eBL 3.0.3 shipping instructions, also for
``*/*`` or no Accept), ``application/edifact`` (a CUSCAR interchange) or ``text/csv``; anything
else is 406.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated

from litestar import Controller, Response, get, put
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIResponse, OpenAPIType, Operation, Schema
from litestar.params import Parameter

from app.accounts.actor import Actor, OrgKind, Scope
from app.accounts.auth import requires
from app.api.contract import API_KEY, NOT_ACCEPTABLE, answers, example_body
from app.api.idempotent import AnyRequest
from app.api.paging import Cursor, Limit
from app.domain.errors import DomainError, InvalidRequest, NotFound
from app.manifests import service
from app.manifests.render import CSV_MEDIA_TYPE, DCSA_MEDIA_TYPE, EDIFACT_MEDIA_TYPE
from app.manifests.repository import VersionRow
from app.manifests.schemas import (
    ContainerEquipment,
    ContainerEquipmentView,
    ManifestPage,
    ManifestVersionView,
)
from app.runtime import Runtime
from app.schemas import Moment

Version = Annotated[int, Parameter(ge=1, le=1_000_000, description="Version number")]
MEDIA_TYPES = (DCSA_MEDIA_TYPE, EDIFACT_MEDIA_TYPE, CSV_MEDIA_TYPE)


class NotAcceptable(DomainError):
    slug = "not-acceptable"
    title = "Cannot answer in the requested media type"
    status = 406

    def __init__(self, detail: str) -> None:
        super().__init__(detail, available=list(MEDIA_TYPES))


@dataclass
class ManifestDocumentOperation(Operation):
    """Documents the three media types a manifest is answered in (Litestar declares one)."""

    def __post_init__(self) -> None:
        ok = (self.responses or {}).get("200")
        if isinstance(ok, OpenAPIResponse):
            text = Schema(type=OpenAPIType.STRING)
            ok.description = "DCSA eBL 3.0.3 shipping instructions (JSON), CUSCAR EDIFACT or CSV, by Accept"
            ok.content = {
                DCSA_MEDIA_TYPE: OpenAPIMediaType(
                    schema=Schema(
                        type=OpenAPIType.OBJECT,
                        description="CreateShippingInstructions of DCSA eBL 3.0.3, with houseBillOfLadings",
                    )
                ),
                EDIFACT_MEDIA_TYPE: OpenAPIMediaType(schema=text),
                CSV_MEDIA_TYPE: OpenAPIMediaType(schema=text),
            }


def _document(request: AnyRequest, version: VersionRow) -> Response[bytes]:
    """The version in the format Accept asks for; 406 for another, or for a format the
    version breaks the rules of (``render_errors``)."""
    asked = request.headers.get("accept")
    wanted = DCSA_MEDIA_TYPE if not asked else request.accept.best_match(list(MEDIA_TYPES))
    if wanted is None:
        raise NotAcceptable(f"a manifest is answered as {', '.join(MEDIA_TYPES)}, not {asked!r}")
    documents = {
        DCSA_MEDIA_TYPE: (version.document_dcsa or "").encode() or None,
        EDIFACT_MEDIA_TYPE: version.document_edifact,
        CSV_MEDIA_TYPE: (version.document_csv or "").encode() or None,
    }
    content = documents[wanted]
    if content is None:
        kind = {DCSA_MEDIA_TYPE: "dcsa", EDIFACT_MEDIA_TYPE: "edifact", CSV_MEDIA_TYPE: "csv"}[wanted]
        reason = version.render_errors.get(kind, "not rendered")
        raise NotAcceptable(f"version {version.number} cannot be written as {wanted}: {reason}")
    media_type = f"{wanted}; charset=utf-8" if wanted == CSV_MEDIA_TYPE else wanted
    headers = {"ETag": f'"{version.checksum}"', "Vary": "Accept", "X-Manifest-Version": str(version.number)}
    return Response(content=content, media_type=media_type, headers=headers)


class CarrierManifestController(Controller):
    """The consolidated manifests of a carrier's sailings, with every version."""

    path = "/v1/carrier/manifests"
    tags = ["carriers"]
    guards = [requires(Scope.READ, OrgKind.CARRIER, OrgKind.OPERATOR)]
    security = API_KEY

    @get(
        "/",
        summary="List this carrier's consolidated manifests",
        operation_id="listCarrierManifests",
        responses=answers(InvalidRequest),
    )
    async def list_manifests(
        self,
        rt: Runtime,
        actor: Actor,
        sailing_id: Annotated[uuid.UUID | None, Parameter(description="Only this sailing's")] = None,
        etd_from: Annotated[Moment | None, Parameter(description="Sailings departing at or after")] = None,
        etd_to: Annotated[Moment | None, Parameter(description="Sailings departing at or before")] = None,
        cursor: Cursor = None,
        limit: Limit = 50,
    ) -> ManifestPage:
        """Newest first; a carrier's key sees its own carriers' sailings only."""
        return await service.list_manifests(
            rt, actor, sailing_id=sailing_id, etd_from=etd_from, etd_to=etd_to, cursor=cursor, limit=limit
        )

    @get(
        "/{manifest_id:uuid}",
        summary="The latest version of a manifest, in the format asked by Accept",
        operation_id="getCarrierManifest",
        responses=answers(NotFound, NOT_ACCEPTABLE),
        operation_class=ManifestDocumentOperation,
        media_type=DCSA_MEDIA_TYPE,
    )
    async def get_manifest(
        self, request: AnyRequest, rt: Runtime, actor: Actor, manifest_id: uuid.UUID
    ) -> Response[bytes]:
        _, latest = await service.get_manifest(rt, actor, manifest_id)
        return _document(request, latest)

    @get(
        "/{manifest_id:uuid}/versions",
        summary="Every version of a manifest and its delivery, newest first",
        operation_id="listCarrierManifestVersions",
        responses=answers(NotFound),
    )
    async def list_versions(
        self, rt: Runtime, actor: Actor, manifest_id: uuid.UUID
    ) -> list[ManifestVersionView]:
        return await service.list_versions(rt, actor, manifest_id)

    @get(
        "/{manifest_id:uuid}/versions/{number:int}",
        summary="One version of a manifest, in the format asked by Accept",
        operation_id="getCarrierManifestVersion",
        responses=answers(NotFound, NOT_ACCEPTABLE),
        operation_class=ManifestDocumentOperation,
        media_type=DCSA_MEDIA_TYPE,
    )
    async def get_version(
        self,
        request: AnyRequest,
        rt: Runtime,
        actor: Actor,
        manifest_id: uuid.UUID,
        number: Version,
    ) -> Response[bytes]:
        return _document(request, await service.get_version(rt, actor, manifest_id, number))


class ContainerEquipmentAdminController(Controller):
    """Operators record the box and seal each consolidated container went out in."""

    path = "/v1/admin/consolidation-containers"
    tags = ["admin"]
    guards = [requires(Scope.ADMIN, OrgKind.OPERATOR)]
    security = API_KEY

    @put(
        "/{container_id:uuid}/equipment",
        summary="Record a consolidated container's ISO 6346 number and seal",
        operation_id="recordContainerEquipment",
        responses=answers(NotFound, InvalidRequest, body=True),
    )
    async def record_equipment(
        self,
        container_id: uuid.UUID,
        data: Annotated[ContainerEquipment, example_body(ContainerEquipment)],
        rt: Runtime,
    ) -> ContainerEquipmentView:
        """Setting the same values again changes nothing; the manifest's next version carries
        them (shipping instructions need both)."""
        return await service.record_equipment(rt, container_id, data)


__all__ = ["CarrierManifestController", "ContainerEquipmentAdminController"]
