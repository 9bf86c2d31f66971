"""The schema, one script per version; ``PRAGMA user_version`` says how many ran.

Append new versions; never edit one that has shipped. Statements are split on
";", so no trigger bodies here.
"""

MIGRATIONS: list[str] = [
    # 1: users, sends and their history, audit, balances, update de-duplication, previews
    """
    CREATE TABLE users (
        user_id     INTEGER PRIMARY KEY,
        name        TEXT NOT NULL DEFAULT '',
        is_admin    INTEGER NOT NULL DEFAULT 0,
        added_by    INTEGER,
        added_at    TEXT NOT NULL,
        per_minute  INTEGER,
        per_day     INTEGER
    );
    CREATE TABLE messages (
        id                INTEGER PRIMARY KEY AUTOINCREMENT,
        created_at        TEXT NOT NULL,
        updated_at        TEXT NOT NULL,
        source            TEXT NOT NULL,
        user_id           INTEGER,
        user_name         TEXT,
        lang              TEXT,
        chat_id           INTEGER,
        reply_message_id  INTEGER,
        recipient         TEXT NOT NULL,
        text              TEXT NOT NULL,
        encoding          TEXT NOT NULL,
        parts             INTEGER NOT NULL,
        provider          TEXT NOT NULL,
        state             TEXT NOT NULL,
        gateway_id        TEXT,
        error_kind        TEXT,
        error_text        TEXT,
        balance_after     TEXT,
        balance_unit      TEXT,
        simulated         INTEGER NOT NULL DEFAULT 0,
        idempotency_key   TEXT UNIQUE,
        status_code       TEXT,
        status_name       TEXT,
        next_check_at     TEXT,
        checks            INTEGER NOT NULL DEFAULT 0,
        notified          INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX messages_gateway_id ON messages (gateway_id);
    CREATE INDEX messages_user ON messages (user_id, id);
    CREATE INDEX messages_tracking ON messages (next_check_at) WHERE next_check_at IS NOT NULL;
    CREATE INDEX messages_state ON messages (state);
    CREATE TABLE message_events (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        message_id  INTEGER NOT NULL REFERENCES messages (id),
        at          TEXT NOT NULL,
        state       TEXT NOT NULL,
        provider    TEXT,
        detail      TEXT
    );
    CREATE INDEX message_events_message ON message_events (message_id);
    CREATE TABLE audit (
        id       INTEGER PRIMARY KEY AUTOINCREMENT,
        at       TEXT NOT NULL,
        user_id  INTEGER,
        action   TEXT NOT NULL,
        detail   TEXT NOT NULL DEFAULT ''
    );
    CREATE TABLE balances (
        provider    TEXT PRIMARY KEY,
        amount      TEXT NOT NULL,
        unit        TEXT NOT NULL,
        at          TEXT NOT NULL,
        message_id  INTEGER
    );
    CREATE TABLE processed_updates (
        update_id  INTEGER PRIMARY KEY,
        at         TEXT NOT NULL
    );
    CREATE TABLE previews (
        token       TEXT PRIMARY KEY,
        user_id     INTEGER NOT NULL,
        chat_id     INTEGER NOT NULL,
        recipient   TEXT NOT NULL,
        text        TEXT NOT NULL,
        provider    TEXT NOT NULL,
        created_at  TEXT NOT NULL,
        expires_at  TEXT NOT NULL,
        state       TEXT NOT NULL DEFAULT 'open',
        message_id  INTEGER
    )
    """,
    # 2: ADMIN_IDS seed an admin once (a later /deny sticks); one row per refused stranger.
    # The admins present now were seeded by earlier starts, so they count as seen.
    """
    CREATE TABLE seeded_admins (
        user_id  INTEGER PRIMARY KEY,
        at       TEXT NOT NULL
    );
    INSERT INTO seeded_admins (user_id, at) SELECT user_id, added_at FROM users WHERE is_admin = 1;
    CREATE TABLE strangers (
        user_id           INTEGER PRIMARY KEY,
        first_at          TEXT NOT NULL,
        last_at           TEXT NOT NULL,
        count             INTEGER NOT NULL DEFAULT 0,
        last_detail       TEXT NOT NULL DEFAULT '',
        last_answered_at  TEXT
    );
    CREATE INDEX strangers_last_at ON strangers (last_at)
    """,
    # 3: the send pipeline: "queued" before "sending"; when the request started; which
    # state the bot's answer shows (so a change seen by anyone edits it once)
    """
    ALTER TABLE messages ADD COLUMN sending_at TEXT;
    ALTER TABLE messages ADD COLUMN shown_state TEXT;
    ALTER TABLE messages ADD COLUMN failure_told INTEGER NOT NULL DEFAULT 0;
    UPDATE messages SET sending_at = created_at WHERE state = 'sending';
    UPDATE messages SET shown_state = state WHERE reply_message_id IS NOT NULL;
    UPDATE messages SET failure_told = 1 WHERE state IN ('rejected', 'expired', 'deleted');
    UPDATE previews SET state = 'open' WHERE state = 'sending' AND message_id IS NULL;
    CREATE INDEX messages_answers ON messages (id) WHERE chat_id IS NOT NULL AND (
        (reply_message_id IS NOT NULL AND shown_state IS NOT state)
        OR (failure_told = 0 AND state IN ('rejected', 'expired', 'deleted')))
    """,
    # 4: send jobs: one text to one or more recipients, recorded in one transaction; the
    # idempotency key belongs to the job. Every earlier message becomes a job of one.
    """
    CREATE TABLE jobs (
        id               INTEGER PRIMARY KEY AUTOINCREMENT,
        created_at       TEXT NOT NULL,
        source           TEXT NOT NULL,
        user_id          INTEGER,
        user_name        TEXT,
        chat_id          INTEGER,
        lang             TEXT,
        gateway          TEXT NOT NULL,
        text             TEXT NOT NULL,
        idempotency_key  TEXT UNIQUE,
        total            INTEGER NOT NULL
    );
    INSERT INTO jobs (id, created_at, source, user_id, user_name, chat_id, lang, gateway,
                      text, idempotency_key, total)
        SELECT id, created_at, source, user_id, user_name, chat_id, lang, provider, text,
               idempotency_key, 1 FROM messages;
    ALTER TABLE messages ADD COLUMN job_id INTEGER REFERENCES jobs (id);
    UPDATE messages SET job_id = id;
    CREATE INDEX messages_job ON messages (job_id)
    """,
    # 5: a sending row carries the time after which it is stale, by its own sending
    # process's deadline (a reader with shorter time-outs must not call it stale early)
    """
    ALTER TABLE messages ADD COLUMN stale_at TEXT
    """,
    # 6: the team's address book (contacts and their groups); a recipient's contact name
    # on its row (for reports); a bulk job's Stop and its progress message; a preview of
    # several recipients; API tokens (only a hash of each is kept)
    """
    CREATE TABLE contacts (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        name        TEXT NOT NULL,
        name_key    TEXT NOT NULL UNIQUE,
        phone       TEXT NOT NULL,
        added_by    INTEGER,
        added_at    TEXT NOT NULL,
        updated_at  TEXT NOT NULL
    );
    CREATE TABLE contact_groups (
        contact_id  INTEGER NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
        group_key   TEXT NOT NULL,
        group_name  TEXT NOT NULL,
        PRIMARY KEY (contact_id, group_key)
    );
    CREATE INDEX contact_groups_group ON contact_groups (group_key);
    ALTER TABLE messages ADD COLUMN recipient_name TEXT;
    ALTER TABLE jobs ADD COLUMN stopped_at TEXT;
    ALTER TABLE jobs ADD COLUMN progress_chat_id INTEGER;
    ALTER TABLE jobs ADD COLUMN progress_message_id INTEGER;
    ALTER TABLE previews ADD COLUMN recipients TEXT;
    CREATE TABLE api_tokens (
        id            INTEGER PRIMARY KEY AUTOINCREMENT,
        name          TEXT NOT NULL,
        name_key      TEXT NOT NULL UNIQUE,
        token_hash    TEXT NOT NULL UNIQUE,
        scopes        TEXT NOT NULL,
        created_by    INTEGER,
        created_at    TEXT NOT NULL,
        revoked_at    TEXT,
        last_used_at  TEXT,
        per_minute    INTEGER,
        per_day       INTEGER
    );
    ALTER TABLE jobs ADD COLUMN api_token_id INTEGER REFERENCES api_tokens (id)
    """,
    # 7 (operations): the health check's last result per gateway and the metrics'
    # counts by gateway and state read indexes, not the table; the bot's own settings
    # to remember across restarts (the webhook URL it registered)
    """
    CREATE INDEX messages_provider_id ON messages (provider, id);
    CREATE INDEX messages_provider_state ON messages (provider, state);
    CREATE TABLE bot_state (
        key    TEXT PRIMARY KEY,
        value  TEXT NOT NULL
    )
    """,
    # 8: an API job keeps a hash of the request its idempotency key came with, so that
    # the same key with another request is refused instead of answered with this job
    """
    ALTER TABLE jobs ADD COLUMN request_hash TEXT
    """,
]
