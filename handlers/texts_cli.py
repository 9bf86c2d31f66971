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
    '  python -m bot send "79123456789, +7 912 345-67-80" Server is down\n'
    "  python -m bot send --to-file numbers.txt --skip-invalid --json Server is down\n"
    "  python -m bot job resume 12   # send what a stopped send to many left\n"
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
    "send_description": "Send an SMS to one recipient or to many (one job). TEXT may be several "
    "words; '-' reads it from standard input.",
    "help_phone": "recipient(s): a number (79123456789, +7 912 345-67-89) or a list of numbers, "
    "contact names and groups separated by ',' or ';' (e.g. 'oncall,Petr,79123456789')",
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
    "user_limits": "- limits {per_minute} sends a minute, {per_day} SMS a day",
    "limit_default": "default",
    "strangers_title": "recent strangers (refused):",
    "stranger": "  {user_id}: {count} time(s), last {at:%Y-%m-%d %H:%M} UTC ({detail})",
    # --- contacts ---
    "help_contacts": "the team's address book: list, add, del, import, export",
    "contacts_description": "Contacts (a name and a number) and their groups, which /send, "
    "the command line and the HTTP API take as recipients. Names are case-insensitive; a "
    "group name is one word. CSV: the columns name,phone,groups (a header line is optional), "
    "the groups of a contact separated by blanks or ';'. Every change is written to the "
    "audit log.",
    "help_contacts_list": "every contact, then the groups with their sizes",
    "help_contacts_add": "add a contact, or change the number and groups of one",
    "help_contact_name": "the contact's name (quote a name of several words)",
    "help_contact_groups": "the groups to put the contact in (one word each)",
    "help_contacts_del": "remove a contact",
    "help_contacts_import": "add or update contacts from a CSV file: all lines or none",
    "help_contacts_file": "the CSV file (- reads standard input)",
    "help_contacts_dry_run": "check the file and say what would change, changing nothing",
    "help_contacts_export": "print every contact as CSV (what import reads back)",
    "contacts_file_unreadable": "cannot read {file}: {reason}.",
    "contacts_not_utf8": "it is not UTF-8 text (save it as CSV UTF-8)",
    "contacts_too_many_columns": "{count} columns: a line has name, phone and groups "
    "(quote a cell holding a comma)",
    "contacts_refused_line": "line {line}: {reason}",
    "contacts_import_refused": "{count} line(s) refused (listed above); {valid} line(s) "
    "were good. Nothing was imported: fix the lines and run it again.",
    "contacts_would_import": "the file is good: it would add {created} contact(s) and update "
    "{updated} ({unchanged} unchanged). Nothing was changed (--dry-run).",
    "contacts_imported": "imported: {created} contact(s) added, {updated} updated, "
    "{unchanged} unchanged.",
    "contact_line": "{name}: +{phone}",
    "contact_groups": " [{groups}]",
    "contact_added": "added {line}.",
    "contact_updated": "updated {line}.",
    "contact_removed": "removed {line}.",
    "contacts_none": "no contacts yet (add one: python -m bot contacts add NAME PHONE [GROUP...])",
    "contacts_title": "contacts ({count}):",
    "groups_title": "groups:",
    "group_line": "  {name}: {size}",
    # --- bulk send ---
    "help_to_file": "read the recipients from FILE ('-': standard input): one a line, or the "
    "first column of a CSV; blank lines, # comments and a header line are skipped. With "
    "--to-file every argument is the text.",
    "help_skip_invalid": "send to the valid recipients and list the invalid entries on "
    "standard error (default: an invalid entry refuses the whole send)",
    "both_from_stdin": "the text and --to-file cannot both come from standard input ('-').",
    "text_required": "the following arguments are required: TEXT",
    "unrecognized": "unrecognized arguments: {words}",
    "file_not_utf8": "{path} is not UTF-8 text.",
    "file_unreadable": "cannot read {path}: {reason}.",
    "bulk_header": '{where}: "{entry}" is not a number: taken as a header and skipped.',
    "bulk_refused": "error: {count} entry(ies) are not valid recipients; nothing was sent "
    "(fix them, or use --skip-invalid to send to the others):",
    "bulk_refused_short": "{count} entry(ies) are not valid recipients; nothing was sent.",
    "bulk_refused_entry": '  {where}: "{entry}"{name}: {reason}',
    "bulk_skipped": "skipped {line}",
    "bulk_duplicate_entry": '{where}: "{entry}" is {number} again (as at {first}): sent once.',
    "bulk_no_recipient": "there is no recipient.",
    "bulk_stopping": "{signal}: sending nothing more; the SMS in flight finish first…",
    "bulk_left_queued": "not sent: the command was stopped before its turn; nothing was sent",
    "bulk_not_recorded": "{count} result(s) could not be written to the database yet; "
    "retrying for up to 30 s…",
    "bulk_still_not_recorded": "some results are still not recorded; they are shown above "
    "as the gateway said.",
    "bulk_summary": "job {id}: {total} recipient(s) via {gateway}: {counts}",
    "bulk_duplicate_job": "this --key was used before: nothing was sent again; "
    "the first job's recipients are shown.",
    "bulk_recipient": "  {number}{name} #{id}: {state}: {error}",
    "bulk_interrupted": "stopped by {signal}: {count} recipient(s) were not sent (still "
    "queued, nothing of them went out). Send them: python -m bot job resume {id}; "
    "or drop them: python -m bot job cancel {id}",
    "help_job": "send or drop what a stopped send to many left unsent",
    "job_description": "A send to many stopped by SIGINT/SIGTERM leaves the recipients not "
    "yet sent queued (nothing of them went out): 'resume' sends them (never one twice), "
    "'cancel' drops them (they become failed, nothing sent).",
    "help_job_action": "resume: send what is left; cancel: drop it",
    "help_job_id": "the job's number, as the send printed it",
    "not_a_job_id": '"{raw}" is not a job number.',
    "no_cli_job": "there is no command-line job {id}.",
    "job_cancelled": "job {id}: {count} recipient(s) not sent were dropped (nothing of them "
    "was sent).",
    # --- the HTTP API ---
    "help_serve": "run only the HTTP API (HTTP_PORT), without Telegram",
}


def say(key: str, **params: object) -> str:
    """The command line's text ``key``, with ``params`` filled in (plain text)."""
    return CLI_TEXTS[key].format(**params)
