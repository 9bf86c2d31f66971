"""Admin commands: /allow, /deny, /users, /limits."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command, CommandObject, Filter
from aiogram.types import Message

from handlers.common import answer_lines
from handlers.parsing import parse_int
from handlers.render import fmt_time
from handlers.texts import Lang, esc, t
from services.limits import RateLimiter
from services.records import MAX_NAME, UserRecord
from services.users import LastAdminError, UserAdmin

__all__ = ["MAX_NAME", "IsAdmin", "create_admin_router"]

#: how many strangers /users lists
STRANGERS_SHOWN = 10


class IsAdmin(Filter):
    async def __call__(self, message: Message, user: UserRecord) -> bool:
        return user.is_admin


def create_admin_router() -> Router:
    router = Router(name="admin")
    admin_commands = Command("allow", "deny", "users", "limits")

    @router.message(admin_commands, ~IsAdmin())
    async def not_admin(message: Message, lang: Lang) -> None:
        await message.answer(t(lang, "admin_only"))

    @router.message(Command("allow"))
    async def cmd_allow(
        message: Message,
        command: CommandObject,
        lang: Lang,
        user: UserRecord,
        user_admin: UserAdmin,
    ) -> None:
        parts = (command.args or "").split(maxsplit=1)
        target = parse_int(parts[0]) if parts else None
        if target is None or target <= 0:
            await message.answer(t(lang, "allow_usage"))
            return
        rest = parts[1].strip() if len(parts) > 1 else ""
        if rest.lower() in ("admin", "админ"):
            record, created = await user_admin.make_admin(user.user_id, target)
        else:
            record, created = await user_admin.allow(user.user_id, target, name=rest or None)
        key = "allowed" if created else "updated_user"
        await message.answer(
            t(
                lang,
                key,
                user_id=target,
                name=record.name or "—",
                admin=t(lang, "as_admin") if record.is_admin else "",
            )
        )

    @router.message(Command("deny"))
    async def cmd_deny(
        message: Message,
        command: CommandObject,
        lang: Lang,
        user: UserRecord,
        user_admin: UserAdmin,
    ) -> None:
        target = parse_int(command.args)
        if target is None or target <= 0:
            await message.answer(t(lang, "deny_usage"))
            return
        try:
            removed = await user_admin.deny(user.user_id, target)
        except LastAdminError:
            await message.answer(t(lang, "last_admin"))
            return
        if not removed:
            await message.answer(t(lang, "deny_unknown", user_id=target))
            return
        await message.answer(t(lang, "denied", user_id=target))

    @router.message(Command("users"))
    async def cmd_users(message: Message, lang: Lang, user_admin: UserAdmin) -> None:
        lines = [t(lang, "users_title")]
        for u in await user_admin.list():
            role = " 👑" if u.is_admin else ""
            name = f" {esc(u.name)}" if u.name else ""
            lines.append(f"<code>{u.user_id}</code>{name}{role}")
        strangers = await user_admin.strangers(STRANGERS_SHOWN)
        if strangers:
            lines += ["", t(lang, "strangers_title")]
            lines += [
                t(
                    lang,
                    "stranger_line",
                    user_id=s.user_id,
                    count=s.count,
                    at=fmt_time(s.last_at),
                )
                for s in strangers
            ]
        await answer_lines(message, lines)

    @router.message(Command("limits"))
    async def cmd_limits(
        message: Message,
        command: CommandObject,
        lang: Lang,
        user: UserRecord,
        user_admin: UserAdmin,
        limiter: RateLimiter,
    ) -> None:
        parts = (command.args or "").split()
        target = parse_int(parts[0]) if parts else None
        if target is None or len(parts) not in (1, 3) or await user_admin.get(target) is None:
            await message.answer(t(lang, "limits_usage"))
            return
        if len(parts) == 3:
            values: list[int | None] = []
            for raw in parts[1:]:
                value = None if raw == "-" else parse_int(raw)
                if raw != "-" and (value is None or value < 0 or value > 100_000):
                    await message.answer(t(lang, "limits_usage"))
                    return
                values.append(value)
            await user_admin.set_limits(
                user.user_id, target, per_minute=values[0], per_day=values[1]
            )
        usage = await limiter.usage(target)
        unlimited = "∞"
        await message.answer(
            t(
                lang,
                "limits_show",
                user_id=target,
                per_minute=usage.limits.per_minute or unlimited,
                per_day=usage.limits.per_day or unlimited,
                used_minute=usage.last_minute,
                used_day=usage.last_day,
            )
        )

    return router
