"""Locust users of a load campaign: kiosks doing whole transactions, and "server mode".

Imported only in Locust processes (gevent-patched); the world runs elsewhere (world_process).

- `KioskUser`: one kiosk (its own kiosk id and client certificate) against the centre's kiosk
  API over mTLS: open session → JPKI authentication (the card's signature over the centre's
  nonce, made here with the test card's key) or card AP (challenge, the card's response,
  PIN) → menu → request → download → payment → completion → end of session.
- `ServerUser`: the issuance server's LGWAN API spoken directly, as the centre would: auth →
  menu → certificate (delivery "url") → download → result → end of session.

Every step fires a Locust request event (type KIOSK or LGWAN, name = the step) and every
transaction one more (type TX); each downloaded document is judged (rig.harness.load.judge) before
the transaction goes on, and counted in the process's `Tally`.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, cast

import httpx
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from locust import User, constant_pacing, task
from locust.env import Environment
from locust.exception import StopUser

from rig.core.drivers.centre_client import CentreApiError, CentreClient
from rig.core.evidence import EvidenceStore
from rig.core.https import client_ssl_context
from rig.core.protocols import card_ap
from rig.core.protocols.centre import CertTypeName
from rig.harness.load.judge import judge_document
from rig.harness.load.kit import Applicant, CardApCard, KitFiles, LoadKit
from rig.harness.load.profile import LoadProfile, Mix
from rig.harness.load.tally import Tally

_T = TypeVar("_T")

#: answers that mean "not now" (service hours, closures, maintenance): refusals, not errors
REFUSAL_CODES = frozenset(
    {"centre_closed", "centre_maintenance", "closed_day", "outside_service_hours", "maintenance"}
)
#: a certificate whose document prints the whole household (the default scope)
HOUSEHOLD_TYPES = frozenset({"resident_record"})
#: certificates of a family register (戸籍) rather than of a household
REGISTER_TYPES = frozenset({"koseki", "fuhyo"})
MAX_KNOWN_NAMES = 100_000


class StepFailed(Exception):
    """A step of a transaction failed; `code` is the problem code or the exception's name."""

    def __init__(self, step: str, code: str, refusal: bool = False):
        super().__init__(f"{step}: {code}")
        self.step, self.code, self.refusal = step, code, refusal


#: a round barrier never waits longer than this for the kiosks of its process
ROUND_WAIT_S = 600.0


class RoundBarrier:
    """The round barrier of a `rounds` profile, for the users of one Locust process.

    Every user of the process arrives before each round; when all of them are there (and
    Locust has finished spawning them) they are released together. A user arrives at round
    r + 1 only once it has finished round r, so the release of round r + 1 is also the end of
    round r: the round's time (release to the last user's finish) goes into the tally.
    """

    def __init__(self, rounds: int, tally: Tally, wait_s: float = ROUND_WAIT_S):
        self.rounds, self.tally, self.wait_s = rounds, tally, wait_s
        self.arrived: dict[int, int] = {}
        self.finished: dict[int, int] = {}
        self.released: dict[int, float] = {}
        self.sessions: dict[int, int] = {}
        self.people: dict[int, set[str]] = {}

    def wait(self, index: int, runner: Any) -> None:
        """Block (cooperatively) until every user of this process has arrived at `index`."""
        self.arrived[index] = self.arrived.get(index, 0) + 1
        deadline = time.monotonic() + self.wait_s
        while index not in self.released:
            expected = max(runner.user_count, getattr(runner, "target_user_count", 0) or 0)
            spawning = runner.state == "spawning"
            if (self.arrived[index] >= expected and not spawning) or time.monotonic() > deadline:
                # a user that never arrives (stopped, crashed) cannot hold the others forever
                self.released[index] = time.perf_counter()
                self.sessions[index] = self.arrived[index]
                break
            time.sleep(0.02)

    def applicant(self, index: int, resident_id: str) -> None:
        self.people.setdefault(index, set()).add(resident_id)

    def finish(self, index: int) -> None:
        self.finished[index] = self.finished.get(index, 0) + 1
        if self.finished[index] == self.sessions.get(index, -1):
            seconds = time.perf_counter() - self.released[index]
            distinct = len(self.people.pop(index, set()))
            self.tally.round_ended(index + 1, self.sessions[index], distinct, seconds)


