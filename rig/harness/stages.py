"""The order of the tests before going live (seed II.3 (9), II.5), per kind of device under test.

The seed's municipality runs five tests on its issuance server (証明発行サーバ), in this order:
システム確認試験(事前評価ツール) in-house, システム確認試験(証明書交付センターシステム連携) at
J-LIS, システム確認試験(疑似店舗) at each operator's venue, 業務運用試験 in-house, and
システム確認試験(実店舗) in a real store. The rig's `municipal-server` plan is the first of
them (the pre-evaluation tool's role); the others take place with J-LIS and the operators.

A kiosk is not the subject of any of the seed's tests: it takes part in the municipalities'
pseudo-store and real-store tests. The rig's `kiosk-conformance` plan is the vendor's own test
of a kiosk, before the kiosk is offered to them (docs/harness.md, "Which test is which").
"""

from __future__ import annotations

from enum import StrEnum


class DeviceKind(StrEnum):
    KIOSK = "kiosk"
    ISSUANCE_SERVER = "issuance-server"


class Stage(StrEnum):
    PRE_EVALUATION = "pre-evaluation"
    CENTRE_CONNECTION = "centre-connection"
    PSEUDO_STORE = "pseudo-store"
    OPERATIONS = "operations"
    REAL_STORE = "real-store"
    #: Not a seed test: the kiosk vendor's own validation of its kiosk.
    KIOSK_CONFORMANCE = "kiosk-conformance"


#: Each kind of device's stages, earliest first.
SEQUENCES: dict[DeviceKind, tuple[Stage, ...]] = {
    DeviceKind.ISSUANCE_SERVER: (
        Stage.PRE_EVALUATION,
        Stage.CENTRE_CONNECTION,
        Stage.PSEUDO_STORE,
        Stage.OPERATIONS,
        Stage.REAL_STORE,
    ),
    DeviceKind.KIOSK: (Stage.KIOSK_CONFORMANCE, Stage.PSEUDO_STORE, Stage.REAL_STORE),
}


class StageError(ValueError):
    """A stage or device kind that does not exist, or a stage that is ambiguous."""


def parse_stage(stage: str, device: str | None = None) -> tuple[DeviceKind, Stage]:
    """The (device kind, stage) a plan's `stage:` and optional `device:` name."""
    try:
        found = Stage(stage)
    except ValueError as exc:
        raise StageError(
            f"unknown stage {stage!r} (known: {', '.join(s.value for s in Stage)})"
        ) from exc
    kinds = [kind for kind, seq in SEQUENCES.items() if found in seq]
    if device is not None:
        try:
            kind = DeviceKind(device)
        except ValueError as exc:
            raise StageError(
                f"unknown device {device!r} (known: {', '.join(k.value for k in DeviceKind)})"
            ) from exc
        if kind not in kinds:
            raise StageError(f"a {kind.value} has no stage {found.value!r}")
        return kind, found
    if len(kinds) > 1:
        raise StageError(
            f"stage {found.value!r} exists for {' and '.join(k.value for k in kinds)}: "
            "say which with `device:`"
        )
    return kinds[0], found


def earlier_stages(kind: DeviceKind, stage: Stage) -> tuple[Stage, ...]:
    """The stages a device of this kind must pass before `stage`."""
    sequence = SEQUENCES[kind]
    return sequence[: sequence.index(stage)]
