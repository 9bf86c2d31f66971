"""Every text the bot says, in Russian (default) and English.

``t()`` HTML-escapes every argument unless it is wrapped in ``Html``, so user text
can never turn into markup by accident.
"""

from __future__ import annotations

import html
from typing import Literal

Lang = Literal["ru", "en"]

#: the languages of the catalogue; the first is the default (a user whose Telegram
#: language is neither, and a record written before languages were stored)
LANGS: tuple[Lang, ...] = ("ru", "en")
DEFAULT_LANG: Lang = "ru"


class Html(str):
    """A string that is already safe HTML (built by this module)."""

    __slots__ = ()


def lang_of(language_code: str | None) -> Lang:
    """The catalogue's language for a Telegram ``language_code`` (``en-US`` is English)."""
    return "en" if language_code and language_code.lower().startswith("en") else DEFAULT_LANG


def as_lang(stored: str | None) -> Lang:
    """A language as stored with a record (exactly ``ru`` or ``en``), or the default."""
    for lang in LANGS:
        if stored == lang:
            return lang
    return DEFAULT_LANG


def esc(value: object) -> str:
    return html.escape(str(value), quote=False)


TEXTS: dict[str, dict[Lang, str]] = {
    "not_allowed": {
        "ru": "⛔ Вы не в списке пользователей этого бота.\nВаш ID в Telegram: <code>{user_id}</code>\n"
        "Перешлите его администратору: он добавит вас командой <code>/allow {user_id}</code>.",
        "en": "⛔ You are not on this bot's list of users.\nYour Telegram id: <code>{user_id}</code>\n"
        "Send it to an admin, who can add you with <code>/allow {user_id}</code>.",
    },
    "not_allowed_short": {
        "ru": "⛔ Нет доступа. Ваш ID: {user_id}",
        "en": "⛔ Not allowed. Your id: {user_id}",
    },
    "help": {
        "ru": "Я отправляю SMS через шлюз {gateways}.\n\n"
        "<b>Команды</b>\n"
        "/send <code>79123456789 Сервер недоступен</code> — отправить SMS (текст может быть в несколько строк)\n"
        "/send — пошагово: номер, затем текст\n"
        "/send <code>smska 79123456789 текст</code> — через конкретный шлюз\n"
        "/balance — баланс всех шлюзов\n"
        "/status <code>42</code> — статус доставки (или ответьте на моё сообщение командой /status)\n"
        "/history <code>10</code> — ваши последние отправки\n"
        "/cancel — прервать ввод\n"
        "{admin}",
        "en": "I send SMS through the gateway {gateways}.\n\n"
        "<b>Commands</b>\n"
        "/send <code>79123456789 Server is down</code> — send an SMS (the text may span lines)\n"
        "/send — step by step: the number, then the text\n"
        "/send <code>smska 79123456789 text</code> — through a given gateway\n"
        "/balance — the balance of every gateway\n"
        "/status <code>42</code> — delivery status (or reply /status to my message)\n"
        "/history <code>10</code> — your last sends\n"
        "/cancel — stop what you were typing\n"
        "{admin}",
    },
    "help_admin": {
        "ru": "\n<b>Администратору</b>\n"
        "/allow <code>123456789 Иван</code> — добавить пользователя\n"
        "/allow <code>123456789 admin</code> — сделать администратором\n"
        "/deny <code>123456789</code> — удалить пользователя\n"
        "/users — список пользователей\n"
        "/limits <code>123456789 5 200</code> — лимиты: отправок в минуту и SMS в сутки\n"
        "/history покажет отправки всех пользователей.",
        "en": "\n<b>For admins</b>\n"
        "/allow <code>123456789 Ivan</code> — add a user\n"
        "/allow <code>123456789 admin</code> — make an admin\n"
        "/deny <code>123456789</code> — remove a user\n"
        "/users — the list of users\n"
        "/limits <code>123456789 5 200</code> — limits: sends a minute and SMS a day\n"
        "/history shows everyone's sends.",
    },
    "sandbox_note": {
        "ru": "\n🧪 Сейчас включён тестовый шлюз sandbox: SMS на самом деле не отправляются.",
        "en": "\n🧪 The sandbox gateway is on: no SMS is really sent.",
    },
    "unknown_command": {
        "ru": "Не понимаю эту команду. Список команд: /help",
        "en": "I don't know that command. The list of commands: /help",
    },
    "ask_phone": {
        "ru": "Кому отправить? Пришлите номер телефона, например <code>79123456789</code>. /cancel — отмена.",
        "en": "Who to? Send the phone number, e.g. <code>79123456789</code>. /cancel to stop.",
    },
    "ask_text": {
        "ru": "Номер: <code>+{phone}</code>. Теперь пришлите текст сообщения.",
        "en": "Number: <code>+{phone}</code>. Now send the text of the message.",
    },
    "need_text_message": {
        "ru": "Пришлите текст обычным сообщением. /cancel — отмена.",
        "en": "Please send it as a plain text message. /cancel to stop.",
    },
    "cancelled": {"ru": "Отменено.", "en": "Cancelled."},
    "nothing_to_cancel": {"ru": "Нечего отменять.", "en": "Nothing to cancel."},
    "send_usage": {
        "ru": "Напишите так: <code>/send 79123456789 текст сообщения</code>",
        "en": "Write it like this: <code>/send 79123456789 message text</code>",
    },
    "invalid_input": {
        "ru": "❌ {reason}\nНичего не отправлено.",
        "en": "❌ {reason}\nNothing was sent.",
    },
    "bad_phone": {
        "ru": "«{raw}» — не номер телефона. Российские номера можно писать как 79123456789, "
        "+7 912 345-67-89 или 8 912 345 67 89; другие страны — с кодом страны.",
        "en": "“{raw}” is not a valid phone number. Russian numbers may be written as 79123456789, "
        "+7 912 345-67-89 or 8 912 345 67 89; other countries with their country code.",
    },
    "empty_text": {"ru": "Текст сообщения пустой.", "en": "The message text is empty."},
    "text_too_long": {
        "ru": "Сообщение слишком длинное: {length} символов, максимум {limit}.",
        "en": "The message is too long: {length} characters, at most {limit}.",
    },
    "text_not_encodable": {
        "ru": "Символ «{char}» нельзя отправить через {gateway} в кодировке {encoding}.",
        "en": "The character “{char}” cannot be sent through {gateway} in {encoding}.",
    },
    "interrupted": {
        "ru": "бот остановился во время отправки",
        "en": "the bot stopped while this message was being sent",
    },
    "refused_generic": {
        "ru": "шлюз {gateway} отклонил запрос",
        "en": "{gateway} refused the request",
    },
    "unknown_generic": {
        "ru": "шлюз {gateway} не ответил вовремя или ответ потерялся",
        "en": "{gateway} did not answer in time, or the answer was lost",
    },
    "unknown_gateway": {
        "ru": "Шлюза «{name}» здесь нет. Включены: {enabled}.",
        "en": "There is no gateway “{name}” here. Enabled: {enabled}.",
    },
    "preview": {
        "ru": "📨 <b>Отправить SMS?</b>\nКому: <code>+{phone}</code>\nШлюз: {gateway}\n"
        "Частей: {parts} ({encoding}, {chars} симв.)\nБаланс: {balance}\n\n{text}",
        "en": "📨 <b>Send this SMS?</b>\nTo: <code>+{phone}</code>\nGateway: {gateway}\n"
        "Parts: {parts} ({encoding}, {chars} chars)\nBalance: {balance}\n\n{text}",
    },
    "balance_unknown": {"ru": "неизвестен", "en": "not known"},
    "button_send": {"ru": "✅ Отправить", "en": "✅ Send"},
    "button_cancel": {"ru": "✖️ Отмена", "en": "✖️ Cancel"},
    "preview_not_yours": {
        "ru": "Эту кнопку может нажать только тот, кто готовил сообщение.",
        "en": "Only the person who wrote this message can press its buttons.",
    },
    "preview_used": {
        "ru": "Это сообщение уже отправлено (#{id}). Повторно не отправляю.",
        "en": "This message was already sent (#{id}). Not sending it again.",
    },
    "preview_cancelled": {"ru": "Эта отправка отменена.", "en": "This send was cancelled."},
    "preview_expired": {
        "ru": "Время подтверждения истекло. Наберите /send заново.",
        "en": "This preview has expired. Start again with /send.",
    },
    "preview_cancelled_text": {
        "ru": "✖️ Отменено. SMS не отправлено.",
        "en": "✖️ Cancelled. No SMS was sent.",
    },
    "sending": {"ru": "⏳ Отправляю…", "en": "⏳ Sending…"},
    "sent": {
        "ru": "✅ #{id} отправлено через {gateway} на <code>+{phone}</code>\nID шлюза: <code>{gateway_id}</code>{balance}{failover}",
        "en": "✅ #{id} sent via {gateway} to <code>+{phone}</code>\nGateway id: <code>{gateway_id}</code>{balance}{failover}",
    },
    "sent_sandbox": {
        "ru": "🧪 #{id} принято тестовым шлюзом sandbox для <code>+{phone}</code> — на самом деле ничего не отправлено.\nID: <code>{gateway_id}</code>{balance}",
        "en": "🧪 #{id} accepted by the sandbox for <code>+{phone}</code> — nothing was really sent.\nId: <code>{gateway_id}</code>{balance}",
    },
    "balance_line_after": {
        "ru": "\nОстаток: {amount}",
        "en": "\nBalance left: {amount}",
    },
    "failover_note": {
        "ru": "\n↪️ Сначала пробовал {failed}: {reason} — ничего не ушло, поэтому отправил через {gateway}.",
        "en": "\n↪️ Tried {failed} first: {reason} — nothing went out, so it was sent via {gateway}.",
    },
    "failed": {
        "ru": "❌ #{id} не отправлено: {reason}\nНичего не ушло, деньги не списаны.",
        "en": "❌ #{id} was not sent: {reason}\nNothing went out.",
    },
    "unknown_outcome": {
        "ru": "⚠️ #{id}: результат неизвестен — {reason}\nSMS могло уйти, а могло и нет. Автоматически не повторяю. "
        "Проверьте в личном кабинете шлюза или у получателя. Если отправите ещё раз, сообщение может прийти дважды.",
        "en": "⚠️ #{id}: the outcome is unknown — {reason}\nThe SMS may or may not have been sent. It is not retried "
        "automatically. Check the gateway's dashboard or ask the recipient. If you send it again, it may arrive twice.",
    },
    "duplicate": {
        "ru": "Это сообщение уже обработано (#{id}, {state}). Повторно не отправляю.",
        "en": "This message was already handled (#{id}, {state}). Not sending it again.",
    },
    "recovered_unknown": {
        "ru": "⚠️ Бот перезапускался во время отправки #{id} на <code>+{phone}</code>. SMS могло уйти, а могло и нет. "
        "Проверьте в личном кабинете шлюза или у получателя; если отправите ещё раз, может прийти дважды.",
        "en": "⚠️ The bot restarted while sending #{id} to <code>+{phone}</code>. It may or may not have been sent. "
        "Check the gateway's dashboard or ask the recipient; if you send it again, it may arrive twice.",
    },
    "late_answer": {
        "ru": "ℹ️ Мой ответ об этой отправке до вас не дошёл, повторяю:\n",
        "en": "ℹ️ My answer about this send did not reach you, here it is again:\n",
    },
    "balance_title": {"ru": "💰 <b>Баланс</b>", "en": "💰 <b>Balance</b>"},
    "balance_line": {
        "ru": "{gateway}: {amount}{note}",
        "en": "{gateway}: {amount}{note}",
    },
    "balance_from_send": {
        "ru": " (по последней отправке #{id}, {at})",
        "en": " (from the last send #{id}, {at})",
    },
    "balance_sandbox": {"ru": " (тестовый)", "en": " (simulated)"},
    "balance_none_yet": {
        "ru": "{gateway}: пока неизвестен — шлюз сообщает баланс только при отправке",
        "en": "{gateway}: not known yet — the gateway reports it only with a send",
    },
    "balance_error": {"ru": "{gateway}: ❌ {reason}", "en": "{gateway}: ❌ {reason}"},
    "status_usage": {
        "ru": "Напишите <code>/status 42</code> (номер сообщения или ID шлюза) или ответьте /status на моё сообщение об отправке; рассылка: <code>/status J12</code>.",
        "en": "Write <code>/status 42</code> (the message number or the gateway's id), or reply /status to my send message; a job: <code>/status J12</code>.",
    },
    "status_not_found": {
        "ru": "Сообщение «{ref}» не найдено.",
        "en": "No message “{ref}” found.",
    },
    "status_line": {
        "ru": "#{id} → <code>+{phone}</code> через {gateway}\nСостояние: {state}{code}\nОтправлено: {at}{gid}",
        "en": "#{id} → <code>+{phone}</code> via {gateway}\nState: {state}{code}\nSent: {at}{gid}",
    },
    "status_no_request": {
        "ru": "\nℹ️ {gateway} не сообщает статус доставки.",
        "en": "\nℹ️ {gateway} offers no delivery status.",
    },
    "status_check_failed": {
        "ru": "\n⚠️ Не удалось спросить шлюз: {reason}",
        "en": "\n⚠️ Could not ask the gateway: {reason}",
    },
    "delivery_failed_notice": {
        "ru": "❗ SMS #{id} на <code>+{phone}</code> не доставлено: {state}{code}.",
        "en": "❗ SMS #{id} to <code>+{phone}</code> was not delivered: {state}{code}.",
    },
    "history_empty": {"ru": "Отправок пока нет.", "en": "No sends yet."},
    "history_title": {"ru": "🕘 <b>Последние отправки</b>", "en": "🕘 <b>Last sends</b>"},
    "history_usage": {
        "ru": "Напишите <code>/history</code> или <code>/history 20</code> (от 1 до 50).",
        "en": "Write <code>/history</code> or <code>/history 20</code> (1 to 50).",
    },
    "admin_only": {
        "ru": "Эта команда только для администраторов.",
        "en": "This command is for admins only.",
    },
    "allow_usage": {
        "ru": "Напишите <code>/allow 123456789 Имя</code> или <code>/allow 123456789 admin</code>. "
        "Свой ID человек узнает, написав боту.",
        "en": "Write <code>/allow 123456789 Name</code> or <code>/allow 123456789 admin</code>. "
        "A person learns their id by writing to the bot.",
    },
    "allowed": {
        "ru": "✅ {user_id} ({name}) добавлен{admin}.",
        "en": "✅ {user_id} ({name}) added{admin}.",
    },
    "updated_user": {
        "ru": "✅ {user_id} ({name}) обновлён{admin}.",
        "en": "✅ {user_id} ({name}) updated{admin}.",
    },
    "as_admin": {"ru": " как администратор", "en": " as an admin"},
    "deny_usage": {
        "ru": "Напишите <code>/deny 123456789</code>.",
        "en": "Write <code>/deny 123456789</code>.",
    },
    "denied": {"ru": "🗑 {user_id} удалён.", "en": "🗑 {user_id} removed."},
    "deny_unknown": {"ru": "{user_id} нет в списке.", "en": "{user_id} is not on the list."},
    "last_admin": {
        "ru": "Нельзя удалить или понизить последнего администратора.",
        "en": "The last admin cannot be removed or demoted.",
    },
    "users_title": {"ru": "👥 <b>Пользователи</b>", "en": "👥 <b>Users</b>"},
    "limits_usage": {
        "ru": "Напишите <code>/limits 123456789 5 200</code> (отправок в минуту и SMS в сутки; <code>-</code> — по умолчанию) "
        "или <code>/limits 123456789</code>, чтобы посмотреть.",
        "en": "Write <code>/limits 123456789 5 200</code> (sends a minute and SMS a day; <code>-</code> for the default) "
        "or <code>/limits 123456789</code> to see them.",
    },
    "limits_show": {
        "ru": "Лимиты {user_id}: отправок за минуту — {used_minute} из {per_minute}, SMS за сутки — {used_day} из {per_day}. "
        "Отправка группе из 50 человек — одна отправка и 50 SMS.",
        "en": "Limits of {user_id}: sends in the last minute: {used_minute} of {per_minute}; SMS in the last day: {used_day} of {per_day}. "
        "A send to a group of 50 people is one send and 50 SMS.",
    },
    "limit_hit": {
        "ru": "⏳ Лимит: не больше {limit} {what} {window}. Можно снова через {wait}. Ничего не отправлено.",
        "en": "⏳ Limit reached: at most {limit} {what} {window}. You can send again in {wait}. Nothing was sent.",
    },
    "per_minute": {"ru": "в минуту", "en": "a minute"},
    # a send to a group is one send; the day's budget counts every SMS
    "limit_sends": {"ru": "отправок", "en": "sends"},
    "limit_sms": {"ru": "SMS", "en": "SMS"},
    "per_day": {"ru": "в сутки", "en": "a day"},
    "internal_error": {
        "ru": "⚠️ Внутренняя ошибка, запрос не выполнен. Если вы отправляли SMS — проверьте /history.",
        "en": "⚠️ Internal error; the request was not completed. If you were sending an SMS, check /history.",
    },
    # --- send pipeline ---
    "not_started": {
        "ru": "бот остановился до отправки — ничего не ушло",
        "en": "the bot stopped before sending it — nothing went out",
    },
    "record_not_written": {
        "ru": "запись об отправке не удалось сохранить в базе данных ({reason}), поэтому я не стал отправлять",
        "en": "the record of the send could not be written to the database ({reason}), so it was not sent",
    },
    "record_not_written_stored": {
        "ru": "запись об отправке не удалось сохранить в базе данных, поэтому я не стал отправлять",
        "en": "the record of the send could not be written to the database, so it was not sent",
    },
    "job_waiting": {
        "ru": "⏸ Бот перезапускался, не успев отправить #{id} на <code>+{phone}</code>{more}. "
        "Из этого ничего не ушло. Отправить сейчас?\n\n<blockquote>{text}</blockquote>",
        "en": "⏸ The bot restarted before sending #{id} to <code>+{phone}</code>{more}. "
        "None of it went out. Send it now?\n\n<blockquote>{text}</blockquote>",
    },
    "job_waiting_more": {
        "ru": " и ещё {count} получателям",
        "en": " and {count} more recipients",
    },
    "button_job_resume": {"ru": "✅ Отправить", "en": "✅ Send now"},
    "button_job_cancel": {"ru": "✖️ Не отправлять", "en": "✖️ Don't send"},
    "job_cancelled": {
        "ru": "✖️ Не отправлено: {count} SMS отменено, ничего не ушло.",
        "en": "✖️ Not sent: {count} SMS cancelled, nothing went out.",
    },
    "job_nothing_left": {
        "ru": "Здесь больше нечего отправлять: всё уже отправлено или отменено.",
        "en": "Nothing is left to send here: all of it was sent or cancelled.",
    },
    "job_not_yours": {
        "ru": "Эту кнопку может нажать только тот, кто отправлял.",
        "en": "Only the person who sent it can press its buttons.",
    },
    "job_gateway_gone": {
        "ru": "Ничего не отправлено: шлюз этой отправки здесь больше не настроен. Её можно отменить.",
        "en": "Nothing was sent: the gateway of this send is no longer configured here. You may cancel it.",
    },
    "storage_unavailable": {
        "ru": "⚠️ Бот сейчас не может записать данные в свою базу (диск заполнен или недоступен), "
        "поэтому запрос не выполнен и ничего не отправлено. Попробуйте позже; администратору "
        "стоит проверить сервер.",
        "en": "⚠️ The bot cannot write to its database right now (the disk is full or unavailable), "
        "so the request was not done and nothing was sent. Try again later; an admin should "
        "check the server.",
    },
    "result_not_recorded": {
        "ru": "\n⚠️ Результат #{id} не удалось сохранить в базе данных ({reason}); бот продолжает попытки. "
        "Написанное выше — ответ шлюза, ему можно верить.",
        "en": "\n⚠️ The result of #{id} could not be written to the database ({reason}); the bot keeps trying. "
        "What is written above is the gateway's answer and stands.",
    },
    # --- numbers ---
    "phone_ambiguous": {
        "ru": "«{raw}» можно прочитать как разные номера: {readings}. Напишите номер без "
        "пробелов, а если текст начинается с цифр, начните его с новой строки.",
        "en": "“{raw}” can be read as more than one number: {readings}. Write the number "
        "without spaces, and if the text starts with digits, put it on the next line.",
    },
    "phone_readings_or": {"ru": " или ", "en": " or "},
    "number_type_refused": {
        "ru": "+{number} — {kind}: SMS на такие номера не отправляются ({why}).",
        "en": "+{number} is a {kind} number: SMS to it are refused ({why}).",
    },
    "number_why_fraud": {
        "ru": "они стоят дороже и часто используются для мошенничества",
        "en": "they cost extra and are a common fraud",
    },
    "number_why_other": {
        "ru": "можно отправлять только на мобильные и городские номера",
        "en": "only mobile and fixed-line numbers",
    },
    "number_kind_premium_rate": {"ru": "номер с повышенной оплатой", "en": "premium-rate"},
    "number_kind_shared_cost": {"ru": "номер с разделённой оплатой", "en": "shared-cost"},
    "number_kind_toll_free": {"ru": "бесплатный для звонящего номер", "en": "toll-free"},
    "number_kind_voip": {"ru": "номер интернет-телефонии", "en": "VoIP"},
    "number_kind_personal": {
        "ru": "персональный (переадресуемый) номер",
        "en": "personal (forwarding)",
    },
    "number_kind_pager": {"ru": "номер пейджера", "en": "pager"},
    "number_kind_uan": {"ru": "единый номер организации", "en": "universal access (UAN)"},
    "number_kind_voicemail": {"ru": "номер голосовой почты", "en": "voicemail"},
    "number_kind_unknown": {"ru": "номер неизвестного типа", "en": "unknown-type"},
    "country_refused": {
        "ru": "+{number} — номер из страны «{country}»: SMS можно отправлять только в "
        "страны: {allowed} (настройка <code>ALLOWED_COUNTRIES</code>).",
        "en": "+{number} is in {country}: SMS may be sent only to {allowed} "
        "(the setting <code>ALLOWED_COUNTRIES</code>).",
    },
    "text_invalid_unicode": {
        "ru": "В тексте есть недопустимые символы (испорченная кодировка): исправьте текст "
        "и отправьте снова.",
        "en": "The message text holds characters that are not valid Unicode (for example "
        "bytes that are not UTF-8): fix the text and send it again.",
    },
    "gateway_not_configured": {
        "ru": "Шлюз {name} здесь не настроен. Включены: {enabled}.",
        "en": "The gateway {name} is not configured here. Enabled: {enabled}.",
    },
    # --- access ---
    "strangers_title": {
        "ru": "🚷 <b>Недавние посторонние</b> (ID, сколько раз, когда последний раз)",
        "en": "🚷 <b>Recent strangers</b> (id, how many times, last time)",
    },
    "stranger_line": {
        "ru": "<code>{user_id}</code> — {count} раз, {at}",
        "en": "<code>{user_id}</code> — {count} times, {at}",
    },
    "button_invalid": {
        "ru": "Эта кнопка больше не действует. Ничего не сделано.",
        "en": "This button is no longer valid. Nothing was done.",
    },
    # --- answers: status of an unconfigured gateway, Russian without English, plain text ---
    "status_not_configured": {
        "ru": "\nℹ️ Шлюз {gateway} здесь не настроен, поэтому я его не спрашивал: "
        "показано последнее известное состояние.",
        "en": "\nℹ️ {gateway} is not configured here, so it was not asked: "
        "this is the last known state.",
    },
    "help_other_gateways": {"ru": " (также: {names})", "en": " (also: {names})"},
    "not_a_command": {
        "ru": "Я отправляю SMS. Чтобы отправить, напишите команду, например:\n"
        "<code>/send 79123456789 текст сообщения</code>\n"
        "или просто /send — и я спрошу номер и текст. Все команды: /help",
        "en": "I send SMS. To send one, write a command, for example:\n"
        "<code>/send 79123456789 message text</code>\n"
        "or just /send and I will ask for the number and the text. All commands: /help",
    },
    "text_has_nul": {
        "ru": "В тексте есть нулевой символ: такое сообщение отправить нельзя.",
        "en": "The message text contains a NUL character.",
    },
    "invalid_generic": {
        "ru": "Не получилось разобрать запрос: проверьте номер, текст и шлюз.",
        "en": "{reason}",
    },
    "gateway_error_generic": {
        "ru": "ошибка шлюза {gateway}",
        "en": "{reason}",
    },
    "send_error_generic": {
        "ru": "ошибка при отправке через {gateway}",
        "en": "{reason}",
    },
    "source_cli": {"ru": "командная строка", "en": "command line"},
    # --- texts: one catalogue (reasons of gateway errors, labels, units, the menu) ---
    "reason_authentication_failed": {
        "ru": "шлюз {gateway} не принял логин или ключ — проверьте настройки",
        "en": "{gateway} rejected the credentials — check the settings",
    },
    "reason_invalid_signature": {
        "ru": "шлюз {gateway} не принял подпись запроса — проверьте ключ проекта",
        "en": "{gateway} rejected the request signature — check the project key",
    },
    "reason_insufficient_funds": {
        "ru": "на счёте {gateway} закончились деньги или SMS",
        "en": "the {gateway} account has no money or SMS left",
    },
    "reason_invalid_recipient": {
        "ru": "шлюз {gateway} считает номер получателя неверным или недоступным",
        "en": "{gateway} says the recipient number is invalid or unreachable",
    },
    "reason_invalid_sender": {
        "ru": "шлюз {gateway} не принял имя отправителя",
        "en": "{gateway} rejected the sender name",
    },
    "reason_invalid_request": {
        "ru": "шлюз {gateway} счёл запрос неполным или неверным",
        "en": "{gateway} says the request is invalid or incomplete",
    },
    "reason_message_not_found": {
        "ru": "шлюз {gateway} не знает такого сообщения",
        "en": "{gateway} does not know that message",
    },
    "reason_not_sent": {
        "ru": "не удалось подключиться к шлюзу {gateway}",
        "en": "could not connect to {gateway}",
    },
    "reason_outcome_unknown": {
        "ru": "шлюз {gateway} не ответил вовремя или ответ потерялся",
        "en": "{gateway} did not answer in time, or the answer was lost",
    },
    "reason_access_denied_ip": {
        "ru": "шлюз {gateway} не пускает IP-адрес <code>{ip}</code> — добавьте его в настройках проекта",
        "en": "{gateway} does not allow the IP address <code>{ip}</code> — add it in the project settings",
    },
    "reason_access_denied": {
        "ru": "шлюз {gateway} отказал в доступе: проект или аккаунт не подходит",
        "en": "{gateway} denied access: the project or account is not allowed",
    },
    "reason_gateway_internal": {
        "ru": "внутренняя ошибка шлюза {gateway} (код {code})",
        "en": "internal error of {gateway} (code {code})",
    },
    "reason_unsupported": {
        "ru": "шлюз {gateway} не поддерживает такой запрос",
        "en": "{gateway} offers no such request",
    },
    "reason_protocol_error": {
        "ru": "непонятный ответ шлюза {gateway}",
        "en": "{gateway} gave an answer I cannot read",
    },
    "refused_with_detail": {
        # the stored detail is the English sentence of the moment: not shown in Russian
        "ru": "шлюз {gateway} отклонил запрос",
        "en": "{gateway} refused the request: {detail}",
    },
    "state_label": {"ru": "Состояние", "en": "State"},
    "wait_seconds": {"ru": "{n} с", "en": "{n} s"},
    "wait_minutes": {"ru": "{n} мин", "en": "{n} min"},
    "wait_hours": {"ru": "{n} ч", "en": "{n} h"},
    "country_global": {"ru": "международная служба", "en": "no country (a global service)"},
    "menu_send": {
        "ru": "Отправить SMS: /send 79123456789 текст",
        "en": "Send an SMS: /send 79123456789 text",
    },
    "menu_balance": {"ru": "Баланс шлюзов", "en": "Gateway balances"},
    "menu_status": {"ru": "Статус доставки: /status 42", "en": "Delivery status: /status 42"},
    "menu_history": {"ru": "Последние отправки", "en": "Last sends"},
    "menu_help": {"ru": "Что умеет бот", "en": "What the bot does"},
    "menu_cancel": {"ru": "Прервать ввод", "en": "Stop what you were typing"},
    # --- alerts (SMS from Alertmanager's webhook) ---
    "source_alertmanager": {"ru": "оповещение мониторинга", "en": "Alertmanager alert"},
    # --- contacts ---
    "menu_contacts": {"ru": "Адресная книга", "en": "The address book"},
    "help_contacts": {
        "ru": "\n<b>Адресная книга</b>\n"
        "/contacts — контакты и группы; имя или группу можно указать вместо номера\n"
        "Пришлите карточку контакта — я спрошу текст и отправлю на её номер\n",
        "en": "\n<b>Address book</b>\n"
        "/contacts — contacts and groups; a name or a group may stand for a number\n"
        "Share a contact card — I ask for the text and send it to its number\n",
    },
    "help_contacts_admin": {
        "ru": "/contacts <code>add Пётр 79123456789 дежурные</code> — добавить или изменить "
        "контакт (группы — по одному слову)\n"
        "/contacts <code>del Пётр</code> — удалить контакт\n",
        "en": "/contacts <code>add Petr 79123456789 oncall</code> — add or change a contact "
        "(one word per group)\n"
        "/contacts <code>del Petr</code> — remove a contact\n",
    },
    "contacts_title": {"ru": "<b>Контакты</b> ({total}):", "en": "<b>Contacts</b> ({total}):"},
    "contacts_empty": {
        "ru": "В адресной книге пока никого нет.",
        "en": "The address book is empty.",
    },
    "contacts_empty_admin": {
        "ru": "\nДобавить: /contacts <code>add Пётр 79123456789 дежурные</code>",
        "en": "\nAdd one: /contacts <code>add Petr 79123456789 oncall</code>",
    },
    "contacts_line": {
        "ru": "«{name}» <code>+{phone}</code>{groups}",
        "en": "«{name}» <code>+{phone}</code>{groups}",
    },
    "contacts_line_groups": {"ru": " · {groups}", "en": " · {groups}"},
    "contacts_group": {"ru": "«{name}»", "en": "«{name}»"},
    "contacts_groups_title": {"ru": "\n<b>Группы</b>:", "en": "\n<b>Groups</b>:"},
    "contacts_group_size": {"ru": "«{name}» — {size}", "en": "«{name}» — {size}"},
    "contacts_more_groups": {"ru": "…и ещё {count}", "en": "…and {count} more"},
    "contacts_page": {
        "ru": "\nСтраница {page} из {pages}",
        "en": "\nPage {page} of {pages}",
    },
    "contacts_page_gone": {
        "ru": "Такой страницы уже нет: показываю последнюю.",
        "en": "That page is gone: here is the last one.",
    },
    "button_contacts_prev": {"ru": "◀ Назад", "en": "◀ Back"},
    "button_contacts_next": {"ru": "Дальше ▶", "en": "Next ▶"},
    "contacts_usage": {
        "ru": "Как пользоваться:\n"
        "/contacts — список\n"
        "/contacts <code>add Пётр 79123456789 дежурные</code> — добавить или изменить "
        "(имя из нескольких слов — в кавычках или перед номером)\n"
        "/contacts <code>del Пётр</code> — удалить",
        "en": "Usage:\n"
        "/contacts — the list\n"
        "/contacts <code>add Petr 79123456789 oncall</code> — add or change "
        "(a name of several words: quoted, or all before the number)\n"
        "/contacts <code>del Petr</code> — remove",
    },
    "contact_added": {
        "ru": "✅ Контакт добавлен: {line}",
        "en": "✅ Contact added: {line}",
    },
    "contact_updated": {
        "ru": "✅ Контакт изменён: {line}",
        "en": "✅ Contact changed: {line}",
    },
    "contact_removed": {
        "ru": "🗑 Контакт удалён: {line}",
        "en": "🗑 Contact removed: {line}",
    },
    "contact_refused": {
        "ru": "❌ {reason}\nНичего не изменено.",
        "en": "❌ {reason}\nNothing was changed.",
    },
    "contact_bad_empty": {"ru": "Имя не может быть пустым.", "en": "A name cannot be empty."},
    "contact_bad_too_long": {
        "ru": "Имя «{name}» слишком длинное: не больше {limit} символов.",
        "en": "The name «{name}» is too long: at most {limit} characters.",
    },
    "contact_bad_separator": {
        "ru": "В имени «{name}» есть запятая, точка с запятой или перенос строки: они "
        "разделяют получателей, уберите их.",
        "en": "The name «{name}» holds a comma, a semicolon or a line break, which separate "
        "recipients: leave them out.",
    },
    "contact_bad_control": {
        "ru": "В имени «{name}» есть невидимые управляющие символы.",
        "en": "The name «{name}» holds invisible control characters.",
    },
    "contact_bad_number": {
        "ru": "Имя «{name}» похоже на номер телефона: нужно имя с буквами.",
        "en": "The name «{name}» looks like a phone number: use a name with letters.",
    },
    "contact_bad_gateway": {
        "ru": "«{name}» — название шлюза: выберите другое имя.",
        "en": "«{name}» is the name of a gateway: choose another name.",
    },
    "contact_bad_command": {
        "ru": "Имя не может начинаться с «/».",
        "en": "A name cannot start with «/».",
    },
    "contact_bad_blank": {
        "ru": "Группа «{name}» названа несколькими словами: группа — одно слово "
        "(например, дежурные).",
        "en": "The group «{name}» has several words: a group name is one word (e.g. oncall).",
    },
    "contact_name_is_group": {
        "ru": "«{name}» — название группы: так назвать контакт нельзя.",
        "en": "«{name}» is a group's name: a contact cannot be called so.",
    },
    "contact_name_is_contact": {
        "ru": "«{name}» — имя контакта: так назвать группу нельзя.",
        "en": "«{name}» is a contact's name: a group cannot be called so.",
    },
    "contact_exists": {
        "ru": "Контакт «{name}» уже есть с номером <code>+{phone}</code>. Чтобы изменить его, "
        "добавьте его заново с новым номером: /contacts <code>add …</code>",
        "en": "There is already a contact «{name}» with <code>+{phone}</code>. To change it, "
        "add it again with the new number: /contacts <code>add …</code>",
    },
    "contact_same": {
        "ru": "«{name}» с номером <code>+{phone}</code> уже есть в контактах.",
        "en": "«{name}» with <code>+{phone}</code> is already in the contacts.",
    },
    "contact_too_many_groups": {
        "ru": "Контакт может быть не больше чем в {limit} группах, а указано {count}.",
        "en": "A contact may be in at most {limit} groups, not {count}.",
    },
    "contact_not_found": {
        "ru": "Контакта «{name}» нет. Список: /contacts",
        "en": "There is no contact «{name}». The list: /contacts",
    },
    "button_save_contact": {"ru": "💾 Сохранить в контакты", "en": "💾 Save to contacts"},
    "contact_saved": {
        "ru": "💾 Сохранено в контакты: {line}",
        "en": "💾 Saved to contacts: {line}",
    },
    "contact_save_gone": {
        "ru": "Эта кнопка устарела: пришлите карточку контакта ещё раз.",
        "en": "This button is too old: share the contact card again.",
    },
    # --- bulk jobs: progress, Stop, Report, /history and /status of a job ---
    "job_progress": {
        "ru": "📤 Рассылка <code>J{id}</code>: {bar}\n"
        "отправлено {sent} · не отправлено {failed} · неизвестно {unknown} · осталось {left}",
        "en": "📤 Job <code>J{id}</code>: {bar}\n"
        "sent {sent} · not sent {failed} · unknown {unknown} · left {left}",
    },
    "job_progress_stopping": {
        "ru": "\n⏹ Останавливаю: начатые отправки завершаются, новые не начинаются.",
        "en": "\n⏹ Stopping: sends under way finish, no new ones start.",
    },
    "job_done": {
        "ru": "✅ Рассылка <code>J{id}</code> завершена: из {total} отправлено {sent}, "
        "не отправлено {failed}, неизвестно, ушло ли, {unknown}.",
        "en": "✅ Job <code>J{id}</code> is done: of {total}, sent {sent}, not sent {failed}, "
        "unknown whether sent {unknown}.",
    },
    "job_stopped_summary": {
        "ru": "⏹ Рассылка <code>J{id}</code> остановлена: из {total} отправлено {sent}, "
        "не отправлено {failed}, неизвестно, ушло ли, {unknown}; не отправлялись и ждут "
        "вашего решения: {queued}.",
        "en": "⏹ Job <code>J{id}</code> was stopped: of {total}, sent {sent}, not sent {failed}, "
        "unknown whether sent {unknown}; not sent and waiting for your choice: {queued}.",
    },
    "job_left_list": {"ru": "\nЖдут: {phones}", "en": "\nWaiting: {phones}"},
    "job_more": {"ru": " и ещё {count}", "en": " and {count} more"},
    "button_job_stop": {"ru": "⏹ Остановить", "en": "⏹ Stop"},
    "button_job_report": {"ru": "📄 Отчёт", "en": "📄 Report"},
    "job_stopping": {
        "ru": "⏹ Останавливаю: начатые отправки завершаются…",
        "en": "⏹ Stopping: sends under way finish…",
    },
    "job_report_sending": {"ru": "📄 Отправляю отчёт…", "en": "📄 Sending the report…"},
    "job_report_caption": {
        "ru": "📄 Отчёт по рассылке <code>J{id}</code>: каждый получатель и его состояние.",
        "en": "📄 Report of job <code>J{id}</code>: every recipient and its state.",
    },
    "job_status_title": {
        "ru": "📤 Рассылка <code>J{id}</code> ({at}, {gateway}): получателей {total}\n"
        "отправлено {sent} (доставлено {delivered}, не доставлено {undelivered}), "
        "не отправлено {failed}, неизвестно {unknown}, осталось {left}",
        "en": "📤 Job <code>J{id}</code> ({at}, {gateway}): {total} recipients\n"
        "sent {sent} (delivered {delivered}, not delivered {undelivered}), "
        "not sent {failed}, unknown {unknown}, left {left}",
    },
    "job_status_stopped": {
        "ru": "⏹ Остановлена: оставшиеся не отправлялись.",
        "en": "⏹ Stopped: what is left was not sent.",
    },
    "job_status_row": {
        "ru": "<code>+{phone}</code>{name}: {state}",
        "en": "<code>+{phone}</code>{name}: {state}",
    },
    "job_status_more": {"ru": "… и ещё {count}", "en": "… and {count} more"},
    "status_job_not_found": {
        "ru": "Рассылка «{ref}» не найдена.",
        "en": "No job “{ref}” found.",
    },
    "job_history_line": {
        "ru": "📤 <code>J{id}</code> {at} → получателей {total} ({gateway}): отправлено {sent}, "
        "не отправлено {failed}, неизвестно {unknown}, осталось {left}{who}\n    {text}",
        "en": "📤 <code>J{id}</code> {at} → {total} recipients ({gateway}): sent {sent}, "
        "not sent {failed}, unknown {unknown}, left {left}{who}\n    {text}",
    },
    "job_interrupted": {
        "ru": "⚠️ Бот перезапускался во время рассылки <code>J{id}</code>; "
        "отправлять больше нечего.",
        "en": "⚠️ The bot restarted during job <code>J{id}</code>; nothing is left to send.",
    },
    "job_waiting_counts": {
        "ru": "\nВсего {total}: отправлено {sent}, не отправлено {failed}, неизвестно, "
        "ушло ли, {unknown}, ждут отправки {queued}.",
        "en": "\nOf {total}: sent {sent}, not sent {failed}, unknown whether sent {unknown}, "
        "waiting to be sent {queued}.",
    },
    # --- many recipients (lists, names, files, the preview of several) ---
    "unknown_recipient": {
        "ru": "«{entry}» — не номер телефона и не имя контакта или группы",
        "en": "“{entry}” is not a phone number, nor a contact's or group's name",
    },
    "empty_group": {
        "ru": "в группе «{entry}» никого нет",
        "en": "the group “{entry}” has no members",
    },
    "too_many_recipients": {
        "ru": "получателей больше {limit} — столько за одну отправку нельзя, разделите список",
        "en": "more than {limit} recipients, the most one send may have: split the list",
    },
    "no_recipients": {"ru": "нет ни одного получателя", "en": "there is no recipient"},
    "entry_bad_phone": {"ru": "не номер телефона", "en": "not a phone number"},
    "bulk_preview": {
        "ru": "📨 <b>Отправить SMS?</b>\nПолучателей: {count}\nШлюз: {gateway}\n"
        "Частей в одном сообщении: {parts} ({encoding}, {chars} симв.), всего частей: {total}\n"
        "Баланс: {balance}{removed}\n\n{text}",
        "en": "📨 <b>Send this SMS?</b>\nRecipients: {count}\nGateway: {gateway}\n"
        "Parts per message: {parts} ({encoding}, {chars} chars), total parts: {total}\n"
        "Balance: {balance}{removed}\n\n{text}",
    },
    "bulk_balance_other_unit": {
        "ru": " (не в SMS — сравнить с числом частей нельзя)",
        "en": " (not in SMS: cannot be compared with the parts)",
    },
    "bulk_balance_too_low": {
        "ru": "\n\n⛔ Последний известный баланс ({balance}) меньше, чем частей нужно ({total}). "
        "Не отправляю: пополните баланс или сократите список.",
        "en": "\n\n⛔ The last known balance ({balance}) is lower than the parts needed "
        "({total}). Not sending: top the balance up or shorten the list.",
    },
    "bulk_recipients": {
        "ru": "\nКому: {recipients}",
        "en": "\nTo: {recipients}",
    },
    "bulk_duplicates": {
        "ru": "\nПовторы убраны ({count}): {items}",
        "en": "\nDuplicates removed ({count}): {items}",
    },
    "bulk_duplicate_item": {
        "ru": "«{entry}» (уже есть: «{first}»)",
        "en": "“{entry}” (already in: “{first}”)",
    },
    "bulk_named": {"ru": "«{name}» ({number})", "en": "{name} ({number})"},
    "bulk_refused": {
        "ru": "\nНе получат SMS — не понято ({count}):\n{items}",
        "en": "\nWill not get the SMS, not understood ({count}):\n{items}",
    },
    "bulk_refused_item": {"ru": "• «{entry}»: {reason}", "en": "• “{entry}”: {reason}"},
    "bulk_more": {"ru": "…и ещё {count}", "en": "…and {count} more"},
    "bulk_nobody": {
        "ru": "❌ Некому отправить: ни один получатель не подошёл.{removed}\nНичего не отправлено.",
        "en": "❌ Nobody to send to: no recipient could be used.{removed}\nNothing was sent.",
    },
    "bulk_ask_text": {
        "ru": "Получателей: {count}.{removed}\nТеперь пришлите текст сообщения.",
        "en": "Recipients: {count}.{removed}\nNow send the text of the message.",
    },
    "bulk_sending": {
        "ru": "⏳ Отправляю, получателей: {count}…",
        "en": "⏳ Sending, recipients: {count}…",
    },
    "limit_list_too_big": {
        "ru": "⏳ В списке {count} получателей, а в сутки можно отправить не больше {limit} SMS: "
        "ожидание не поможет. Разделите список или попросите администратора поднять "
        "лимит (/limits). Ничего не отправлено.",
        "en": "⏳ The list has {count} recipients, and at most {limit} SMS a day may be sent: "
        "waiting will not help. Split the list or ask an admin to raise the limit "
        "(/limits). Nothing was sent.",
    },
    "doc_wrong_type": {
        "ru": "Пришлите файл <code>.txt</code> или <code>.csv</code>: номера по одному в строке "
        "или в первом столбце, текст сообщения — подписью к файлу.",
        "en": "Send a <code>.txt</code> or <code>.csv</code> file: numbers one per line or in "
        "the first column, the message text as the file's caption.",
    },
    "doc_too_big": {
        "ru": "файл больше {limit} КБ — разделите список",
        "en": "the file is larger than {limit} KB: split the list",
    },
    "doc_not_text": {
        "ru": "файл не похож на текст: сохраните его как текст в кодировке UTF-8",
        "en": "the file does not look like text: save it as UTF-8 text",
    },
    "doc_download_failed": {
        "ru": "не удалось получить файл от Telegram, пришлите его ещё раз",
        "en": "the file could not be fetched from Telegram: send it again",
    },
    "doc_header_skipped": {
        "ru": "\nПервая строка «{row}» — заголовок, пропущена.",
        "en": "\nThe first row “{row}” is a header: skipped.",
    },
    # --- API tokens (/tokens) ---
    "tokens_usage": {
        "ru": "Токены программного доступа:\n<code>/tokens</code> — список\n"
        "<code>/tokens create ИМЯ [send,read]</code> — новый токен\n"
        "<code>/tokens revoke ИМЯ</code> — отозвать токен",
        "en": "HTTP API tokens:\n<code>/tokens</code> — the list\n"
        "<code>/tokens create NAME [send,read]</code> — a new token\n"
        "<code>/tokens revoke NAME</code> — revoke a token",
    },
    "tokens_none": {
        "ru": "Токенов программного доступа пока нет: <code>/tokens create ИМЯ</code> создаст первый.",
        "en": "No HTTP API tokens yet: <code>/tokens create NAME</code> makes the first.",
    },
    "tokens_title": {"ru": "Токены программного доступа:", "en": "HTTP API tokens:"},
    "token_line_active": {
        "ru": "• <code>{name}</code> (<code>{scopes}</code>): действует, {used}",
        "en": "• <code>{name}</code> (<code>{scopes}</code>): active, {used}",
    },
    "token_line_revoked": {
        "ru": "• <code>{name}</code> (<code>{scopes}</code>): отозван {at}",
        "en": "• <code>{name}</code> (<code>{scopes}</code>): revoked {at}",
    },
    "token_used_at": {"ru": "последний вызов {at}", "en": "last used {at}"},
    "token_never_used": {"ru": "ещё не использовался", "en": "never used"},
    "token_created": {
        "ru": "🔑 Токен <code>{name}</code> (<code>{scopes}</code>):\n<code>{token}</code>\n\n"
        "Он показан только один раз: сохраните его в хранилище секретов и удалите это "
        "сообщение — пока оно в чате, токен может прочитать любой, у кого есть доступ к чату.",
        "en": "🔑 Token <code>{name}</code> (<code>{scopes}</code>):\n<code>{token}</code>\n\n"
        "It is shown only this once: keep it in a secret store and delete this message — "
        "while it is in the chat, anyone with access to the chat can read the token.",
    },
    "token_revoked": {
        "ru": "Токен <code>{name}</code> отозван: вызовы с ним больше не принимаются.",
        "en": "Token <code>{name}</code> is revoked: calls with it are refused from now on.",
    },
    "token_not_found": {
        "ru": "Токена с именем <code>{name}</code> нет; ничего не изменено.",
        "en": "There is no token named <code>{name}</code>; nothing was changed.",
    },
    "token_bad_name": {
        "ru": "Имя токена — от 1 до {limit} латинских букв, цифр, «.», «_» или «-», "
        "первой буквой или цифрой (например, <code>grafana</code>). Токен не создан.",
        "en": "A token's name is 1 to {limit} Latin letters, digits, “.”, “_” or “-”, "
        "starting with a letter or digit (for example, <code>grafana</code>). No token "
        "was created.",
    },
    "token_bad_scope": {
        "ru": "Права токена — <code>send</code> (отправка), <code>read</code> (чтение) или "
        "<code>send,read</code>. Токен не создан.",
        "en": "A token's scopes are <code>send</code>, <code>read</code> or "
        "<code>send,read</code>. No token was created.",
    },
    "token_name_taken": {
        "ru": "Токен с именем <code>{name}</code> уже есть (имена отозванных тоже заняты — "
        "для журнала): выберите другое имя. Токен не создан.",
        "en": "A token named <code>{name}</code> exists already (names of revoked tokens "
        "stay taken, for the audit): choose another name. No token was created.",
    },
    # --- acceptance of issue 10 ---
    "job_stopped_waiting": {
        "ru": "⏹ Рассылка остановлена, ничего не отправляется. Ждут вашего решения: {queued}.",
        "en": "⏹ The job is stopped, nothing is being sent. Waiting for your choice: {queued}.",
    },
    "contact_bad_formula": {
        "ru": "Имя «{name}» начинается с «=», «+», «-» или «@»: таблица прочтёт его как "
        "формулу. Начните имя с буквы.",
        "en": "The name «{name}» starts with «=», «+», «-» or «@», which a spreadsheet reads "
        "as a formula: start it with a letter.",
    },
}

