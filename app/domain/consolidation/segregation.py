"""Segregation of dangerous goods between classes, as the IMDG Code tables it.

Source: IMDG Code (International Maritime Dangerous Goods Code), Amendment 41-22, 7.2.4
"Segregation table", the amendment DCSA eBL 3.0.3 describes dangerous goods by; compare the table
below with 7.2.4 whenever the Code is amended. IMDG 7.3.4.1: goods that the table requires to be
segregated are not transported in the same cargo transport unit, so for consolidation every term
of the table (1 to 4) means "not in the same container".

How the table's symbols are read here, conservatively since we hold no Dangerous Goods List:

- "X" (segregation, if any, shown in the Dangerous Goods List, column 16b) between two different
  classes counts as segregated: without the list we cannot show that none is required.
- Goods of the same class (the same division, where the table splits a class) may share a
  container (IMDG 7.2.6.1: goods of the same class may be stowed together regardless of their
  subsidiary hazards, provided they do not react dangerously with each other). That proviso is
  kept conservatively through the segregation groups of IMDG 3.1.4 (acids, alkalis, chlorates...;
  DCSA ``segregationGroups``): two goods that declare different groups are presumed to react and
  are segregated.
- "*" (segregation within class 1, IMDG 7.2.7.2, by compatibility group) counts as segregated:
  explosives share a container only with the same UN number.
- Goods of the same UN number and class never need segregation from each other (the same
  substance; UN 1950 aerosols, for one, come in classes 2.1, 2.2 and 2.3, which do).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from app.domain.consolidation.cargo import DangerousGoods, hazard_division


class SegregationTerm(StrEnum):
    """What the table requires between two goods; any of these keeps them in separate containers."""

    AWAY_FROM = "away from"
    SEPARATED_FROM = "separated from"
    SEPARATED_BY_COMPARTMENT = "separated by a complete compartment or hold from"
    SEPARATED_LONGITUDINALLY = "separated longitudinally by an intervening complete compartment or hold from"
    # "X": the Dangerous Goods List decides; read as segregated (see the module docstring).
    DANGEROUS_GOODS_LIST = "as the Dangerous Goods List requires (treated as segregated)"
    # "*": compatibility groups within class 1 decide; read as segregated.
    WITHIN_CLASS_1 = "as class 1 compatibility groups require (treated as segregated)"
    # Same class, but declared in different segregation groups (IMDG 3.1.4, 7.2.6.1).
    SEGREGATION_GROUPS = "different segregation groups of the same class (treated as segregated)"


# Columns and rows of table 7.2.4, in the Code's order. Divisions that share a row or column are
# folded onto the first of them (1.2 and 1.5 read as 1.1, 1.6 as 1.3).
_HEADINGS: Final = ("1.1", "1.3", "1.4", "2.1", "2.2", "2.3", "3", "4.1", "4.2", "4.3", "5.1", "5.2")
_HEADINGS_CONT: Final = ("6.1", "6.2", "7", "8", "9")
_FOLDED: Final = {"1.2": "1.1", "1.5": "1.1", "1.6": "1.3"}
_TABLE_7_2_4: Final = """
        1.1 1.3 1.4 2.1 2.2 2.3  3  4.1 4.2 4.3 5.1 5.2 6.1 6.2  7   8   9
