"""Real kiosks on the network: the topology chooses where the rig's parties listen.

Everything here stays on this machine: the non-default addresses are other loopback
addresses (127.0.0.2, 127.0.0.3); an address outside the machine appears only as a value
the topology must refuse (nothing is ever sent to it).
"""

from __future__ import annotations

import ipaddress
import json
import ssl
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from cryptography import x509

from rig.core.https import JsonHttpsServer, Request, Response, client_ssl_context
from rig.core.netaddr import AddressError, check_local, is_loopback, url_host
from rig.core.pki.tls import TlsMaterial
from rig.harness.config import TopologyError, load_topology, parse_topology
from rig.harness.kiosk_kit import kiosk_endpoints
from rig.harness.kiosk_standalone import robot_address

from .rig_process import free_ports, rig, rig_party

#: TEST-NET-1 (RFC 5737): documentation only, never an address of this machine
NOT_HERE = "192.0.2.10"


def _san(cert: x509.Certificate) -> tuple[list[str], list[str]]:
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return (
        names.get_values_for_type(x509.DNSName),
        [str(ip) for ip in names.get_values_for_type(x509.IPAddress)],
    )


def test_server_certificate_names_each_listen_address_by_its_kind(tmp_path: Path) -> None:
    tls = TlsMaterial(tmp_path, "net")
    plain = tls.server("centre")
    named = tls.server("centre", hosts=("127.0.0.2", "localhost", "kiosk-gw.example"))
    assert plain.cert != named.cert  # the loopback-only certificate keeps its own file
    assert _san(plain.load_cert()) == (["localhost"], ["127.0.0.1", "::1"])
    dns, ips = _san(named.load_cert())
    # an IP literal is an iPAddress name, never a dNSName (RFC 6125); loopback names once
    assert dns == ["localhost", "kiosk-gw.example"]
    assert ips == ["127.0.0.1", "::1", "127.0.0.2"]
    # the same hosts give the same file back, whatever their order
    assert tls.server("centre", hosts=("kiosk-gw.example", "127.0.0.2")) == named


def _hello(request: Request) -> Response:
    return Response(json={"ok": True})


def _server(tls: TlsMaterial, host: str, names: tuple[str, ...]) -> JsonHttpsServer:
    server = JsonHttpsServer(
        certificate=tls.server("centre", hosts=names), client_cas=[tls.kiosk_ca], host=host
    )
    server.add_route("GET", "/hello", _hello)
    return server


def test_a_verifying_client_accepts_the_certificate_only_where_it_names_the_address(
    tmp_path: Path,
) -> None:
    tls = TlsMaterial(tmp_path, "net")
    verify = client_ssl_context(tls.kiosk_client("kiosk-0001"), tls.server_ca)
    assert verify.check_hostname and verify.verify_mode is ssl.CERT_REQUIRED
    with _server(tls, "127.0.0.2", ("127.0.0.2",)) as named:
        assert named.url.startswith("https://127.0.0.2:")
        with httpx.Client(verify=verify, timeout=10) as client:
            assert client.get(named.url + "/hello").json() == {"ok": True}
    # the same certificate served at an address it does not name: the client refuses it
    with (
        _server(tls, "127.0.0.3", ("127.0.0.2",)) as unnamed,
        httpx.Client(verify=verify, timeout=10) as client,
        pytest.raises(httpx.ConnectError, match="IP address mismatch"),
    ):
        client.get(unnamed.url + "/hello")


def _topology(**sections: Any) -> dict[str, Any]:
    return {"name": "net", **sections}


def test_listen_addresses_reach_the_kit_and_default_to_loopback(tmp_path: Path) -> None:
    kiosk = {"mode": "external", "robot_url": "http://127.0.0.3:8700/robot", "kit": "kit"}
    default = parse_topology(_topology(kiosk=kiosk), base=tmp_path)
    assert (default.centre.listen, default.printer.listen, default.cash.host) == ("127.0.0.1",) * 3
    topology = parse_topology(
        _topology(
            kiosk={**kiosk, "centre_port": 18500, "ipp_port": 18501},
            centre={"listen": "127.0.0.2"},
            printer={"listen": "localhost"},
            cash={"transport": "tcp", "host": "127.0.0.2"},
        ),
        base=tmp_path,
    )
    kit = kiosk_endpoints(topology, "Konbini Rig vpcd 5 00 01")
    assert kit["centre_url"] == "https://127.0.0.2:18500/v1"
    assert kit["ipp_uri"] == "ipp://localhost:18501/ipp/print"
    assert kit["bill_validator_port"] == "socket://127.0.0.2:18701"
    assert kit["coin_port"] == "socket://127.0.0.2:18702"
    assert kit["robot_url"] == "http://127.0.0.3:8700/robot"


@pytest.mark.parametrize(
    ("section", "value", "message"),
    [
        ({"centre": {"listen": NOT_HERE}}, NOT_HERE, "centre.listen"),
        ({"printer": {"listen": NOT_HERE}}, NOT_HERE, "printer.listen"),
        ({"cash": {"transport": "tcp", "host": NOT_HERE}}, NOT_HERE, "cash.host"),
        ({"centre": {"listen": "::1"}}, "::1", "IPv6 is not supported"),
        ({"centre": {"listen": "no-such-host.invalid"}}, "does not resolve", "centre.listen"),
    ],
)
def test_an_address_not_on_this_machine_is_a_topology_error(
    tmp_path: Path, section: dict[str, Any], value: str, message: str
) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(yaml.safe_dump(_topology(**section)), encoding="utf-8")
    with pytest.raises(TopologyError) as err:
        load_topology(path)
    assert str(path) in str(err.value)
    assert value in str(err.value) and message in str(err.value)