#: Units a gateway reports its balance in, as the bot says them: Russian has three
#: forms (1 кредит, 2 кредита, 5 кредитов); a unit not listed is shown as it is.
UNIT_NAMES: dict[str, dict[Lang, tuple[str, str, str]]] = {
    "credits": {"ru": ("кредит", "кредита", "кредитов"), "en": ("credit", "credits", "credits")},
    "SMS": {"ru": ("SMS", "SMS", "SMS"), "en": ("SMS", "SMS", "SMS")},
}

STATE_NAMES: dict[str, dict[Lang, str]] = {
    "queued": {"ru": "в очереди", "en": "queued"},
    "sending": {"ru": "отправляется", "en": "sending"},
    "sent": {"ru": "принято шлюзом", "en": "accepted by the gateway"},
    "delivered": {"ru": "✅ доставлено", "en": "✅ delivered"},
    "rejected": {"ru": "❌ отклонено", "en": "❌ rejected"},
    "expired": {"ru": "❌ просрочено", "en": "❌ expired"},
    "deleted": {"ru": "❌ удалено", "en": "❌ deleted"},
    "failed": {"ru": "❌ не отправлено", "en": "❌ not sent"},
    "unknown": {"ru": "⚠️ неизвестно, ушло ли", "en": "⚠️ unknown whether it went out"},
}


