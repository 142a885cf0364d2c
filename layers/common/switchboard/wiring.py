"""The composition root: every object a function uses is built here, once per warm container.

Read top to bottom, this module is the dependency graph of the layer, in dependency order:
accounts → alerts → ESS (events) → delivery → AirVantage rules. Context modules never import
this one; they receive their collaborators (repositories, ports) through their constructors, so
no context imports another's factories and the contexts form no import cycle.

Each builder reads only the settings its object needs (`switchboard.config`): a function whose
template entry lacks one of those variables fails when it first builds the object, naming it.
A function builds only what its routes use, which is how one layer serves seventeen functions
with least-privilege environments.

Modules load on first use (typed lazy imports), so importing this module costs a function's
cold start nothing. Tests call `reset()` between cases.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from switchboard.lazy import lazy_import

if TYPE_CHECKING:
    from switchboard import clock, config, queues
    from switchboard import objects as objects_module
    from switchboard.accounts import login_repository as accounts_login_repository
    from switchboard.accounts import logins as accounts_logins
    from switchboard.accounts import repository as accounts_repository
    from switchboard.accounts import service as accounts_service
    from switchboard.alerts import repository as alerts_repository
    from switchboard.alerts import service as alerts_service
    from switchboard.delivery import adapters as delivery_adapters
    from switchboard.delivery import buffer_queries as delivery_buffer_queries
    from switchboard.delivery import buffer_repository as delivery_buffer_repository
    from switchboard.delivery import buffers as delivery_buffers
    from switchboard.delivery import engine as delivery_engine
    from switchboard.delivery import event_deliveries as delivery_event_deliveries
    from switchboard.delivery import fanout as delivery_fanout
    from switchboard.delivery import jobs as delivery_jobs
    from switchboard.delivery import policy as delivery_policy
    from switchboard.delivery import repository as delivery_repository
    from switchboard.delivery import sender as delivery_sender
    from switchboard.events import catalog_provider as events_catalog_provider
    from switchboard.events import configurations as events_configurations
    from switchboard.events import dumps as events_dumps
    from switchboard.events import models as events_models
    from switchboard.events import publishing as events_publishing
    from switchboard.events import repository as events_repository_module
    from switchboard.events import subscriptions as events_subscriptions
    from switchboard.rules import evaluation as rules_evaluation
    from switchboard.rules import hook_configurations as rules_hook_configurations
    from switchboard.rules import ingest as rules_ingest
    from switchboard.rules import notifier as rules_notifier
    from switchboard.rules import queries as rules_queries
    from switchboard.rules import repository as rules_repository_module
    from switchboard.rules import service as rules_service
    from switchboard.rules import states_repository as rules_states_repository
    from switchboard.services import adapters as services_adapters
    from switchboard.services import plans as services_plans
    from switchboard.services import quantities as services_quantities
    from switchboard.services import repository as services_repository_module
    from switchboard.services import service as services_service
    from switchboard.services import sources as services_sources
    from switchboard.usage import repository as usage_repository_module
    from switchboard.usage import service as usage_service
else:
    clock = lazy_import("switchboard.clock")
    config = lazy_import("switchboard.config")
    queues = lazy_import("switchboard.queues")
    accounts_repository = lazy_import("switchboard.accounts.repository")
    accounts_login_repository = lazy_import("switchboard.accounts.login_repository")
    accounts_logins = lazy_import("switchboard.accounts.logins")
    accounts_service = lazy_import("switchboard.accounts.service")
    alerts_repository = lazy_import("switchboard.alerts.repository")
    alerts_service = lazy_import("switchboard.alerts.service")
    objects_module = lazy_import("switchboard.objects")
    delivery_adapters = lazy_import("switchboard.delivery.adapters")
    delivery_buffer_queries = lazy_import("switchboard.delivery.buffer_queries")
    delivery_buffer_repository = lazy_import("switchboard.delivery.buffer_repository")
    delivery_buffers = lazy_import("switchboard.delivery.buffers")
    delivery_engine = lazy_import("switchboard.delivery.engine")
    delivery_event_deliveries = lazy_import("switchboard.delivery.event_deliveries")
    delivery_fanout = lazy_import("switchboard.delivery.fanout")
    delivery_jobs = lazy_import("switchboard.delivery.jobs")
    delivery_policy = lazy_import("switchboard.delivery.policy")
    delivery_sender = lazy_import("switchboard.delivery.sender")
    delivery_repository = lazy_import("switchboard.delivery.repository")
    events_catalog_provider = lazy_import("switchboard.events.catalog_provider")
    events_configurations = lazy_import("switchboard.events.configurations")
    events_dumps = lazy_import("switchboard.events.dumps")
    events_publishing = lazy_import("switchboard.events.publishing")
    events_subscriptions = lazy_import("switchboard.events.subscriptions")
    events_repository_module = lazy_import("switchboard.events.repository")
    rules_evaluation = lazy_import("switchboard.rules.evaluation")
    rules_hook_configurations = lazy_import("switchboard.rules.hook_configurations")
    rules_ingest = lazy_import("switchboard.rules.ingest")
    rules_notifier = lazy_import("switchboard.rules.notifier")
    rules_queries = lazy_import("switchboard.rules.queries")
    rules_states_repository = lazy_import("switchboard.rules.states_repository")
    rules_repository_module = lazy_import("switchboard.rules.repository")
    rules_service = lazy_import("switchboard.rules.service")
    usage_repository_module = lazy_import("switchboard.usage.repository")
    usage_service = lazy_import("switchboard.usage.service")
    services_adapters = lazy_import("switchboard.services.adapters")
    services_plans = lazy_import("switchboard.services.plans")
    services_quantities = lazy_import("switchboard.services.quantities")
    services_repository_module = lazy_import("switchboard.services.repository")
    services_service = lazy_import("switchboard.services.service")
    services_sources = lazy_import("switchboard.services.sources")


# ---------------------------------------------------------------- accounts


@cache
def accounts() -> accounts_service.AccountService:
    table = config.load(config.AccountsSettings).accounts_table
    return accounts_service.AccountService(accounts_repository.AccountsRepository(table))


# ---------------------------------------------------------------- KAZOO alerts


@cache
def alerts() -> alerts_service.AlertService:
    settings = config.load(config.AlertsSettings)
    table = config.load(config.AccountsSettings).accounts_table
    return alerts_service.AlertService(
        alerts_repository.AlertsRepository(settings.alerts_table),
        accounts_repository.AccountsRepository(table),
        enabled=settings.alerts_enabled,
    )


# ---------------------------------------------------------------- ESS (events)


@cache
def events_repository() -> events_repository_module.EventsRepository:
    return events_repository_module.EventsRepository(config.load(config.EventsSettings).events_table)


@cache
def catalog() -> events_catalog_provider.CatalogProvider:
    return events_catalog_provider.CatalogProvider(events_repository())


@cache
def delivery_release() -> delivery_adapters.DeliveryRelease:
    """Configurations made active again release what waited: a job on the delivery queue."""
    return delivery_adapters.DeliveryRelease(
        delivery_adapters.SqsTasks(config.load(config.DeliveryQueueSettings).delivery_queue_url)
    )


@cache
def configurations() -> events_configurations.DeliveryConfigurationService:
    allow_private = config.load(config.NetworkSettings).allow_private_targets
    return events_configurations.DeliveryConfigurationService(
        events_repository(), accounts(), allow_private, on_active=delivery_release(), on_schedule=_ScheduleRelay()
    )


@cache
def subscriptions() -> events_subscriptions.SubscriptionService:
    return events_subscriptions.SubscriptionService(events_repository(), accounts(), catalog())


@cache
def subscription_matcher() -> events_subscriptions.SubscriptionMatcher:
    return events_subscriptions.SubscriptionMatcher(events_repository())


@cache
def publishing() -> events_publishing.PublishingService:
    queue_url = config.load(config.PublishingSettings).events_queue_url
    return events_publishing.PublishingService(events_repository(), accounts(), catalog(), queue_url)


# ---------------------------------------------------------------- delivery


@cache
def deliveries_repository() -> delivery_repository.DeliveriesRepository:
    settings = config.load(config.DeliveriesSettings)
    return delivery_repository.DeliveriesRepository(
        settings.deliveries_table, settings.delivery_retention_days * 86_400
    )


@cache
def delivery_tasks() -> delivery_adapters.SqsTasks:
    return delivery_adapters.SqsTasks(config.load(config.DeliveryQueueSettings).delivery_queue_url)


@cache
def cached_configurations() -> delivery_adapters.CachedConfigurations:
    ttl_s = config.load(config.DeliveriesSettings).configuration_cache_s
    return delivery_adapters.CachedConfigurations(events_repository(), ttl_s)


@cache
def notices() -> delivery_adapters.AlertNotices:
    return delivery_adapters.AlertNotices(alerts())


@cache
def engine() -> delivery_engine.Engine:
    settings = config.load(config.EngineSettings)
    deliveries = config.load(config.DeliveriesSettings)
    allow_private = config.load(config.NetworkSettings).allow_private_targets
    engine_settings = delivery_engine.EngineSettings(
        schedule=delivery_policy.RetrySchedule(settings.retry_delays()),
        wake_grace_s=deliveries.wake_grace_s,
        failure_window_s=settings.failure_window_s,
        patience_s=settings.slow_after_s,
        slow_per_configuration=settings.slow_per_configuration,
        slow_per_account=max(settings.slow_per_account, settings.slow_per_configuration),
    )
    return delivery_engine.Engine(
        deliveries_repository(),
        cached_configurations(),
        delivery_tasks(),
        delivery_sender.Sender(allow_private),
        notices(),
        engine_settings,
        mailer=delivery_adapters.SesMailer(settings.alert_email_sender),
        files=settler(),
    )


@cache
def fanout() -> delivery_fanout.Fanout:
    grace_s = config.load(config.DeliveriesSettings).wake_grace_s
    return delivery_fanout.Fanout(
        subscription_matcher(),
        cached_configurations(),
        deliveries_repository(),
        delivery_tasks(),
        clock.now_ms,
        grace_s,
    )


@cache
def reopener() -> delivery_jobs.Reopener:
    grace_s = config.load(config.DeliveriesSettings).wake_grace_s
    return delivery_jobs.Reopener(deliveries_repository(), delivery_tasks(), clock.now_ms, grace_s)


@cache
def releaser() -> delivery_jobs.Releaser:
    grace_s = config.load(config.DeliveriesSettings).wake_grace_s
    return delivery_jobs.Releaser(
        deliveries_repository(), cached_configurations(), delivery_tasks(), notices(), clock.now_ms, grace_s
    )


@cache
def event_deliveries() -> delivery_event_deliveries.EventDeliveriesService:
    return delivery_event_deliveries.EventDeliveriesService(
        deliveries_repository(), events_repository(), accounts(), reopener(), delivery_tasks(), clock.now_ms
    )


# ---------------------------------------------------------------- AirVantage rules


@cache
def rules_repository() -> rules_repository_module.RulesRepository:
    return rules_repository_module.RulesRepository(config.load(config.RulesSettings).rules_table)


@cache
def alert_states() -> rules_states_repository.StatesRepository:
    settings = config.load(config.RulesSettings)
    return rules_states_repository.StatesRepository(settings.rules_table, settings.history_retention_days * 86_400)


@cache
def hook_configurations() -> rules_hook_configurations.HookConfigurations:
    return rules_hook_configurations.HookConfigurations(configurations(), events_repository())


@cache
def rule_cleanup() -> rules_hook_configurations.RuleCleanup:
    return rules_hook_configurations.RuleCleanup(hook_configurations(), alert_states())


@cache
def rules() -> rules_service.RuleService:
    return rules_service.RuleService(rules_repository(), accounts(), on_deleted=rule_cleanup())


@cache
def systems() -> rules_service.SystemService:
    return rules_service.SystemService(rules_repository(), accounts())


@cache
def hooks() -> rules_service.HookService:
    allow_private = config.load(config.NetworkSettings).allow_private_targets
    return rules_service.HookService(
        rules_repository(), accounts(), allow_private, on_deleted=rule_cleanup(), on_signing=hook_configurations()
    )


@cache
def ingest() -> rules_ingest.IngestService:
    queue_url = config.load(config.TelemetrySettings).telemetry_queue_url
    return rules_ingest.IngestService(accounts(), rules_repository().get_system, queue_url, clock.now_ms)


@cache
def notifier() -> rules_notifier.DeliveryNotifier:
    grace_s = config.load(config.DeliveriesSettings).wake_grace_s

    def rule_exists(company_id: str, rule_id: str) -> bool:
        return rules_repository().get_rule(company_id, rule_id) is not None

    return rules_notifier.DeliveryNotifier(
        hooks().callbacks,
        hook_configurations(),
        deliveries_repository(),
        delivery_tasks(),
        clock.now_ms,
        grace_s,
        rule_exists=rule_exists,
    )


@cache
def evaluator() -> rules_evaluation.Evaluator:
    return rules_evaluation.Evaluator(alert_states(), rules_repository(), rules_repository(), notifier(), clock.now_ms)


@cache
def alert_queries() -> rules_queries.AlertQueries:
    return rules_queries.AlertQueries(alert_states(), accounts())


# ---------------------------------------------------------------- scheduled delivery (buffer files)


class _ScheduleRelay:
    """The configurations' schedule port, built on first use: only functions that write schedules
    (the delivery configurations API) carry the buffer queue's variable."""

    def schedule_changed(self, config: events_models.DeliveryConfiguration) -> None:
        schedule_arming().schedule_changed(config)


