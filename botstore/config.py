"""Settings: config.toml, overridden by BOTSTORE_<SECTION>_<KEY> environment variables."""

import dataclasses
import ipaddress
import os
import re
import secrets
import string
import tomllib
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, get_type_hints
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from botstore.i18n import LOCALES
from botstore.paths import DEFAULT_CONFIG

DEFAULT_PATH = DEFAULT_CONFIG


class ConfigError(Exception):
    """A setting is missing or wrong; the message names the key."""


def _check(rule: Callable[[Any], bool], message: str) -> dict[str, Any]:
    return {"check": (rule, message)}


@dataclasses.dataclass(frozen=True, slots=True)
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = dataclasses.field(
        default=8080, metadata=_check(lambda v: 0 < v < 65536, "must be 1-65535")
    )
    max_body_bytes: int = dataclasses.field(
        default=1 << 20, metadata=_check(lambda v: v >= 1024, "must be at least 1024")
    )
    reply_budget_seconds: float = dataclasses.field(
        default=4.5, metadata=_check(lambda v: 0 < v <= 60, "must be between 0 and 60")
    )
    # Empty: http://<host>:<port>, so a port changed by BOTSTORE_SERVER_PORT or --port is in links.
    public_url: str = dataclasses.field(
        default="",
        metadata=_check(
            lambda v: v == "" or v.startswith(("http://", "https://")),
            "must be an http(s) URL, or empty for http://<host>:<port>",
        ),
    )
    workers: int = dataclasses.field(
        default=1, metadata=_check(lambda v: 1 <= v <= 64, "must be 1-64")
    )

    @property
    def base_url(self) -> str:
        """Where fans' clients reach this server, for links in replies and pages (no trailing
        slash): `public_url`, else this server's own host and port."""
        return self.public_url.rstrip("/") or self.local_url

    @property
    def local_url(self) -> str:
        """http://<host>:<port> as a URL writes it: an IPv6 address in brackets, a wildcard as
        loopback (the console answers loopback names only)."""
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host
        return f"http://[{host}]:{self.port}" if ":" in host else f"http://{host}:{self.port}"


@dataclasses.dataclass(frozen=True, slots=True)
class DatabaseConfig:
    url: str = dataclasses.field(
        default="sqlite+aiosqlite:///botstore.db",
        metadata=_check(
            lambda v: v.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")),
            "must start with sqlite+aiosqlite:// or postgresql+asyncpg://",
        ),
    )
    seed_demo: bool = True


def _is_aes_key(value: str) -> bool:
    return re.fullmatch(r"[A-Za-z0-9]{43}", value) is not None


@dataclasses.dataclass(frozen=True, slots=True)
class WeChatConfig:
    path: str = dataclasses.field(
        default="/wechat", metadata=_check(lambda v: v.startswith("/"), "must start with /")
    )
    token: str = dataclasses.field(
        default="botstore",
        # The console's rule (wechat-protocol.md section 0).
        metadata=_check(
            lambda v: re.fullmatch(r"[A-Za-z0-9]{3,32}", v) is not None,
            "must be 3-32 letters/digits",
        ),
    )
    app_id: str = dataclasses.field(
        default="wx0123456789abcdef", metadata=_check(bool, "must not be empty")
    )
    app_secret: str = "0123456789abcdef0123456789abcdef"
    encoding_aes_key: str = dataclasses.field(
        default="abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
        metadata=_check(_is_aes_key, "must be 43 letters/digits"),
    )
    previous_encoding_aes_key: str = dataclasses.field(
        default="",
        metadata=_check(lambda v: v == "" or _is_aes_key(v), "must be 43 letters/digits or empty"),
    )
    mode: str = dataclasses.field(
        default="compatible",
        metadata=_check(
            lambda v: v in ("plaintext", "compatible", "safe"),
            "must be plaintext, compatible or safe",
        ),
    )
    account_id: str = dataclasses.field(
        default="gh_b0757e5d0a1e", metadata=_check(bool, "must not be empty")
    )
    timestamp_window_seconds: int = dataclasses.field(
        default=300, metadata=_check(lambda v: v >= 0, "must be 0 (off) or more")
    )
    # A fan's language until they type a command or choose one (the platform's default).
    language: str = dataclasses.field(
        default="zh_CN", metadata=_check(lambda v: v in LOCALES, "must be zh_CN or en")
    )


