"""What the HTTP API does for a token: send a job, read its jobs and messages.

A send is checked whole before anything is recorded (every recipient, the text, the
gateway, the token's quotas): any refusal leaves nothing recorded and nothing sent.
An ``Idempotency-Key`` is kept per token with a hash of the request it came with: a
repeat of the same request gets the first job back and sends nothing; the same key
with another request is refused (``IdempotencyConflict``).

A token reads only the jobs and messages it created: another's are "not found"."""

from __future__ import annotations

from dataclasses import dataclass

from services.domain import InvalidInput
from services.recipients import RecipientResolver, Refused, Resolution
from services.sending import Origin, SendService
from services.tokens import ApiCaller, TokenService
from storage.messages import MessageRepository
from storage.models import JobRecord, MessageRecord
from storage.tokens import TokenRepository

__all__ = [
    "ApiJob",
    "ApiService",
    "IdempotencyConflict",
    "MessageRecord",
    "RecipientsRefused",
]


class RecipientsRefused(InvalidInput):
    """Some entries cannot be sent to: each with its reason; nothing was sent."""

    def __init__(self, refused: list[Refused]) -> None:
        super().__init__(
            f"{len(refused)} recipient(s) cannot be sent to; nothing was sent: "
            + "; ".join(f"{r.entry}: {r.error}" for r in refused)
        )
        self.refused = refused


class IdempotencyConflict(Exception):
    """The Idempotency-Key was used before with another request: nothing was sent."""

    def __init__(self, job_id: int) -> None:
        super().__init__(job_id)
        self.job_id = job_id


@dataclass(frozen=True, slots=True)
class ApiJob:
    job: JobRecord
    messages: list[MessageRecord]
    #: False: a repeat of an earlier request (its Idempotency-Key); nothing sent now
    created: bool
    duplicates: tuple[tuple[str, str], ...] = ()  # (entry, the entry that gave its number)


class ApiService:
    def __init__(
        self,
        sender: SendService,
        recipients: RecipientResolver,
        tokens: TokenService,
        messages: MessageRepository,
        api_jobs: TokenRepository,
    ) -> None:
        self.sender = sender
        self.recipients = recipients
        self.tokens = tokens
        self._messages = messages
        self._api_jobs = api_jobs

    async def _earlier(self, caller: ApiCaller, job_id: int, request_hash: str) -> ApiJob:
        """The first job of a repeated key, or ``IdempotencyConflict``."""
        found = await self._api_jobs.api_job(job_id)
        if found is None or found.token_id != caller.id or found.request_hash != request_hash:
            raise IdempotencyConflict(job_id)
        job = await self._messages.job(job_id)
        assert job is not None
        return ApiJob(job, await self._messages.of_job(job_id), created=False)

    async def send(
        self,
        caller: ApiCaller,
        entries: list[str],
        text: str,
        gateway: str | None,
        *,
        idempotency_key: str | None,
        request_hash: str,
    ) -> ApiJob:
        """Check everything, record the job and start sending it in the background.
        Raises ``IdempotencyConflict``, ``RecipientsRefused``, ``InvalidInput`` (text,
        gateway, too many recipients) or ``LimitExceeded``; nothing is sent then."""
        key = f"api:{caller.id}:{idempotency_key}" if idempotency_key is not None else None
        if key is not None:
            # A repeat is answered with the first result even if its recipients or the
            # gateways changed since: it must not be sent, nor refused as new.
            earlier = await self._api_jobs.job_by_key(key)
            if earlier is not None:
                return await self._earlier(caller, earlier, request_hash)
        # (more entries than MAX_RECIPIENTS: TooManyRecipients from the resolver, before
        # any entry is checked)
        resolution: Resolution = await self.recipients.resolve(entries)
        if resolution.refused:
            raise RecipientsRefused(resolution.refused)
        if not resolution.recipients:
            raise InvalidInput("There is no recipient.")
        prepared = self.sender.prepare(
            resolution.recipients[0].number, text, gateway, international=True
        )
        started = await self.sender.submit(
            resolution.numbers,
            prepared,
            Origin(
                source="api",
                user_name=f"api:{caller.name}",
                api_token_id=caller.id,
                request_hash=request_hash,
            ),
            idempotency_key=key,
            quotas=await self.tokens.quotas(caller),
            names=resolution.names(),
        )
        if started.duplicate:  # the same key at the same moment: the first one won
            return await self._earlier(caller, started.job.id, request_hash)
        await self.tokens.sent(
            caller,
            f"job {started.job.id}, {len(started.records)} recipient(s) via {prepared.provider}",
        )
        return ApiJob(
            started.job,
            started.records,
            created=True,
            duplicates=tuple((d.entry, d.first) for d in resolution.duplicates),
        )

    async def job(self, caller: ApiCaller, job_id: int) -> ApiJob | None:
        """The token's own job and its rows; None for another's or none."""
        found = await self._api_jobs.api_job(job_id)
        if found is None or found.token_id != caller.id:
            return None
        job = await self._messages.job(job_id)
        if job is None:
            return None
        return ApiJob(job, await self._messages.of_job(job_id), created=False)

    async def message(self, caller: ApiCaller, message_id: int) -> MessageRecord | None:
        """The token's own message; None for another's or none."""
        record = await self._messages.get(message_id)
        if record is None or record.job_id is None:
            return None
        found = await self._api_jobs.api_job(record.job_id)
        if found is None or found.token_id != caller.id:
            return None
        return record
