"""Topology files: which parties the rig emulates and which are real devices under test.

A topology is YAML. The default (`rig/harness/topologies/default.yaml`) emulates everything with
the reference kiosk. A kiosk vendor's topology marks the kiosk `external` and says where its
robot adapter listens (or lists several kiosk units, `kiosk.units`); a municipality's marks
the municipal issuance server `external` and says where it is and which certificates to
present. `centre.listen`, `printer.listen` and `cash.host` say where the kiosk-facing parties
listen (an address of this machine; 127.0.0.1 by default). Validation errors name the file,
the field and what is wrong.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from rig.core.model_errors import read_yaml, validated
from rig.core.netaddr import DEFAULT_LISTEN, check_local, ip_or_none
from rig.core.pcsc.daemon import DEFAULT_PORT_BASE
from rig.harness.selftest.pack import find

TOPOLOGY_DIR = Path(__file__).parent / "topologies"
DEFAULT_TOPOLOGY = TOPOLOGY_DIR / "default.yaml"


class TopologyError(ValueError):
    """A topology file the rig cannot use; the message lists every problem."""


def _listen_address(host: str) -> str:
    address = ip_or_none(host)
    if address is not None and address.version == 6:
        raise ValueError(f"{host}: listen on an IPv4 address or a DNS name (IPv6 is not supported)")
    return check_local(host)  # AddressError is a ValueError: reported with the field


#: where a rig party listens: an IPv4 address or DNS name of this machine (docs/harness.md)
ListenAddress = Annotated[str, AfterValidator(_listen_address)]


class Mode(StrEnum):
    EMULATED = "emulated"
    EXTERNAL = "external"


class _Party(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    mode: Mode = Mode.EMULATED


class KioskParty(_Party):
    """The device under test for kiosk vendors; `robot_url` is its kiosk-adapter endpoint.

    An external kiosk is configured once, so every scenario's world serves it at the same
    addresses: the centre on `centre_port`, the IPP printer on `ipp_port`, the cash unit's
    serial ports as pty links in `kit` (transport pty) or on `bill_validator_tcp_port` /
    `coin_tcp_port` (transport tcp). `kit` also keeps the kiosk's TLS files and
    `kiosk.json` (`rig kiosk-kit`, docs/harness.md). With `units`, several kiosks are under
    test at once, each with these fields of its own (`KioskUnit`, `Topology.unit_topology`).
    """

    robot_url: str | None = None
    kit: Path = Path("build/kiosk-kit")
    centre_port: int = Field(default=18443, ge=1024, le=65535)
    ipp_port: int = Field(default=18631, ge=1024, le=65535)
    bill_validator_tcp_port: int = Field(default=18701, ge=1024, le=65535)
    coin_tcp_port: int = Field(default=18702, ge=1024, le=65535)
    #: several kiosk units under test at once (`rig run` gives each its own worker)
    units: list[KioskUnit] = Field(default_factory=list)

    @model_validator(mode="after")
    def _external_needs_robot(self) -> KioskParty:
        if self.units:
            if self.mode is not Mode.EXTERNAL:
                raise ValueError("units are kiosks under test: the kiosk must be external")
            if self.robot_url is not None:
                raise ValueError("with units, each unit has its own robot_url (not the kiosk's)")
        elif self.mode is Mode.EXTERNAL and not self.robot_url:
            raise ValueError("robot_url is required when the kiosk is external")
        return self


class TlsClient(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    ca_bundle: Path
    client_cert: Path
    client_key: Path


class MunicipalParty(_Party):
    """Emulated municipalities by code, or one external issuance server.

    External: `url` is the API base the `/municipalities/{code}/...` paths hang from,
    `tls` what the rig's centre presents and trusts on LGWAN, `test_data` the server's test
    residents and cards (rig/core/municipal_test_data.py, docs/municipal-server-testing.md).
    """

    municipalities: list[str] = Field(
        default_factory=lambda: ["991015", "992046", "993026", "993034", "993069"]
    )
    url: str | None = None
    tls: TlsClient | None = None
    test_data: Path | None = None

    @field_validator("municipalities")
    @classmethod
    def _codes(cls, codes: list[str]) -> list[str]:
        for code in codes:
            if not (len(code) == 6 and code.isdigit()):
                raise ValueError(f"municipality code {code!r} is not 6 digits")
        return codes

    @model_validator(mode="after")
    def _external_needs_address(self) -> MunicipalParty:
        if self.mode is Mode.EXTERNAL:
            if self.url is not None and not self.url.startswith("https://"):
                raise ValueError(f"url {self.url!r}: LGWAN calls are HTTPS only")
            missing = [k for k in ("url", "tls", "test_data") if not getattr(self, k)]
            if missing:
                raise ValueError(f"an external issuance server needs {', '.join(missing)}")
        return self


class CentreParty(_Party):
    mode: Literal[Mode.EMULATED] = Mode.EMULATED  # the rig always plays the centre
    #: the kiosk-facing HTTPS address, named in the centre's server certificate
    listen: ListenAddress = DEFAULT_LISTEN


class JpkiParty(_Party):
    ocsp_url: str | None = None

    @model_validator(mode="after")
    def _external_needs_url(self) -> JpkiParty:
        if self.mode is Mode.EXTERNAL and not self.ocsp_url:
            raise ValueError("ocsp_url is required when the JPKI responder is external")
        return self


class PrinterParty(_Party):
    mode: Literal[Mode.EMULATED] = Mode.EMULATED  # the rig captures what is printed
    listen: ListenAddress = DEFAULT_LISTEN


class CashParty(_Party):
    mode: Literal[Mode.EMULATED] = Mode.EMULATED
    transport: Literal["pty", "tcp", "rfc2217"] = "pty"
    #: where the serial ports listen (transports tcp and rfc2217)
    host: ListenAddress = DEFAULT_LISTEN


class CardReaders(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    vicc_host: str = "127.0.0.1"
    port_base: int = Field(default=DEFAULT_PORT_BASE, ge=1024, le=65000)


class KioskUnit(BaseModel):
    """One of several kiosk units under test (`kiosk.units`): the fields of an external
    `kiosk` section and its own card reader, at addresses no other unit uses."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")
    robot_url: str
    #: default build/kiosk-kit/<name> (relative to the working folder)
    kit: Path | None = None
    centre_port: int = Field(ge=1024, le=65535)
    ipp_port: int = Field(ge=1024, le=65535)
    #: required with cash transport tcp or rfc2217
    bill_validator_tcp_port: int | None = Field(default=None, ge=1024, le=65535)
    coin_tcp_port: int | None = Field(default=None, ge=1024, le=65535)
    card_readers: CardReaders

    @property
    def kit_folder(self) -> Path:
        return self.kit if self.kit is not None else Path("build/kiosk-kit") / self.name


