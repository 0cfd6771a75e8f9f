"""The consolidated manifest as a CUSCAR-like UN/EDIFACT message (D.95B segment names).

Why CUSCAR: it is the cargo report message built for consolidations. Each house bill is its
own consignment group (CNI) with its own parties, goods, weights and dangerous goods, under one
transport (TDT) and one list of equipment (EQD); that is exactly our manifest. IFTMIN would need
one message per house bill and IFTMCS is the carrier's answer, not our instruction.

Layout (a profile, not a certified implementation guide)::

    UNB UNH BGM+85 DTM+137 TDT+20(voyage, carrier) LOC+9(POL) LOC+11(POD)
    per container:  EQD+CN(ref, size-type) TMD(FCL|LCL) SEL(seal) [RFF+FF(master booking)]
                    [RFF+BN(carrier booking number)] [TMP+2(set point)]
    per house bill: CNI(seq, booking ref) [RFF+BH(house bill number)] NAD+CZ/NAD+CN[/NAD+NI]
                    (COM for e-mail/phone, CTA for the contact's name) GID FTX+AAA PIA(HS)
                    MEA(G kg, AAW CBM) SGP(container) [TMP+2(set point)] [DGS+IMD FTX+AAD]...
    UNT UNZ

Texts longer than a component (35 or 70 characters) are split over the element's components
and joined again when reading. Every value is checked against its data element's length (the
D.95B directory; ``ELEMENT_LIMITS``) before anything is written: a manifest that does not fit
raises `InvalidCarrierRequest` listing each value, never a bare ValueError and never a cut.

Character sets: ``UNOW`` (UTF-8, syntax version 4) carries any text as it is, where the partner
accepts it; ``UNOC`` (ISO 8859-1, syntax version 3, the default) carries Latin-1, and anything
beyond it (Chinese party names, say) is transliterated to Latin letters. The CSV and JSON copies
written beside the interchange keep the original text.
"""

from __future__ import annotations

import unicodedata
import warnings
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal, NamedTuple

from anyascii import anyascii
from pydifact.exceptions import MissingImplementationWarning
from pydifact.segmentcollection import Interchange, Message
from pydifact.segments import Segment

from carriers.base import (
    DangerousGoods,
    ErrorDetail,
    HouseBill,
    InvalidCarrierRequest,
    Manifest,
    ManifestContainer,
    Party,
    ReeferSettings,
    SailingKey,
)

Element = str | list[str]
Charset = Literal["UNOC", "UNOW"]
SYNTAX_VERSION: dict[Charset, int] = {"UNOC": 3, "UNOW": 4}
ENCODING: dict[Charset, str] = {"UNOC": "latin-1", "UNOW": "utf-8"}


class ElementLimit(NamedTuple):
    """A data element's length (an..N) and how many components of it a segment repeats."""

    length: int
    components: int = 1
    numeric: bool = False


# UN/EDIFACT D.95B data element directory, for the elements this message fills.
ELEMENT_LIMITS: dict[str, ElementLimit] = {
    "1004 document number": ElementLimit(35),
    "8028 conveyance reference number": ElementLimit(17),
    "3225 place/location identification": ElementLimit(25),
    "8260 equipment identification number": ElementLimit(17),
    "8155 equipment size and type": ElementLimit(10),
    "9308 seal number": ElementLimit(10),
    "1490 consolidation item number": ElementLimit(4, numeric=True),
    "3036 party name": ElementLimit(35, components=5),
    "3412 department or employee": ElementLimit(35),
    "1154 reference number": ElementLimit(35),
    "6246 temperature setting": ElementLimit(3),
    "3042 street and number": ElementLimit(35, components=4),
    "3164 city name": ElementLimit(35),
    "3251 postcode": ElementLimit(9),
    "3207 country": ElementLimit(3),
    "3148 communication number": ElementLimit(512),
    "7224 number of packages": ElementLimit(8, numeric=True),
    "4440 free text": ElementLimit(70, components=5),
    "7140 item number": ElementLimit(35),
    "6314 measurement value": ElementLimit(18),
    "8351 hazard code": ElementLimit(7),
    "7124 UNDG number": ElementLimit(4, numeric=True),
    "8339 packing group": ElementLimit(3),
}


class _Text:
    """Puts texts into the interchange's character set and checks them against their data
    element; the problems found are listed together at the end."""

    def __init__(self, charset: Charset) -> None:
        self.charset = charset
        self.errors: list[ErrorDetail] = []

    def __call__(self, where: str, element: str, value: str | None) -> Element:
        if not value:
            return ""
        text = _in_charset(value, self.charset)
        limit = ELEMENT_LIMITS[element]
        most = limit.length * limit.components
        if limit.numeric and not text.isdigit():
            self.errors.append(
                ErrorDetail(property=f"{where} ({element})", message=f"{text!r} is not a number")
            )
        if len(text) > most:
            spread = f" ({limit.components} x {limit.length})" if limit.components > 1 else ""
            self.errors.append(
                ErrorDetail(
                    property=f"{where} ({element})",
                    message=f"{len(text)} characters, at most {most}{spread}",
                )
            )
            return text
        parts = [text[i : i + limit.length] for i in range(0, len(text), limit.length)]
        return parts[0] if len(parts) == 1 else parts