@dataclasses.dataclass(frozen=True, slots=True)
class MiniProgramConfig:
    """The account's mini program: an app of its own, with its own openids (one unionid)."""

    app_id: str = dataclasses.field(
        default="wxf0e1d2c3b4a59687", metadata=_check(bool, "must not be empty")
    )
    app_secret: str = "fedcba9876543210fedcba9876543210"


@dataclasses.dataclass(frozen=True, slots=True)
class AdminConfig:
    token: str = dataclasses.field(default="change-me", metadata=_check(bool, "must not be empty"))
    # Wrong admin tokens one client address may try in a minute before every try is refused.
    failed_signins_per_minute: int = dataclasses.field(
        default=20, metadata=_check(lambda v: v >= 0, "must be 0 (no limit) or more")
    )


def _is_zone(value: str) -> bool:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _is_yuan(value: str) -> bool:
    try:
        amount = Decimal(value)
    except InvalidOperation:
        return False
    return amount.is_finite() and amount >= 0 and (amount * 100) % 1 == 0


@dataclasses.dataclass(frozen=True, slots=True)
class WalletConfig:
    topup_daily_cap_yuan: str = dataclasses.field(
        default="5000", metadata=_check(_is_yuan, "must be an amount in yuan, e.g. 5000 or 99.5")
    )
    timezone: str = dataclasses.field(
        default="Asia/Shanghai", metadata=_check(_is_zone, "must be an IANA time zone")
    )
    history_size: int = dataclasses.field(
        default=10, metadata=_check(lambda v: 1 <= v <= 100, "must be 1-100")
    )

    @property
    def topup_daily_cap_fen(self) -> int:
        return int(Decimal(self.topup_daily_cap_yuan) * 100)


@dataclasses.dataclass(frozen=True, slots=True)
class DedupConfig:
    retention_seconds: int = dataclasses.field(
        default=86400, metadata=_check(lambda v: v >= 60, "must be at least 60")
    )
    prune_interval_seconds: int = dataclasses.field(
        default=600, metadata=_check(lambda v: v >= 1, "must be at least 1")
    )


@dataclasses.dataclass(frozen=True, slots=True)
class OrdersConfig:
    cancel_after_hours: int = dataclasses.field(
        default=48, metadata=_check(lambda v: v >= 0, "must be 0 or more")
    )
    auto_complete_after_hours: int = dataclasses.field(
        default=240, metadata=_check(lambda v: v >= 1, "must be at least 1")
    )


@dataclasses.dataclass(frozen=True, slots=True)
class SchedulerConfig:
    enabled: bool = True
    tick_seconds: float = dataclasses.field(
        default=30.0, metadata=_check(lambda v: 0 < v <= 86400, "must be between 0 and 86400")
    )
    leader_retry_seconds: float = dataclasses.field(
        default=10.0, metadata=_check(lambda v: 0 < v <= 3600, "must be between 0 and 3600")
    )
    batch_size: int = dataclasses.field(
        default=2500, metadata=_check(lambda v: 1 <= v <= 100_000, "must be 1-100000")
    )


@dataclasses.dataclass(frozen=True, slots=True)
class ArticlesConfig:
    tip_fee_bps: int = dataclasses.field(
        default=0, metadata=_check(lambda v: 0 <= v <= 10000, "must be 0-10000")
    )
    ad_clicks_per_fan_per_day: int = dataclasses.field(
        default=1, metadata=_check(lambda v: 1 <= v <= 100, "must be 1-100")
    )
    ad_link_valid_hours: int = dataclasses.field(
        default=24, metadata=_check(lambda v: 1 <= v <= 720, "must be 1-720")
    )


def parse_levels(text: str) -> tuple[tuple[str, int], ...]:
    """'green:0, gold:500' -> (('green', 0), ('gold', 500)); thresholds start at 0 and rise."""
    levels = []
    for part in text.split(","):
        name, _, threshold = part.strip().partition(":")
        if not name.strip() or not threshold.strip().isdigit():
            raise ValueError(part)
        levels.append((name.strip(), int(threshold)))
    thresholds = [threshold for _, threshold in levels]
    if not levels or thresholds[0] != 0 or thresholds != sorted(set(thresholds)):
        raise ValueError(text)
    return tuple(levels)


