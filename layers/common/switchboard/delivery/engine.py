"""The delivery engine: one attempt of one delivery, end to end (docs/delivery.md).

For a task (event, configuration, attempt n) the worker:
  1. reads the configuration (cached briefly); inactive → the delivery is parked until reactivation;
  2. takes a throttle slot (GCRA shared through the store), sleeping for a near slot or re-queueing
     the task for a far one — waiting never uses up an attempt;
  3. claims the delivery with one conditional write (open, due, not leased, n is its next attempt),
     so a redelivered message never sends after a recorded success and two workers never send the
     same attempt at once;
  4. renders, signs and POSTs it through the SSRF-guarded sender (OAuth token refreshed once on 401);
  5. records the attempt, the new status and the summary counters in one transaction, then queues
     the next attempt (or holds it in the store when it is further away than SQS can delay).

Fairness (docs/delivery.md, "Slow endpoints"). A worker is the shared resource: an endpoint that
stalls must not hold many of them. An attempt that has no response after `patience_s` becomes a slow
attempt and must hold one of its configuration's `slow_per_configuration` slots and one of its
account's `slow_per_account` slots (leases in the store); without both it is cut off and deferred —
its task goes back on the queue with a delay, the attempt not spent. A configuration seen slow is
remembered for a while, and its attempts take their slots before sending. Fast endpoints never touch
the slots: the healthy path costs no extra request.

The ports below are what the engine needs; DynamoDB, SQS and KMS implement them in production
(`switchboard.delivery.services`), and the benchmark gives it an in-memory store.
"""

from __future__ import annotations

import math
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol

from switchboard.delivery import payload, policy
from switchboard.delivery.models import Attempt, DeliverTask, Delivery, Status, event_key, is_file_delivery
from switchboard.delivery.oauth import TokenCache, TokenError, basic_authorization
from switchboard.delivery.policy import Outcome, RetrySchedule
from switchboard.delivery.repository import Claim
from switchboard.delivery.sender import HttpResult, Patience, Sender
from switchboard.delivery.throttle import Rate
from switchboard.events.models import DeliveryConfiguration


class Store(Protocol):
    def claim(
        self, account_id: str, event_id: str, config_id: str, attempt: int, owner: str, now_ms: int, lease_ms: int
    ) -> Claim: ...

    def record(
        self, delivery: Delivery, attempt: Attempt, status: Status, due_ms: int, wake_ms: int | None, owner: str
    ) -> bool: ...

    def park(self, delivery: Delivery, reason: str, config_check: dict[str, Any] | None) -> bool: ...

    def swap_tat(self, account_id: str, config_id: str, expected: int | None, new: int) -> int | None: ...

    def note_failure(self, account_id: str, config_id: str, now_ms: int, transport: bool) -> tuple[int, int, int]: ...

    def note_success(self, account_id: str, config_id: str, now_ms: int) -> None: ...

    def take_slot(self, scope: str, cap: int, token: str, until_ms: int, now_ms: int) -> int | None: ...

    def free_slot(self, scope: str, index: int, token: str) -> None: ...

    def release_claim(self, delivery: Delivery, owner: str, now_ms: int, reason: str) -> bool: ...

    def release_lease(self, delivery: Delivery, owner: str) -> bool: ...


class Configurations(Protocol):
    """Delivery configurations as the engine sees them (cached, secrets unsealed on demand)."""

    def get(self, account_id: str, config_id: str) -> DeliveryConfiguration | None: ...

    def forget(self, account_id: str, config_id: str) -> None: ...

    def version_check(self, config: DeliveryConfiguration) -> dict[str, Any] | None: ...

    def signing_secrets(self, config: DeliveryConfiguration, now_ms: int) -> list[str]: ...

    def basic_credentials(self, config: DeliveryConfiguration) -> tuple[str, str]: ...

    def client_secret(self, config: DeliveryConfiguration) -> str: ...

    def deactivate(self, config: DeliveryConfiguration, reason: str) -> bool: ...

    def open_circuit(self, config: DeliveryConfiguration, until_ms: int) -> None: ...


class Tasks(Protocol):
    def send(self, task: Any, delay_s: int = 0) -> None: ...

    def send_many(self, tasks: Any) -> None: ...


