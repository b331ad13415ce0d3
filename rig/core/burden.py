"""The annual operating burden (運営負担金, 年額) a municipality pays J-LIS, by population tier.

Seed III.2.5 (1), tax included:

| municipality | population | yen per year |
|---|---|---|
| designated city (政令市) | 1,000,000 or more | 10,000,000 |
| designated city (政令市) | under 1,000,000 | 8,000,000 |
| city or special ward (大規模都市、特別区) | 150,000 or more | 5,000,000 |
| city or special ward (小中規模都市、特別区) | under 150,000 | 3,000,000 |
| town or village (町村) | any | 1,000,000 |

Boundaries are applied as printed: "以上" includes the boundary, "未満" excludes it.
"""

from __future__ import annotations

from enum import StrEnum

DESIGNATED_CITY_LARGE = 1_000_000
LARGE_CITY = 150_000


class MunicipalityKind(StrEnum):
    DESIGNATED_CITY = "designated_city"  # 政令指定都市
    CITY = "city"  # 市
    WARD = "ward"  # 特別区 (Tokyo's special wards)
    TOWN = "town"  # 町
    VILLAGE = "village"  # 村


def annual_burden(kind: MunicipalityKind | str, population: int) -> int:
    """The yearly burden in yen (tax included) for a municipality of `kind` and `population`.

    Raises ValueError for an unknown kind or a population that is not a whole number >= 0.
    """
    try:
        kind = MunicipalityKind(kind)
    except ValueError:
        kinds = ", ".join(k.value for k in MunicipalityKind)
        raise ValueError(f"kind must be one of {kinds}") from None
    if isinstance(population, bool) or not isinstance(population, int) or population < 0:
        raise ValueError("population is a whole number >= 0")
    if kind is MunicipalityKind.DESIGNATED_CITY:
        return 10_000_000 if population >= DESIGNATED_CITY_LARGE else 8_000_000
    if kind in (MunicipalityKind.CITY, MunicipalityKind.WARD):
        return 5_000_000 if population >= LARGE_CITY else 3_000_000
    return 1_000_000