def _is_levels(text: str) -> bool:
    try:
        parse_levels(text)
    except ValueError:
        return False
    return True


@dataclasses.dataclass(frozen=True, slots=True)
class MembershipConfig:
    points_per_yuan: int = dataclasses.field(
        default=1, metadata=_check(lambda v: 0 <= v <= 1000, "must be 0-1000")
    )
    levels: str = dataclasses.field(
        default="green:0, gold:500, platinum:2000",
        metadata=_check(_is_levels, "must be name:points pairs from 0 up, e.g. green:0, gold:500"),
    )

    @property
    def level_thresholds(self) -> tuple[tuple[str, int], ...]:
        return parse_levels(self.levels)


@dataclasses.dataclass(frozen=True, slots=True)
class Config:
    server: ServerConfig = ServerConfig()
    database: DatabaseConfig = DatabaseConfig()
    wechat: WeChatConfig = WeChatConfig()
    miniprogram: MiniProgramConfig = MiniProgramConfig()
    admin: AdminConfig = AdminConfig()
    wallet: WalletConfig = WalletConfig()
    dedup: DedupConfig = DedupConfig()
    orders: OrdersConfig = OrdersConfig()
    scheduler: SchedulerConfig = SchedulerConfig()
    articles: ArticlesConfig = ArticlesConfig()
    membership: MembershipConfig = MembershipConfig()

    def replace(self, **sections: Mapping[str, Any]) -> "Config":
        """A copy with some keys changed, e.g. replace(wechat={"mode": "safe"})."""
        changed = {
            name: dataclasses.replace(getattr(self, name), **values)
            for name, values in sections.items()
        }
        return dataclasses.replace(self, **changed)

    def redacted(self) -> dict[str, dict[str, Any]]:
        """The settings with secrets masked, for logs."""
        out = dataclasses.asdict(self)
        for section, key in _SECRETS:
            if out[section][key]:
                out[section][key] = "**********"
        return out


_SECRETS = [
    ("wechat", "token"),
    ("wechat", "app_secret"),
    ("wechat", "encoding_aes_key"),
    ("wechat", "previous_encoding_aes_key"),
    ("miniprogram", "app_secret"),
    ("admin", "token"),
]


def _convert(key: str, kind: type, raw: Any) -> Any:
    if kind is bool:
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, str) and raw.lower() in (
            "1",
            "true",
            "yes",
            "on",
            "0",
            "false",
            "no",
            "off",
        ):
            return raw.lower() in ("1", "true", "yes", "on")
        raise ConfigError(f"{key}: must be true or false (got {raw!r})")
    if kind is int:
        if isinstance(raw, bool) or not isinstance(raw, int | str):
            raise ConfigError(f"{key}: must be a whole number (got {raw!r})")
        try:
            return int(raw)
        except ValueError:
            raise ConfigError(f"{key}: must be a whole number (got {raw!r})") from None
    if kind is float:
        if isinstance(raw, bool) or not isinstance(raw, int | float | str):
            raise ConfigError(f"{key}: must be a number (got {raw!r})")
        try:
            return float(raw)
        except ValueError:
            raise ConfigError(f"{key}: must be a number (got {raw!r})") from None
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        return str(raw)
    if not isinstance(raw, str):
        raise ConfigError(f"{key}: must be a string (got {raw!r})")
    return raw


def _build_section(name: str, cls: type, values: Mapping[str, Any], env: Mapping[str, str]) -> Any:
    hints = get_type_hints(cls)
    known = {field.name for field in dataclasses.fields(cls)}
    for unknown in sorted(set(values) - known):
        raise ConfigError(f"{name}.{unknown}: unknown setting")
    kwargs = {}
    for field in dataclasses.fields(cls):
        key = f"{name}.{field.name}"
        env_name = f"BOTSTORE_{name}_{field.name}".upper()
        if env_name in env:
            raw: Any = env[env_name]
        elif field.name in values:
            raw = values[field.name]
        else:
            continue
        value = _convert(key, hints[field.name], raw)
        if "check" in field.metadata:
            rule, message = field.metadata["check"]
            if not rule(value):
                shown = "**********" if (name, field.name) in _SECRETS else repr(value)
                raise ConfigError(f"{key}: {message} (got {shown})")
        kwargs[field.name] = value
    return cls(**kwargs)


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and localhost: a server only this machine can reach."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip().strip("[]")).is_loopback
    except ValueError:
        return False  # any other name may resolve to a public address


