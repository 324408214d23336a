"""The one retry policy: waits, Retry-After, jitter, the deadline, and giving up."""

from __future__ import annotations

from collections.abc import Callable
from email.message import Message

import pytest

from brulee.util.retry import GaveUp, Retryable, RetryPolicy, retry_after


class FakeTime:
    """A clock that only moves when the policy sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


def failing(times: int, wait: float | None = None) -> tuple[list[int], Callable[[], str]]:
    calls: list[int] = []

    def operation() -> str:
        calls.append(1)
        if len(calls) <= times:
            raise Retryable(f"try {len(calls)} failed", wait=wait, status=503)
        return "done"

    return calls, operation


def test_backoff_doubles_up_to_the_cap() -> None:
    policy = RetryPolicy(backoff=1.0, max_wait=5.0)
    assert [policy.wait(n) for n in range(1, 6)] == [1.0, 2.0, 4.0, 5.0, 5.0]


def test_retry_after_wins_but_is_capped_and_never_jittered() -> None:
    policy = RetryPolicy(backoff=1.0, max_wait=30.0, jitter=0.9)
    assert policy.wait(1, retry_after=12.0) == 12.0
    assert policy.wait(1, retry_after=3600.0) == 30.0
    assert policy.wait(1, retry_after=-5.0) == 0.0


def test_jitter_takes_off_at_most_its_fraction() -> None:
    policy = RetryPolicy(backoff=2.0, max_wait=8.0, jitter=0.5)
    for attempt, nominal in ((1, 2.0), (2, 4.0), (3, 8.0), (6, 8.0)):
        waits = [policy.wait(attempt) for _ in range(200)]
        assert all(nominal / 2 <= wait <= nominal for wait in waits)
        assert len(set(waits)) > 1


def test_run_retries_until_success_and_reports_each_retry() -> None:
    time = FakeTime()
    seen: list[tuple[str, int, float]] = []
    calls, operation = failing(2)
    policy = RetryPolicy(attempts=4, backoff=1.0, sleep=time.sleep, clock=time.clock)

    def told(exc: Retryable, attempt: int, wait: float) -> None:
        seen.append((str(exc), attempt, wait))

    result = policy.run(operation, on_retry=told)
    assert result == "done"
    assert len(calls) == 3
    assert time.slept == [1.0, 2.0]
    assert seen == [("try 1 failed", 1, 1.0), ("try 2 failed", 2, 2.0)]


def test_run_gives_up_after_the_attempts_naming_the_last_failure() -> None:
    time = FakeTime()
    calls, operation = failing(10, wait=0.5)
    policy = RetryPolicy(attempts=3, sleep=time.sleep, clock=time.clock)
    with pytest.raises(GaveUp) as caught:
        policy.run(operation)
    assert len(calls) == 3
    assert time.slept == [0.5, 0.5]
    assert str(caught.value) == "try 3 failed (gave up after 3 attempts)"
    assert caught.value.attempts == 3
    assert caught.value.last.status == 503


def test_run_never_waits_past_the_deadline() -> None:
    time = FakeTime()
    calls, operation = failing(10)
    policy = RetryPolicy(
        attempts=10, backoff=4.0, max_wait=60.0, deadline=10.0, sleep=time.sleep, clock=time.clock
    )
    with pytest.raises(GaveUp, match="past the deadline"):
        policy.run(operation)
    assert time.slept == [4.0]  # a second wait of 8 s would end at 12 s, past 10 s
    assert len(calls) == 2


def test_other_errors_are_not_retried() -> None:
    time = FakeTime()
    calls: list[int] = []

    def operation() -> None:
        calls.append(1)
        raise KeyError("bug")

    with pytest.raises(KeyError):
        RetryPolicy(sleep=time.sleep, clock=time.clock).run(operation)
    assert calls == [1]
    assert time.slept == []


@pytest.mark.parametrize(
    ("header", "expected"),
    [("120", 120.0), ("", None), ("soon", None), ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0)],
)
def test_retry_after_header(header: str, expected: float | None) -> None:
    headers = Message()
    if header:
        headers["Retry-After"] = header
    assert retry_after(headers) == expected