@cache
def buffer_tasks() -> delivery_adapters.SqsTasks:
    return delivery_adapters.SqsTasks(config.load(config.BufferQueueSettings).buffer_queue_url)


@cache
def objects() -> objects_module.ObjectStore:
    return objects_module.ObjectStore(config.load(config.FilesSettings).files_bucket)


@cache
def schedule_arming() -> delivery_buffers.ScheduleArming:
    return delivery_buffers.ScheduleArming(buffer_tasks())


@cache
def settler() -> delivery_buffers.Settler:
    return delivery_buffers.Settler(objects(), buffer_tasks())


@cache
def buffer_repository() -> delivery_buffer_repository.BufferRepository:
    table = config.load(config.DeliveriesSettings).deliveries_table
    return delivery_buffer_repository.BufferRepository(
        table, config.load(config.FilesSettings).file_retention_days * 86_400
    )


@cache
def buffer_files() -> delivery_buffers.BufferFiles:
    policy = delivery_buffers.BufferPolicy(
        chain_grace_s=config.load(config.ScheduleSettings).schedule_grace_s,
        wake_grace_s=config.load(config.DeliveriesSettings).wake_grace_s,
    )
    return delivery_buffers.BufferFiles(
        buffer_repository(),
        deliveries_repository(),
        cached_configurations(),
        objects(),
        buffer_tasks(),
        delivery_tasks(),
        clock.now_ms,
        policy,
    )