@dataclass
class Campaign:
    """What every user of this process shares: the kit, the plan and the tally."""

    kit: LoadKit
    profile: LoadProfile
    files: KitFiles
    evidence: EvidenceStore
    tally: Tally = field(default_factory=Tally)
    cap: int = 0
    worker_index: int = 0
    worker_count: int = 1
    swap_every: int = 0
    started: int = 0
    known_names: set[str] = field(default_factory=set)
    _kiosks: Iterator[int] = field(default_factory=itertools.count)
    _free: list[Applicant] = field(default_factory=list)
    _free_non_residents: list[Applicant] = field(default_factory=list)
    _last_pdf: tuple[str, bytes] | None = None
    _judged: int = 0
    _key: rsa.RSAPrivateKey | None = None
    _certs: list[bytes] = field(default_factory=list)
    barrier: RoundBarrier | None = None

    def __post_init__(self) -> None:
        self.partition(self.worker_index, self.worker_count)
        key = serialization.load_pem_private_key(self.kit.jpki_key_pem.encode(), None)
        assert isinstance(key, rsa.RSAPrivateKey)
        self._key = key
        self._certs = [base64.b64decode(c) for c in self.kit.jpki_certs_der_b64]
        self.rng = random.Random(f"rig-load-{self.worker_index}")
        shape = self.profile.rounds
        if shape is not None:
            self.barrier = RoundBarrier(shape.rounds, self.tally)

    def partition(self, index: int, count: int) -> None:
        """This process's share of the applicants (all of them if there are too few; never
        for sessions released together, whose applicants must be distinct across workers)."""
        self.worker_index, self.worker_count = index, count
        strict = self.profile.rounds is not None
        for resident, pool in ((True, self._free), (False, self._free_non_residents)):
            people = [a for a in self.kit.applicants if a.resident is resident]
            share = strict or len(people) >= 2 * count
            pool[:] = people[index::count] if share else people

    def next_kiosk(self) -> int:
        return next(self._kiosks) % len(self.kit.kiosks)

    def may_start(self) -> bool:
        if self.cap and self.started >= self.cap:
            return False
        self.started += 1
        self.tally.add(started=1)
        return True

    @contextmanager
    def applicant(self) -> Iterator[Applicant | None]:
        """An applicant not in another transaction of this process (None: all are busy)."""
        share = self.profile.mix.non_residents
        pool = self._free
        if share and self._free_non_residents and self.rng.random() < share:
            pool = self._free_non_residents
        if not pool:
            yield None
            return
        person = pool.pop(self.rng.randrange(len(pool)))
        try:
            yield person
        finally:
            pool.append(person)

    def sign(self, nonce: bytes) -> bytes:
        assert self._key is not None
        return self._key.sign(nonce, padding.PKCS1v15(), hashes.SHA256())

    def certificate(self, person: Applicant) -> bytes:
        assert person.jpki is not None
        return self._certs[person.jpki]

    def judge(
        self,
        person: Applicant,
        pdf: bytes,
        *,
        cert_type: str,
        expected_pages: int,
        household: list[str],
        applicant_name: str | None,
        transaction: str,
    ) -> list[str]:
        """Judge one document and count it; the evidence of a bad one is kept (masked)."""
        self._judged += 1
        swap = self.swap_every and self._judged % self.swap_every == 0
        if swap and self._last_pdf and self._last_pdf[0] != person.resident_id:
            # TEST DOUBLE (docs/load.md): hand the judge the previous applicant's document
            pdf = self._last_pdf[1]
        self._last_pdf = (person.resident_id, pdf)
        required = set(household) if cert_type in HOUSEHOLD_TYPES else set()
        # a 戸籍 or 附票 prints the members of a family register, who may live in other
        # households: names seen in other households' menus say nothing about it
        strangers = self.known_names if cert_type not in REGISTER_TYPES else set()
        if applicant_name and cert_type not in REGISTER_TYPES:
            # a 戸籍 writes names its own way (筆頭者 in full, members by given name)
            required.add(applicant_name)
        cpu_began = time.process_time()
        verdict = judge_document(
            pdf,
            resident_id=person.resident_id,
            code=person.code,
            expected_pages=expected_pages,
            own_names={*household, *required},
            strangers=strangers,
            required_names=required,
            fast=True,
        )
        self.tally.add(judge_cpu_us=int((time.process_time() - cpu_began) * 1e6))
        if len(self.known_names) < MAX_KNOWN_NAMES:
            self.known_names.update(household)
        kinds = sorted(verdict.kinds)
        digest = hashlib.sha256(pdf).hexdigest()
        summary: dict[str, Any] = {}
        if kinds:
            summary = {
                "transaction": transaction,
                "resident_id": person.resident_id,
                "municipality": person.code,
                "certificate": cert_type,
                "pages": verdict.pages,
                "sha256": digest,
                "problems": [{"kind": p.kind, "detail": p.detail} for p in verdict.problems],
                "worker_index": self.worker_index,
            }
            self.evidence.record("load-judge", "bad-document", **summary)
            self.evidence.attach(f"{transaction}.pdf", pdf, text=False)
        doc = verdict.document_ids[0] if verdict.document_ids else f"sha256:{digest}"
        kind = cert_type if person.resident else f"{cert_type} (non-resident)"
        self.tally.document(doc, kinds, summary, kind)
        return kinds


