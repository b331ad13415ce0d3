"""Resident identifiers and the character-set check.

- My Number (個人番号): 11 digits plus a check digit (the published algorithm of the
  個人番号の指定等に関する省令 第5条: weights 2..7, 2..6 from the right, modulus 11).
- 住民票コード (resident record code): 10 digits plus a check digit; the rig uses modulus 11
  with weights 2..7 repeating from the right (remainder 0 or 1 gives 0).
- JIS X 0208: a name that cannot be written in JIS X 0208 cannot be printed at the kiosk.
"""

from __future__ import annotations

import random


def my_number_check_digit(first11: str) -> int:
    if len(first11) != 11 or not first11.isdigit():
        raise ValueError("need 11 digits")
    digits = [int(c) for c in reversed(first11)]
    total = sum(p * (n + 1 if n <= 6 else n - 5) for n, p in enumerate(digits, start=1))
    remainder = total % 11
    return 0 if remainder <= 1 else 11 - remainder


def is_valid_my_number(value: str) -> bool:
    return (
        len(value) == 12 and value.isdigit() and my_number_check_digit(value[:11]) == int(value[11])
    )


def make_my_number(rng: random.Random) -> str:
    first = f"{rng.randrange(1, 10)}" + "".join(str(rng.randrange(10)) for _ in range(10))
    return first + str(my_number_check_digit(first))


def resident_code_check_digit(first10: str) -> int:
    if len(first10) != 10 or not first10.isdigit():
        raise ValueError("need 10 digits")
    weights = [2, 3, 4, 5, 6, 7]
    total = sum(int(c) * weights[i % 6] for i, c in enumerate(reversed(first10)))
    remainder = total % 11
    return 0 if remainder <= 1 else 11 - remainder


def is_valid_resident_code(value: str) -> bool:
    return (
        len(value) == 11
        and value.isdigit()
        and resident_code_check_digit(value[:10]) == int(value[10])
    )


def make_resident_code(rng: random.Random) -> str:
    first = "".join(str(rng.randrange(10)) for _ in range(10))
    return first + str(resident_code_check_digit(first))


def local_government_check_digit(first5: str) -> int:
    """Check digit of a 全国地方公共団体コード (weights 6..2, modulus 11)."""
    total = sum(int(c) * w for c, w in zip(first5, (6, 5, 4, 3, 2), strict=True))
    remainder = total % 11
    return (11 - remainder) % 10 if remainder else 0


def in_jis_x0208(text: str) -> bool:
    """True if every character is in JIS X 0208 (or ASCII); ISO-2022-JP is exactly that set."""
    try:
        text.encode("iso2022_jp")
    except UnicodeEncodeError:
        return False
    return True
