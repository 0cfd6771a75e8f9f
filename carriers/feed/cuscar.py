"""The consolidated manifest as a CUSCAR-like UN/EDIFACT message (D.95B segment names).

Why CUSCAR: it is the cargo report message built for consolidations. Each house bill is its
own consignment group (CNI) with its own parties, goods, weights and dangerous goods, under one
transport (TDT) and one list of equipment (EQD); that is exactly our manifest. IFTMIN would need
one message per house bill and IFTMCS is the carrier's answer, not our instruction.

Layout (a profile, not a certified implementation guide)::

    UNB UNH BGM+85 DTM+137 TDT+20(voyage, carrier) LOC+9(POL) LOC+11(POD)
    per container:  EQD+CN(ref, size-type) TMD(FCL|LCL) SEL(seal)
    per house bill: CNI(seq, booking ref) NAD+CZ/NAD+CN (COM for e-mail/phone) GID FTX+AAA
                    PIA(HS) MEA(G kg, AAW CBM) SGP(container) [DGS+IMD FTX+AAD]...
    UNT UNZ

Texts longer than a component (35 or 70 characters) are split over the element's components
and joined again when reading.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from pydifact.exceptions import MissingImplementationWarning
from pydifact.segmentcollection import Interchange, Message
from pydifact.segments import Segment

from carriers.base import (
    DangerousGoods,
    HouseBill,
    Manifest,
    ManifestContainer,
    Party,
    SailingKey,
)

Element = str | list[str]


def _chunks(text: str | None, size: int, limit: int) -> Element:
    if not text:
        return ""
    parts = [text[i : i + size] for i in range(0, len(text), size)]
    if len(parts) > limit:
        raise ValueError(f"text longer than {size * limit} characters: {text[:20]}...")
    return parts[0] if len(parts) == 1 else parts


def _party_segments(qualifier: str, party: Party) -> list[Segment]:
    segments = [
        Segment(
            "NAD",
            qualifier,
            "",
            "",
            _chunks(party.name, 35, 5),
            _chunks(party.address, 35, 4),
            party.city or "",
            "",
            party.postal_code or "",
            party.country_code or "",
        )
    ]
    if party.email:
        segments.append(Segment("COM", [party.email, "EM"]))
    if party.phone:
        segments.append(Segment("COM", [party.phone, "TE"]))
    return segments


def _bill_segments(seq: int, bill: HouseBill, container_ref: str) -> list[Segment]:
    segments = [Segment("CNI", str(seq), bill.booking_reference)]
    segments += _party_segments("CZ", bill.shipper)
    segments += _party_segments("CN", bill.consignee)
    segments += [
        Segment("GID", "1", [str(bill.packages), "PK"]),
        Segment("FTX", "AAA", "", "", _chunks(bill.cargo_description, 70, 5)),
        Segment("PIA", "5", [bill.hs_code, "HS"]),
        Segment("MEA", "AAE", "G", ["KGM", str(bill.gross_weight_kg)]),
        Segment("MEA", "AAE", "AAW", ["MTQ", str(bill.volume_cbm)]),
        Segment("SGP", container_ref),
    ]
    for dg in bill.dangerous_goods:
        packing_group = "" if dg.packing_group is None else str(dg.packing_group)
        segments.append(Segment("DGS", "IMD", dg.imo_class, dg.un_number, "", packing_group))
        if dg.proper_shipping_name:
            segments.append(Segment("FTX", "AAD", "", "", _chunks(dg.proper_shipping_name, 70, 5)))
    return segments


def write_cuscar(manifest: Manifest, *, sender: str, control_reference: str, prepared_at: datetime) -> str:
    """The manifest as one EDIFACT interchange holding one CUSCAR message."""
    sailing = manifest.sailing
    message = Message("1", ["CUSCAR", "D", "95B", "UN"])
    message.add_segments(
        [
            Segment("BGM", "85", f"{sailing.voyage_number}{sailing.port_of_loading}", "9"),
            Segment("DTM", ["137", f"{prepared_at:%Y%m%d%H%M}", "203"]),
            Segment("TDT", "20", sailing.voyage_number, "1", "", [sailing.carrier_scac, "172"]),
            Segment("LOC", "9", [sailing.port_of_loading, "139", "6"]),
            Segment("LOC", "11", [sailing.port_of_discharge, "139", "6"]),
        ]
    )
    for container in manifest.containers:
        message.add_segment(Segment("EQD", "CN", container.container_ref, [container.size_type, "6346", "5"]))
        message.add_segment(Segment("TMD", "", container.load))
        if container.seal_number:
            message.add_segment(Segment("SEL", container.seal_number, "SH"))
    seq = 0
    for container in manifest.containers:
        for bill in container.house_bills:
            seq += 1
            message.add_segments(_bill_segments(seq, bill, container.container_ref))
    interchange = Interchange(
        sender=sender,
        recipient=sailing.carrier_scac,
        control_reference=control_reference,
        syntax_identifier=("UNOC", 3),
        timestamp=prepared_at,
    )
    interchange.add_message(message)
    return str(interchange.serialize(break_lines=True))


def _text(segment: Segment, index: int) -> str:
    elements: list[Any] = segment.elements
    if index >= len(elements):
        return ""
    value = elements[index]
    return "".join(value) if isinstance(value, list) else str(value)


def _component(segment: Segment, index: int, component: int) -> str:
    elements: list[Any] = segment.elements
    value = elements[index] if index < len(elements) else ""
    if isinstance(value, list):
        return str(value[component]) if component < len(value) else ""
    return str(value) if component == 0 else ""


def _parse_party(segments: Iterator[Segment], nad: Segment) -> tuple[Party, Segment | None]:
    fields: dict[str, str | None] = {
        "name": _text(nad, 3),
        "address": _text(nad, 4) or None,
        "city": _text(nad, 5) or None,
        "postal_code": _text(nad, 7) or None,
        "country_code": _text(nad, 8) or None,
    }
    for segment in segments:
        if segment.tag != "COM":
            return Party(**fields), segment  # type: ignore[arg-type]
        kind = "email" if _component(segment, 0, 1) == "EM" else "phone"
        fields[kind] = _component(segment, 0, 0)
    return Party(**fields), None  # type: ignore[arg-type]


def read_cuscar(content: str) -> Manifest:
    """Parse an interchange written by `write_cuscar` back into a Manifest."""
    with warnings.catch_warnings():
        # pydifact ships no segment XML for syntax v3 service segments; nothing is lost.
        warnings.simplefilter("ignore", MissingImplementationWarning)
        interchange = Interchange.from_str(content)
    (message,) = list(interchange.get_messages())
    segments = iter(message.segments)
    header: dict[str, str] = {}
    containers: dict[str, dict[str, Any]] = {}
    bills: list[dict[str, Any]] = []
    current: Segment | None = next(segments, None)
    while current is not None:
        tag, following = current.tag, None
        if tag == "TDT":
            header["voyage"] = _text(current, 1)
            header["scac"] = _component(current, 4, 0)
        elif tag == "LOC":
            header[_text(current, 0)] = _component(current, 1, 0)
        elif tag == "EQD":
            last = _text(current, 1)
            containers[last] = {"size_type": _component(current, 2, 0), "seal": None}
        elif tag == "TMD":
            containers[last]["load"] = _text(current, 1)
        elif tag == "SEL":
            containers[last]["seal"] = _text(current, 0)
        elif tag == "CNI":
            bills.append({"ref": _text(current, 1), "dgs": []})
        elif tag == "NAD":
            party, following = _parse_party(segments, current)
            bills[-1]["shipper" if _text(current, 0) == "CZ" else "consignee"] = party
        elif tag == "GID":
            bills[-1]["packages"] = int(_component(current, 1, 0))
        elif tag == "FTX" and _text(current, 0) == "AAA":
            bills[-1]["description"] = _text(current, 3)
        elif tag == "FTX" and _text(current, 0) == "AAD":
            bills[-1]["dgs"][-1]["proper_shipping_name"] = _text(current, 3)
        elif tag == "PIA":
            bills[-1]["hs_code"] = _component(current, 1, 0)
        elif tag == "MEA":
            unit = "kg" if _text(current, 1) == "G" else "cbm"
            bills[-1][unit] = Decimal(_component(current, 2, 1))
        elif tag == "SGP":
            bills[-1]["container"] = _text(current, 0)
        elif tag == "DGS":
            group = _text(current, 4)
            bills[-1]["dgs"].append(
                {
                    "imo_class": _text(current, 1),
                    "un_number": _text(current, 2),
                    "packing_group": int(group) if group else None,
                }
            )
        current = following if following is not None else next(segments, None)
    by_container: dict[str, list[HouseBill]] = {ref: [] for ref in containers}
    for bill in bills:
        by_container[bill["container"]].append(
            HouseBill(
                booking_reference=bill["ref"],
                shipper=bill["shipper"],
                consignee=bill["consignee"],
                cargo_description=bill["description"],
                hs_code=bill["hs_code"],
                packages=bill["packages"],
                gross_weight_kg=bill["kg"],
                volume_cbm=bill["cbm"],
                dangerous_goods=[DangerousGoods(**dg) for dg in bill["dgs"]],
            )
        )
    sailing = SailingKey(
        carrier_scac=header["scac"],
        voyage_number=header["voyage"],
        port_of_loading=header["9"],
        port_of_discharge=header["11"],
    )
    return Manifest(
        sailing=sailing,
        containers=[
            ManifestContainer(
                container_ref=ref,
                size_type=c["size_type"],
                load=_load(c["load"]),
                seal_number=c["seal"],
                house_bills=by_container[ref],
            )
            for ref, c in containers.items()
        ],
    )


def _load(value: str) -> Literal["FCL", "LCL"]:
    if value not in ("FCL", "LCL"):
        raise ValueError(f"unknown load {value!r}")
    return "FCL" if value == "FCL" else "LCL"