#: set by rig.harness.load.campaign before any user starts (and on a worker, when the kit arrives)
CAMPAIGN: Campaign | None = None


def _campaign(wait_s: float = 10.0) -> Campaign:
    """This process's campaign; a worker that joined after the start never gets a plan,
    and its users stop instead of running without one."""
    deadline = time.monotonic() + wait_s
    while CAMPAIGN is None and time.monotonic() < deadline:
        time.sleep(0.2)
    if CAMPAIGN is None:
        raise StopUser("no load plan from the master (this worker joined after the start)")
    return CAMPAIGN


def _weighted(rng: random.Random, weights: dict[Any, float]) -> Any:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _choose_method(rng: random.Random, mix: Mix, person: Applicant) -> str:
    usable = {
        m: w
        for m, w in mix.methods.items()
        if (m == "jpki" and person.jpki is not None) or (m == "card_ap" and person.card_ap)
    }
    if not usable:
        return "jpki" if person.jpki is not None else "card_ap"
    return str(_weighted(rng, usable))


def _choose_certificate(
    rng: random.Random, mix: Mix, menu: dict[str, Any]
) -> tuple[CertTypeName, str | None]:
    """The mix's choice if the menu offers it to this applicant now, else what it offers;
    a menu that offers nothing now (a non-resident's 戸籍 after its hours) is a refusal."""
    offered_now = [i for i in menu.get("certificates", []) if i.get("available")]
    if not offered_now:
        codes = [
            str(i["refusal"]["code"])
            for i in menu.get("certificates", [])
            if isinstance(i.get("refusal"), dict) and i["refusal"].get("code")
        ]
        raise StepFailed("menu", codes[0] if codes else "nothing_offered", refusal=True)
    wanted = str(_weighted(rng, mix.cert_types))
    for kind in (wanted, "resident_record"):
        offered = [i for i in offered_now if i.get("type") == kind]
        if offered:
            return cast(CertTypeName, kind), rng.choice(offered).get("variant")
    item = rng.choice(offered_now)
    return cast(CertTypeName, item["type"]), item.get("variant")


