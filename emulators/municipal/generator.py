"""Deterministic generation of the resident registry (Faker ja_JP with a fixed seed).

The same (seed, reference date, municipality files) always gives the same SQLite file,
so the file is cached under `<cache_dir>/municipal-registry-<key>.sqlite` and a world only
copies it. The reference date is the rig clock's date when the world is built: it anchors
ages, tax years and the "moved in today" household.

Each municipality's first households are fixtures, so every trait exists in every registry:
households of 8 and 9 members, one of each size 1 to 7, a 支援措置 (DV protection) person, a
deceased spouse, a household with a member moving out, a household that moved in on the
reference date, a name outside JIS X 0208, a person who moved out, and 本籍 held by another
rig municipality with the kiosk-use registration done, pending and absent.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import random
import sqlite3
import threading
from contextlib import closing
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from faker import Faker
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from emulators.municipal.config import MunicipalityConfig
from emulators.municipal.hours import add_business_days
from emulators.municipal.identifiers import in_jis_x0208, make_my_number, make_resident_code
from emulators.municipal.models import (
    Base,
    FuhyoEntry,
    Household,
    Koseki,
    KosekiMember,
    KosekiRegistration,
    Person,
    Seal,
    TaxRecord,
)
from emulators.municipal.registry import age_on, latest_fiscal_year

GENERATOR_VERSION = 6

#: Household templates by size: 続柄 in the household.
TEMPLATES: dict[int, list[str]] = {
    1: ["世帯主"],
    2: ["世帯主", "妻"],
    3: ["世帯主", "妻", "子"],
    4: ["世帯主", "妻", "子", "子"],
    5: ["世帯主", "妻", "子", "子", "子"],
    6: ["世帯主", "妻", "子", "子", "父", "母"],
    7: ["世帯主", "妻", "子", "子", "子", "父", "母"],
    8: ["世帯主", "妻", "子", "子", "子", "子", "父", "母"],
    9: ["世帯主", "妻", "子", "子の妻", "孫", "孫", "子", "父", "母"],
}
_SIZE_WEIGHTS = {1: 30, 2: 26, 3: 18, 4: 15, 5: 6, 6: 3, 7: 1, 8: 1}

#: Fixture households (index → role); the rest are drawn at random.
FIXTURES: dict[int, tuple[str, int]] = {
    **{index: ("plain", size) for index, size in enumerate((8, 9, 1, 2, 3, 4, 5, 6, 7))},
    9: ("honseki_registered", 2),
    10: ("honseki_pending", 1),
    11: ("honseki_unregistered", 1),
    12: ("dv", 1),
    13: ("deceased", 2),
    14: ("moving_out", 3),
    15: ("moved_in_today", 2),
    16: ("non_jis", 1),
    17: ("moved_out", 2),
    18: ("seal_cancelled", 1),
    19: ("no_tax", 1),
}
#: Fixture households added after the configured count, so that the drawn households (and
#: every resident the scenarios already name) stay as they were.
APPENDED_FIXTURES: tuple[tuple[str, int], ...] = (
    # a 支援措置 protected person (the wife) inside a household of four: the hard case
    ("dv_member", 4),
)

_SEX_OF = {"妻": "女", "父": "男", "母": "女", "子の妻": "女"}
_CHILD_NAMES = {"男": ["長男", "二男", "三男", "四男"], "女": ["長女", "二女", "三女", "四女"]}


def cache_key(seed: str, reference_date: date, configs: list[MunicipalityConfig]) -> str:
    blob = json.dumps(
        {
            "v": GENERATOR_VERSION,
            "seed": seed,
            "ref": reference_date.isoformat(),
            "munis": [c.model_dump(mode="json") for c in configs],
        },
        sort_keys=True,
        ensure_ascii=False,
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


_BUILD_LOCK = threading.Lock()


def ensure_registry(
    cache_dir: Path, seed: str, reference_date: date, configs: list[MunicipalityConfig]
) -> Path:
    """The cached registry file for these inputs, generated on first use."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    path = cache_dir / f"municipal-registry-{cache_key(seed, reference_date, configs)}.sqlite"
    with _BUILD_LOCK:
        if not path.exists():
            tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            tmp.unlink(missing_ok=True)
            build_registry(tmp, seed, reference_date, configs)
            os.replace(tmp, path)
    return path


