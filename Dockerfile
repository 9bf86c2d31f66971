# smsbot: the Telegram bot, with SQLite on a volume at /data.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PROJECT_ENVIRONMENT=/app/.venv

RUN pip install --no-cache-dir "uv==0.13.9"

WORKDIR /app

# Dependencies first, from the lock file, so code changes do not reinstall them.
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --locked --no-dev --no-install-project

COPY bot ./bot
COPY handlers ./handlers
COPY api ./api
COPY services ./services
COPY storage ./storage
COPY providers ./providers
RUN uv sync --locked --no-dev

RUN useradd --system --uid 10001 --no-create-home --home-dir /nonexistent smsbot \
    && mkdir /data && chown smsbot /data
USER smsbot

ENV PATH=/app/.venv/bin:$PATH \
    DATABASE_PATH=/data/smsbot.sqlite3
VOLUME ["/data"]

# SIGTERM lets sends in flight finish and record their result (SHUTDOWN_GRACE_SECONDS).
STOPSIGNAL SIGTERM

# Asks GET /health of the process (database writable, dispatcher running, each gateway's
# last send). With HTTP_PORT unset there is no server to ask and the check passes: set
# HTTP_PORT (e.g. 8080, HTTP_HOST=0.0.0.0 inside a container) for a meaningful one.
# Standard library only, no curl in a slim image; the start period covers importing aiogram.
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
    CMD ["python", "-m", "bot", "healthcheck"]
CMD ["python", "-m", "bot"]