class _Transaction:
    """One transaction of one user: times each step and fires its Locust event."""

    def __init__(self, env: Environment, kind: str):
        self.env, self.kind = env, kind
        self.started = time.perf_counter()

    def step(
        self, name: str, call: Callable[[], _T], size: Callable[[_T], int] | None = None
    ) -> _T:
        begun = time.perf_counter()
        try:
            result = call()
        except Exception as exc:
            code = _code(exc)
            refusal = code in REFUSAL_CODES
            self.fire(name, begun, exc=None if refusal else exc)
            if refusal:
                self.fire(f"{name}:{code}", begun, kind="REFUSED")
            raise StepFailed(name, code, refusal) from exc
        self.fire(name, begun, size(result) if size else 0)
        return result

    def fire(
        self,
        name: str,
        begun: float,
        length: int = 0,
        *,
        exc: Exception | None = None,
        kind: str | None = None,
    ) -> None:
        self.env.events.request.fire(
            request_type=kind or self.kind,
            name=name,
            response_time=(time.perf_counter() - begun) * 1000,
            response_length=length,
            exception=exc,
            context={},
        )

    def finish(self, exc: Exception | None) -> None:
        self.fire("transaction", self.started, exc=exc)


def _download_and_judge(
    tx: _Transaction,
    campaign: Campaign,
    person: Applicant,
    menu: dict[str, Any],
    download: Callable[[], bytes],
    *,
    cert_type: str,
    pages: int,
    transaction: str,
) -> None:
    """Download the issued document and judge it against the menu's household and applicant."""
    try:
        pdf = tx.step("download", download, len)
    except StepFailed as failed:
        if not failed.refusal:  # issued, then not delivered (not a closing hour)
            campaign.tally.add(lost=1)
        raise
    household = [m["name"] for m in menu.get("household", []) if m.get("name")]
    applicant = (menu.get("applicant") or {}).get("name")
    tx.step(
        "judge",
        lambda: campaign.judge(
            person, pdf, cert_type=cert_type, expected_pages=pages,
            household=household, applicant_name=applicant, transaction=transaction,
        ),
    )  # fmt: skip


def _code(exc: Exception) -> str:
    """The problem code of a refused call (the centre's or the server's), else the
    exception's name."""
    if isinstance(exc, CentreApiError | LgwanError):
        return exc.code
    return type(exc).__name__


def _run(user: User, body: Callable[[_Transaction, Applicant, Campaign], None], kind: str) -> None:
    campaign = _campaign()
    barrier = campaign.barrier
    if barrier is None:
        _transaction(user, body, kind, campaign)
        return
    index = getattr(user, "rig_round", 0)
    if index >= barrier.rounds:
        time.sleep(0.5)  # this user's rounds are done; the run ends when every user's are
        return
    barrier.wait(index, user.environment.runner)
    try:
        _transaction(user, body, kind, campaign, index)
    finally:
        user.rig_round = index + 1  # type: ignore[attr-defined]
        barrier.finish(index)


def _transaction(
    user: User,
    body: Callable[[_Transaction, Applicant, Campaign], None],
    kind: str,
    campaign: Campaign,
    round_index: int | None = None,
) -> None:
    with campaign.applicant() as person:
        if person is not None and campaign.barrier is not None and round_index is not None:
            campaign.barrier.applicant(round_index, person.resident_id)
        if person is None and campaign.barrier is not None and campaign.may_start():
            # released together, every session needs an applicant of its own: a shortage
            # is an error of the run, never a session quietly skipped
            campaign.tally.error("open", "no_free_applicant")
            return
        if person is None or not campaign.may_start():
            time.sleep(0.2)
            return
        tx = _Transaction(user.environment, kind)
        try:
            body(tx, person, campaign)
        except StepFailed as failed:
            if failed.refusal:
                campaign.tally.refusal(failed.step, failed.code)
                tx.fire(f"transaction:{failed.code}", tx.started, kind="REFUSED")
            else:
                campaign.tally.error(failed.step, failed.code)
                tx.finish(failed)
            return
        except Exception as exc:  # a bug or garbage answer: counted, the run goes on
            campaign.tally.error("transaction", type(exc).__name__)
            tx.finish(exc)
            return
        campaign.tally.add(completed=1)
        tx.finish(None)