def _in_charset(value: str, charset: Charset) -> str:
    """``value`` with line breaks and other controls as spaces; for UNOC, characters beyond
    Latin-1 spelled in Latin letters (syllables of a Chinese name apart, as in pinyin)."""
    out: list[str] = []
    spelled = False
    for char in value:
        if unicodedata.category(char).startswith("C"):
            out.append(" ")
            spelled = False
        elif charset == "UNOW" or ord(char) < 256:
            out.append(char)
            spelled = False
        else:
            latin = anyascii(char)
            if spelled and latin[:1].isalnum() and out and out[-1][-1:].isalnum():
                out.append(" ")
            out.append(latin)
            spelled = bool(latin)
    return "".join(out)


def _party_segments(text: _Text, where: str, qualifier: str, party: Party) -> list[Segment]:
    segments = [
        Segment(
            "NAD",
            qualifier,
            "",
            "",
            text(where, "3036 party name", party.name),
            text(where, "3042 street and number", party.address),
            text(where, "3164 city name", party.city),
            "",
            text(where, "3251 postcode", party.postal_code),
            text(where, "3207 country", party.country_code),
        )
    ]
    if party.contact_name:
        segments.append(
            Segment("CTA", "IC", ["", str(text(where, "3412 department or employee", party.contact_name))])
        )
    if party.email:
        segments.append(Segment("COM", [str(text(where, "3148 communication number", party.email)), "EM"]))
    if party.phone:
        segments.append(Segment("COM", [str(text(where, "3148 communication number", party.phone)), "TE"]))
    return segments


def _bill_segments(text: _Text, seq: int, bill: HouseBill, container_ref: str) -> list[Segment]:
    where = f"house bill {bill.booking_reference}"
    segments = [
        Segment(
            "CNI",
            text(where, "1490 consolidation item number", str(seq)),
            text(where, "1004 document number", bill.booking_reference),
        )
    ]
    if bill.house_bill_number:
        segments.append(_reference(text, where, "BH", bill.house_bill_number))
    segments += _party_segments(text, f"{where} shipper", "CZ", bill.shipper)
    segments += _party_segments(text, f"{where} consignee", "CN", bill.consignee)
    if bill.notify is not None:
        segments += _party_segments(text, f"{where} notify party", "NI", bill.notify)
    segments += [
        Segment("GID", "1", [str(text(where, "7224 number of packages", str(bill.packages))), "PK"]),
        Segment("FTX", "AAA", "", "", text(where, "4440 free text", bill.cargo_description)),
        Segment("PIA", "5", [str(text(where, "7140 item number", bill.hs_code)), "HS"]),
        Segment(
            "MEA", "AAE", "G", ["KGM", str(text(where, "6314 measurement value", str(bill.gross_weight_kg)))]
        ),
        Segment(
            "MEA", "AAE", "AAW", ["MTQ", str(text(where, "6314 measurement value", str(bill.volume_cbm)))]
        ),
        Segment("SGP", text(where, "8260 equipment identification number", container_ref)),
    ]
    if bill.reefer is not None:
        segments.append(_temperature(text, where, bill.reefer))
    for dg in bill.dangerous_goods:
        packing_group = "" if dg.packing_group is None else str(dg.packing_group)
        segments.append(
            Segment(
                "DGS",
                "IMD",
                text(where, "8351 hazard code", dg.imo_class),
                text(where, "7124 UNDG number", dg.un_number),
                "",
                text(where, "8339 packing group", packing_group),
            )
        )
        if dg.proper_shipping_name:
            segments.append(
                Segment("FTX", "AAD", "", "", text(where, "4440 free text", dg.proper_shipping_name))
            )
    return segments


def _reference(text: _Text, where: str, qualifier: str, value: str) -> Segment:
    return Segment("RFF", [qualifier, str(text(where, "1154 reference number", value))])


def _temperature(text: _Text, where: str, reefer: ReeferSettings) -> Segment:
    """TMP+2 (transport temperature): the set point and its unit (CEL or FAH)."""
    # Written as short as it goes ("-18", not "-18.0"): the element holds three characters.
    value = format(reefer.temperature_setpoint.normalize(), "f")
    setting = str(text(where, "6246 temperature setting", value))
    return Segment("TMP", "2", [setting, reefer.temperature_unit])


class _Interchange(Interchange):
    """pydifact's interchange, with the preparation date as CCYYMMDD in syntax version 4."""

    def get_header_segment(self) -> Segment:
        header: Segment = super().get_header_segment()
        if self.syntax_identifier[1] >= 4:
            header.elements[3] = [f"{self.timestamp:%Y%m%d}", f"{self.timestamp:%H%M}"]
        return header