class Mailer(Protocol):
    """Sends an email (the EMAIL protocol: a rule's `emails`); the result reads like an HTTP answer."""

    def send(self, recipients: list[str], subject: str, text: str) -> HttpResult: ...


class Notices(Protocol):
    def configuration_disabled(self, config: DeliveryConfiguration, reason: str) -> None: ...


class FileDeliveries(Protocol):
    """Buffer files (delivery/buffers.py): the body of a file's delivery, and its final outcome."""

    def body(self, delivery: Delivery) -> tuple[bytes, dict[str, str]]: ...

    def finished(self, delivery: Delivery, status: Status) -> None: ...


@dataclass(frozen=True)
class EngineSettings:
    schedule: RetrySchedule = field(default_factory=RetrySchedule)
    # Waits for a throttle slot up to this long in-process; a later slot re-queues the task.
    max_throttle_wait_s: float = 2.0
    # An open delivery the sweeper has not seen progress on this long after its due time is re-sent.
    wake_grace_s: int = 300
    # All attempts of a configuration failing this long deactivates it.
    failure_window_s: int = 86_400
    # A worker writes "healthy again" at most this often per configuration (successes are hot).
    health_write_interval_s: float = 60.0
    # Fairness: an attempt without a response after this long is slow, and needs slow slots to go on.
    patience_s: float = 3.0
    slow_per_configuration: int = 2
    slow_per_account: int = 4
    # How long a worker remembers a configuration as slow (its attempts then take slots first).
    slow_memory_s: float = 60.0
    # A deferred task comes back after this long, plus up to as much again of jitter.
    defer_s: float = 5.0
    # Circuit breaker: after this many consecutive timeouts or connection failures, no attempt goes out
    # for the cool-down, doubled each time it opens again without a success in between.
    circuit_failures: int = 5
    circuit_cooldown_s: int = 30
    circuit_max_cooldown_s: int = 600


class TaskOutcome(StrEnum):
    """What handling one deliver task came to (the deliver function's metric names)."""

    SUCCESS = "success"
    RETRY = "retry"
    FAILED = "failed"
    THROTTLED = "throttled"  # back on the queue for the throttle slot it holds
    SKIPPED = "skipped"  # nothing to do (another task or the sweeper owns the delivery)
    PARKED = "parked"  # waits for reactivation or the configuration's schedule
    DEFERRED = "deferred"  # its endpoint's slow slots were taken: back on the queue, the attempt not spent
    REQUEUED = "requeued"
    LOST_LEASE = "lost-lease"  # another worker took over after the lease ran out; it records its own


@dataclass(frozen=True, slots=True)
class Handled:
    outcome: TaskOutcome
    reason: str | None = None  # why, for skipped, parked and requeued tasks

    def __str__(self) -> str:
        return f"{self.outcome}:{self.reason}" if self.reason else str(self.outcome)


@dataclass
class Outcomes:
    """What a worker did, by outcome and reason (logged and asserted in tests)."""

    counts: dict[str, int] = field(default_factory=dict)

    def add(self, handled: Handled) -> None:
        key = str(handled)
        self.counts[key] = self.counts.get(key, 0) + 1