def _card_answer(person: Applicant, card: CardApCard, challenge: bytes) -> bytes:
    """The test card's answer to a card-AP challenge (the centre's or the server's)."""
    info = card_ap.CardApInfo(person.code, card.user_id, card.key_version, card.card_kind)
    return card_ap.compute_response(bytes.fromhex(card.key_hex), info, challenge)


class KioskUser(User):
    """One kiosk doing whole transactions against the centre's kiosk API."""

    wait_time = constant_pacing(4.0)

    def on_start(self) -> None:
        campaign = _campaign()
        n = campaign.next_kiosk()
        self.identity = campaign.kit.kiosks[n]
        self.client = CentreClient(
            campaign.kit.centre_url,
            client=campaign.files.kiosks[n],
            server_ca=campaign.files.centre_ca,
            timeout=60.0,
        )

    def on_stop(self) -> None:
        self.client.close()

    @task
    def transaction(self) -> None:
        _run(self, self._transaction, "KIOSK")

    def _transaction(self, tx: _Transaction, person: Applicant, campaign: Campaign) -> None:
        kiosk = self.client
        me = self.identity
        rng = campaign.rng
        mix = campaign.profile.mix
        session = tx.step(
            "open", lambda: kiosk.open_session(me.kiosk_id, me.store_id, me.operator_id)
        )
        sid = session.session_id
        try:
            if _choose_method(rng, mix, person) == "jpki":
                nonce = session.nonce or b""
                tx.step(
                    "auth",
                    lambda: kiosk.authenticate_jpki(
                        sid, campaign.certificate(person), campaign.sign(nonce), nonce
                    ),
                )
            else:
                card = person.card_ap
                assert card is not None
                challenge = tx.step(
                    "challenge", lambda: kiosk.card_ap_challenge(sid, person.code, card.user_id)
                )
                answer = _card_answer(person, card, challenge.challenge)
                tx.step(
                    "auth", lambda: kiosk.authenticate_card_ap(sid, challenge.challenge, answer)
                )
                tx.step("pin", lambda: kiosk.verify_pin(sid, card.pin))
            menu = tx.step("menu", lambda: kiosk.menu(sid))
            cert_type, variant = _choose_certificate(rng, mix, menu)
            copies = int(_weighted(rng, mix.copies))
            copies = min(copies, int(menu.get("max_copies", copies)))
            receipt = tx.step(
                "request",
                lambda: kiosk.request_certificate(
                    sid,
                    cert_type,
                    variant=variant,
                    copies=copies,
                ),
            )
            _download_and_judge(
                tx, campaign, person, menu, lambda: kiosk.download(sid, receipt.request_id),
                cert_type=cert_type, pages=receipt.pages, transaction=receipt.request_id,
            )  # fmt: skip
            tx.step(
                "payment",
                lambda: kiosk.confirm_payment(sid, receipt.request_id, receipt.total_fee),
            )
            tx.step("complete", lambda: kiosk.complete(sid, receipt.request_id, "printed", copies))
        finally:
            # the session expires by itself; the step that failed is what counts
            with suppress(CentreApiError, httpx.HTTPError):
                kiosk.end_session(sid)


class LgwanError(Exception):
    def __init__(self, status: int, code: str):
        super().__init__(f"{status} {code}")
        self.status, self.code = status, code


