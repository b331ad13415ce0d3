"""The issuance server's optional test-registry route (docs/municipal-server-testing.md).

Some scenarios judge the server against facts of a test resident that never cross the
centre interface (the 住民票コード it must never print, the 本籍 a card for that resident
carries, who else lives in the household) or change the registry between two requests, as a
counter clerk would (a change of name and address, a seal registration cancelled, 廃止). A
server that declares `test_registry` in its test-data file (a path under the topology's
`url`, e.g. ``/test/registry``) serves, over the same mutual-TLS LGWAN link:

| method | path | body → answer |
|---|---|---|
| GET | ``{test_registry}?resident=ID`` | → `TestResident` |
| POST | ``{test_registry}`` | `ChangeTestResident` → `TestResident` |

Only for the server's test residents, in test mode: never in production.
"""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TestResident(_Model):
    """What the scenarios need to know of one test resident."""

    resident: str = Field(min_length=1, max_length=64)
    municipality: str = Field(pattern=r"^[0-9]{6}$")
    #: the resident's household (世帯) as the server identifies it; housemates share it
    household: str | None = Field(default=None, max_length=64)
    name: str = Field(max_length=128)
    #: 名 alone (what `ChangeTestResident.given_name` changes)
    given_name: str = Field(max_length=64)
    kana: str = Field(max_length=128)
    #: the household's address (what `ChangeTestResident.address` changes); None: no household
    address: str | None = Field(default=None, max_length=256)
    birth_date: date
    #: 住民票コード (11 digits): the scenarios check it is never printed
    resident_code: str = Field(pattern=r"^[0-9]{11}$")
    #: the municipality code of the 本籍 when it is elsewhere (a card carries it); else None
    honseki_code: str | None = Field(default=None, pattern=r"^[0-9]{6}$")


class ChangeTestResident(_Model):
    """A change a counter clerk records; an absent field is left as it is.

    The rig undoes its changes when the scenario ends (the old name and address; ``null`` for
    `seals_cancelled_on` restores every seal of the resident), so the next scenario finds the
    test resident as the test data describes it.
    """

    resident: str = Field(min_length=1, max_length=64)
    #: 名 (the given name) changes to this
    given_name: str | None = Field(default=None, min_length=1, max_length=64)
    #: the household's address changes to this (住居表示の変更)
    address: str | None = Field(default=None, min_length=1, max_length=256)
    #: every seal registration (印鑑登録) of the resident is cancelled (廃止) on this day;
    #: ``null``: none of them is cancelled any more
    seals_cancelled_on: date | None = None


__all__ = ["ChangeTestResident", "TestResident"]
