"""The readers' ports: where they lie and what the rig says when pcscd could not open them."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from rig.core.pcsc import ReaderStack, stack
from rig.core.pcsc import daemon as daemon_module
from rig.core.pcsc.daemon import (
    READER_PREFIX,
    PcscDaemon,
    PcscStackError,
    StackConfig,
    ephemeral_port_range,
    port_taken,
)


def _readers_but_entry_0(config: StackConfig) -> list[str]:
    return [f"{READER_PREFIX} {e} 00 0{s}" for e in range(1, config.entries) for s in (0, 1)]


def test_a_port_with_a_listener_is_taken_and_free_once_it_closes() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        assert port_taken(port)
    assert not port_taken(port)


def test_a_port_held_by_a_connection_is_taken() -> None:
    # what happened on the shared machine: an outgoing connection's local port was a reader's
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        with socket.create_connection(server.getsockname()) as client:
            assert port_taken(client.getsockname()[1])


def test_the_ephemeral_range_is_read_from_the_kernel_file(tmp_path: Path) -> None:
    conf = tmp_path / "ip_local_port_range"
    conf.write_text("32768\t60999\n")
    assert ephemeral_port_range(conf) == range(32768, 61000)
    conf.write_text("garbage")
    assert ephemeral_port_range(conf) is None
    assert ephemeral_port_range(tmp_path / "absent") is None


def test_missing_readers_name_the_port_another_socket_holds(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("0.0.0.0", 0))
        holder.listen()
        port = holder.getsockname()[1]
        config = StackConfig(state_dir=tmp_path, port_base=port)
        message = ReaderStack(config)._missing_readers(_readers_but_entry_0(config), ours=True)
    assert "10 of the rig's 12 readers" in message
    assert f"port(s) {port}" in message and "are held by another socket" in message
    assert "RIG_VPCD_PORT_BASE" in message


def test_missing_readers_whose_ports_are_free_again_point_at_pcscds_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the moment has passed: whatever held the ports when pcscd started has let them go
    monkeypatch.setattr(stack, "port_taken", lambda port: False)
    port = 31100
    config = StackConfig(state_dir=tmp_path, port_base=port)
    message = ReaderStack(config)._missing_readers(_readers_but_entry_0(config), ours=True)
    assert f"{port}, {port + 1} were taken when it started" in message
    assert str(tmp_path / "pcscd.log") in message


def test_a_foreign_pcscd_without_the_readers_is_named_as_such(tmp_path: Path) -> None:
    config = StackConfig(state_dir=tmp_path)
    message = ReaderStack(config)._missing_readers([], ours=False)
    assert "not started by the rig" in message and "pkill pcscd" in message


def _stale_rig_pcscd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[PcscDaemon, list[str]]:
    """A daemon whose state folder says the rig started pcscd (pid 4242) with other ports."""
    config = StackConfig(state_dir=tmp_path, port_base=31100)
    other = StackConfig(state_dir=tmp_path, port_base=40100)
    daemon = PcscDaemon(config)
    (tmp_path / "reader.conf.d").mkdir()
    (tmp_path / "reader.conf.d" / "konbini-rig-vpcd").write_text(other.reader_conf())
    (tmp_path / "pcscd.driver").write_text(daemon._driver_stamp())
    calls: list[str] = []
    running: list[int | None] = [4242]
    monkeypatch.setattr(daemon, "started_by_rig", lambda: running[0])
    monkeypatch.setattr(daemon_module, "running_pcscd_pid", lambda: running[0])

    def stop(pid: int) -> None:
        calls.append(f"stop {pid}")
        running[0] = None

    monkeypatch.setattr(daemon, "_stop", stop)
    monkeypatch.setattr(daemon, "_start", lambda: calls.append("start"))
    return daemon, calls


def test_a_rig_pcscd_with_other_ports_and_no_users_is_restarted_with_ours(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    daemon, calls = _stale_rig_pcscd(tmp_path, monkeypatch)
    daemon.acquire()
    assert calls == ["stop 4242", "start"]


def test_a_rig_pcscd_with_other_ports_in_use_is_refused_not_shared(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    daemon, calls = _stale_rig_pcscd(tmp_path, monkeypatch)
    (tmp_path / "users" / str(os.getppid())).touch()  # another live rig process uses it
    with pytest.raises(PcscStackError, match=r"other ports than 31100–31111.*RIG_VPCD_PORT_BASE"):
        daemon.acquire()
    assert calls == []


def test_a_rig_pcscd_with_our_readers_is_shared(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    daemon, calls = _stale_rig_pcscd(tmp_path, monkeypatch)
    (tmp_path / "reader.conf.d" / "konbini-rig-vpcd").write_text(daemon.config.reader_conf())
    daemon.acquire()
    assert calls == []


def test_a_rig_pcscd_with_another_build_of_the_driver_is_restarted_when_unused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    daemon, calls = _stale_rig_pcscd(tmp_path, monkeypatch)
    (tmp_path / "reader.conf.d" / "konbini-rig-vpcd").write_text(daemon.config.reader_conf())
    (tmp_path / "pcscd.driver").write_text("the build of another checkout")
    daemon.acquire()
    assert calls == ["stop 4242", "start"]
