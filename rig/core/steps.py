"""Steps: what the customer did and saw, in order, for the evidence and the report.

A scenario reads as a person at the kiosk: places the card, enters the PIN, taps 住民票の写し,
pays 1,000 yen. `@step("taps {option}")` on such an action records it twice while a test
runs: in the test's evidence (`steps.jsonl`: start and end of each step, nested steps by
depth, what the screen showed after it, the error of the step that failed) and as an
`allure.step`, so a failed scenario's report tells the customer's story with the failing
step marked. Outside a test (a benchmark, `rig serve`) a step costs a context-variable look-up.

Titles are formatted from the call's arguments by name. They never carry a secret: an
action that takes a PIN names it in the title by its length only (`{pin!len}`).
"""

from __future__ import annotations

import functools
import inspect
import string
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from enum import Enum
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import allure

from rig.core.evidence import EvidenceStore

P = ParamSpec("P")
R = TypeVar("R")
CHANNEL = "steps"


class StepRecorder:
    """The steps of one test, written to its evidence store as they happen."""

    def __init__(self, evidence: EvidenceStore):
        self.evidence = evidence
        self.depth = 0
        self.number = 0

    def start(self, title: str) -> int:
        self.number += 1
        self.evidence.record(CHANNEL, "start", step=self.number, depth=self.depth, title=title)
        self.depth += 1
        return self.number

    def end(
        self, number: int, title: str, seconds: float, error: BaseException | None, saw: Any
    ) -> None:
        self.depth -= 1
        fields: dict[str, Any] = {
            "step": number,
            "depth": self.depth,
            "title": title,
            "outcome": "passed" if error is None else "failed",
            "seconds": round(seconds, 3),
        }
        if error is not None:
            fields["error"] = f"{type(error).__name__}: {error}"[:500]
        seen = _what_was_seen(saw)
        if seen:
            fields["saw"] = seen
        self.evidence.record(CHANNEL, "end", **fields)


_recorder: ContextVar[StepRecorder | None] = ContextVar("rig_step_recorder", default=None)


@contextmanager
def recording(evidence: EvidenceStore) -> Iterator[StepRecorder]:
    """Record every step taken inside the block into `evidence` (the plugin does this per test)."""
    recorder = StepRecorder(evidence)
    token = _recorder.set(recorder)
    try:
        yield recorder
    finally:
        _recorder.reset(token)


class _Title(string.Formatter):
    """str.format with one extra conversion: `!len` shows a value's length, never the value."""

    def convert_field(self, value: Any, conversion: str | None) -> Any:
        if conversion == "l":
            return f"{len(value)} digits" if isinstance(value, str) else "?"
        return super().convert_field(value, conversion)

    def format_field(self, value: Any, format_spec: str) -> str:
        # screens and amounts read as a person would say them: "pin or notice", "1000, 50"
        if isinstance(value, tuple | list):
            words = [str(getattr(v, "value", v)) for v in value]
            joiner = " or " if value and all(isinstance(v, Enum) for v in value) else ", "
            return joiner.join(words)
        if isinstance(value, Enum):
            return str(value.value)
        return str(super().format_field(value, format_spec))


_FORMAT = _Title()


def _title(template: str, signature: inspect.Signature, args: Any, kwargs: Any) -> str:
    try:
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        return _FORMAT.format(template.replace("!len}", "!l}"), **bound.arguments)
    except (KeyError, IndexError, TypeError, ValueError):
        return template  # a title is a courtesy: never let it break the action


def _what_was_seen(result: Any) -> str | None:
    """A screen the action ended on, in a line: its number, id and title."""
    screen = getattr(result, "screen", None)
    title = getattr(result, "title", None)
    if screen is None or title is None:
        return None
    number = getattr(result, "seed_number", None)
    name = getattr(screen, "value", screen)
    return f"{number + ' ' if number else ''}{name}: {title}"


def step(template: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Record each call of the decorated action as a step titled `template`, formatted from
    its arguments by name (`"taps {option}"`, `"enters the PIN ({pin!len})"`)."""

    def decorate(action: Callable[P, R]) -> Callable[P, R]:
        signature = inspect.signature(action)

        @functools.wraps(action)
        def recorded(*args: P.args, **kwargs: P.kwargs) -> R:
            recorder = _recorder.get()
            if recorder is None:
                return action(*args, **kwargs)
            title = _title(template, signature, args, kwargs)
            number = recorder.start(title)
            began = time.perf_counter()
            try:
                with allure.step(title):
                    result = action(*args, **kwargs)
            except BaseException as exc:
                recorder.end(number, title, time.perf_counter() - began, exc, None)
                raise
            recorder.end(number, title, time.perf_counter() - began, None, result)
            return result

        return recorded

    return decorate


def story(evidence_folder: str | None) -> list[dict[str, Any]]:
    """The finished steps of one test, in the order they began, from its evidence folder:
    [{step, depth, title, outcome, seconds, saw?, error?}]. Steps still open when the test
    ended (it was interrupted) are listed with outcome "unfinished"."""
    if not evidence_folder or not Path(evidence_folder).is_dir():
        return []
    store = EvidenceStore(Path(evidence_folder))
    started: dict[int, dict[str, Any]] = {}
    for record in store.records(CHANNEL):
        number = int(record.get("step", 0))
        if record.get("event") == "start":
            started[number] = {
                "step": number,
                "depth": record.get("depth", 0),
                "title": record.get("title", ""),
                "outcome": "unfinished",
            }
        elif record.get("event") == "end" and number in started:
            started[number].update(
                {k: record[k] for k in ("outcome", "seconds", "saw", "error") if k in record}
            )
    return [started[n] for n in sorted(started)]
