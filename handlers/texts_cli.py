"""Every text the command line (``python -m bot send|balance|status|users``) says, in
English: its one-line results, its error sentences and its ``--help``.

The sibling of ``handlers.texts`` (the bot's Russian and English catalogue), so that
all user-facing wording lives in one place; plain text for a terminal (nothing is
HTML-escaped), and nothing imported here, so that the command line, which never
imports aiogram, starts fast.
"""

from __future__ import annotations

CLI_TEXTS: dict[str, str] = {
    # --- the parser (--help) ---
    "description": "smsbot: send SMS from Telegram or the command line. Without a command, "
    "runs the Telegram bot.",
    "epilog_exit_codes": "exit codes:",
    "epilog_exit_code": "  {code:>2}  {meaning}",
    "epilog_examples": "examples:\n"
    "  python -m bot send 79123456789 Server is down\n"
    '  echo "disk full" | python -m bot send +7-912-345-67-89 - --gateway smska\n'
    "  python -m bot balance --json\n"
    "  python -m bot status 42\n"
    "  python -m bot users list\n"
    "  python -m bot users admin 123456789\n"
    "  python -m bot demo          # try the bot in this terminal, nothing is really sent",
    "help_run": "run the Telegram bot (the default)",
    "help_demo": "try the bot in this terminal: no token, no account, nothing really sent",
    "demo_description": "Runs the real bot against a Telegram stand-in in this terminal: type "
    "as a Telegram user (an admin), see the bot's answers, press buttons with !press N "
    "(!help lists the console commands; Ctrl-D or Ctrl-C stops). Always the sandbox "
    "gateway and its own database (emptied at each start), whatever .env says.",
    "help_demo_lang": "your Telegram language (default: en)",
    "help_demo_user_id": "your Telegram id (default: 111)",
    "help_demo_database": "the demo's own database, emptied at each start "
    "(default: data/demo.sqlite3)",
    "help_old_gateway": "the old name of --gateway, still accepted",
    "help_json": "print one JSON object (for scripts)",
    "help_send": "send an SMS",
    "send_description": "Send an SMS. TEXT may be several words; '-' reads it from standard input.",
    "help_phone": "recipient, e.g. 79123456789 or +7 912 345-67-89",
    "help_text": "message text, or - for standard input",
    "help_key": "idempotency key (printable, non-blank, up to {limit} characters): a second "
    "send with the same key sends nothing and reports the first",
    "help_send_gateway": "gateway to use (default: DEFAULT_GATEWAY)",
    "help_balance": "show the balance of every enabled gateway",
    "help_balance_gateway": "only this gateway",
    "help_status": "delivery status of a message",
    "status_description": "Delivery status by the message number (#42 or 42) or the gateway's id.",
    "help_ref": "message number (#42) or the gateway's message id",
    "help_status_gateway": "gateway to ask about an id this database does not know",
    "help_users": "list, allow, deny or make admin the bot's users (audited as 'command line')",
    "users_description": "Who may use the bot. 'admin' always works: it is the operator's way "
    "back in when no admin is left in Telegram. Every change is written to the audit log.",
    "help_users_list": "the users, then the recent strangers",
    "help_users_allow": "add a user, or rename one",
    "help_user_id_example": "Telegram user id, e.g. 123456789",
    "help_user_name": "a name to show (optional)",
    "help_users_deny": "remove a user (never the last admin)",
    "help_user_id": "Telegram user id",
    "help_users_admin": "make a user an admin, adding them",
    # --- errors ---
    "error": "error: {message}",
    "error_nothing_sent": "error: {message} Nothing was sent.",
    "error_nothing_changed": "error: {message} Nothing was changed.",
    "error_nothing_asked": "error: {message} Nothing was asked.",
    "gateway_option_empty": "{option} is empty: name an enabled gateway, or leave {option} out.",
    "argument_not_utf8": "{name} holds bytes that are not UTF-8: use plain text.",
    "argument_ref": "The message reference",
    "argument_name": "The name",
    "argument_user_id": "The user id",
    "key_empty": "--key is empty: give a non-blank idempotency key, or leave --key out.",
    "key_too_long": "--key is too long: {length} characters, at most {limit}.",
    "key_control": "--key contains control characters (tabs, newlines…): use printable text.",
    "key_not_utf8": "The --key holds bytes that are not UTF-8: use plain text.",
    "gateways_differ": "--gateway {new!r} and --provider {old!r} name different gateways: "
    "give only --gateway (--provider is its old name).",
    "gateway_error": "{gateway}: {message}",
    "gateway_answer": " (answer: {raw!r})",
    "outcome_unknown": ". The SMS may or may not have been sent; it is not retried "
    "automatically. Check the gateway's dashboard or ask the recipient before sending again",
    "nothing_sent": ". Nothing was sent",
    "sentence_end": ".",
    # --- send ---
    "not_recorded": "warning: #{id}: the result could not be written to the database "
    "({reason}); retrying for up to {seconds:g} s. The line below is the gateway's answer "
    "and stands.",
    "still_not_recorded": "warning: #{id}: still not written; the record stays 'sending' "
    "and will read as 'unknown'.",
    "finishing_send": "{signal}: finishing the send in flight first…",
    "duplicate": "#{id} was already requested with this key (state: {state}{detail}); "
    "nothing was sent again.",
    "send_failed": "error: #{id}: {reason}",
    "sent_balance": ", balance {amount} {unit}",
    "sent_sandbox": "accepted by the sandbox (nothing was really sent)",
    "sent_via": "sent via {gateway}",
    "sent_after": " after {failed}",
    "gateway_failed": "{gateway} failed",
    "sent": "#{id} {via}{failover}: gateway id {gateway_id}{balance}",
    # --- balance ---
    "balance": "{gateway}: {amount} {unit}{note}",
    "balance_simulated": " (simulated)",
    "balance_from_send": " as of the last send, {at:%Y-%m-%d %H:%M} UTC",
    "balance_error": "{gateway}: error: {reason}",
    "balance_none_yet": "{gateway}: not known yet (the gateway reports it only with a send)",
    # --- status ---
    "no_message": "there is no message {ref}.",
    "status_record": "#{id} to {recipient} via {gateway}: {state}",
    "status_detail": "({detail})",
    "status_of_gateway_id": "{gateway} id {gateway_id}: {state}",
    "status_code": "[{code} {name}]",
    "status_no_request": "- {gateway} offers no delivery status",
    "status_not_configured": "- {gateway} is not configured here, so it was not asked; "
    "this is the last known state (as of {at:%Y-%m-%d %H:%M} UTC)",
    # --- users ---
    "not_a_user_id": "{raw!r} is not a Telegram user id (a positive number such as 123456789).",
    "last_admin": "{user_id} is the last admin and cannot be removed.",
    "no_user": "there is no user {user_id}.",
    "user_removed": "{user_id} removed; their open previews were cancelled.",
    "user_added": "{user_id} ({name}) added{role}.",
    "user_updated": "{user_id} ({name}) updated{role}.",
    "as_admin": " as an admin",
    "users_title": "users:",
    "users_none": "users: none (add an admin: python -m bot users admin ID)",
    "user_is_admin": "(admin)",
    "user_added_at": "- added {at:%Y-%m-%d %H:%M} UTC",
    "user_added_by": " by {by}",
    "user_limits": "- limits {per_minute} a minute, {per_day} a day",
    "limit_default": "default",
    "strangers_title": "recent strangers (refused):",
    "stranger": "  {user_id}: {count} time(s), last {at:%Y-%m-%d %H:%M} UTC ({detail})",
    # --- the HTTP API ---
    "help_serve": "run only the HTTP API (HTTP_PORT), without Telegram",
}


def say(key: str, **params: object) -> str:
    """The command line's text ``key``, with ``params`` filled in (plain text)."""
    return CLI_TEXTS[key].format(**params)
