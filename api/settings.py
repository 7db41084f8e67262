"""The only reader of the environment. Tests override `get_settings` or build Settings directly."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from matcher.corpus import CORPUS_DIR
from matcher.embed import DEFAULT_MODEL_DIR

ROOT = Path(__file__).resolve().parents[1]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MATCHER_", extra="ignore")

    data_dir: Path = ROOT / "var"
    # SQLite in data_dir unless DATABASE_URL names another database (postgresql+psycopg://…).
    database_url: str | None = Field(default=None,
                                     validation_alias=AliasChoices("DATABASE_URL", "MATCHER_DATABASE_URL"))
    model_dir: Path = DEFAULT_MODEL_DIR
    index_dir: Path | None = None  # default: data_dir / "index"
    threads: int = 2
    load_demo: bool = False  # load the corpus into the database at start-up (idempotent)
    corpus_dir: Path = CORPUS_DIR

    max_body_bytes: int = 256 * 1024  # larger request bodies get 413
    # signs the web pages' session cookies; unset = a random secret per process
    web_secret: SecretStr | None = None

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str | None) -> str | None:
        if value and not value.startswith(("sqlite", "postgresql")):
            raise ValueError("DATABASE_URL must be a sqlite:// or postgresql+psycopg:// URL")
        if value and value.startswith("postgresql://"):
            value = "postgresql+psycopg://" + value.removeprefix("postgresql://")  # psycopg 3, not psycopg2
        return value

    @field_validator("web_secret")
    @classmethod
    def _strong_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 32:
            raise ValueError("MATCHER_WEB_SECRET must be at least 32 characters")
        return value

    @property
    def sqlalchemy_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'matcher.db'}"

    @property
    def resolved_index_dir(self) -> Path:
        return self.index_dir or self.data_dir / "index"


@lru_cache
def get_settings() -> Settings:
    return Settings()