1.1      *   *   *   4   2   2   4   4   4   4   4   4   2   4   2   4   X
1.3      *   *   *   4   2   2   4   3   3   4   4   4   2   4   2   2   X
1.4      *   *   *   2   1   1   2   2   2   2   2   2   X   4   2   2   X
2.1      4   4   2   X   X   X   2   1   2   X   2   2   X   4   2   1   X
2.2      2   2   1   X   X   X   1   X   1   X   X   1   X   2   1   X   X
2.3      2   2   1   X   X   X   2   X   2   X   X   2   X   2   1   X   X
3        4   4   2   2   1   2   X   X   2   1   2   2   X   3   2   X   X
4.1      4   3   2   1   X   X   X   X   1   X   1   2   X   3   2   1   X
4.2      4   3   2   2   1   2   2   1   X   1   2   2   1   3   2   1   X
4.3      4   4   2   X   X   X   1   X   1   X   2   2   X   2   2   1   X
5.1      4   4   2   2   X   X   2   1   2   2   X   2   1   3   1   2   X
5.2      4   4   2   2   1   2   2   2   2   2   2   X   1   3   2   2   X
6.1      2   2   X   X   X   X   X   X   1   X   1   1   X   1   X   X   X
6.2      4   4   4   4   2   2   3   3   3   2   3   3   1   X   3   3   X
7        2   2   2   2   1   1   2   2   2   2   1   2   X   3   X   2   X
8        4   2   2   1   X   X   X   1   1   1   2   2   X   3   2   X   X
9        X   X   X   X   X   X   X   X   X   X   X   X   X   X   X   X   X
"""

_SYMBOLS: Final = {
    "1": SegregationTerm.AWAY_FROM,
    "2": SegregationTerm.SEPARATED_FROM,
    "3": SegregationTerm.SEPARATED_BY_COMPARTMENT,
    "4": SegregationTerm.SEPARATED_LONGITUDINALLY,
    "X": SegregationTerm.DANGEROUS_GOODS_LIST,
    "*": SegregationTerm.WITHIN_CLASS_1,
}
# Most stringent first, when several class pairs (primary and subsidiary hazards) apply.
_STRINGENCY: Final = (
    SegregationTerm.SEPARATED_LONGITUDINALLY,
    SegregationTerm.SEPARATED_BY_COMPARTMENT,
    SegregationTerm.SEPARATED_FROM,
    SegregationTerm.AWAY_FROM,
    SegregationTerm.WITHIN_CLASS_1,
    SegregationTerm.DANGEROUS_GOODS_LIST,
)


def _parse(text: str) -> dict[tuple[str, str], str]:
    lines = [line.split() for line in text.strip().splitlines()]
    columns = lines[0]
    return {
        (row[0], column): cell for row in lines[1:] for column, cell in zip(columns, row[1:], strict=True)
    }


SEGREGATION_TABLE: Final[dict[tuple[str, str], str]] = _parse(_TABLE_7_2_4)
TABLE_CLASSES: Final = _HEADINGS + _HEADINGS_CONT


def table_symbol(class_a: str, class_b: str) -> str:
    """The cell of table 7.2.4 for two classes or divisions: "1" to "4", "X" or "*"."""
    row = hazard_division(class_a)
    column = hazard_division(class_b)
    return SEGREGATION_TABLE[_FOLDED.get(row, row), _FOLDED.get(column, column)]


def required_segregation(a: DangerousGoods, b: DangerousGoods) -> SegregationTerm | None:
    """The segregation two goods require from each other, or None when they may share a container."""
    primary_a, primary_b = hazard_division(a.imo_class), hazard_division(b.imo_class)
    if a.un_number == b.un_number and primary_a == primary_b:
        return None
    if primary_a == primary_b and not primary_a.startswith("1"):
        if a.segregation_groups and b.segregation_groups and a.segregation_groups != b.segregation_groups:
            return SegregationTerm.SEGREGATION_GROUPS
        return None
    terms = {
        _SYMBOLS[table_symbol(class_a, class_b)]
        for class_a in (a.imo_class, *a.subsidiary_classes)
        for class_b in (b.imo_class, *b.subsidiary_classes)
    }
    return next(term for term in _STRINGENCY if term in terms)


def first_conflict(
    goods: tuple[DangerousGoods, ...], others: tuple[DangerousGoods, ...]
) -> tuple[DangerousGoods, DangerousGoods, SegregationTerm] | None:
    """The first pair, one from each side, that must not share a container, with the term why."""
    for a in goods:
        for b in others:
            term = required_segregation(a, b)
            if term is not None:
                return a, b, term
    return None
