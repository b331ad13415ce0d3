"""The demand model: who turns up when, who is served, refused, comes back or goes to the counter.

Two evaluators of one model (docs/demand.md):

- `simulate`: per applicant, a simpy process on the rig clock. Each applicant arrives, is
  served if the municipality issues their certificate with their card at that moment, and if
  refused comes back later (a simpy process of its own) or goes to the counter.
- `aggregate`: expected values per 5-minute bin with numpy; the same arrival intensity, the
  same masks, the come-back delay integrated over 16 quantiles. Used for the nation (~27M
  applicants a year would take minutes one by one) and as the expectation the per-applicant
  run must agree with.

Intensity: a municipality's latent applicants per year N (card holders × copies per holder ×
store factor ÷ mean copies) are spread over the year's 06:30-23:00 bins by the time shape w.
Where the regular calendar closes a certificate (year-end, narrower hours, closed days,
announced maintenance, 戸籍 hours), `planned_share` of that demand moves into its open time in
proportion to w; the rest turns up and is refused. Unplanned incidents (JPKI or LGWAN outage,
maintenance given as a what-if) refuse everyone they cover.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import simpy

from rig.core.calendar import Incident
from rig.core.clock import RigClock
from rig.harness.demand.grid import (
    AUTH_GROUP,
    BIN_S,
    BINS_PER_DAY,
    GROUPS,
    Bools,
    Floats,
    Ints,
    YearGrid,
    base_weights,
    incident_blocks,
    municipal_open,
    next_allowed,
)
from rig.harness.demand.params import (
    AUTH_METHODS,
    CERT_TYPES,
    AuthMethod,
    CertType,
    DemandParams,
    Municipality,
)

RETURN_QUANTILES = 16
Outcome = Literal["issued", "issued_on_return", "refused_to_counter", "refused_came_back_later"]


@dataclass(frozen=True)
class Population:
    """Who the model serves: a municipality, or a pooled tier of the nation."""

    population: int
    card_penetration: float
    stores_per_10k: float
    fiscal_year: int
    types: tuple[CertType, ...]
    offers_card_ap: bool
    params: DemandParams
    municipality: Municipality | None = None  # None: the centre's calendar only

    @classmethod
    def of(cls, m: Municipality) -> Population:
        return cls(
            m.population, m.card_penetration, m.stores_per_10k, m.fiscal_year,
            tuple(t for t in CERT_TYPES if t in m.fees), m.offers_card_ap, m.demand, m,
        )  # fmt: skip

    @property
    def store_factor(self) -> float:
        vol = self.params.volume
        ratio = max(self.stores_per_10k / vol.national_stores_per_10k, vol.min_store_ratio)
        return float(ratio**vol.store_elasticity)

    @property
    def latent_applicants(self) -> float:
        """Applicants a year wanting any certificate at a kiosk (offered or not)."""
        vol, mix = self.params.volume, self.params.mix
        holders = self.population * self.card_penetration
        return holders * vol.copies_per_holder_per_year * self.store_factor / mix.mean_copies

    def auth_shares(self) -> dict[AuthMethod, float]:
        shares = dict(self.params.mix.authentication)
        if not self.offers_card_ap:
            shares["my_number_card"] = shares.get("my_number_card", 0.0) + shares.pop(
                "card_ap", 0.0
            )
        return {a: shares.get(a, 0.0) for a in AUTH_METHODS}

    def group_shares(self) -> dict[str, float]:
        out = dict.fromkeys(GROUPS, 0.0)
        for method, share in self.auth_shares().items():
            out[AUTH_GROUP[method]] += share
        return out


@dataclass
class Setup:
    """The model laid on the grid for one population and one set of incidents."""

    pop: Population
    grid: YearGrid
    incidents: list[Incident]
    weights: Floats
    #: expected arrivals per bin that turn up at a kiosk (served or refused), by type
    turn_up: dict[CertType, Floats]
    #: (type, group) → may be issued in this bin
    allowed: dict[tuple[CertType, str], Bools]
    #: (type, group) → the first bin at or after this one when it may
    next_open: dict[tuple[CertType, str], Ints]
    _spread: dict[tuple[CertType, str, int], tuple[int, Floats]] = field(
        default_factory=dict, repr=False
    )

    @classmethod
    def build(cls, pop: Population, incidents: list[Incident] | None = None) -> Setup:
        grid = YearGrid(pop.fiscal_year)
        incidents = list(incidents or [])
        w = base_weights(grid, pop.params.time)
        total_w = float(w.sum())
        p = pop.params.behaviour.planned_share
        n = pop.latent_applicants
        blocked = incident_blocks(grid, incidents)
        turn_up: dict[CertType, Floats] = {}
        allowed: dict[tuple[CertType, str], Bools] = {}
        next_open: dict[tuple[CertType, str], Ints] = {}
        for cert in pop.types:
            n_k = n * pop.params.mix.certificates.get(cert, 0.0)
            regular = municipal_open(grid, pop.municipality, cert)
            open_w = float(w[regular].sum())
            closed_w = total_w - open_w
            if open_w <= 0:  # never open: everyone who turns up is refused
                lam = w * (n_k * (1 - p) / total_w)
            else:
                lift = 1 + p * closed_w / open_w
                lam = np.where(regular, w * lift, w * (1 - p)) * (n_k / total_w)
            turn_up[cert] = lam
            for group in GROUPS:
                ok = regular & ~blocked[group]
                allowed[(cert, group)] = ok
                next_open[(cert, group)] = next_allowed(ok)
        return cls(pop, grid, incidents, w, turn_up, allowed, next_open)

    def reopening_spread(self, cert: CertType, group: str, landing: int) -> tuple[int, Floats]:
        """Where returners who found the service closed come back once it reopens at `landing`.

        They come during the day that follows the reopening, at the times of day they would
        usually come (the weights w over the open bins), not all in the first five minutes.
        """
        key = (cert, group, landing)
        if key not in self._spread:
            ok = self.allowed[(cert, group)][landing : landing + BINS_PER_DAY]
            w = self.weights[landing : landing + BINS_PER_DAY] * ok
            if w.sum() <= 0:  # open but weightless (cannot happen inside 06:30-23:00)
                w = ok.astype(np.float64)
            self._spread[key] = (landing, np.asarray(w / w.sum(), dtype=np.float64))
        return self._spread[key]


@dataclass(frozen=True)
class Applicant:
    at_s: float  # seconds from the start of the fiscal year
    certificate: CertType
    auth: AuthMethod
    copies: int
    outcome: Outcome
    returned_at_s: float | None = None


@dataclass
class Result:
    """What happened, per 5-minute bin and certificate type (expected values when aggregated)."""

    setup: Setup
    method: Literal["per-applicant", "aggregated"]
    start_bin: int
    end_bin: int
    issued: dict[CertType, Floats]  # applicants served, at the bin they were served
    copies: dict[CertType, Floats]
    refused: dict[CertType, Floats]  # first attempts refused, at the refusal bin
    came_back: dict[CertType, Floats]  # of those refused, who came back (at the refusal bin)
    returned: dict[CertType, Floats]  # served on their return, at the return bin
    back_after_period: float = 0.0
    records: list[Applicant] | None = field(default=None, repr=False)

    @property
    def grid(self) -> YearGrid:
        return self.setup.grid

    def total(self, what: str) -> float:
        table: dict[CertType, Floats] = getattr(self, what)
        return float(sum(float(a.sum()) for a in table.values()))

    def series(self, what: str) -> Floats:
        table: dict[CertType, Floats] = getattr(self, what)
        out = np.zeros(self.grid.n_bins)
        for arr in table.values():
            out += arr
        return out


def _zeros(pop: Population, n: int) -> dict[CertType, Floats]:
    return {k: np.zeros(n) for k in pop.types}


def _delays_s(mean_hours: float) -> Floats:
    u = (np.arange(RETURN_QUANTILES) + 0.5) / RETURN_QUANTILES
    return np.asarray(-np.log1p(-u) * mean_hours * 3600.0, dtype=np.float64)


def aggregate(setup: Setup, start_bin: int = 0, end_bin: int | None = None) -> Result:
    """Expected values per bin (no random draws)."""
    pop, grid = setup.pop, setup.grid
    n = grid.n_bins
    end_bin = n if end_bin is None else end_bin
    window = np.zeros(n, dtype=bool)
    window[start_bin:end_bin] = True
    mean_copies = pop.params.mix.mean_copies
    come_back = pop.params.behaviour.come_back_share
    issued, refused, back, returned = _zeros(pop, n), _zeros(pop, n), _zeros(pop, n), _zeros(pop, n)
    after = 0.0
    delays = _delays_s(pop.params.behaviour.come_back_mean_hours)
    for cert in pop.types:
        lam = setup.turn_up[cert] * window
        for group, share in pop.group_shares().items():
            if share <= 0:
                continue
            ok = setup.allowed[(cert, group)]
            nxt = setup.next_open[(cert, group)]
            arrivals = lam * share
            issued[cert] += arrivals * ok
            ref = arrivals * ~ok
            refused[cert] += ref
            backs = ref * come_back
            back[cert] += backs
            src = np.nonzero(backs)[0]
            for delay in delays:
                # an arrival uniform in its bin plus `delay` lands `whole` or `whole + 1` bins on
                whole, frac = divmod(delay / BIN_S, 1.0)
                for step, weight in ((int(whole), 1 - frac), (int(whole) + 1, frac)):
                    target = src + step
                    inside = target < n
                    landing = nxt[target[inside]]
                    served = landing < n
                    mass = backs[src[inside]] * (weight / RETURN_QUANTILES)
                    direct = served & (landing == target[inside])
                    np.add.at(returned[cert], landing[direct], mass[direct])
                    waited = served & ~direct
                    pooled = np.zeros(n + 1)
                    np.add.at(pooled, landing[waited], mass[waited])
                    for reopen in np.nonzero(pooled[:n])[0]:
                        first, spread = setup.reopening_spread(cert, group, int(reopen))
                        returned[cert][first : first + len(spread)] += pooled[reopen] * spread
                    after += float(mass[~served].sum()) + float(
                        backs[src[~inside]].sum() * weight / RETURN_QUANTILES
                    )
        issued[cert] += returned[cert]
    copies = {k: v * mean_copies for k, v in issued.items()}
    return Result(
        setup, "aggregated", start_bin, end_bin, issued, copies, refused, back, returned, after
    )


def simulate(
    setup: Setup,
    *,
    seed: int,
    start_bin: int = 0,
    end_bin: int | None = None,
    keep_records: bool = False,
) -> Result:
    """One applicant at a time on the rig clock (simpy), over bins [start_bin, end_bin).

    Returners whose second visit falls after `end_bin` are still followed to the end of the
    fiscal year (so a what-if at night counts the next morning's returns).
    """
    pop, grid = setup.pop, setup.grid
    n = grid.n_bins
    end_bin = n if end_bin is None else end_bin
    rng = np.random.default_rng(seed)
    clock = RigClock(grid.start)
    behaviour, mix = pop.params.behaviour, pop.params.mix
    auth_names = list(pop.auth_shares())
    auth_p = np.asarray([pop.auth_shares()[a] for a in auth_names])
    copy_values = np.asarray(list(mix.copies), dtype=np.int64)
    copy_p = np.asarray(list(mix.copies.values()))
    copy_p = copy_p / copy_p.sum()

    times: list[np.ndarray[Any, Any]] = []
    certs: list[np.ndarray[Any, Any]] = []
    for i, cert in enumerate(pop.types):
        lam = setup.turn_up[cert][start_bin:end_bin]
        counts = rng.poisson(lam)
        at_bins = np.repeat(np.arange(start_bin, end_bin, dtype=np.int64), counts)
        times.append((at_bins + rng.random(len(at_bins))) * BIN_S)
        certs.append(np.full(len(at_bins), i, dtype=np.int64))
    at = np.concatenate(times) if times else np.zeros(0)
    which = np.concatenate(certs) if certs else np.zeros(0, dtype=np.int64)
    order = np.argsort(at, kind="stable")
    at, which = at[order], which[order]
    auths = rng.choice(len(auth_names), size=len(at), p=auth_p / auth_p.sum())
    copies_drawn = rng.choice(copy_values, size=len(at), p=copy_p)
    comes_back = rng.random(len(at)) < behaviour.come_back_share
    delay_s = rng.exponential(behaviour.come_back_mean_hours * 3600.0, size=len(at))
    in_bin = rng.random(len(at))
    spread_u = rng.random(len(at))

    issued, refused, back, returned = _zeros(pop, n), _zeros(pop, n), _zeros(pop, n), _zeros(pop, n)
    copies = _zeros(pop, n)
    records: list[Applicant] | None = [] if keep_records else None
    after = [0.0]
    env: simpy.Environment = clock.env

    def note(
        i: int, cert: CertType, auth: AuthMethod, outcome: Outcome, back_at: float | None = None
    ) -> None:
        if records is not None:
            records.append(
                Applicant(float(at[i]), cert, auth, int(copies_drawn[i]), outcome, back_at)
            )

    def serve(cert: CertType, b: int, ncopies: int) -> None:
        issued[cert][b] += 1
        copies[cert][b] += ncopies

    def returner(i: int, cert: CertType, group: str, auth: AuthMethod) -> Generator[Any, Any, None]:
        yield env.timeout(float(delay_s[i]))
        b = int(env.now // BIN_S)
        landing = int(setup.next_open[(cert, group)][b]) if b < n else n
        if landing >= n:
            after[0] += 1
            note(i, cert, auth, "refused_came_back_later")
            return
        if landing != b:  # closed now: they come back during the day after it reopens
            first, spread = setup.reopening_spread(cert, group, landing)
            landing = first + int(np.searchsorted(np.cumsum(spread), spread_u[i], side="right"))
            landing = min(landing, first + len(spread) - 1)
            yield env.timeout((landing + float(in_bin[i])) * BIN_S - env.now)
        serve(cert, landing, int(copies_drawn[i]))
        returned[cert][landing] += 1
        note(i, cert, auth, "issued_on_return", float(env.now))

    def arrivals() -> Generator[Any, Any, None]:
        for i in range(len(at)):
            wait = float(at[i]) - env.now
            if wait > 0:
                yield env.timeout(wait)
            cert = pop.types[int(which[i])]
            auth = auth_names[int(auths[i])]
            group = AUTH_GROUP[auth]
            b = int(at[i] // BIN_S)
            if setup.allowed[(cert, group)][b]:
                serve(cert, b, int(copies_drawn[i]))
                note(i, cert, auth, "issued")
                continue
            refused[cert][b] += 1
            if comes_back[i]:
                back[cert][b] += 1
                env.process(returner(i, cert, group, auth))
            elif records is not None:
                note(i, cert, auth, "refused_to_counter")

    clock.process(arrivals())
    clock.set(grid.time_of(n))
    return Result(
        setup, "per-applicant", start_bin, end_bin, issued, copies, refused, back, returned,
        after[0], records,
    )  # fmt: skip
