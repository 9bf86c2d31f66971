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
CMD ["python", "-m", "bot"]
