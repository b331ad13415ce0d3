"""Certificate requests and their content (laid out by `pdf`); the types are `config.CATALOG`.

The six types of seed I.1: 住民票の写し, 住民票記載事項証明書, 印鑑登録証明書, 各種税証明書
(所得/課税/納税), 戸籍証明書 (全部/個人事項), 戸籍の附票の写し. `build_document` turns a
request into pages of labelled rows; it never prints the 住民票コード, and prints the My
Number only when asked for on a 住民票の写し.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from pydantic import Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from emulators.municipal.config import CATALOG, CertType, MunicipalityConfig, Paper
from emulators.municipal.identifiers import in_jis_x0208
from emulators.municipal.models import FuhyoEntry, Koseki, KosekiMember, Person, Seal, TaxRecord
from emulators.municipal.reasons import Refusal, RefusalCode
from emulators.municipal.registry import full_name, latest_fiscal_year
from rig.core.protocols.certificates import CertificateOptions, CertTypeName, StrictModel, WireInt

_BY_KEY = {(c.type, c.variant): c for c in CATALOG}


def lookup(cert_type: str, variant: str | None) -> CertType:
    found = _BY_KEY.get((cert_type, variant))
    if found is None:
        allowed = [c.variant for c in CATALOG if c.type == cert_type and c.variant]
        raise ValueError(
            f"variant must be one of {allowed}" if allowed else "this type takes no variant"
        )
    return found


class CertificateRequest(StrictModel):
    type: CertTypeName
    variant: str | None = Field(default=None, max_length=20)
    copies: WireInt = Field(default=1, ge=1, le=99)
    delivery: Literal["inline", "url"] = "inline"
    options: CertificateOptions = CertificateOptions()


@dataclass
class Block:
    """One section of a certificate: a heading and label/value rows, optional seal impression."""

    heading: str | None
    rows: list[tuple[str, str]]
    seal_impression: str | None = None


@dataclass
class DocumentContent:
    title: str
    header: list[tuple[str, str]]
    pages: list[list[Block]]
    attestation: str
    subject_ids: list[str] = field(default_factory=list)  # whose data appears (for the log)
    paper: Paper = "A4"  # the municipality's choice for the type (`build_document` sets it)


def wareki(day: date) -> str:
    """A date in the 令和 era (the rig's registry dates before 2019 use 平成/昭和)."""
    if day >= date(2019, 5, 1):
        era, year = "令和", day.year - 2018
    elif day >= date(1989, 1, 8):
        era, year = "平成", day.year - 1988
    else:
        era, year = "昭和", day.year - 1925
    return f"{era}{'元' if year == 1 else year}年{day.month}月{day.day}日"


def era_year(year: int) -> str:
    """A calendar year as an era year, e.g. 2026 → 令和8."""
    return wareki(date(year, 12, 31)).split("年")[0]


def yen(amount: int) -> str:
    return f"{amount:,}円"


def _check_names(people: list[Person] | list[KosekiMember]) -> None:
    for p in people:
        if not in_jis_x0208(p.family_name + p.given_name):
            raise Refusal(RefusalCode.NAME_OUTSIDE_CHARSET)


def _chunks(blocks: list[Block], per_page: int) -> list[list[Block]]:
    return [blocks[i : i + per_page] for i in range(0, len(blocks), per_page)] or [[]]


# -- 住民票 ---------------------------------------------------------------------------------


def household_members(s: Session, applicant: Person) -> list[Person]:
    """Active members of the applicant's household (removed persons never appear)."""
    if applicant.household_id is None:
        return [applicant]
    return list(
        s.scalars(
            select(Person)
            .where(Person.household_id == applicant.household_id, Person.status == "active")
            .order_by(Person.seq)
        )
    )


def _resident_checks(members: list[Person], today: date) -> None:
    for m in members:
        if m.dv_protected:
            raise Refusal(RefusalCode.SUPPORT_MEASURE)
        if m.moving_out_on is not None:
            raise Refusal(RefusalCode.HOUSEHOLD_MOVING_OUT)
        if m.address_since == today:
            raise Refusal(RefusalCode.MOVED_IN_TODAY)
    _check_names(members)


def _resident_record(
    s: Session, applicant: Person, opts: CertificateOptions, today: date, head: Person | None
) -> DocumentContent:
    household = household_members(s, applicant)
    _resident_checks(household, today)
    scope = opts.scope or "household"
    if scope == "household":
        chosen = household
    elif scope == "self":
        chosen = [applicant]
    else:
        ids = opts.members or []
        if not ids:
            raise Refusal(RefusalCode.MEMBER_NOT_IN_HOUSEHOLD, "scope 'members' needs members")
        known = {m.id: m for m in household}
        unknown = [i for i in ids if i not in known]
        if unknown:
            raise Refusal(RefusalCode.MEMBER_NOT_IN_HOUSEHOLD, f"not in the household: {unknown}")
        chosen = [m for m in household if m.id in set(ids)]
    header = [("住所", _address(s, applicant))]
    if opts.include_head_relationship and head is not None:
        header.append(("世帯主", full_name(head)))
    blocks = []
    for m in chosen:
        rows = [
            ("氏名", full_name(m)),
            ("フリガナ", f"{m.family_kana} {m.given_kana}"),
            ("生年月日", wareki(m.birth_date)),
            ("性別", m.sex),
        ]
        if opts.include_head_relationship:
            rows.append(("続柄", m.relationship))
        rows.append(("住民となった年月日", wareki(m.became_resident_on)))
        rows.append(("住所を定めた年月日", wareki(m.address_since)))
        if m.previous_address:
            rows.append(("前住所", m.previous_address))
        if opts.include_honseki:
            rows.append(("本籍", m.honseki_address))
            rows.append(("筆頭者", m.hittosha))
        if opts.include_my_number:
            rows.append(("個人番号", m.my_number))
        blocks.append(Block(None, rows))
    whole = "世帯全員" if scope == "household" else "世帯の一部"
    return DocumentContent(
        title="住民票の写し",
        header=header,
        pages=_chunks(blocks, 3),
        attestation=f"この写しは、{whole}の住民票の原本と相違ないことを証明する。",
        subject_ids=[m.id for m in chosen],
    )


def _address(s: Session, p: Person) -> str:
    from emulators.municipal.models import Household

    hh = s.get(Household, p.household_id) if p.household_id else None
    return hh.address if hh is not None else ""


def _resident_entries(
    s: Session, applicant: Person, opts: CertificateOptions, today: date, head: Person | None
) -> DocumentContent:
    _resident_checks(household_members(s, applicant), today)
    rows = [
        ("氏名", full_name(applicant)),
        ("生年月日", wareki(applicant.birth_date)),
        ("性別", applicant.sex),
        ("住所", _address(s, applicant)),
        ("住民となった年月日", wareki(applicant.became_resident_on)),
    ]
    if opts.include_head_relationship and head is not None:
        rows += [("世帯主", full_name(head)), ("続柄", applicant.relationship)]
    if opts.include_honseki:
        rows += [("本籍", applicant.honseki_address), ("筆頭者", applicant.hittosha)]
    return DocumentContent(
        title="住民票記載事項証明書",
        header=[],
        pages=[[Block(None, rows)]],
        attestation="上記の事項は、住民票に記載されていることを証明する。",
        subject_ids=[applicant.id],
    )


# -- 印鑑登録証明書 ----------------------------------------------------------------------------


def _seal(s: Session, applicant: Person, today: date) -> DocumentContent:
    _resident_checks(household_members(s, applicant), today)
    seals = list(s.scalars(select(Seal).where(Seal.person_id == applicant.id)))
    live = [x for x in seals if x.cancelled_on is None]
    if not live:
        if seals:
            raise Refusal(RefusalCode.SEAL_CANCELLED)
        raise Refusal(RefusalCode.SEAL_NOT_REGISTERED)
    seal = live[0]
    rows = [
        ("登録番号", seal.registration_no),
        ("氏名", full_name(applicant)),
        ("生年月日", wareki(applicant.birth_date)),
        ("住所", _address(s, applicant)),
    ]
    return DocumentContent(
        title="印鑑登録証明書",
        header=[],
        pages=[[Block("印影", rows, seal_impression=seal.seal_text)]],
        attestation="この写しは、登録されている印影と相違ないことを証明する。",
        subject_ids=[applicant.id],
    )


# -- 税証明 ------------------------------------------------------------------------------------


def _tax(
    s: Session, applicant: Person, cert: CertType, opts: CertificateOptions, today: date
) -> DocumentContent:
    _check_names([applicant])
    fy = opts.fiscal_year or latest_fiscal_year(today)
    if fy > latest_fiscal_year(today):
        # the year's 住民税 is not determined before June: never issue it early
        raise Refusal(RefusalCode.TAX_RECORD_NOT_FOUND, f"fiscal year {fy} not yet available")
    record = s.scalars(
        select(TaxRecord).where(TaxRecord.person_id == applicant.id, TaxRecord.fiscal_year == fy)
    ).first()
    if record is None:
        raise Refusal(RefusalCode.TAX_RECORD_NOT_FOUND, f"fiscal year {fy}")
    rows = [
        ("氏名", full_name(applicant)),
        ("住所", _address(s, applicant)),
        ("年度", f"{era_year(fy)}年度 ({era_year(fy - 1)}年中の所得)"),
    ]
    if cert.variant == "income":
        rows += [
            ("給与収入", yen(record.salary_income)),
            ("合計所得金額", yen(record.total_income)),
            ("所得控除額", yen(record.deductions)),
        ]
        attestation = "上記のとおり所得があったことを証明する。"
    elif cert.variant == "assessment":
        rows += [
            ("合計所得金額", yen(record.total_income)),
            ("課税標準額", yen(record.taxable_income)),
            ("市町村民税", yen(record.municipal_tax)),
            ("道府県民税", yen(record.prefectural_tax)),
            ("年税額", yen(record.municipal_tax + record.prefectural_tax)),
        ]
        attestation = "上記のとおり課税されていることを証明する。"
    else:
        due = record.municipal_tax + record.prefectural_tax
        rows += [
            ("年税額", yen(due)),
            ("納付済額", yen(record.paid)),
            ("未納額", yen(due - record.paid)),
        ]
        attestation = "上記のとおり納付されていることを証明する。"
    return DocumentContent(
        title=cert.title,
        header=[],
        pages=[[Block(None, rows)]],
        attestation=attestation,
        subject_ids=[applicant.id],
    )


# -- 戸籍 ---------------------------------------------------------------------------------------


def _koseki(s: Session, applicant: Person, cert: CertType, municipality: str) -> DocumentContent:
    koseki = s.get(Koseki, applicant.koseki_id) if applicant.koseki_id else None
    if koseki is None or koseki.municipality != municipality:
        raise Refusal(RefusalCode.KOSEKI_NOT_FOUND)
    members = list(
        s.scalars(
            select(KosekiMember)
            .where(KosekiMember.koseki_id == koseki.id)
            .order_by(KosekiMember.seq)
        )
    )
    if cert.variant == "individual":
        members = [m for m in members if m.person_id == applicant.id]
    _check_names(members)
    header = [
        ("本籍", koseki.honseki_address),
        ("氏名", koseki.hittosha),
        ("戸籍事項", f"戸籍編製 {wareki(koseki.formed_on)} ({koseki.formed_reason})"),
    ]
    blocks = []
    for m in members:
        rows = [
            ("名", m.given_name + ("  【除籍】" if m.removed else "")),
            ("生年月日", wareki(m.birth_date)),
        ]
        if m.father or m.mother:
            rows.append(("父母", f"父 {m.father or '―'}  母 {m.mother or '―'}"))
        rows.append(("続柄", m.relation))
        rows.append(("身分事項", "、".join(m.events.splitlines())))
        blocks.append(Block("戸籍に記録されている者", rows))
    full = cert.variant == "full"
    part = "事項の全部" if full else "事項の一部"
    return DocumentContent(
        title=cert.title,
        header=header,
        pages=_chunks(blocks, 3),
        attestation=f"これは、戸籍に記録されている{part}を証明した書面である。",
        subject_ids=[m.person_id for m in members if m.person_id],
    )


def _fuhyo(
    s: Session, applicant: Person, opts: CertificateOptions, municipality: str
) -> DocumentContent:
    koseki = s.get(Koseki, applicant.koseki_id) if applicant.koseki_id else None
    if koseki is None or koseki.municipality != municipality:
        raise Refusal(RefusalCode.KOSEKI_NOT_FOUND)
    entries = list(
        s.scalars(
            select(FuhyoEntry)
            .where(FuhyoEntry.koseki_id == koseki.id)
            .order_by(FuhyoEntry.member_seq, FuhyoEntry.since)
        )
    )
    if (opts.scope or "household") == "self":
        entries = [e for e in entries if e.person_id == applicant.id]
    by_person: dict[str, list[FuhyoEntry]] = {}
    for e in entries:
        by_person.setdefault(e.person_id or "", []).append(e)
    blocks = []
    for pid, rows_for in by_person.items():
        person = s.get(Person, pid)
        if person is None:
            continue
        _check_names([person])
        rows = [("氏名", full_name(person)), ("生年月日", wareki(person.birth_date))]
        rows += [("住所", f"{e.address} ({wareki(e.since)} 定住)") for e in rows_for]
        blocks.append(Block("附票に記録されている者", rows))
    return DocumentContent(
        title="戸籍の附票の写し",
        header=[("本籍", koseki.honseki_address), ("筆頭者", koseki.hittosha)],
        pages=_chunks(blocks, 3),
        attestation="この写しは、戸籍の附票の原本と相違ないことを証明する。",
        subject_ids=list(by_person),
    )


def build_document(
    s: Session,
    config: MunicipalityConfig,
    applicant: Person,
    cert: CertType,
    opts: CertificateOptions,
    today: date,
) -> DocumentContent:
    """The content of one certificate, or a `Refusal` saying why it cannot be issued."""
    head = None
    if applicant.household_id is not None:
        head = s.scalars(
            select(Person).where(
                Person.household_id == applicant.household_id, Person.relationship == "世帯主"
            )
        ).first()
    if cert.type == "resident_record":
        content = _resident_record(s, applicant, opts, today, head)
    elif cert.type == "resident_record_entries":
        content = _resident_entries(s, applicant, opts, today, head)
    elif cert.type == "seal_registration":
        content = _seal(s, applicant, today)
    elif cert.type == "tax_certificate":
        content = _tax(s, applicant, cert, opts, today)
    elif cert.type == "koseki":
        content = _koseki(s, applicant, cert, config.code)
    else:
        content = _fuhyo(s, applicant, opts, config.code)
    content.paper = config.paper_for(cert.type)
    return content
