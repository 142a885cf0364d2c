"""Delivery configurations: where and how a company's events are delivered."""

from __future__ import annotations

import builtins
from collections.abc import Callable
from typing import Protocol

from switchboard import clock, secrets
from switchboard.accounts.service import AccountService
from switchboard.errors import Conflict, Forbidden, InvalidInput, NotFound, Unavailable
from switchboard.events.models import (
    AuthenticationInput,
    BasicSettings,
    DeliveryConfiguration,
    DeliveryConfigurationInput,
    StoredAuthentication,
)
from switchboard.events.repository import EventsRepository
from switchboard.netguard import url_problem
from switchboard.tenancy import Caller

SIGNING_SECRET_PURPOSE = secrets.SIGNING_SECRET_PURPOSE


def endpoint_auth_purpose(config_id: str) -> str:
    """The KMS encryption-context purpose a configuration's endpoint credentials are sealed under."""
    return f"endpoint-auth:{config_id}"


PREVIOUS_SECRET_GRACE_MS = secrets.PREVIOUS_SECRET_GRACE_MS


def _signing_fields(signing: secrets.SealedSigning) -> dict[str, object]:
    return {
        "sealed_signing_secret": signing.sealed,
        "sealed_previous_signing_secret": signing.previous,
        "previous_signing_secret_expires_ms": signing.previous_expires_ms if signing.previous else None,
    }


def deactivate(repository: EventsRepository, account_id: str, config_id: str) -> bool:
    """Switch a configuration off (endpoint gone or failing); True when this call switched it off."""
    for _ in range(5):
        current = repository.get_configuration(account_id, config_id)
        if current is None or not current.spec.is_active:
            return False
        spec = current.spec.model_copy(update={"is_active": False})
        updated = current.model_copy(update={"spec": spec, "updated_ms": max(clock.now_ms(), current.updated_ms + 1)})
        try:
            repository.replace_configuration(current, updated)
            return True
        except Conflict:
            continue  # changed meanwhile: look again
    return False


class ActivationPort(Protocol):
    """Told after every write that leaves a configuration active: the delivery engine releases what
    waited while it was inactive (and retires its deactivation alert)."""

    def activated(self, config: DeliveryConfiguration) -> None: ...


class SchedulePort(Protocol):
    """Told when a configuration's schedule (cron-expression, its time zone) is set, changed or
    removed: scheduled delivery starts, moves or ends its tick chain (delivery/buffers.py)."""

    def schedule_changed(self, config: DeliveryConfiguration) -> None: ...