def write_cuscar(
    manifest: Manifest,
    *,
    sender: str,
    control_reference: str,
    prepared_at: datetime,
    charset: Charset = "UNOC",
) -> bytes:
    """The manifest as one EDIFACT interchange holding one CUSCAR message, encoded in the
    character set it declares; `InvalidCarrierRequest` lists every value that does not fit."""
    sailing = manifest.sailing
    text = _Text(charset)
    head = "sailing"
    message = Message("1", ["CUSCAR", "D", "95B", "UN"])
    message.add_segments(
        [
            Segment(
                "BGM",
                "85",
                text(head, "1004 document number", f"{sailing.voyage_number}{sailing.port_of_loading}"),
                "9",
            ),
            Segment("DTM", ["137", f"{prepared_at:%Y%m%d%H%M}", "203"]),
            Segment(
                "TDT",
                "20",
                text(head, "8028 conveyance reference number", sailing.voyage_number),
                "1",
                "",
                [sailing.carrier_scac, "172"],
            ),
            Segment(
                "LOC",
                "9",
                [str(text(head, "3225 place/location identification", sailing.port_of_loading)), "139", "6"],
            ),
            Segment(
                "LOC",
                "11",
                [
                    str(text(head, "3225 place/location identification", sailing.port_of_discharge)),
                    "139",
                    "6",
                ],
            ),
        ]
    )
    for container in manifest.containers:
        where = f"container {container.container_ref}"
        message.add_segment(
            Segment(
                "EQD",
                "CN",
                text(where, "8260 equipment identification number", container.container_ref),
                [str(text(where, "8155 equipment size and type", container.size_type)), "6346", "5"],
            )
        )
        message.add_segment(Segment("TMD", "", container.load))
        if container.seal_number:
            message.add_segment(Segment("SEL", text(where, "9308 seal number", container.seal_number), "SH"))
        if container.master_reference:
            message.add_segment(_reference(text, where, "FF", container.master_reference))
        if container.carrier_booking_reference:
            message.add_segment(_reference(text, where, "BN", container.carrier_booking_reference))
        if container.reefer is not None:
            message.add_segment(_temperature(text, where, container.reefer))
    seq = 0
    for container in manifest.containers:
        for bill in container.house_bills:
            seq += 1
            message.add_segments(_bill_segments(text, seq, bill, container.container_ref))
    if text.errors:
        listed = "; ".join(f"{e.property}: {e.message}" for e in text.errors)
        raise InvalidCarrierRequest(
            sailing.carrier_scac, f"manifest of {sailing.voyage_number} breaks EDIFACT limits: {listed}",
            errors=text.errors,
        )  # fmt: skip
    interchange = _Interchange(
        sender=sender,
        recipient=sailing.carrier_scac,
        control_reference=control_reference,
        syntax_identifier=(charset, SYNTAX_VERSION[charset]),
        timestamp=prepared_at,
    )
    interchange.add_message(message)
    serialized: str = interchange.serialize(break_lines=True)
    return serialized.encode(ENCODING[charset])


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
        if segment.tag == "CTA":
            fields["contact_name"] = _component(segment, 1, 1)
            continue
        if segment.tag != "COM":
            return Party(**fields), segment  # type: ignore[arg-type]
        kind = "email" if _component(segment, 0, 1) == "EM" else "phone"
        fields[kind] = _component(segment, 0, 0)
    return Party(**fields), None  # type: ignore[arg-type]


def read_cuscar(content: bytes) -> Manifest:
    """Parse an interchange written by `write_cuscar` back into a Manifest (decoded in the
    character set its UNB declares)."""
    charset: Charset = "UNOW" if b"UNB+UNOW" in content[:64] else "UNOC"
    with warnings.catch_warnings():
        # pydifact ships no segment XML for syntax v3 service segments; nothing is lost.
        warnings.simplefilter("ignore", MissingImplementationWarning)
        interchange = Interchange.from_str(content.decode(ENCODING[charset]))
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
        elif tag in ("RFF", "TMP"):
            # Before the first house bill these belong to the container just listed.
            holder = bills[-1] if bills else containers[last]
            if tag == "TMP":
                holder["reefer"] = ReeferSettings(
                    temperature_setpoint=Decimal(_component(current, 1, 0)),
                    temperature_unit="FAH" if _component(current, 1, 1) == "FAH" else "CEL",
                )
            else:
                holder[f"rff_{_component(current, 0, 0)}"] = _component(current, 0, 1)
        elif tag == "CNI":
            bills.append({"ref": _text(current, 1), "dgs": []})
        elif tag == "NAD":
            party, following = _parse_party(segments, current)
            bills[-1][{"CZ": "shipper", "CN": "consignee", "NI": "notify"}[_text(current, 0)]] = party
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
                house_bill_number=bill.get("rff_BH"),
                shipper=bill["shipper"],
                consignee=bill["consignee"],
                notify=bill.get("notify"),
                reefer=bill.get("reefer"),
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
                master_reference=c.get("rff_FF"),
                carrier_booking_reference=c.get("rff_BN"),
                reefer=c.get("reefer"),
                house_bills=by_container[ref],
            )
            for ref, c in containers.items()
        ],
    )


def _load(value: str) -> Literal["FCL", "LCL"]:
    if value not in ("FCL", "LCL"):
        raise ValueError(f"unknown load {value!r}")
    return "FCL" if value == "FCL" else "LCL"
