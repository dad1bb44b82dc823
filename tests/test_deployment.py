"""The container files, checked as far as a machine without a Docker engine allows."""

from __future__ import annotations

import re

import yaml

from tests.conftest import ROOT


def test_compose_runs_postgres_redis_a_webhook_bot_and_a_worker() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    services = compose["services"]
    assert services["postgres"]["image"] == "postgres:16"
    assert services["redis"]["image"] == "redis:7"
    assert services["bot"]["command"] == ["wardbot", "run", "--webhook"]
    assert services["worker"]["command"] == ["wardbot", "worker"]
    for name in ("bot", "worker"):
        env = services[name]["environment"]
        assert env["WARDBOT_DATABASE_URL"].startswith("postgresql://")
        assert env["WARDBOT_REDIS_URL"].startswith("redis://redis:6379")
        assert services[name]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert "healthcheck" in services["postgres"] and "healthcheck" in services["redis"]


def test_env_example_names_every_setting_compose_needs() -> None:
    example = (ROOT / ".env.example").read_text(encoding="utf-8")
    for name in (
        "WARDBOT_TELEGRAM_TOKEN",
        "WARDBOT_WEBHOOK_URL",
        "WARDBOT_WEBHOOK_SECRET",
        "POSTGRES_PASSWORD",
    ):
        assert re.search(rf"^{name}=", example, re.M), name


def test_dockerfile_is_multi_stage_and_runs_as_a_user() -> None:
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    stages = re.findall(r"^FROM\s+(\S+)(?:\s+AS\s+(\w+))?", text, re.M)
    assert len(stages) >= 2 and stages[0][1] == "build"
    assert "COPY --from=build" in text
    user = re.findall(r"^USER\s+(\S+)", text, re.M)
    assert user and user[-1] not in ("root", "0")
    # Every path the image copies exists in the repository.
    for source in re.findall(r"^COPY\s+(?!--from)(?:--\S+\s+)*(.+)\s+\S+$", text, re.M):
        for path in source.split():
            assert (ROOT / path).exists(), path
    assert "--frozen" in text and "uv.lock" in text