class Engine:
    def __init__(
        self,
        store: Store,
        configurations: Configurations,
        tasks: Tasks,
        sender: Sender,
        notices: Notices,
        settings: EngineSettings | None = None,
        *,
        mailer: Mailer | None = None,
        files: FileDeliveries | None = None,
        clock: Callable[[], int] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self._store = store
        self._configs = configurations
        self._tasks = tasks
        self._sender = sender
        self._notices = notices
        self._mailer = mailer
        self._files = files
        self._settings = settings or EngineSettings()
        self._clock = clock or (lambda: time.time_ns() // 1_000_000)
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._tokens = TokenCache(sender)
        self._owner = uuid.uuid4().hex  # this worker, as the lease holder
        self._tat: dict[tuple[str, str], int | None] = {}  # last throttle state this worker saw
        self._healthy_written: dict[tuple[str, str], float] = {}
        self._slow: dict[tuple[str, str], float] = {}  # configurations seen slow, until (monotonic)
        self.outcomes = Outcomes()

    # ------------------------------------------------------------ one task
    def deliver(self, task: DeliverTask) -> Handled:
        """Handle one deliver task; returns what happened (for logs and metrics)."""
        handled = self._deliver(task)
        self.outcomes.add(handled)
        return handled

    def _deliver(self, task: DeliverTask) -> Handled:
        config = self._configs.get(task.account_id, task.config_id)
        open_ms = (config.circuit_open_until_ms or 0) - self._clock() if config is not None else 0
        if open_ms > 0:
            # The breaker is open: come back when it closes; the attempt is not spent, nothing is written.
            wait_s = open_ms / 1000 + self._rng.uniform(0, 5)
            self._tasks.send(task.model_copy(update={"slot_ms": None}), min(math.ceil(wait_s), policy.SQS_MAX_DELAY_S))
            return Handled(TaskOutcome.DEFERRED, "circuit-open")
        if config is not None and (not config.spec.is_active or _collects(config, task.event_id)):
            return self._park(task, config)
        if config is not None and config.spec.throttling:
            if task.slot_ms is not None:  # queued to wait for a slot it already holds
                wait_ms = task.slot_ms - self._clock()
            else:
                wait_ms, slot = self._throttle_slot(config)
                if wait_ms > self._settings.max_throttle_wait_s * 1000:
                    # Too far to sleep for: come back when the slot (if one could be held) is due.
                    delay = min(max(1, math.ceil(wait_ms / 1000)), policy.SQS_MAX_DELAY_S)
                    self._tasks.send(task.model_copy(update={"slot_ms": slot}), delay)
                    return Handled(TaskOutcome.THROTTLED)
            if wait_ms > 0:
                self._sleep(wait_ms / 1000)
        now = self._clock()
        lease_ms = ((config.spec.timeout_seconds if config else 10) * 2 + 15) * 1000
        claim = self._store.claim(
            task.account_id, task.event_id, task.config_id, task.attempt, self._owner, now, lease_ms
        )
        if not claim.claimed:
            return self._refused(task, claim, now)
        assert claim.delivery is not None
        if config is None:  # deleted while deliveries were open: nothing left to send them to
            result = HttpResult(None, None, "the delivery configuration was deleted", "", None, 0)
            return self._finish(claim.delivery, None, task.attempt, result, Outcome.FAILED, now)
        slots = _Slots(self, config, claim.lease_until_ms)
        try:
            if self._known_slow(config) and config.spec.protocol != "EMAIL":
                if not slots.take():
                    return self._defer(claim.delivery, task, slots.refusal)
                result = self._post(claim.delivery, config, task.attempt, None)
            else:
                result = self._post(
                    claim.delivery, config, task.attempt, Patience(self._settings.patience_s, slots.take)
                )
                if result.error_class == "deferred":
                    return self._defer(claim.delivery, task, slots.refusal)
            self._remember_pace(config, result)
            outcome = policy.classify(result.status, result.error_class, redirect_ok=config.spec.format == "AIRVANTAGE")
            return self._finish(claim.delivery, config, task.attempt, result, outcome, now)
        finally:
            slots.free()

    def _refused(self, task: DeliverTask, claim: Claim, now: int) -> Handled:
        """A refused claim: come back when it can succeed, or drop a task that has nothing left to do."""
        delivery = claim.delivery
        ended_file = claim.reason == "final" and delivery is not None and is_file_delivery(delivery.event_id)
        if ended_file and delivery is not None and self._files is not None:
            # A redelivered task of a file that ended: make sure its events took the outcome.
            self._files.finished(delivery, delivery.status)
        if claim.reason == "not_due" and delivery is not None:
            self._requeue(task, delivery.due_ms - now)
        elif claim.reason == "leased":
            self._requeue(task, claim.lease_until_ms - now + 1000)
        # missing, final, handled, parked, stale, ahead: another task or the sweeper owns it
        return Handled(TaskOutcome.SKIPPED, claim.reason)

    # ------------------------------------------------------------ fairness
    def _known_slow(self, config: DeliveryConfiguration) -> bool:
        return self._slow.get((config.account_id, config.id), 0.0) > time.monotonic()

    def _seen_slow(self, config: DeliveryConfiguration) -> None:
        self._slow[(config.account_id, config.id)] = time.monotonic() + self._settings.slow_memory_s

    def _remember_pace(self, config: DeliveryConfiguration, result: HttpResult) -> None:
        if result.duration_ms >= self._settings.patience_s * 1000 or result.error_class == "timeout":
            self._seen_slow(config)
        elif result.status is not None:
            self._slow.pop((config.account_id, config.id), None)  # answered in time: fast again

    def _defer(self, delivery: Delivery, task: DeliverTask, reason: str) -> Handled:
        """Give the claimed delivery back untouched (the attempt not spent) and queue it for later."""
        now = self._clock()
        self._store.release_claim(delivery, self._owner, now, reason)
        delay = self._settings.defer_s * (1 + self._rng.random())
        self._tasks.send(task.model_copy(update={"slot_ms": None}), max(1, math.ceil(delay)))
        return Handled(TaskOutcome.DEFERRED, "slow-endpoint")

    def _requeue(self, task: DeliverTask, delay_ms: int) -> None:
        delay = policy.sqs_delay_or_hold(max(delay_ms, 0) / 1000)
        if delay is not None:  # anything further away is the sweeper's (the wake index)
            self._tasks.send(task, delay)

    def _park(self, task: DeliverTask, config: DeliveryConfiguration) -> Handled:
        reason = "scheduled" if _collects(config, task.event_id) else "inactive"
        for _ in range(3):
            claim = self._store.claim(
                task.account_id, task.event_id, task.config_id, task.attempt, self._owner, self._clock(), 60_000
            )
            if not claim.claimed or claim.delivery is None:
                return Handled(TaskOutcome.SKIPPED, claim.reason)
            if self._store.park(claim.delivery, reason, self._configs.version_check(config)):
                return Handled(TaskOutcome.PARKED, reason)
            # The configuration changed since it was read (reactivated?): read it again.
            self._configs.forget(task.account_id, task.config_id)
            fresh = self._configs.get(task.account_id, task.config_id)
            if fresh is None or (fresh.spec.is_active and not _collects(fresh, task.event_id)):
                # give back the lease taken for parking, or the task sent now finds it held for a minute
                self._store.release_lease(claim.delivery, self._owner)
                self._tasks.send(task, 0)
                return Handled(TaskOutcome.REQUEUED, "reactivated")
            config = fresh
        return Handled(TaskOutcome.REQUEUED, "park-conflict")

    # ------------------------------------------------------------ throttling
    def _throttle_slot(self, config: DeliveryConfiguration) -> tuple[int, int | None]:
        """Take this delivery's slot: (milliseconds until it, the slot time). Slots are taken with
        compare-and-set on the shared GCRA state, so concurrent workers together keep to the configured
        rate. A slot further off than SQS can delay is not taken: (the wait, None)."""
        assert config.spec.throttling is not None
        interval = Rate.from_config(config.spec.throttling, config.spec.throttling_unit).emission_interval_ms
        key = (config.account_id, config.id)
        expected = self._tat.get(key)
        horizon_ms = policy.SQS_MAX_DELAY_S * 1000
        for _ in range(50):
            now = self._clock()
            slot = now if expected is None else max(expected, now)
            if slot - now > horizon_ms:
                self._tat[key] = expected
                return horizon_ms, None
            current = self._store.swap_tat(config.account_id, config.id, expected, slot + interval)
            if current is None:
                self._tat[key] = slot + interval
                return slot - now, slot
            expected = current  # another worker moved it: decide again from its value
        return int(self._settings.max_throttle_wait_s * 1000) + interval, None  # contention: back shortly

    # ------------------------------------------------------------ sending
    def _post(
        self, delivery: Delivery, config: DeliveryConfiguration, attempt: int, patience: Patience | None
    ) -> HttpResult:
        spec = config.spec
        if spec.protocol == "EMAIL":
            if self._mailer is None:
                return HttpResult(None, "connect", "no mailer is configured for email deliveries", "", None, 0)
            return self._mailer.send(
                spec.email_recipients,
                str(delivery.fields.get("subject", delivery.event_type)),
                str(delivery.fields.get("text", "")),
            )
        if is_file_delivery(delivery.event_id):
            if self._files is None:
                return HttpResult(None, "connect", "no buffer file store is configured", "", None, 0)
            body, headers = self._files.body(delivery)
            headers["X-ESS-ATTEMPT"] = str(attempt)
        elif spec.format == "AIRVANTAGE":
            body, headers = payload.render_airvantage(delivery.event_type, delivery.event_timestamp, delivery.fields)
        else:
            body, headers = payload.render(
                delivery.topic,
                attempt,
                delivery.event_id,
                delivery.event_type,
                delivery.event_timestamp,
                delivery.fields,
                event_key(delivery.fields),
                spec.format,
            )
        now_s = self._clock() // 1000
        headers.update(
            payload.sign(
                payload.message_id(delivery.event_id, config.id),
                now_s,
                body,
                self._configs.signing_secrets(config, now_s * 1000),
            )
        )
        auth = config.authentication
        address = spec.address or ""
        if auth.type == "BASIC":
            headers["Authorization"] = basic_authorization(*self._configs.basic_credentials(config))
        elif auth.type == "OAUTH":
            try:
                headers["Authorization"] = f"Bearer {self._oauth_token(config)}"
            except TokenError as exc:
                return _token_failure(exc)
        result = self._sender.post(address, body, headers, spec.timeout_seconds, patience=patience)
        if result.status == 401 and auth.type == "OAUTH":
            # The token may have been revoked early: one fresh token, one resend, same attempt.
            rejected = headers["Authorization"].removeprefix("Bearer ")
            self._tokens.invalidate(
                auth.token_url or "", auth.client_id or "", self._configs.client_secret(config), auth.scope, rejected
            )
            try:
                headers["Authorization"] = f"Bearer {self._oauth_token(config)}"
            except TokenError as exc:
                return _token_failure(exc)
            result = self._sender.post(address, body, headers, spec.timeout_seconds, patience=patience)
        return result

    def _oauth_token(self, config: DeliveryConfiguration) -> str:
        auth = config.authentication
        return self._tokens.token(
            auth.token_url or "",
            auth.client_id or "",
            self._configs.client_secret(config),
            auth.scope,
            config.spec.timeout_seconds,
        )

    # ------------------------------------------------------------ after the attempt
    def _finish(
        self,
        delivery: Delivery,
        config: DeliveryConfiguration | None,
        number: int,
        result: HttpResult,
        outcome: Outcome,
        started_ms: int,
    ) -> Handled:
        now = self._clock()
        delay_s: float | None = None
        if outcome is Outcome.RETRY:
            schedule = _schedule(config, self._settings.schedule)
            retry_after = policy.parse_retry_after(result.retry_after, datetime.now(UTC))
            delay_s = schedule.next_delay(number, self._rng, retry_after)
            if delay_s is None:
                outcome = Outcome.FAILED  # the schedule is used up
        status = {Outcome.SUCCESS: Status.SUCCESS, Outcome.RETRY: Status.RETRY}.get(outcome, Status.FAILED)
        due = now + math.ceil((delay_s or 0) * 1000)
        sqs_delay = policy.sqs_delay_or_hold(delay_s) if delay_s is not None else None
        wake: int | None = None
        if status is Status.RETRY:
            # Held retries wake exactly when due; queued ones only if their task goes missing.
            wake = due if sqs_delay is None else due + self._settings.wake_grace_s * 1000
        address = config.spec.address if config else None
        attempt = Attempt(
            account_id=delivery.account_id,
            event_id=delivery.event_id,
            config_id=delivery.config_id,
            number=number,
            result=status,
            status_code=result.status,
            response_body=result.body,
            error_class=result.error_class,
            error=result.error,
            duration_ms=result.duration_ms,
            attempted_ms=started_ms,
            address=address,
            next_attempt_ms=due if status is Status.RETRY else None,
        )
        if not self._store.record(delivery, attempt, status, due, wake, self._owner):
            return Handled(TaskOutcome.LOST_LEASE)
        if status is Status.RETRY and sqs_delay is not None:
            self._tasks.send(
                DeliverTask(
                    account_id=delivery.account_id,
                    event_id=delivery.event_id,
                    config_id=delivery.config_id,
                    attempt=number + 1,
                ),
                sqs_delay,
            )
        if status is not Status.RETRY and is_file_delivery(delivery.event_id) and self._files is not None:
            self._files.finished(delivery, status)
        if config is not None:
            self._health(config, status, outcome, result, now)
        return Handled(
            {Status.SUCCESS: TaskOutcome.SUCCESS, Status.RETRY: TaskOutcome.RETRY}.get(status, TaskOutcome.FAILED)
        )

    def _health(
        self, config: DeliveryConfiguration, status: Status, outcome: Outcome, result: HttpResult, now: int
    ) -> None:
        key = (config.account_id, config.id)
        if status is Status.SUCCESS:
            interval = min(self._settings.health_write_interval_s, self._settings.failure_window_s / 10)
            if time.monotonic() - self._healthy_written.get(key, -math.inf) >= interval:
                self._store.note_success(config.account_id, config.id, now)
                self._healthy_written[key] = time.monotonic()
            return
        self._healthy_written.pop(key, None)
        if outcome is Outcome.FAILED_AND_DEACTIVATE:
            self._disable(config, "the endpoint answered 410 Gone")
            return
        transport = result.error_class in TRANSPORT_FAILURES
        failing_since, last_success, consecutive = self._store.note_failure(
            config.account_id, config.id, now, transport
        )
        threshold = self._settings.circuit_failures
        if transport and consecutive >= threshold and consecutive % threshold == 0:
            opened = consecutive // threshold - 1  # times it opened before, with no success since
            cooldown = min(self._settings.circuit_cooldown_s * 2**opened, self._settings.circuit_max_cooldown_s)
            self._configs.open_circuit(config, now + cooldown * 1000)
        window_ms = self._settings.failure_window_s * 1000
        if now - failing_since >= window_ms and last_success < failing_since:
            hours = self._settings.failure_window_s / 3600
            span = f"{hours:g} hours" if hours >= 1 else f"{self._settings.failure_window_s} seconds"
            self._disable(config, f"every delivery attempt failed for {span} (last: {_describe(result)})")

    def _disable(self, config: DeliveryConfiguration, reason: str) -> None:
        if self._configs.deactivate(config, reason):
            self._notices.configuration_disabled(config, reason)


# Failures where the endpoint never answered: they count towards the circuit breaker (an HTTP error
# status does not; the endpoint is up and saying something).
TRANSPORT_FAILURES = frozenset({"timeout", "connect", "dns", "tls"})


class _Slots:
    """The slow slots one attempt holds (its configuration's and its account's), leased no longer than
    its claim; `take` is called at most once per attempt (before sending, or by the sender's patience)."""

    def __init__(self, engine: Engine, config: DeliveryConfiguration, until_ms: int) -> None:
        self._engine = engine
        self._config = config
        self._until_ms = until_ms
        self._token = ""  # drawn when a slot is first taken (most attempts never need one)
        self._held: list[tuple[str, int]] = []
        self.refusal = ""

    def take(self) -> bool:
        engine, config, settings = self._engine, self._config, self._engine._settings
        self._token = self._token or uuid.uuid4().hex
        engine._seen_slow(config)
        now = engine._clock()
        scopes = (
            (f"{config.account_id}#{config.id}", settings.slow_per_configuration, "configuration"),
            (config.account_id, settings.slow_per_account, "account"),
        )
        for scope, cap, name in scopes:
            index = engine._store.take_slot(scope, cap, self._token, self._until_ms, now)
            if index is None:
                self.free()
                self.refusal = f"endpoint slow: {cap} slow attempt(s) of this {name} already in flight"
                return False
            self._held.append((scope, index))
        return True

    def free(self) -> None:
        while self._held:
            scope, index = self._held.pop()
            self._engine._store.free_slot(scope, index, self._token)


def _collects(config: DeliveryConfiguration, event_id: str) -> bool:
    """A scheduled configuration collects its events' deliveries for buffer files (not the files' own)."""
    return bool(config.spec.cron_expression) and not is_file_delivery(event_id)


def _schedule(config: DeliveryConfiguration | None, default: RetrySchedule) -> RetrySchedule:
    if config is not None and config.spec.retry_schedule is not None:
        return RetrySchedule(tuple(float(s) for s in config.spec.retry_schedule))
    return default


def _token_failure(exc: TokenError) -> HttpResult:
    result = exc.result
    return HttpResult(
        None,
        result.error_class or "http",
        f"OAuth token request failed: {result.error or ''}".strip(),
        result.body,
        result.retry_after,
        result.duration_ms,
    )


def _describe(result: HttpResult) -> str:
    if result.status is not None:
        return f"HTTP {result.status}"
    return f"{result.error_class}: {result.error}" if result.error else str(result.error_class)
