"""Configuration from the environment (MILES_*). With nothing set, miles runs on the embedded default."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MILES_", extra="ignore")

    database_url: str | None = None
    broker_url: str | None = None
    data_dir: Path = Path.home() / ".miles"
    pool_size: int = 10
    max_batch_items: int = 10_000
    max_body_bytes: int = 16 * 1024 * 1024
    log_level: str = "info"


@lru_cache
def settings() -> Settings:
    return Settings()


def database_url_or_none() -> str | None:
    return os.environ.get("MILES_DATABASE_URL") or None