# Secrets whose shipped values anyone can read in config.toml (its values are the defaults here,
# tests/test_config.py checks): off loopback each must be the user's own.
_SHIPPED_SECRETS = [
    ("wechat", "token"),
    ("wechat", "app_secret"),
    ("wechat", "encoding_aes_key"),
    ("miniprogram", "app_secret"),
    ("admin", "token"),
]


def _env_name(section: str, key: str) -> str:
    return f"BOTSTORE_{section}_{key}".upper()


def _shipped_in_use(config: Config) -> list[str]:
    """'section.key (ENV_NAME)' of every secret still at its shipped (public) value, or empty."""
    shipped = Config()
    unsafe = [
        (section, key)
        for section, key in _SHIPPED_SECRETS
        if not (value := getattr(getattr(config, section), key)).strip()
        or value == getattr(getattr(shipped, section), key)
    ]
    # Rotating away from the shipped key would keep it working: it is no secret to rotate from.
    if config.wechat.previous_encoding_aes_key == shipped.wechat.encoding_aes_key:
        unsafe.append(("wechat", "previous_encoding_aes_key"))
    return [f"{section}.{key} ({_env_name(section, key)})" for section, key in unsafe]


def check_exposure(config: Config) -> None:
    """A host other machines can reach needs every secret changed: with the shipped webhook token
    and AES key anyone could sign messages as any fan, with the app secret read every openid
    through /cgi-bin, with the mini program's secret log in as any of its users, with the admin
    token run the admin. Loopback keeps the easy defaults."""
    if is_loopback(config.server.host):
        return
    found = _shipped_in_use(config)
    if found:
        values = "the shipped value" if len(found) == 1 else "the shipped values"
        raise ConfigError(
            f"{', '.join(found)}: still {values}, which anyone can read; set your own to serve "
            f"on {config.server.host!r} (only a loopback host may keep them). "
            "`python -m botstore secrets` prints fresh ones (a token is 3-32 letters/digits, "
            "an EncodingAESKey 43)"
        )


def check_workers(config: Config) -> None:
    """Several server processes need PostgreSQL: SQLite has one writer at a time, and processes
    queueing for its lock would only add latency."""
    if config.server.workers > 1 and config.database.url.startswith("sqlite"):
        raise ConfigError(
            f"server.workers: {config.server.workers} workers need PostgreSQL (database.url); "
            "on SQLite serve with one"
        )


def fresh_secrets() -> dict[str, str]:
    """New random values for every shipped secret, by environment variable name."""
    alphabet = string.ascii_letters + string.digits
    return {
        # 32 hex digits: within the console's 3-32 letters/digits, and an AppSecret's shape.
        "BOTSTORE_WECHAT_TOKEN": secrets.token_hex(16),
        "BOTSTORE_WECHAT_APP_SECRET": secrets.token_hex(16),
        "BOTSTORE_WECHAT_ENCODING_AES_KEY": "".join(secrets.choice(alphabet) for _ in range(43)),
        "BOTSTORE_MINIPROGRAM_APP_SECRET": secrets.token_hex(16),
        "BOTSTORE_ADMIN_TOKEN": secrets.token_urlsafe(32),
    }


def load_config(path: Path | str | None = None, env: Mapping[str, str] | None = None) -> Config:
    """Read the TOML file (config.toml by default), then apply BOTSTORE_* overrides."""
    env = os.environ if env is None else env
    path = Path(path) if path is not None else Path(env.get("BOTSTORE_CONFIG", DEFAULT_PATH))
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"config file {path}: not found") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"config file {path}: {error}") from None
    hints = get_type_hints(Config)
    for unknown in sorted(set(data) - set(hints)):
        raise ConfigError(f"{unknown}: unknown section")
    sections = {}
    for name, cls in hints.items():
        values = data.get(name, {})
        if not isinstance(values, dict):
            raise ConfigError(f"{name}: must be a table")
        sections[name] = _build_section(name, cls, values, env)
    config = Config(**sections)
    if config.miniprogram.app_id == config.wechat.app_id:
        # Tokens and openids are per app: one appid for both would make them ambiguous.
        raise ConfigError(
            f"miniprogram.app_id: must differ from wechat.app_id (both {config.wechat.app_id!r})"
        )
    return config
