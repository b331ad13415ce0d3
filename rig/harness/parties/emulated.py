"""The party kinds the rig always plays: the JPKI OCSP responder, the issuance centre, the
printer, the cash unit and the verification site. Each factory builds the party from the
world's inputs and what the kinds before it offer, and records it in the build context."""

from __future__ import annotations

from emulators.cash import CashUnit
from emulators.centre import IssuanceCentre
from emulators.centre.server import antiforgery_key
from emulators.jpki import OcspFaultPlan, OcspResponder, OcspServer, ResponderIdentity
from emulators.printer import VirtualPrinter
from emulators.verification import VerificationSite
from rig.harness.parties.context import BuildContext, offered


def ocsp(ctx: BuildContext) -> OcspServer:
    authority = ctx.authority
    faults = OcspFaultPlan(slow_seconds=ctx.options.ocsp_slow_seconds)
    responder = OcspResponder(
        ctx.clock,
        ResponderIdentity(authority.auth_ca_cert, authority.ocsp_cert, authority.ocsp_key),
        status_of=authority.status,
        revocation_of=authority.revocations.revocation,
        faults=faults,
        evidence=ctx.evidence,
    )
    server = OcspServer(responder)
    ctx.ocsp, ctx.ocsp_faults = server, faults
    return server


def centre(ctx: BuildContext) -> IssuanceCentre:
    """The centre, calling the issuance server's URLs and the OCSP responder; with an
    external issuance server it presents and trusts that server's LGWAN certificates."""
    options = ctx.options
    lgwan = ctx.lgwan
    built = IssuanceCentre(
        ctx.clock, ctx.evidence, ctx.folder / "centre", ctx.tls, ctx.municipal_urls,
        offered(ctx.ocsp, "the OCSP responder").url, ctx.authority.auth_ca_cert,
        ctx.seat.centre_port, seed=options.seed, marks=options.marks, host=ctx.listen("centre"),
        municipal_client=lgwan.client if lgwan is not None else None,
        municipal_ca=lgwan.ca if lgwan is not None else None,
        **options.centre_overrides,
    )  # fmt: skip
    ctx.centre = built
    return built


def printer(ctx: BuildContext) -> VirtualPrinter:
    built = VirtualPrinter(
        ctx.clock, ctx.evidence, ctx.folder / "capture", port=ctx.seat.ipp_port,
        host=ctx.listen("printer"),
    )  # fmt: skip
    ctx.printer = built
    return built


def cash(ctx: BuildContext) -> CashUnit:
    seat = ctx.seat
    built = CashUnit(
        ctx.clock, ctx.evidence, ctx.folder / "cash", seat.cash_transport,
        faults=ctx.options.cash_faults, host=ctx.listen("cash"), link_dir=seat.cash_link_dir,
        tcp_ports=seat.cash_tcp_ports,
    )  # fmt: skip
    ctx.cash = built
    return built


def verification(ctx: BuildContext) -> VerificationSite:
    # the site holds the centre's scramble key (docs/verification-site.md)
    site = VerificationSite(antiforgery_key(ctx.options.seed), evidence=ctx.evidence)
    ctx.verification = site
    return site
