"""The only reader of the environment. Tests override `get_settings` or build Settings directly."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from limits import parse
from pydantic import AliasChoices, Field, SecretStr, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from matcher.ann import KINDS, AnnSettings
from matcher.corpus import CORPUS_DIR
from matcher.embed import DEFAULT_MODEL_DIR
from matcher.encoder_backends import BACKENDS, DEFAULT_BACKEND, model_name

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
    # where the encoder runs (matcher/encoder_backends.py): torch, openvino, openvino-int8, …; the vectors' model id
    # carries it, so changing it re-embeds every text once (docs/benchmarks.md, "Query encoding back-ends")
    encoder_backend: str = DEFAULT_BACKEND
    load_demo: bool = False  # load the corpus into the database at start-up (idempotent)
    corpus_dir: Path = CORPUS_DIR

    # the index follows the change log: how often each worker looks (seconds), and when it saves a snapshot
    follow_interval: float = 0.25
    # on PostgreSQL, also wake at once on each commit's NOTIFY (api/change_listener.py); false = polling only
    follow_notify: bool = True
    snapshot_interval: float = 30.0
    snapshot_every_changes: int = 500
    ready_max_lag: int = 1000  # /readyz says "not ready" while more changes than this wait to be applied

    # The approximate (IVF) dense index of each collection (matcher/ann.py), trained in the background once the
    # collection holds `ann_threshold` vectors, and again once it has grown or changed by `ann_retrain_factor`
    # since (api/ann_rebuild.py). Defaults: AnnSettings's, from the figures in docs/benchmarks.md
    ann_threshold: int = Field(default=AnnSettings.threshold, ge=1)
    ann_kind: str = AnnSettings.kind  # ivf-sq8 or ivf-flat
    ann_target_recall: float = Field(default=AnnSettings.target_recall, gt=0, le=1)
    ann_recall_k: int = Field(default=AnnSettings.recall_k, ge=1)
    ann_retrain_factor: float = Field(default=AnnSettings.retrain_factor, gt=1)
    ann_max_probe_share: float = Field(default=AnnSettings.max_probe_share, gt=0, le=1)
    ann_scope_share: float = Field(default=AnnSettings.scope_share, ge=0, le=1)
    ann_retry_after_s: float = Field(default=60.0, ge=0)  # after a failed build, wait this long before the next

    max_body_bytes: int = 256 * 1024  # larger request bodies get 413
    # signs the web pages' session cookies; unset = a random secret per process
    web_secret: SecretStr | None = None

    # Fair use (api/rate_limits.py): requests per account, in the `limits` notation ("30/minute", "500/hour").
    # Counted in this process's memory: with N worker processes an account gets N times as many.
    rate_limit_enabled: bool = True  # false turns both limits off (benchmarks, load tests)
    rate_limit_match: str = "30/minute"  # requests that match: posting a need, re-matching, needs for a seed
    rate_limit_write: str = "60/minute"  # POST/PATCH/DELETE of needs, seeds, researchers, organisations
    # Report jobs (api/reports_jobs.py): how many compute at once in this process, how many more may wait
    report_jobs_running: int = Field(default=1, ge=1)
    report_jobs_waiting: int = Field(default=4, ge=0)
    # ... each searching the seeds in this many Ray shards (matcher/shards.py, api/report_ray.py; the report is the
    # same): 1 = in this worker's thread, as before. The cluster: MATCHER_RAY_ADDRESS (ray://…, host:port, auto);
    # "" = Ray's own search (RAY_ADDRESS, a `ray start` on this node), else a new local cluster of this machine
    report_shards: int = Field(default=1, ge=1)
    ray_address: str = ""
    # how long a report job's files are kept (days): older ones are deleted at start-up and after each job (APPI:
    # a report names researchers' seeds; personal data is not kept longer than its purpose needs)
    report_retention_days: int = Field(default=90, ge=1)

    # Web sessions (api/sessions.py), enforced by the server: ended after this long without a request, and this
    # long after sign-in whatever happens
    session_idle_timeout_s: int = Field(default=2 * 3600, ge=60)
    session_max_age_s: int = Field(default=8 * 3600, ge=60)
    # the cookie's Secure flag: unset = only when the request came over https; true behind a TLS-terminating
    # proxy that forwards plain http (the browser still sees https); also turns on Strict-Transport-Security
    cookie_secure: bool | None = None
    # /docs, /redoc and /openapi.json (served from local assets); false in production hides them
    docs_enabled: bool = True
    # how long the first answer to a request with an Idempotency-Key is kept for its retries (api/idempotency.py)
    idempotency_ttl_s: int = Field(default=24 * 3600, ge=60)

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str | None) -> str | None:
        if value and not value.startswith(("sqlite", "postgresql")):
            raise ValueError("DATABASE_URL must be a sqlite:// or postgresql+psycopg:// URL")
        if value and value.startswith("postgresql://"):
            value = "postgresql+psycopg://" + value.removeprefix("postgresql://")  # psycopg 3, not psycopg2
        return value

    @field_validator("encoder_backend", "ann_kind")
    @classmethod
    def _one_of_the_choices(cls, value: str, info: ValidationInfo) -> str:
        choices = {"encoder_backend": BACKENDS, "ann_kind": KINDS}[str(info.field_name)]
        if value not in choices:
            raise ValueError(f"MATCHER_{str(info.field_name).upper()} must be one of {', '.join(choices)}")
        return value

    @field_validator("rate_limit_match", "rate_limit_write")
    @classmethod
    def _rate_limit(cls, value: str) -> str:
        parse(value)  # a misspelt limit stops the start-up, not the first request
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
    def encoder_model_id(self) -> str:
        """`Encoder.name` of the configured model and back-end, known without loading the model."""
        return model_name(self.model_dir, self.encoder_backend)

    @property
    def ann_settings(self) -> AnnSettings:
        return AnnSettings(threshold=self.ann_threshold, kind=self.ann_kind, target_recall=self.ann_target_recall,
                           recall_k=self.ann_recall_k, retrain_factor=self.ann_retrain_factor,
                           max_probe_share=self.ann_max_probe_share, scope_share=self.ann_scope_share)

    @property
    def resolved_index_dir(self) -> Path:
        return self.index_dir or self.data_dir / "index"


@lru_cache
def get_settings() -> Settings:
    return Settings()