@cache
def buffer_file_queries() -> delivery_buffer_queries.BufferFileQueries:
    retention_s = config.load(config.FilesSettings).file_retention_days * 86_400
    return delivery_buffer_queries.BufferFileQueries(
        buffer_repository(), events_repository(), accounts(), objects(), clock.now_ms, retention_s
    )


@cache
def subscription_dumps() -> events_dumps.SubscriptionDumps:
    settings = config.load(config.DumpSettings)
    return events_dumps.SubscriptionDumps(
        events_repository(),
        accounts(),
        catalog(),
        subscription_matcher(),
        objects(),
        delivery_adapters.SqsTasks(settings.dump_queue_url),
        publishing(),
        clock.now_ms,
        settings.dump_url_seconds,
    )


# ---------------------------------------------------------------- Expeto usage notifications


@cache
def usage_repository() -> usage_repository_module.UsageRepository:
    settings = config.load(config.UsageSettings)
    return usage_repository_module.UsageRepository(settings.usage_table, settings.usage_record_retention_days * 86_400)


@cache
def usage_access() -> usage_service.UsageAccess:
    return usage_service.UsageAccess(accounts())


@cache
def usage_subscribers() -> usage_service.SubscriberService:
    return usage_service.SubscriberService(usage_repository(), usage_access(), clock.now_ms)


