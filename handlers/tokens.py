"""Admin command /tokens: the HTTP API's tokens (list, create, revoke)."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from handlers.admin import IsAdmin
from handlers.render import fmt_time
from handlers.texts import Lang, t
from services.records import UserRecord
from services.tokens import (
    DEFAULT_SCOPES,
    MAX_NAME_LENGTH,
    InvalidScope,
    InvalidTokenName,
    TokenNameTaken,
    TokenRecord,
    TokenService,
    parse_scopes,
)


def _scopes(scopes: frozenset[str]) -> str:
    return ",".join(sorted(scopes))


def _line(lang: Lang, record: TokenRecord) -> str:
    if record.revoked_at is not None:
        return t(
            lang,
            "token_line_revoked",
            name=record.name,
            scopes=_scopes(record.scopes),
            at=fmt_time(record.revoked_at),
        )
    used = (
        t(lang, "token_used_at", at=fmt_time(record.last_used_at))
        if record.last_used_at is not None
        else t(lang, "token_never_used")
    )
    return t(lang, "token_line_active", name=record.name, scopes=_scopes(record.scopes), used=used)


def create_tokens_router() -> Router:
    router = Router(name="tokens")

    @router.message(Command("tokens"), ~IsAdmin())
    async def not_admin(message: Message, lang: Lang) -> None:
        await message.answer(t(lang, "admin_only"))

    @router.message(Command("tokens"))
    async def cmd_tokens(
        message: Message,
        command: CommandObject,
        lang: Lang,
        user: UserRecord,
        token_service: TokenService,
    ) -> None:
        parts = (command.args or "").split()
        action = parts[0].lower() if parts else "list"
        if action == "list" and len(parts) <= 1:
            records = await token_service.list()
            if not records:
                await message.answer(t(lang, "tokens_none"))
                return
            lines = [t(lang, "tokens_title"), *(_line(lang, r) for r in records)]
            await message.answer("\n".join(lines))
            return
        if action == "create" and len(parts) in (2, 3):
            try:
                scopes = parse_scopes(parts[2]) if len(parts) == 3 else DEFAULT_SCOPES
                created = await token_service.create(parts[1], scopes, created_by=user.user_id)
            except InvalidScope:
                await message.answer(t(lang, "token_bad_scope"))
                return
            except InvalidTokenName:
                await message.answer(t(lang, "token_bad_name", limit=MAX_NAME_LENGTH))
                return
            except TokenNameTaken:
                await message.answer(t(lang, "token_name_taken", name=parts[1][:MAX_NAME_LENGTH]))
                return
            await message.answer(
                t(
                    lang,
                    "token_created",
                    name=created.record.name,
                    scopes=_scopes(created.record.scopes),
                    token=created.token,
                )
            )
            return
        if action == "revoke" and len(parts) == 2:
            record = await token_service.revoke(parts[1], by=user.user_id)
            if record is None:
                await message.answer(t(lang, "token_not_found", name=parts[1][:MAX_NAME_LENGTH]))
                return
            await message.answer(t(lang, "token_revoked", name=record.name))
            return
        await message.answer(t(lang, "tokens_usage"))

    return router
