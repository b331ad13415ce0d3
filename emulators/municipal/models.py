"""The resident registry schema (SQLite through SQLAlchemy 2).

住民 (`Person`), 世帯 (`Household`), 印鑑登録 (`Seal`), 税 (`TaxRecord`), 戸籍 (`Koseki`,
`KosekiMember`), 戸籍の附票 (`FuhyoEntry`), 本籍地の利用登録 (`KosekiRegistration`), and the
kiosk-use registrations (`JpkiUser`, `CardApUser`) and the issuance log (`Issuance`).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import ForeignKey, Index, LargeBinary, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Household(Base):
    """世帯."""

    __tablename__ = "household"
    id: Mapped[str] = mapped_column(String, primary_key=True)
    municipality: Mapped[str] = mapped_column(String(6), index=True)
    address: Mapped[str]
    head_id: Mapped[str]


class Person(Base):
    """住民 (and people who only appear in a 戸籍 held here: `municipality` is then None)."""

    __tablename__ = "person"
    id: Mapped[str] = mapped_column(String, primary_key=True)
    municipality: Mapped[str | None] = mapped_column(String(6), index=True)
    household_id: Mapped[str | None] = mapped_column(ForeignKey("household.id"), index=True)
    seq: Mapped[int]  # order inside the household
    family_name: Mapped[str]
    given_name: Mapped[str]
    family_kana: Mapped[str]
    given_kana: Mapped[str]
    birth_date: Mapped[date]
    sex: Mapped[str]  # 男 / 女
    relationship: Mapped[str]  # 続柄 in the household: 世帯主, 妻, 子, 父, 母, 子の妻, 孫
    my_number: Mapped[str] = mapped_column(String(12))
    resident_code: Mapped[str] = mapped_column(String(11))  # 住民票コード: never printed
    became_resident_on: Mapped[date]  # 住民となった年月日
    address_since: Mapped[date]  # 住所を定めた年月日 (the day of the move-in)
    previous_address: Mapped[str]
    status: Mapped[str] = mapped_column(String, default="active")  # active/deceased/moved_out
    status_date: Mapped[date | None]
    moving_out_on: Mapped[date | None]  # 転出予定日 (a 転出届 has been filed)
    dv_protected: Mapped[bool] = mapped_column(default=False)  # 支援措置
    honseki_code: Mapped[str | None] = mapped_column(String(6))  # a rig municipality, or None
    honseki_address: Mapped[str]
    hittosha: Mapped[str]  # 筆頭者
    koseki_id: Mapped[str | None] = mapped_column(String)


class Seal(Base):
    """印鑑登録."""

    __tablename__ = "seal"
    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("person.id"), index=True)
    registration_no: Mapped[str]
    seal_text: Mapped[str]
    registered_on: Mapped[date]
    cancelled_on: Mapped[date | None]


class TaxRecord(Base):
    """住民税 for one fiscal year (年度): income of the previous calendar year."""

    __tablename__ = "tax_record"
    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("person.id"), index=True)
    fiscal_year: Mapped[int]
    salary_income: Mapped[int]
    total_income: Mapped[int]
    deductions: Mapped[int]
    taxable_income: Mapped[int]
    municipal_tax: Mapped[int]
    prefectural_tax: Mapped[int]
    paid: Mapped[int]
    __table_args__ = (Index("ix_tax_person_year", "person_id", "fiscal_year", unique=True),)


class Koseki(Base):
    """戸籍, held by the municipality of its 本籍."""

    __tablename__ = "koseki"
    id: Mapped[str] = mapped_column(String, primary_key=True)
    municipality: Mapped[str] = mapped_column(String(6), index=True)
    honseki_address: Mapped[str]
    hittosha: Mapped[str]
    formed_on: Mapped[date]
    formed_reason: Mapped[str]


class KosekiMember(Base):
    """戸籍に記録されている者."""

    __tablename__ = "koseki_member"
    id: Mapped[int] = mapped_column(primary_key=True)
    koseki_id: Mapped[str] = mapped_column(ForeignKey("koseki.id"), index=True)
    person_id: Mapped[str | None] = mapped_column(String, index=True)
    seq: Mapped[int]
    family_name: Mapped[str]
    given_name: Mapped[str]
    birth_date: Mapped[date]
    sex: Mapped[str]
    relation: Mapped[str]  # 父母との続柄 / 配偶者: 夫, 妻, 長男, 長女, 二男 ...
    father: Mapped[str]
    mother: Mapped[str]
    removed: Mapped[bool] = mapped_column(default=False)  # 除籍
    events: Mapped[str]  # 身分事項, one per line: 出生, 婚姻, 死亡...


class FuhyoEntry(Base):
    """戸籍の附票: the address history of a member of a 戸籍."""

    __tablename__ = "fuhyo_entry"
    id: Mapped[int] = mapped_column(primary_key=True)
    koseki_id: Mapped[str] = mapped_column(ForeignKey("koseki.id"), index=True)
    member_seq: Mapped[int]
    person_id: Mapped[str | None] = mapped_column(String, index=True)
    address: Mapped[str]
    since: Mapped[date]


class KosekiRegistration(Base):
    """本籍地の利用登録申請: lets a non-resident get 戸籍/附票 at the kiosk from `available_on`."""

    __tablename__ = "koseki_registration"
    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[str] = mapped_column(String, index=True)
    municipality: Mapped[str] = mapped_column(String(6))
    applied_on: Mapped[date]
    available_on: Mapped[date]


class JpkiUser(Base):
    """JPKI authentication certificate serial → person."""

    __tablename__ = "jpki_user"
    cert_serial: Mapped[str] = mapped_column(String, primary_key=True)
    person_id: Mapped[str] = mapped_column(String, index=True)


class CardApUser(Base):
    """Card-AP user id → person, with the card's public identifiers, PIN hash and try counter.

    No card key is stored: the municipality derives it from its master key
    (rig.core.protocols.card_ap).
    """

    __tablename__ = "card_ap_user"
    user_id: Mapped[str] = mapped_column(String, primary_key=True)
    person_id: Mapped[str] = mapped_column(String, index=True)
    municipality: Mapped[str] = mapped_column(String(6))
    key_version: Mapped[int] = mapped_column(default=1)
    card_kind: Mapped[str] = mapped_column(String, default="MYNA")
    pin_salt: Mapped[bytes] = mapped_column(LargeBinary)
    pin_hash: Mapped[bytes] = mapped_column(LargeBinary)
    failed: Mapped[int] = mapped_column(default=0)


class Issuance(Base):
    """One delivered certificate document (statistics)."""

    __tablename__ = "issuance"
    document_id: Mapped[str] = mapped_column(String, primary_key=True)
    municipality: Mapped[str] = mapped_column(String(6), index=True)
    cert_type: Mapped[str]
    variant: Mapped[str | None]
    person_id: Mapped[str]
    auth_method: Mapped[str]
    copies: Mapped[int]
    pages: Mapped[int]
    fee_per_copy: Mapped[int]
    issued_at: Mapped[str]  # ISO 8601, +09:00 (sortable)
    issued_on: Mapped[date] = mapped_column(index=True)
    outcome: Mapped[str] = mapped_column(String, default="delivered")  # delivered/printed/cancelled
    copies_printed: Mapped[int] = mapped_column(default=0)