def copy_registry(source: Path, target: Path) -> None:
    """Copy a cached registry to a world's working file (SQLite backup: consistent)."""
    target.unlink(missing_ok=True)
    with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(target)) as dst:
        src.backup(dst)


def build_registry(
    path: Path, seed: str, reference_date: date, configs: list[MunicipalityConfig]
) -> None:
    engine = create_engine(f"sqlite:///{path}")
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        for config in configs:
            other_cfg = honseki_partner(config, configs)
            _MunicipalityBuilder(session, config, seed, reference_date, other_cfg).build()
        session.commit()
    engine.dispose()


def honseki_partner(
    config: MunicipalityConfig, configs: list[MunicipalityConfig]
) -> MunicipalityConfig | None:
    """The municipality keeping the 戸籍 of `config`'s 本籍-elsewhere fixtures: its named
    partner, or the next in code order among those naming none (so adding a municipality
    with a partner leaves the others' registries as they were)."""
    by_code = {c.code: c for c in configs}
    if config.honseki_partner is not None:
        return by_code.get(config.honseki_partner)
    ring = [c for c in configs if c.honseki_partner is None]
    if len(ring) < 2:
        return None
    return ring[(ring.index(config) + 1) % len(ring)]


@dataclass
class _Member:
    role: str
    sex: str
    family: tuple[str, str]
    given: tuple[str, str]
    birth: date
    person_id: str = ""
    child_relation: str = ""


