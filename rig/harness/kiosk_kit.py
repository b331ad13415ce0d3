"""The kiosk kit: what a kiosk under test is configured with, once, for every `rig run`.

An external kiosk cannot be reconfigured per scenario, so every scenario's world serves it
at the same addresses (the topology's `kiosk` section) with the same TLS files. The kit
folder (`kiosk.kit`, default build/kiosk-kit) keeps:

- `tls/`: the rig's server CA (what the kiosk trusts for the centre) and the kiosk's client
  certificate and key (issued by the rig's kiosk CA), stable across runs;
- `kiosk.json`: the endpoints in the names of `rig serve` (docs/kiosk.md): `reader_name`,
  `vpcd_host`, `vpcd_port`, `bill_validator_port`, `coin_port`, `ipp_uri`,
  `ipp_receipt_uri`, `centre_url`, `ca_bundle`, `kiosk_client_cert`, `kiosk_client_key`,
  `kiosk_id`, `robot_url`;
- `cash/`: the pty links of the cash unit's serial ports (transport pty).

The addresses are the topology's listen addresses (`centre.listen`, `printer.listen`,
`cash.host`; 127.0.0.1 by default). A topology with several kiosk units has one kit per unit.
`rig kiosk-kit --topology T` writes them; `rig kiosk --kit DIR` runs the reference kiosk from
one as a separate process (a stand-in for a vendor's kiosk).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rig.core.netaddr import is_loopback, url_host
from rig.core.pcsc import ReaderStack, VirtualCardSlot
from rig.core.pki.tls import TlsMaterial
from rig.harness.config import Topology

#: the kit's TLS seed: fixed, so the kiosk's certificate stays valid from run to run
KIT_SEED = "konbini-kiosk-kit"
KIT_KIOSK_ID = "kiosk-0001"
KIOSK_JSON = "kiosk.json"
BILL_VALIDATOR_PORT = "bill_validator_port"
COIN_PORT = "coin_port"


def kit_tls(topology: Topology) -> TlsMaterial:
    return TlsMaterial(topology.kiosk.kit / "tls", KIT_SEED)


def cash_transport(topology: Topology) -> str:
    """The cash unit's transport name (`emulators.cash`) for the topology's `cash.transport`."""
    return "socket" if topology.cash.transport == "tcp" else topology.cash.transport


def cash_link_dir(topology: Topology) -> Path:
    return topology.kiosk.kit / "cash"


def cash_tcp_ports(topology: Topology) -> dict[str, int]:
    kiosk = topology.kiosk
    return {BILL_VALIDATOR_PORT: kiosk.bill_validator_tcp_port, COIN_PORT: kiosk.coin_tcp_port}


def kiosk_reader_name(topology: Topology, stack: ReaderStack) -> str:
    """The rig reader whose vpcd the kiosk's reader is; "" for a kiosk on another machine."""
    readers = topology.card_readers
    if not is_loopback(readers.vicc_host):
        return ""
    return stack.reader_at(readers.port_base)


def kiosk_card_slot(topology: Topology, stack: ReaderStack) -> VirtualCardSlot:
    """Where the rig puts a customer's card for the kiosk under test: its own reader."""
    readers = topology.card_readers
    name = kiosk_reader_name(topology, stack)
    return VirtualCardSlot.remote(readers.vicc_host, readers.port_base, name)


def kiosk_endpoints(topology: Topology, reader_name: str) -> dict[str, Any]:
    """Where the kiosk finds each party; `reader_name` is its PC/SC reader for the rig's card."""
    kiosk = topology.kiosk
    tls = kit_tls(topology)
    client = tls.kiosk_client(KIT_KIOSK_ID)
    transport = cash_transport(topology)
    if transport == "pty":
        links = cash_link_dir(topology).resolve()
        cash = {key: str(links / f"{key}.tty") for key in (BILL_VALIDATOR_PORT, COIN_PORT)}
    else:
        host = url_host(topology.cash.host)
        cash = {
            key: f"{transport}://{host}:{port}" for key, port in cash_tcp_ports(topology).items()
        }
    ipp = f"ipp://{url_host(topology.printer.listen)}:{kiosk.ipp_port}/ipp"
    return {
        "reader_name": reader_name,
        "vpcd_host": topology.card_readers.vicc_host,
        "vpcd_port": topology.card_readers.port_base,
        **cash,
        "ipp_uri": f"{ipp}/print",
        "ipp_receipt_uri": f"{ipp}/receipt",
        "centre_url": f"https://{url_host(topology.centre.listen)}:{kiosk.centre_port}/v1",
        "ca_bundle": str(Path(tls.server_ca).resolve()),
        "kiosk_client_cert": str(Path(client.cert).resolve()),
        "kiosk_client_key": str(Path(client.key).resolve()),
        "kiosk_id": KIT_KIOSK_ID,
        "robot_url": kiosk.robot_url,
    }


def write_kit(topology: Topology, reader_name: str) -> Path:
    """Write (or refresh) the kit; returns the path of kiosk.json."""
    endpoints = kiosk_endpoints(topology, reader_name)
    path = topology.kiosk.kit / KIOSK_JSON
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(endpoints, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def write_kits(topology: Topology, stack: ReaderStack) -> list[Path]:
    """Write the kit of every kiosk unit of the topology; the paths of their kiosk.json."""
    return [write_kit(t, kiosk_reader_name(t, stack)) for t in topology.unit_topologies()]


def read_kit(folder: Path) -> dict[str, Any]:
    path = Path(folder) / KIOSK_JSON
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValueError(
            f"{path}: cannot read ({exc.strerror}); run `rig kiosk-kit` first"
        ) from exc
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not JSON: {exc}") from exc
    return data
