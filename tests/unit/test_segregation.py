"""IMDG 7.2.4 segregation between dangerous goods, as the table and its reading say."""

from __future__ import annotations

import pytest

from app.domain import trade_codes
from app.domain.consolidation.cargo import DangerousGoods, hazard_division
from app.domain.consolidation.segregation import (
    SEGREGATION_TABLE,
    TABLE_CLASSES,
    SegregationTerm,
    required_segregation,
    table_symbol,
)
from app.domain.errors import InvalidRequest


def goods(
    un_number: str, imo_class: str, *subsidiary: str, groups: frozenset[int] = frozenset()
) -> DangerousGoods:
    return DangerousGoods(
        un_number=un_number, imo_class=imo_class, subsidiary_classes=subsidiary, segregation_groups=groups
    )


def test_table_is_complete_and_symmetric() -> None:
    assert len(SEGREGATION_TABLE) == len(TABLE_CLASSES) ** 2
    for row in TABLE_CLASSES:
        for column in TABLE_CLASSES:
            assert SEGREGATION_TABLE[row, column] == SEGREGATION_TABLE[column, row], (row, column)
            assert SEGREGATION_TABLE[row, column] in {"1", "2", "3", "4", "X", "*"}


@pytest.mark.parametrize(
    ("a", "b", "symbol"),
    [
        ("1.1", "3", "4"),  # explosives and flammable liquids: separated longitudinally
        ("1.5", "2.2", "2"),  # 1.5 reads as the 1.1, 1.2, 1.5 row
        ("1.6", "4.1", "3"),  # 1.6 reads as the 1.3, 1.6 row
        ("1.4", "6.1", "X"),
        ("2.1", "8", "1"),
        ("3", "5.1", "2"),
        ("3", "6.2", "3"),
        ("4.2", "6.1", "1"),
        ("5.1", "7", "1"),
        ("6.1", "6.2", "1"),
        ("3", "3", "X"),
        ("1.1", "1.4", "*"),
        ("9", "1.1", "X"),
    ],
)
def test_table_cells_match_imdg_7_2_4(a: str, b: str, symbol: str) -> None:
    assert table_symbol(a, b) == symbol


def test_every_imo_class_the_api_accepts_has_a_row() -> None:
    for imo_class in trade_codes.IMO_CLASSES:
        assert table_symbol(imo_class, "3") in {"1", "2", "3", "4", "X", "*"}


def test_class_1_compatibility_group_letter_reads_as_its_division() -> None:
    assert hazard_division("1.4S") == "1.4"
    assert table_symbol("1.1D", "3") == "4"
    with pytest.raises(InvalidRequest):
        hazard_division("3.3")
    with pytest.raises(InvalidRequest):
        DangerousGoods(un_number="1263", imo_class="10")


@pytest.mark.parametrize(
    ("a", "b", "term"),
    [
        (goods("1263", "3"), goods("1479", "5.1"), SegregationTerm.SEPARATED_FROM),
        (goods("1263", "3"), goods("0012", "1.4S"), SegregationTerm.SEPARATED_FROM),
        (goods("1263", "3"), goods("3373", "6.2"), SegregationTerm.SEPARATED_BY_COMPARTMENT),
        (goods("0336", "1.4G"), goods("0081", "1.1D"), SegregationTerm.WITHIN_CLASS_1),
        (goods("1950", "2.1"), goods("1950", "2.2"), SegregationTerm.DANGEROUS_GOODS_LIST),
        (goods("3481", "9"), goods("1263", "3"), SegregationTerm.DANGEROUS_GOODS_LIST),
        (goods("2810", "6.1"), goods("1325", "4.1"), SegregationTerm.DANGEROUS_GOODS_LIST),
        (goods("1760", "8"), goods("1965", "2.1"), SegregationTerm.AWAY_FROM),
    ],
)
def test_goods_of_different_classes_never_share_a_container(
    a: DangerousGoods, b: DangerousGoods, term: SegregationTerm
) -> None:
    assert required_segregation(a, b) == term
    assert required_segregation(b, a) == term


def test_subsidiary_hazard_makes_segregation_more_stringent() -> None:
    # The IMDG Code's own worked example: celluloid scrap (UN 2002, 4.2) and epibromohydrin
    # (UN 2558, 6.1 with subsidiary 3): 4.2/6.1 is "away from", 4.2/3 "separated from".
    celluloid = goods("2002", "4.2")
    epibromohydrin = goods("2558", "6.1", "3")
    assert required_segregation(celluloid, epibromohydrin) == SegregationTerm.SEPARATED_FROM
    assert required_segregation(celluloid, goods("2810", "6.1")) == SegregationTerm.AWAY_FROM


def test_same_substance_shares_whatever_its_hazards() -> None:
    # Water-reactive with subsidiary hazards 3 and 8: 4.3 against 3 alone would be "away from".
    trichlorosilane = goods("1295", "4.3", "3", "8")
    assert required_segregation(trichlorosilane, trichlorosilane) is None
    explosives = goods("0012", "1.4S")
    assert required_segregation(explosives, goods("0012", "1.4S")) is None


def test_same_class_shares_regardless_of_subsidiary_hazards() -> None:
    # IMDG 7.2.6.1: paint and a flammable liquid that is also toxic may ride together.
    assert required_segregation(goods("1263", "3"), goods("1992", "3", "6.1")) is None
    assert required_segregation(goods("3480", "9"), goods("3082", "9")) is None


def test_same_class_in_different_segregation_groups_is_kept_apart() -> None:
    acid = goods("1789", "8", groups=frozenset({1}))  # hydrochloric acid: acids
    alkali = goods("1719", "8", groups=frozenset({18}))  # caustic alkali liquid: alkalis
    other_acid = goods("1760", "8", groups=frozenset({1}))
    plain = goods("2735", "8")
    assert required_segregation(acid, alkali) == SegregationTerm.SEGREGATION_GROUPS
    assert required_segregation(acid, other_acid) is None
    assert required_segregation(acid, plain) is None


def test_segregation_groups_are_those_of_imdg_3_1_4() -> None:
    with pytest.raises(InvalidRequest):
        goods("1789", "8", groups=frozenset({19}))
