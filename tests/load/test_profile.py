"""Load profiles: the bundled ones load, bad ones are refused naming file, field and problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from rig.harness.load.cli import parse_duration
from rig.harness.load.profile import ProfileError, bundled_profiles, load_profile
from tests.rig_process import rig


@pytest.mark.parametrize("name", ["constant", "step", "spike", "peak-day", "burst-500"])
def test_bundled_profiles_load_and_are_bounded(name: str) -> None:
    assert name in bundled_profiles()
    profile = load_profile(name)
    assert 0 < profile.duration_s <= 24 * 3600
    assert profile.max_transactions >= 1
    assert any(profile.users_at(t) for t in range(int(profile.duration_s)))


def test_shapes_give_the_rate_over_time() -> None:
    step = load_profile("step")
    assert [step.shape.rate_at(t) for t in (0, 29.9, 30, 95)] == [2, 2, 5, 20]
    spike = load_profile("spike")
    assert [spike.shape.rate_at(t) for t in (29, 30, 44.9, 45)] == [2, 25, 25, 2]
    day = load_profile("peak-day")
    assert day.shape.rate_at(0) == pytest.approx(1100 / 3600)  # the run starts in the 6:00 hour
    assert day.shape.rate_at((19 - 6) * 10 + 1) == pytest.approx(14800 / 3600)  # the 19:00 hour
    assert day.shape.rate_at((23 - 6) * 10 + 1) == 0  # 23:00, the centre is closed
    assert day.users_at((23 - 6) * 10 + 1) == 0
    # users = rate x pacing: 5 per second with a 4 s pacing needs 20 kiosks
    assert load_profile("constant").users_at(0) == 20


def test_the_rounds_shape_releases_its_sessions_together() -> None:
    burst = load_profile("burst-500")
    assert burst.rounds is not None
    assert (burst.rounds.sessions, burst.rounds.rounds) == (500, 20)
    assert burst.users_at(0) == burst.users_at(600) == 500  # no pacing
    assert burst.max_transactions == 500 * 20
    assert load_profile("constant").rounds is None


def test_a_rounds_shape_without_sessions_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "bad-rounds.yaml"
    bad.write_text("name: x\nshape: {kind: rounds, sessions: 0, rounds: 2}\n", "utf-8")
    with pytest.raises(ProfileError, match=r"bad-rounds.yaml.*\n.*shape.rounds.sessions"):
        load_profile(str(bad))


def test_command_line_bounds_replace_the_profiles() -> None:
    profile = load_profile("constant").bounded(parse_duration("10m"), 50)
    assert (profile.duration_s, profile.max_transactions) == (600, 50)
    with pytest.raises(ProfileError, match="--duration"):
        load_profile("constant").bounded(parse_duration("48h"), None)
    with pytest.raises(ProfileError, match="not a duration"):
        parse_duration("soon")


def test_a_bad_profile_names_file_field_and_problem(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "name: bad\nshape: {kind: step, steps: [{at: 5, rate: 1}]}\n"
        "mix: {cert_types: {passport: 1}}\nduration_s: -1\n",
        encoding="utf-8",
    )
    with pytest.raises(ProfileError) as caught:
        load_profile(str(bad))
    text = str(caught.value)
    assert str(bad) in text
    assert "shape.step.steps: Value error, the first step must start at 0" in text
    assert "mix.cert_types.passport" in text
    assert "duration_s: Input should be greater than 0" in text


def test_rig_load_exits_2_on_a_bad_profile(tmp_path: Path) -> None:
    bad = tmp_path / "typo.yaml"
    bad.write_text("name: typo\nshape: {kind: constant, rate: 5}\nmax_transaction: 3\n")
    done = rig("load", "--profile", str(bad), timeout=60)
    assert done.returncode == 2
    assert "typo.yaml" in done.stderr and "max_transaction: Extra inputs" in done.stderr
    missing = rig("load", "--profile", "no-such-profile", timeout=60)
    assert missing.returncode == 2 and "no such profile" in missing.stderr
