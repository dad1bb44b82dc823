# syntax=docker/dockerfile:1
# Build stage: resolve the locked dependencies into a virtual environment.
FROM python:3.11-slim-bookworm AS build
ENV UV_PYTHON_DOWNLOADS=never UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy
RUN pip install --no-cache-dir "uv==0.13.9"
WORKDIR /app
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project
COPY bot ./bot
COPY handlers ./handlers
COPY migrations ./migrations
COPY locales ./locales
COPY examples ./examples
COPY alembic.ini babel.cfg ./
RUN uv sync --frozen --no-dev \
    && .venv/bin/python -c "from bot.i18n import compile_catalogs; compile_catalogs()"

# Run stage: the application and its environment, no build tools, not root.
FROM python:3.11-slim-bookworm
# pg_dump / pg_restore for `wardbot backup` against PostgreSQL.
RUN apt-get update \
    && apt-get install -y --no-install-recommends postgresql-client \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 10001 wardbot
WORKDIR /app
COPY --from=build --chown=wardbot:wardbot /app /app
ENV PATH="/app/.venv/bin:$PATH" PYTHONUNBUFFERED=1
USER wardbot
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz').status == 200 else 1)" || exit 1
CMD ["wardbot", "run", "--webhook"]