def t(lang: Lang, key: str, **params: object) -> str:
    """The text ``key`` in ``lang``, with every non-``Html`` parameter escaped."""
    template = TEXTS[key][lang]
    safe = {k: v if isinstance(v, Html) else esc(v) for k, v in params.items()}
    return template.format(**safe)


#: The bot's command menu (Telegram's "/" list), in this order; the descriptions are
#: the catalogue's ``menu_<command>`` entries.
MENU_COMMANDS: tuple[str, ...] = (
    "send",
    "balance",
    "status",
    "history",
    "contacts",
    "help",
    "cancel",
)


def command_menu(lang: Lang) -> list[tuple[str, str]]:
    """The command menu in ``lang``: (command, description) pairs."""
    return [(command, t(lang, f"menu_{command}")) for command in MENU_COMMANDS]


def menu_language_code(lang: Lang) -> str | None:
    """Telegram's ``language_code`` to set the menu in ``lang`` for: ``None`` (everyone
    whose language has no menu of its own) for the default language."""
    return None if lang == DEFAULT_LANG else lang


def wait_text(lang: Lang, seconds: int) -> str:
    """How long to wait, rounded to a unit a person reads: ``90 s``, ``5 min``, ``3 h``."""
    if seconds < 120:
        return t(lang, "wait_seconds", n=seconds)
    if seconds < 7200:
        return t(lang, "wait_minutes", n=seconds // 60)
    return t(lang, "wait_hours", n=seconds // 3600)


def state_name(lang: Lang, state: str) -> str:
    return STATE_NAMES.get(state, {}).get(lang, state)


def amount_with_unit(lang: Lang, amount: object, unit: str | None) -> str:
    """``7463 кредитов`` / ``7463 credits``: the amount and its unit in ``lang``."""
    forms = UNIT_NAMES.get(unit or "", {}).get(lang)
    if forms is None:
        return f"{amount} {unit}" if unit else str(amount)
    text = str(amount)
    if not text.lstrip("-").isdigit():
        return f"{text} {forms[1]}"  # a fraction: 2.5 кредита
    n = abs(int(text))
    if lang == "en":
        return f"{text} {forms[0] if n == 1 else forms[2]}"
    if n % 10 == 1 and n % 100 != 11:
        return f"{text} {forms[0]}"
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return f"{text} {forms[1]}"
    return f"{text} {forms[2]}"
