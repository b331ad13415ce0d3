"""What a certificate request names, shared by both APIs that carry it: the kiosk's request to
the centre (rig/core/protocols/centre.py) and the centre's request to the issuance server
(emulators/municipal)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

#: The six certificate types of the service (seed I.1): 住民票の写し, 住民票記載事項証明書,
#: 印鑑登録証明書, 各種税証明書, 戸籍証明書, 戸籍の附票の写し.
CertTypeName = Literal[
    "resident_record",
    "resident_record_entries",
    "seal_registration",
    "tax_certificate",
    "koseki",
    "fuhyo",
]


def _integral(value: Any) -> Any:
    # JSON has one number type: 45.0 is an integer to JSON Schema (and to the OpenAPI
    # documents), so a strict model must take it as 45; 45.5 stays refused
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


#: An integer field of a wire model: strict (no strings, no booleans) but JSON's 45.0 is 45.
WireInt = Annotated[int, BeforeValidator(_integral)]


class StrictModel(BaseModel):
    """Wire models refuse unknown fields and loose types: bad input gets a specific error."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class CertificateOptions(StrictModel):
    scope: Literal["household", "members", "self"] | None = None
    members: list[str] | None = Field(default=None, max_length=20)
    include_honseki: bool = False
    include_head_relationship: bool = True
    include_my_number: bool = False
    fiscal_year: WireInt | None = Field(default=None, ge=1989, le=2100)