def _no_duplicates(units: list[KioskUnit], tcp: bool) -> None:
    """Two units never share a name, an adapter, a kit, a reader or a port of the rig."""
    seen: dict[object, tuple[int, str]] = {}
    problems: list[str] = []
    cash_ports = ("bill_validator_tcp_port", "coin_tcp_port")
    for index, unit in enumerate(units):
        if tcp:
            problems += [
                f"unit {unit.name}: {field} is required with cash transport tcp or rfc2217"
                for field in cash_ports
                if getattr(unit, field) is None
            ]
        readers = unit.card_readers
        claims: list[tuple[str, object, str]] = [
            ("name", unit.name, unit.name),
            ("robot_url", unit.robot_url.rstrip("/"), unit.robot_url),
            ("kit", unit.kit_folder, str(unit.kit_folder)),
            ("card_readers", readers, f"vpcd {readers.vicc_host}:{readers.port_base}"),
        ]
        claims += [
            (field, ("port", getattr(unit, field)), f"port {getattr(unit, field)}")
            for field in ("centre_port", "ipp_port", *(cash_ports if tcp else ()))
            if getattr(unit, field) is not None
        ]
        for field, key, shown in claims:
            owner, where = seen.setdefault(key, (index, f"{unit.name}.{field}"))
            if owner != index:
                problems.append(f"units {unit.name}.{field} and {where} are the same ({shown})")
    if problems:
        raise ValueError("; ".join(problems))


class ClockSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    start: datetime | None = None
    realtime_factor: float | None = Field(default=None, gt=0)

    @field_validator("start")
    @classmethod
    def _aware(cls, start: datetime | None) -> datetime | None:
        if start is not None and start.tzinfo is None:
            raise ValueError("start needs a UTC offset, e.g. 2026-11-24T10:00:00+09:00")
        return start