@pytest.mark.parametrize(
    "command",
    [
        ["kiosk-kit"],
        ["run", "--plan", "pseudo-store", "--report-dir", "{dir}/report"],
    ],
    ids=["kiosk-kit", "run"],
)
def test_commands_refuse_an_address_not_on_this_machine_before_starting(
    tmp_path: Path, command: list[str]
) -> None:
    kiosk = {"mode": "external", "robot_url": "http://127.0.0.1:8700/robot", "kit": "kit"}
    path = tmp_path / "t.yaml"
    path.write_text(
        yaml.safe_dump(_topology(kiosk=kiosk, centre={"listen": NOT_HERE})), encoding="utf-8"
    )
    args = [a.format(dir=tmp_path) for a in command]
    done = rig(*args, "--topology", str(path), timeout=120)
    assert done.returncode == 2, done.stdout + done.stderr
    said = " ".join(done.stdout.split())
    assert f"centre.listen: Value error, {NOT_HERE} is not an address of this machine" in said
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.yaml"]  # nothing written


def test_address_helpers() -> None:
    assert check_local("127.0.0.2") == "127.0.0.2"
    with pytest.raises(AddressError, match="not an address of this machine"):
        check_local(NOT_HERE)
    with pytest.raises(AddressError, match="is not an address"):
        check_local(" 127.0.0.1")
    assert is_loopback("127.0.0.9") and is_loopback("localhost") and is_loopback("::1")
    assert not is_loopback(NOT_HERE) and not is_loopback("kiosk.example")
    assert url_host("::1") == "[::1]" and url_host("127.0.0.2") == "127.0.0.2"
    assert ipaddress.ip_address(url_host("10.0.0.1"))


def test_serve_writes_the_listen_addresses_of_the_unit_it_serves(tmp_path: Path) -> None:
    """`rig serve --unit` serves one kiosk unit at its kit's addresses on 127.0.0.2: the
    endpoints say so, and a kiosk verifying the centre's name there is accepted."""
    centre_a, ipp_a, centre_b, ipp_b, robot_a, robot_b = free_ports(6)

    def unit(name: str, robot: int, centre: int, ipp: int, reader: int) -> dict[str, Any]:
        return {
            "name": name, "robot_url": f"http://127.0.0.1:{robot}/robot", "kit": f"kit-{name}",
            "centre_port": centre, "ipp_port": ipp,
            "card_readers": {"vicc_host": "127.0.0.1", "port_base": reader},
        }  # fmt: skip

    path = tmp_path / "t.yaml"
    document = _topology(
        kiosk={
            "mode": "external",
            "units": [
                unit("a", robot_a, centre_a, ipp_a, 40110),
                unit("b", robot_b, centre_b, ipp_b, 40111),
            ],
        },
        centre={"listen": "127.0.0.2"},
        printer={"listen": "127.0.0.2"},
    )
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    refused = rig("serve", "--topology", str(path), "--work-dir", str(tmp_path / "x"), timeout=120)
    assert refused.returncode == 2  # a topology error, as for an address not on this machine
    assert "several kiosk units (a, b): pick one, --unit" in " ".join(refused.stdout.split())
    endpoints = tmp_path / "endpoints.json"
    with rig_party(
        "serve", "--topology", str(path), "--unit", "b", "--work-dir", str(tmp_path / "w"),
        "--endpoints", str(endpoints), log=tmp_path / "serve.log",
    ):  # fmt: skip
        ep = json.loads(endpoints.read_text(encoding="utf-8"))
        assert ep["center_url"] == f"https://127.0.0.2:{centre_b}/v1"
        assert ep["ipp_uri"] == f"ipp://127.0.0.2:{ipp_b}/ipp/print"
        assert Path(ep["ca_bundle"]).is_relative_to(tmp_path / "kit-b")
        verify = ssl.create_default_context(cafile=ep["ca_bundle"])
        verify.load_cert_chain(ep["kiosk_client_cert"], ep["kiosk_client_key"])
        with httpx.Client(verify=verify, timeout=10) as client:
            assert client.get(ep["center_url"] + "/health").status_code == 200


def test_the_stand_alone_kiosk_listens_at_its_kits_robot_url() -> None:
    assert robot_address({"robot_url": "http://127.0.0.3:8711/robot"}, None) == ("127.0.0.3", 8711)
    assert robot_address({"robot_url": "http://127.0.0.3:8711/robot"}, 9000) == ("127.0.0.3", 9000)
    assert robot_address({}, None) == ("127.0.0.1", 8700)
    with pytest.raises(AddressError, match="not an address of this machine"):
        robot_address({"robot_url": f"http://{NOT_HERE}:8700/robot"}, None)
    with pytest.raises(ValueError, match="robot_url"):
        robot_address({"robot_url": "http://127.0.0.1:99999/robot"}, None)