@cache
def usage_notifications() -> usage_service.NotificationService:
    return usage_service.NotificationService(usage_repository(), usage_access())


@cache
def usage_ingest() -> usage_service.IngestService:
    queue_url = config.load(config.UsageQueueSettings).usage_queue_url
    return usage_service.IngestService(usage_access(), queue_url, clock.now_ms)


@cache
def usage_evaluator() -> usage_service.Evaluator:
    """Counts usage and pushes each notification as an ESS event (Usage-Events / threshold_reached)."""
    return usage_service.Evaluator(usage_repository(), publishing(), clock.now_ms)


# ---------------------------------------------------------------- KAZOO services


@cache
def services_repository() -> services_repository_module.ServicesRepository:
    settings = config.load(config.ServicesSettings)
    return services_repository_module.ServicesRepository(
        settings.services_table, settings.audit_retention_days * 86_400
    )


@cache
def plan_cache() -> services_service.PlanCache:
    return services_service.PlanCache(services_repository())


@cache
def plan_catalog() -> services_plans.PlanCatalog:
    table = config.load(config.AccountsSettings).accounts_table
    return services_plans.PlanCatalog(services_repository(), accounts_repository.AccountsRepository(table))


@cache
def services() -> services_service.ServicesService:
    tables = config.load(config.CountedTablesSettings)
    return services_service.ServicesService(
        services_repository(),
        accounts_repository.AccountsRepository(tables.accounts_table),
        plan_cache(),
        services_adapters.LowBalanceNotices(alerts()),
        sources=services_sources.SourceCounts(tables.accounts_table, tables.events_table, tables.rules_table),
        publisher=services_adapters.BillingEvents(publishing()),
    )