class Topology(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    description: str = ""
    kiosk: KioskParty = KioskParty()
    centre: CentreParty = CentreParty()
    municipal: MunicipalParty = MunicipalParty()
    jpki: JpkiParty = JpkiParty()
    printer: PrinterParty = PrinterParty()
    cash: CashParty = CashParty()
    card_readers: CardReaders = CardReaders()
    clock: ClockSettings = ClockSettings()
    incidents: Path | None = None
    #: defective variants to build instead of the reference kiosk / emulated server, by
    #: name (rig selftest; docs/selftest.md): at most one per party, that party emulated
    defects: list[str] = Field(default_factory=list)

    @field_validator("defects")
    @classmethod
    def _known_defects(cls, names: list[str]) -> list[str]:
        parties = [find(name).party for name in names]  # ValueError names the choices
        for party in set(parties):
            if parties.count(party) > 1:
                raise ValueError(f"at most one {party} defect at a time")
        return names

    @model_validator(mode="after")
    def _defects_on_emulated_parties(self) -> Topology:
        for party in {find(name).party for name in self.defects}:
            if getattr(self, party).mode is Mode.EXTERNAL:
                raise ValueError(f"defects: a {party} defect needs the {party} emulated")
        return self

    @model_validator(mode="after")
    def _units_apart(self) -> Topology:
        if self.kiosk.units:
            _no_duplicates(self.kiosk.units, tcp=self.cash.transport != "pty")
        return self

    def unit_topology(self, name: str) -> Topology:
        """The topology as kiosk unit `name` sees it: a one-kiosk topology with that unit's
        adapter, kit, ports and card reader (what every other part of the rig works with)."""
        unit = next((u for u in self.kiosk.units if u.name == name), None)
        if unit is None:
            known = ", ".join(u.name for u in self.kiosk.units) or "none"
            raise TopologyError(f"{self.name}: no kiosk unit {name!r} (units: {known})")
        ports = {
            field: getattr(unit, field)
            for field in ("bill_validator_tcp_port", "coin_tcp_port")
            if getattr(unit, field) is not None
        }
        kiosk = KioskParty(
            mode=Mode.EXTERNAL, robot_url=unit.robot_url, kit=unit.kit_folder,
            centre_port=unit.centre_port, ipp_port=unit.ipp_port, **ports,
        )  # fmt: skip
        return self.model_copy(update={"kiosk": kiosk, "card_readers": unit.card_readers})

    def unit_topologies(self) -> list[Topology]:
        """One single-kiosk topology per kiosk unit (just this one without `kiosk.units`)."""
        return [self.unit_topology(u.name) for u in self.kiosk.units] or [self]

    @property
    def external_kiosk(self) -> KioskParty | None:
        """The kiosk under test, when it is not the rig's reference kiosk."""
        return self.kiosk if self.kiosk.mode is Mode.EXTERNAL else None

    @property
    def external_municipal(self) -> MunicipalParty | None:
        """The issuance server under test, when it is not the rig's emulated one."""
        return self.municipal if self.municipal.mode is Mode.EXTERNAL else None

    def external_parties(self) -> list[str]:
        return [
            name
            for name in ("kiosk", "municipal", "jpki")
            if getattr(self, name).mode is Mode.EXTERNAL
        ]


def parse_topology(data: Any, source: str = "<topology>", base: Path | None = None) -> Topology:
    topology = validated(Topology, data, source, TopologyError)
    if base is not None:
        topology = _relative_to(topology, base)
    return topology


def _resolve(path: Path | None, base: Path) -> Path | None:
    return path if path is None or path.is_absolute() else base / path


def _relative_to(topology: Topology, base: Path) -> Topology:
    """Paths in a topology file are relative to the file's folder."""
    municipal = topology.municipal
    tls = municipal.tls
    if tls is not None:
        tls = tls.model_copy(update={name: base / path for name, path in tls})
    test_data = _resolve(municipal.test_data, base)
    municipal = municipal.model_copy(update={"tls": tls, "test_data": test_data})
    kiosk = topology.kiosk
    if "kit" in kiosk.model_fields_set:  # the default stays relative to the working folder
        kiosk = kiosk.model_copy(update={"kit": _resolve(kiosk.kit, base)})
    if kiosk.units:
        units = [u.model_copy(update={"kit": _resolve(u.kit, base)}) for u in kiosk.units]
        kiosk = kiosk.model_copy(update={"units": units})
    return topology.model_copy(
        update={
            "incidents": _resolve(topology.incidents, base),
            "municipal": municipal,
            "kiosk": kiosk,
        }
    )


def load_topology(path: Path | str | None = None) -> Topology:
    """Load and validate a topology file (the default one when `path` is None)."""
    path = Path(path) if path is not None else DEFAULT_TOPOLOGY
    return parse_topology(read_yaml(path, TopologyError), str(path), path.parent)
