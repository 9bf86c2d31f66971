"""The composition root shared by the bot and the command line (no aiogram here).

It builds, once per process: the shared ``httpx.AsyncClient``, the database, the
gateway adapters and the services. ``Core`` exposes the services; the repositories
under them are kept aside in ``Core.store`` for start-up chores and tests.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

import httpx

from bot.metrics import Metrics, gateway_hosts
from bot.settings import PROVIDER_NAMES, Settings
from providers.base import SmsProvider
from providers.http import create_http_client
from providers.sandbox import START_BALANCE as SANDBOX_START_BALANCE
from providers.sandbox import SandboxProvider
from providers.smska import SmskaProvider
from providers.smsrent import SmsrentProvider
from services.alerts import AlertService, AlertTemplate
from services.api_calls import ApiService
from services.balance import BalanceService
from services.contacts import ContactBook
from services.gateways import Gateways
from services.jobs import JobService
from services.limits import Limits, RateLimiter
from services.previews import PreviewService
from services.recipients import RecipientResolver
from services.sending import SendService
from services.status import StatusService, TrackingPolicy
from services.tokens import TokenService
from services.users import UserAdmin
from storage.audit import AuditLog
from storage.balances import BalanceRepository
from storage.contacts import ContactRepository
from storage.db import Database
from storage.messages import MessageRepository
from storage.strangers import StrangerRepository
from storage.tokens import TokenRepository
from storage.updates import PreviewRepository, ProcessedUpdates
from storage.users import UserRepository


@dataclass(frozen=True)
class Repositories:
    """The storage the services work on: not for entry points, which ask the services."""

    messages: MessageRepository
    users: UserRepository
    audit: AuditLog
    balances: BalanceRepository
    updates: ProcessedUpdates
    previews: PreviewRepository
    strangers: StrangerRepository


@dataclass
class Core:
    settings: Settings
    http: httpx.AsyncClient
    db: Database
    gateways: Gateways
    sender: SendService
    balances: BalanceService
    status: StatusService
    users: UserAdmin
    limits: RateLimiter
    previews: PreviewService
    recipients: RecipientResolver
    store: Repositories
    contacts: ContactBook
    jobs: JobService
    tokens: TokenService
    api: ApiService
    #: the process's Prometheus registry and what feeds it (``bot.metrics``)
    metrics: Metrics = field(default_factory=Metrics)
    #: SMS from Alertmanager's webhook, through ``sender`` to what ``recipients`` resolves
    alerts: AlertService = field(init=False)

    def __post_init__(self) -> None:
        template = AlertTemplate(self.settings.alert_template, self.settings.alert_max_parts)
        self.alerts = AlertService(self.sender, self.recipients, template)


def build_gateways(
    settings: Settings, client: httpx.AsyncClient, *, sandbox_balance: Decimal | None = None
) -> Gateways:
    providers: dict[str, SmsProvider] = {}
    # Each adapter masks every configured secret in the answers it passes on, not
    # only its own: a gateway (or a proxy in front of it) may echo anything.
    secrets = tuple(settings.secret_values())
    for name in settings.enabled_providers:
        if name == "smsrent":
            rent = settings.smsrent_config
            assert rent is not None
            providers[name] = SmsrentProvider(rent, client, secrets=secrets)
        elif name == "smska":
            ska = settings.smska_config
            assert ska is not None
            providers[name] = SmskaProvider(ska, client, secrets=secrets)
        else:
            providers[name] = SandboxProvider(
                balance=sandbox_balance if sandbox_balance is not None else SANDBOX_START_BALANCE,
                delivery_delay=settings.sandbox_delivery_seconds,
            )
    return Gateways(
        providers=providers,
        default=settings.effective_default_provider,
        failover=tuple(settings.failover),
        known=PROVIDER_NAMES,
    )


@asynccontextmanager
async def open_core(
    settings: Settings, *, http: httpx.AsyncClient | None = None
) -> AsyncIterator[Core]:
    own_http = http is None
    metrics = Metrics(gateway_hosts({g.name: g.url for g in settings.gateways}))
    client = http or create_http_client(
        connect_timeout=settings.http_connect_timeout,
        read_timeout=settings.http_read_timeout,
        max_connections=settings.http_pool_size,
        event_hooks=metrics.event_hooks(),
    )
    db = Database(settings.database_path)
    sender: SendService | None = None
    try:
        await db.connect()
        balances = BalanceRepository(db)
        # The sandbox counts down from where the last process left it.
        stored = await balances.get("sandbox")
        gateways = build_gateways(
            settings, client, sandbox_balance=stored.amount if stored else None
        )
        messages = MessageRepository(db)
        policy = TrackingPolicy(
            first_after=timedelta(seconds=settings.status_poll_first_seconds),
            max_interval=timedelta(seconds=settings.status_poll_max_seconds),
            max_age=timedelta(hours=settings.status_max_age_hours),
        )
        users = UserRepository(db)
        audit = AuditLog(db)
        strangers = StrangerRepository(db)
        sender = SendService(
            gateways,
            messages,
            balances,
            first_check_after=policy.first_after,
            concurrency=settings.send_concurrency,
            rates=settings.send_rates,
            stale_after=settings.stale_send_age,
            allowed_regions=settings.allowed_regions,
        )
        store = Repositories(
            messages=messages,
            users=users,
            audit=audit,
            balances=balances,
            updates=ProcessedUpdates(db),
            previews=PreviewRepository(db),
            strangers=strangers,
        )
        balance_service = BalanceService(gateways, balances)
        book = ContactRepository(db)
        limits = RateLimiter(
            messages,
            users,
            Limits(per_minute=settings.sends_per_minute, per_day=settings.sends_per_day),
        )
        recipients = RecipientResolver(
            sender.recipient, book=book, max_recipients=settings.max_recipients
        )
        token_store = TokenRepository(db)
        tokens = TokenService(
            token_store,
            audit,
            Limits(per_minute=settings.api_sends_per_minute, per_day=settings.api_sends_per_day),
            messages=messages,
        )
        yield Core(
            settings=settings,
            http=client,
            db=db,
            gateways=gateways,
            sender=sender,
            balances=balance_service,
            status=StatusService(
                gateways, messages, policy=policy, stale_after=settings.stale_send_age
            ),
            users=UserAdmin(users, audit, strangers),
            limits=limits,
            previews=PreviewService(
                store.previews,
                sender,
                limits,
                balance_service,
                ttl=timedelta(seconds=settings.preview_ttl_seconds),
            ),
            recipients=recipients,
            store=store,
            contacts=ContactBook(book, audit, sender.recipient, {*gateways.known, *gateways.names}),
            jobs=JobService(messages, stale_after=settings.stale_send_age),
            metrics=metrics,
            tokens=tokens,
            api=ApiService(sender, recipients, tokens, messages, token_store),
        )
    finally:
        if sender is not None:
            await sender.close()
        await db.close()
        if own_http:
            await client.aclose()