@cache
def billing() -> services_service.ServicesService:
    """What a billing cycle needs: the ledger, plans and the low balance alerts (no API ports)."""
    table = config.load(config.AccountsSettings).accounts_table
    return services_service.ServicesService(
        services_repository(),
        accounts_repository.AccountsRepository(table),
        plan_cache(),
        services_adapters.LowBalanceNotices(alerts()),
    )


@cache
def quantity_keeper() -> services_quantities.QuantityKeeper:
    table = config.load(config.AccountsSettings).accounts_table
    return services_quantities.QuantityKeeper(
        services_repository(), accounts_repository.AccountsRepository(table), plan_cache()
    )


@cache
def counted_tables() -> dict[str, str]:
    """Owning table name → which kind of resources its stream carries."""
    tables = config.load(config.CountedTablesSettings)
    return {tables.accounts_table: "accounts", tables.events_table: "events", tables.rules_table: "rules"}


# ---------------------------------------------------------------- queue consumers


@cache
def dead_letters() -> queues.DeadLetters:
    return queues.DeadLetters(config.load(config.DeadLetterSettings).dead_letter_queue_url)


# ---------------------------------------------------------------- logins and sessions


@cache
def logins() -> accounts_logins.LoginService:
    table = config.load(config.AccountsSettings).accounts_table
    settings = config.load(config.LoginSettings)
    policy = accounts_logins.LoginPolicy(
        session_ttl_s=settings.session_ttl_s,
        refresh_ttl_s=settings.refresh_ttl_s,
        failure_window_s=settings.failure_window_s,
        max_failures_per_account=settings.max_failures_per_account,
        max_failures_per_source=settings.max_failures_per_source,
    )
    return accounts_logins.LoginService(
        accounts_repository.AccountsRepository(table),
        accounts_login_repository.LoginRepository(table),
        policy,
        clock.now_ms,
    )


@cache
def oauth() -> accounts_logins.OAuthService:
    table = config.load(config.AccountsSettings).accounts_table
    return accounts_logins.OAuthService(
        logins(), accounts_repository.AccountsRepository(table), accounts_login_repository.OAuthRepository(table)
    )


# ---------------------------------------------------------------- tests


def reset() -> None:
    """Forget every built object and the settings read (tests change the environment between cases)."""
    config.reset()
    for builder in _BUILDERS:
        builder.cache_clear()
    events_subscriptions.forget_compiled_criteria()


_BUILDERS = (
    accounts,
    alerts,
    events_repository,
    catalog,
    delivery_release,
    configurations,
    subscriptions,
    subscription_matcher,
    publishing,
    deliveries_repository,
    delivery_tasks,
    cached_configurations,
    notices,
    engine,
    fanout,
    reopener,
    releaser,
    event_deliveries,
    rules_repository,
    alert_states,
    hook_configurations,
    rule_cleanup,
    rules,
    systems,
    hooks,
    ingest,
    notifier,
    evaluator,
    alert_queries,
    usage_repository,
    usage_access,
    usage_subscribers,
    usage_notifications,
    usage_ingest,
    usage_evaluator,
    services_repository,
    plan_cache,
    plan_catalog,
    services,
    billing,
    quantity_keeper,
    counted_tables,
    buffer_tasks,
    objects,
    schedule_arming,
    settler,
    buffer_repository,
    buffer_files,
    buffer_file_queries,
    subscription_dumps,
    dead_letters,
    logins,
    oauth,
)