class _MunicipalityBuilder:
    def __init__(
        self,
        session: Session,
        config: MunicipalityConfig,
        seed: str,
        ref: date,
        elsewhere: MunicipalityConfig | None,
    ):
        self.s = session
        self.c = config
        self.ref = ref
        self.elsewhere = elsewhere
        self.rng = random.Random(f"{seed}:{config.code}")
        self.fake = Faker("ja_JP")
        self.fake.seed_instance(f"{seed}:{config.code}")
        self.person_n = 0
        self.koseki_n = 0
        self.seal_n = 0

    # -- helpers ---------------------------------------------------------------------------
    def _pair(self, kind: str) -> tuple[str, str]:
        f = self.fake
        draw = {"family": f.last_name_pair, "男": f.first_name_male_pair}.get(
            kind, f.first_name_female_pair
        )
        for _ in range(20):
            name, kana, _r = draw()
            if in_jis_x0208(name):
                return str(name), str(kana)
        raise RuntimeError("Faker kept producing names outside JIS X 0208")

    def _address(self, config: MunicipalityConfig) -> str:
        f = self.fake
        return f"{config.prefecture}{config.name}{f.town()}{f.chome()}{f.ban()}{f.gou()}"

    def _external_address(self) -> str:
        f = self.fake
        return f"{f.prefecture()}{f.city()}{f.town()}{f.chome()}{f.ban()}"

    def _born(self, age_min: int, age_max: int) -> date:
        days = self.rng.randint(age_min * 365 + 1, age_max * 365 + 300)
        return self.ref - timedelta(days=days)

    def _next_person_id(self) -> str:
        self.person_n += 1
        return f"{self.c.code}-{self.person_n:05d}"

    # -- building --------------------------------------------------------------------------
    def build(self) -> None:
        for index in range(self.c.registry.households):
            if index in FIXTURES:
                role, size = FIXTURES[index]
            else:
                weights = list(_SIZE_WEIGHTS.values())
                size = self.rng.choices(list(_SIZE_WEIGHTS), weights=weights)[0]
                role = "plain"
            self._household(index, role, size)
        for offset, (role, size) in enumerate(APPENDED_FIXTURES):
            self._household(self.c.registry.households + offset, role, size)

    def _compose(self, size: int, role: str) -> list[_Member]:
        family = self._pair("family")
        if role == "non_jis":
            family = ("𠮷田", "ヨシダ")
        roles = TEMPLATES[size]
        head_sex = "男" if size > 1 else self.rng.choice("男女")
        head_age = self.rng.randint(25, 52) if size >= 6 else self.rng.randint(22, 85)
        if size >= 6:
            head_age = self.rng.randint(45, 55) if "孫" in roles else self.rng.randint(35, 50)
        head_birth = self._born(head_age, head_age)
        members = [_Member("世帯主", head_sex, family, self._pair(head_sex), head_birth)]
        for r in roles[1:]:
            # children and grandchildren are drawn, the others follow from the relation
            sex = _SEX_OF.get(r) or self.rng.choice("男女")
            if r == "妻":
                birth = head_birth + timedelta(days=self.rng.randint(-1500, 1500))
            elif r == "子":
                gap = self.rng.randint(24, 38) * 365 + self.rng.randint(0, 300)
                birth = min(head_birth + timedelta(days=gap), self.ref - timedelta(days=40))
            elif r in ("父", "母"):
                birth = head_birth - timedelta(days=self.rng.randint(25, 32) * 365)
            elif r == "子の妻":
                birth = members[2].birth + timedelta(days=self.rng.randint(-700, 700))
            else:  # 孫
                birth = min(
                    members[2].birth + timedelta(days=self.rng.randint(26, 33) * 365),
                    self.ref - timedelta(days=60),
                )
            members.append(_Member(r, sex, family, self._pair(sex), birth))
        if size >= 3 and role == "plain" and self.rng.random() < 0.5:
            # keep some young children about: the under-15 cases need them
            last_child = [m for m in members if m.role == "子"][-1]
            last_child.birth = self._born(3, 13)
        if role == "moving_out":
            members[2].birth = min(members[2].birth, self._born(19, 25))
        for kind in ("子", "孫"):
            # 長男/二男... follow the order of birth
            counts = {"男": 0, "女": 0}
            for m in sorted((m for m in members if m.role == kind), key=lambda m: m.birth):
                m.child_relation = _CHILD_NAMES[m.sex][min(counts[m.sex], 3)]
                counts[m.sex] += 1
        return members

    def _household(self, index: int, role: str, size: int) -> None:
        members = self._compose(size, role)
        hh_id = f"{self.c.code}-H{index + 1:04d}"
        address = self._address(self.c)
        for m in members:
            m.person_id = self._next_person_id()
        head = members[0]
        # where the 戸籍 is kept
        honseki_code: str | None
        if role.startswith("honseki_"):
            honseki_code = (self.elsewhere or self.c).code
        else:
            honseki_code = self.c.code if self.rng.random() < 0.7 else None
        if honseki_code is None:
            honseki_address = self._external_address()
        elif honseki_code == self.c.code:
            honseki_address = self._address(self.c) if self.rng.random() < 0.5 else address
        else:
            assert self.elsewhere is not None
            honseki_address = self._address(self.elsewhere)

        moved_in = (
            self.ref
            if role == "moved_in_today"
            else self.ref - timedelta(days=self.rng.randint(200, 9000))
        )
        previous_address = self._external_address()
        self.s.add(
            Household(id=hh_id, municipality=self.c.code, address=address, head_id=head.person_id)
        )
        koseki_of = self._koseki(
            members, honseki_code, honseki_address, address, previous_address, moved_in, role
        )

        for seq, m in enumerate(members):
            koseki_id, hittosha = koseki_of.get(m.person_id, (None, head.family[0] + head.given[0]))
            person = Person(
                id=m.person_id,
                municipality=self.c.code,
                household_id=hh_id,
                seq=seq,
                family_name=m.family[0],
                given_name=m.given[0],
                family_kana=m.family[1],
                given_kana=m.given[1],
                birth_date=m.birth,
                sex=m.sex,
                relationship=m.role,
                my_number=make_my_number(self.rng),
                resident_code=make_resident_code(self.rng),
                became_resident_on=max(moved_in, m.birth),
                address_since=max(moved_in, m.birth),
                previous_address=previous_address if m.birth < moved_in else "",
                status="active",
                status_date=None,
                moving_out_on=None,
                dv_protected=(role, seq) in (("dv", 0), ("dv_member", 1)),
                honseki_code=honseki_code,
                honseki_address=honseki_address,
                hittosha=hittosha,
                koseki_id=koseki_id,
            )
            if role == "deceased" and seq == 1:
                person.status, person.status_date = "deceased", self.ref - timedelta(days=40)
            if role == "moved_out" and seq == 1:
                person.status, person.status_date = "moved_out", self.ref - timedelta(days=30)
            if role == "moving_out" and seq == 2:
                person.moving_out_on = self.ref + timedelta(days=10)
            self.s.add(person)
            self._seal(m, role)
            self._tax(m, role)
        if role.startswith("honseki_") and role != "honseki_unregistered":
            applied = self.ref - timedelta(days=60 if role == "honseki_registered" else 1)
            assert honseki_code is not None
            for m in members:
                self.s.add(
                    KosekiRegistration(
                        person_id=m.person_id,
                        municipality=honseki_code,
                        applied_on=applied,
                        available_on=add_business_days(applied, self.c.koseki_registration_days),
                    )
                )

    def _seal(self, m: _Member, role: str) -> None:
        if age_on(m.birth, self.ref) < 15:
            return
        draw = self.rng.random()
        if role == "seal_cancelled" or (role == "plain" and 0.75 <= draw < 0.82):
            cancelled: date | None = self.ref - timedelta(days=self.rng.randint(5, 400))
        elif role == "plain" and draw >= 0.82:
            return  # no seal registered
        else:
            cancelled = None
        self.seal_n += 1
        registered = max(
            m.birth + timedelta(days=15 * 366),
            self.ref - timedelta(days=self.rng.randint(500, 9000)),
        )
        if cancelled is not None and cancelled < registered:
            cancelled = registered + timedelta(days=30)
        self.s.add(
            Seal(
                person_id=m.person_id,
                registration_no=f"{self.seal_n:06d}",
                seal_text=m.family[0] if self.rng.random() < 0.7 else m.family[0] + m.given[0],
                registered_on=registered,
                cancelled_on=cancelled,
            )
        )

    def _tax(self, m: _Member, role: str) -> None:
        if role == "no_tax" or age_on(m.birth, self.ref) < 18:
            return
        newest = latest_fiscal_year(self.ref)
        salary_base = self.rng.choice([0, 0, 1_200_000, 2_800_000, 4_500_000, 6_200_000, 9_000_000])
        # before June the coming fiscal year is prepared too: it becomes available on 1 June
        for fy in range(newest - 2, self.ref.year + 1):
            salary = int(salary_base * self.rng.uniform(0.9, 1.1)) // 1000 * 1000
            employment_deduction = max(550_000, min(1_950_000, salary * 3 // 10 + 80_000))
            total = max(0, salary - employment_deduction)
            deductions = 430_000 + self.rng.choice([0, 380_000, 760_000])
            taxable = max(0, total - deductions) // 1000 * 1000
            per_capita = 3_000 if total > 450_000 else 0
            municipal = taxable * 6 // 100 // 100 * 100 + per_capita
            prefectural = taxable * 4 // 100 // 100 * 100 + (1_000 if per_capita else 0)
            due = municipal + prefectural
            paid = due if fy < newest else due // 2 // 100 * 100
            self.s.add(
                TaxRecord(
                    person_id=m.person_id,
                    fiscal_year=fy,
                    salary_income=salary,
                    total_income=total,
                    deductions=deductions,
                    taxable_income=taxable,
                    municipal_tax=municipal,
                    prefectural_tax=prefectural,
                    paid=paid,
                )
            )

    # -- 戸籍 --------------------------------------------------------------------------------
    def _koseki(
        self,
        members: list[_Member],
        code: str | None,
        honseki_address: str,
        address: str,
        previous_address: str,
        moved_in: date,
        role: str,
    ) -> dict[str, tuple[str | None, str]]:
        """Create the household's 戸籍 (when held by a rig municipality); person → (id, 筆頭者)."""
        head = members[0]
        by_role: dict[str, list[_Member]] = {}
        for m in members:
            by_role.setdefault(m.role, []).append(m)
        result: dict[str, tuple[str | None, str]] = {}
        if code is None:
            name = head.family[0] + head.given[0]
            return {m.person_id: (None, name) for m in members}

        def name_of(m: _Member | None) -> str:
            return m.given[0] if m is not None else ""

        father = by_role.get("父", [None])[0]
        mother = by_role.get("母", [None])[0]
        wife = by_role.get("妻", [None])[0]
        children = by_role.get("子", [])
        married_child = children[0] if "子の妻" in by_role else None

        # the head's 戸籍: head, wife, the unmarried children (the married child removed)
        main_members: list[tuple[_Member, str, str, str, bool, str]] = []
        head_rel = "夫" if wife is not None else ("長男" if head.sex == "男" else "長女")
        main_members.append((head, head_rel, name_of(father), name_of(mother), False, "出生"))
        if wife is not None:
            deceased = role == "deceased"
            events = "婚姻" + ("\n死亡" if deceased else "")
            main_members.append((wife, "妻", "", "", deceased, events))
        for child in children:
            married = child is married_child
            events = "出生\n婚姻により除籍" if married else "出生"
            relation = child.child_relation
            main_members.append((child, relation, head.given[0], name_of(wife), married, events))
        write = functools.partial(
            self._write_koseki,
            code=code,
            honseki_address=honseki_address,
            address=address,
            previous_address=previous_address,
            moved_in=moved_in,
            result=result,
        )
        write(head, main_members)

        if father is not None:
            parent_members = [
                (father, "夫", "", "", False, "出生\n婚姻"),
            ]
            if mother is not None:
                parent_members.append((mother, "妻", "", "", False, "婚姻"))
            parent_members.append(
                (head, "長男", father.given[0], name_of(mother), True, "出生\n婚姻により除籍")
            )
            write(father, parent_members)

        if married_child is not None:
            child_members = [(married_child, "夫", head.given[0], name_of(wife), False, "婚姻")]
            for m in by_role.get("子の妻", []):
                child_members.append((m, "妻", "", "", False, "婚姻"))
            parents = (married_child.given[0], by_role["子の妻"][0].given[0])
            for m in by_role.get("孫", []):
                child_members.append((m, m.child_relation, *parents, False, "出生"))
            write(married_child, child_members)
        return result

    def _write_koseki(
        self,
        hittosha: _Member,
        members: list[tuple[_Member, str, str, str, bool, str]],
        *,
        code: str,
        honseki_address: str,
        address: str,
        previous_address: str,
        moved_in: date,
        result: dict[str, tuple[str | None, str]],
    ) -> None:
        self.koseki_n += 1
        koseki_id = f"K{self.c.code}-{self.koseki_n:05d}"
        hittosha_name = hittosha.family[0] + hittosha.given[0]
        formed = max(hittosha.birth + timedelta(days=20 * 366), self.ref - timedelta(days=12000))
        self.s.add(
            Koseki(
                id=koseki_id,
                municipality=code,
                honseki_address=honseki_address,
                hittosha=hittosha_name,
                formed_on=formed,
                formed_reason="婚姻" if len(members) > 1 else "分籍",
            )
        )
        for seq, (m, relation, father, mother, removed, events) in enumerate(members):
            self.s.add(
                KosekiMember(
                    koseki_id=koseki_id,
                    person_id=m.person_id,
                    seq=seq,
                    family_name=m.family[0],
                    given_name=m.given[0],
                    birth_date=m.birth,
                    sex=m.sex,
                    relation=relation,
                    father=father,
                    mother=mother,
                    removed=removed,
                    events=events,
                )
            )
            if removed:
                continue
            result[m.person_id] = (koseki_id, hittosha_name)
            if m.birth < moved_in and previous_address:
                self.s.add(
                    FuhyoEntry(
                        koseki_id=koseki_id,
                        member_seq=seq,
                        person_id=m.person_id,
                        address=previous_address,
                        since=max(m.birth, moved_in - timedelta(days=3000)),
                    )
                )
            self.s.add(
                FuhyoEntry(
                    koseki_id=koseki_id,
                    member_seq=seq,
                    person_id=m.person_id,
                    address=address,
                    since=max(m.birth, moved_in),
                )
            )