class DeliveryConfigurationService:
    def __init__(
        self,
        repository: EventsRepository,
        accounts: AccountService,
        allow_private_targets: bool,
        on_active: ActivationPort,
        on_schedule: SchedulePort,
    ) -> None:
        self._repo = repository
        self._accounts = accounts
        self._allow_private = allow_private_targets
        self._on_active = on_active
        self._on_schedule = on_schedule

    def _schedule_changed(self, config: DeliveryConfiguration) -> None:
        try:
            self._on_schedule.schedule_changed(config)
        except Exception as exc:  # the configuration is saved; repeating the request arms the schedule
            raise Unavailable(
                f"delivery configuration {config.id} was saved, but its schedule could not be "
                f"started ({type(exc).__name__}); send the request again"
            ) from exc

    def _check_address(self, spec: DeliveryConfigurationInput) -> None:
        if spec.cron_expression is None and (spec.latest_event_only or spec.cron_time_zone is not None):
            name = "latest-event-only" if spec.latest_event_only else "cron-time-zone"
            raise InvalidInput.single(
                name, "invalid", f"{name} applies to scheduled delivery only: add a cron-expression"
            )
        if spec.protocol == "EMAIL":
            if not spec.email_recipients:
                raise InvalidInput.single("addr", "invalid", "an EMAIL configuration needs mailto: recipients")
            return
        if spec.address is not None:
            problem = url_problem(spec.address, self._allow_private)
            if problem:
                raise InvalidInput.single("addr", "invalid", f"addr {problem}", spec.address)

    def create(
        self, caller: Caller, company: str | None, spec: DeliveryConfigurationInput
    ) -> tuple[DeliveryConfiguration, str]:
        """A new configuration and its signing secret (shown this once)."""
        account = self._accounts.scope_for(caller, company, "company")
        _refuse_managed(spec)
        secret, signing = secrets.new_sealed_signing(account.id)
        config = self._create(account.id, spec, signing)
        if spec.cron_expression is not None:
            self._schedule_changed(config)
        return config, secret

    def _create(
        self, account_id: str, spec: DeliveryConfigurationInput, signing: secrets.SealedSigning
    ) -> DeliveryConfiguration:
        self._check_address(spec)
        now = clock.now_ms()
        config = DeliveryConfiguration.model_validate(
            {
                "id": self._repo.next_id("delivery-configuration"),
                "account_id": account_id,
                "spec": spec,
                **_signing_fields(signing),
                "created_ms": now,
                "updated_ms": now,
            }
        )
        self._repo.create_configuration(config)
        return config

    def get(self, caller: Caller, company: str | None, config_id: str) -> DeliveryConfiguration:
        account = self._accounts.scope_for(caller, company, "company")
        config = self._repo.get_configuration(account.id, config_id)
        if config is None:
            raise NotFound(config_id, "delivery configuration")
        return config

    def list(self, caller: Caller, company: str | None, offset: int, limit: int) -> list[DeliveryConfiguration]:
        account = self._accounts.scope_for(caller, company, "company")
        return self._repo.list_configurations(account.id, offset, limit)

    def replace(
        self, caller: Caller, company: str | None, config_id: str, spec: DeliveryConfigurationInput
    ) -> DeliveryConfiguration:
        current = self.get(caller, company, config_id)
        if (spec.protocol, spec.format) != (current.spec.protocol, current.spec.format) and (
            spec.managed or current.spec.managed
        ):
            raise InvalidInput.single(
                "del-fmt-cd",
                "invalid",
                "the protocol and format of a configuration made "
                "for AirVantage hooks or emails cannot change (nor be chosen here)",
            )
        self._check_address(spec)
        updated = current.model_copy(
            update={
                "spec": spec,
                "circuit_open_until_ms": None,
                "updated_ms": max(clock.now_ms(), current.updated_ms + 1),
            }
        )
        self._repo.replace_configuration(current, updated)
        schedule = (spec.cron_expression, spec.cron_time_zone)
        if schedule != (current.spec.cron_expression, current.spec.cron_time_zone) or spec.cron_expression:
            self._schedule_changed(updated)
        if updated.spec.is_active:
            try:
                self._on_active.activated(updated)
            except Exception as exc:  # the configuration is saved; a repeated PUT releases the deliveries
                raise Unavailable(
                    f"delivery configuration {config_id} was saved, but its waiting deliveries "
                    f"could not be released ({type(exc).__name__}); send the PUT again"
                ) from exc
        return updated

    def deactivate(self, account_id: str, config_id: str) -> bool:
        return deactivate(self._repo, account_id, config_id)

    def delete(self, caller: Caller, company: str | None, config_id: str) -> DeliveryConfiguration:
        config = self.get(caller, company, config_id)
        if config.spec.managed:
            raise Forbidden("this configuration belongs to an AirVantage rule; delete the hook or the rule instead")
        self._repo.delete_configuration(config)
        return config

    # ------------------------------------------------------------ managed by the AirVantage API
    def create_managed(
        self,
        account_id: str,
        spec: DeliveryConfigurationInput,
        basic: BasicSettings | None = None,
        signing: secrets.SealedSigning | None = None,
    ) -> DeliveryConfiguration:
        """A configuration for a rule hook or a rule's emails (no caller: the rules API checked tenancy).
        `signing`: the hook's own sealed signing secrets (None: a secret of its own, never shown)."""
        if signing is None:
            signing = secrets.new_sealed_signing(account_id)[1]
        config = self._create(account_id, spec, signing)
        if basic is None:
            return config
        auth = StoredAuthentication(
            type="BASIC",
            username=basic.username,
            sealed_password=secrets.seal(basic.password, account_id, endpoint_auth_purpose(config.id)),
        )
        updated = config.model_copy(update={"authentication": auth, "updated_ms": config.updated_ms + 1})
        self._repo.replace_configuration(config, updated)
        return updated

    def replace_managed(
        self,
        config: DeliveryConfiguration,
        spec: DeliveryConfigurationInput,
        signing: secrets.SealedSigning | None = None,
    ) -> None:
        """A managed configuration's new spec and (when given) the signing secrets of its hook."""
        self._check_address(spec)
        update: dict[str, object] = {
            "spec": spec,
            "circuit_open_until_ms": None,
            "updated_ms": max(clock.now_ms(), config.updated_ms + 1),
        }
        if signing is not None:
            update.update(_signing_fields(signing))
        self._repo.replace_configuration(config, config.model_copy(update=update))

    def delete_managed(self, account_id: str, config_id: str) -> None:
        config = self._repo.get_configuration(account_id, config_id)
        if config is not None:
            self._repo.delete_configuration(config)

    def managed(self, account_id: str, config_id: str) -> DeliveryConfiguration | None:
        return self._repo.get_configuration(account_id, config_id)

    def set_authentication(
        self, caller: Caller, company: str | None, config_id: str, data: AuthenticationInput
    ) -> DeliveryConfiguration:
        current = self.get(caller, company, config_id)
        settings = data.parsed_settings()
        purpose = endpoint_auth_purpose(current.id)
        if isinstance(settings, BasicSettings):
            auth = StoredAuthentication(
                type="BASIC",
                username=settings.username,
                sealed_password=secrets.seal(settings.password, current.account_id, purpose),
            )
        elif settings is not None:
            problem = url_problem(settings.token_url, self._allow_private)
            if problem:
                raise InvalidInput.single("settings.token-url", "invalid", f"token-url {problem}", settings.token_url)
            auth = StoredAuthentication(
                type="OAUTH",
                token_url=settings.token_url,
                client_id=settings.client_id,
                sealed_client_secret=secrets.seal(settings.client_secret, current.account_id, purpose),
                scope=settings.scope,
            )
        else:
            auth = StoredAuthentication()
        updated = current.model_copy(
            update={
                "authentication": auth,
                "circuit_open_until_ms": None,
                "updated_ms": max(clock.now_ms(), current.updated_ms + 1),
            }
        )
        self._repo.replace_configuration(current, updated)
        return updated

    def rotate_signing_secret(
        self, caller: Caller, company: str | None, config_id: str
    ) -> tuple[DeliveryConfiguration, str]:
        """A new signing secret; the old one stays valid for receivers for 24 hours."""
        current = self.get(caller, company, config_id)
        if current.spec.format == "AIRVANTAGE":
            raise Forbidden(
                "this configuration signs an AirVantage hook's callbacks with the hook's secret; "
                "rotate it through POST /api/v1/alerts/rules/{rule}/hooks/{hook}/secret"
            )
        now = max(clock.now_ms(), current.updated_ms + 1)
        secret, signing = secrets.rotated_signing(current.signing, current.account_id, now)
        updated = current.model_copy(update={**_signing_fields(signing), "updated_ms": now})
        self._repo.replace_configuration(current, updated)
        return updated, secret

    @staticmethod
    def signing_secrets(
        config: DeliveryConfiguration, now_ms: int, unseal: Callable[[str, str, str], str] = secrets.unseal
    ) -> builtins.list[str]:
        """The secrets a delivery is signed with: the current one, and the previous during its grace period.
        `unseal` lets the delivery engine put its per-container cache in front of KMS."""
        return secrets.signing_keys(config.signing, config.account_id, now_ms, unseal)


def _refuse_managed(spec: DeliveryConfigurationInput) -> None:
    if spec.managed:
        raise InvalidInput.single(
            "del-prtcl-cd" if spec.protocol != "REST" else "del-fmt-cd",
            "enum",
            "EMAIL and AIRVANTAGE are for configurations the AirVantage API makes; use REST with JSON or XML",
        )