class ServerUser(User):
    """The issuance server's LGWAN API, spoken directly as the centre would."""

    wait_time = constant_pacing(4.0)

    def on_start(self) -> None:
        campaign = _campaign()
        lgwan = campaign.kit.lgwan
        assert lgwan is not None and campaign.files.lgwan_ca is not None
        self.http = httpx.Client(
            base_url=lgwan.base_url,
            verify=client_ssl_context(campaign.files.lgwan_client, campaign.files.lgwan_ca),
            timeout=60.0,
        )

    def on_stop(self) -> None:
        self.http.close()

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
        answer = self.http.request(method, path, json=body)
        if answer.is_error:
            try:
                code = str(answer.json().get("code", f"http_{answer.status_code}"))
            except (ValueError, AttributeError):
                code = f"http_{answer.status_code}"
            raise LgwanError(answer.status_code, code)
        return answer

    def _json(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        return self._call(method, path, body).json()

    @task
    def transaction(self) -> None:
        _run(self, self._transaction, "LGWAN")

    def _transaction(self, tx: _Transaction, person: Applicant, campaign: Campaign) -> None:
        rng = campaign.rng
        mix = campaign.profile.mix
        root = f"/municipalities/{person.code}"
        if _choose_method(rng, mix, person) == "jpki":
            session = tx.step(
                "auth",
                lambda: self._json(
                    "POST", f"{root}/auth/jpki", {"cert_serial": person.jpki_serial_hex}
                ),
            )
        else:
            card = person.card_ap
            assert card is not None
            challenge = tx.step(
                "challenge",
                lambda: self._json(
                    "POST", f"{root}/auth/card-ap/challenge", {"user_id": card.user_id}
                ),
            )
            raw = bytes.fromhex(challenge["challenge"])
            answer = _card_answer(person, card, raw)
            session = tx.step(
                "auth",
                lambda: self._json(
                    "POST", f"{root}/auth/card-ap",
                    {"user_id": card.user_id, "challenge": raw.hex(), "response": answer.hex()},
                ),
            )  # fmt: skip
            sid = session["session_id"]
            tx.step(
                "pin", lambda: self._json("POST", f"{root}/sessions/{sid}/pin", {"pin": card.pin})
            )
        sid = session["session_id"]
        try:
            menu = tx.step("menu", lambda: self._json("GET", f"{root}/sessions/{sid}/menu"))
            cert_type, variant = _choose_certificate(rng, mix, menu)
            copies = min(int(_weighted(rng, mix.copies)), int(menu.get("max_copies", 1)))
            issued = tx.step(
                "request",
                lambda: self._json(
                    "POST", f"{root}/sessions/{sid}/certificates",
                    {"type": cert_type, "variant": variant, "copies": copies, "delivery": "url"},
                ),
            )  # fmt: skip
            doc = issued["document_id"]
            _download_and_judge(
                tx, campaign, person, menu,
                lambda: self._call("GET", f"{root}/documents/{doc}").content,
                cert_type=cert_type, pages=int(issued["pages"]), transaction=str(doc),
            )  # fmt: skip
            tx.step(
                "complete",
                lambda: self._json(
                    "POST", f"{root}/documents/{doc}/result",
                    {"outcome": "printed", "copies_printed": copies},
                ),
            )  # fmt: skip
        finally:
            with suppress(LgwanError, httpx.HTTPError):
                self._call("DELETE", f"{root}/sessions/{sid}")


def pacing(seconds: float) -> None:
    """Set both users' pacing (seconds between the starts of one kiosk's transactions)."""
    KioskUser.wait_time = constant_pacing(seconds)
    ServerUser.wait_time = constant_pacing(seconds)


def make_campaign(
    kit: LoadKit, profile: LoadProfile, evidence_dir: Path, *, cap: int, swap_every: int = 0
) -> Campaign:
    files = KitFiles(kit)
    evidence = EvidenceStore(evidence_dir)
    for person in kit.applicants:
        if person.card_ap is not None and len(person.card_ap.pin) >= 4:
            evidence.register_secret(person.card_ap.pin)
    return Campaign(kit, profile, files, evidence, cap=cap, swap_every=swap_every)
