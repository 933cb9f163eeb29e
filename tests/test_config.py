"""Settings: the file, environment overrides, and one-line errors naming the key."""

import subprocess
import sys
from pathlib import Path

import pytest

from botstore.config import DEFAULT_PATH, Config, ConfigError, check_exposure, load_config


def test_the_shipped_config_loads_with_working_defaults() -> None:
    config = load_config(DEFAULT_PATH, env={})
    assert config.server.port == 8080
    assert config.database.url.startswith("sqlite+aiosqlite:///")
    assert config.wechat.mode == "compatible"
    assert config.wallet.topup_daily_cap_fen == 500_000


def test_environment_variables_override_every_section() -> None:
    env = {
        "BOTSTORE_SERVER_PORT": "9000",
        "BOTSTORE_DATABASE_URL": "postgresql+asyncpg://u@h/db",
        "BOTSTORE_WECHAT_TOKEN": "abc123",
        "BOTSTORE_WECHAT_APP_ID": "wx1",
        "BOTSTORE_WECHAT_ENCODING_AES_KEY": "B" * 43,
        "BOTSTORE_WECHAT_MODE": "safe",
        "BOTSTORE_WECHAT_ACCOUNT_ID": "gh_1",
        "BOTSTORE_ADMIN_TOKEN": "secret",
        "BOTSTORE_DATABASE_SEED_DEMO": "false",
    }
    config = load_config(DEFAULT_PATH, env=env)
    assert config.server.port == 9000
    assert config.database.url == "postgresql+asyncpg://u@h/db"
    assert (config.wechat.token, config.wechat.app_id, config.wechat.mode) == (
        "abc123",
        "wx1",
        "safe",
    )
    assert config.wechat.encoding_aes_key == "B" * 43
    assert config.wechat.account_id == "gh_1"
    assert config.admin.token == "secret"
    assert config.database.seed_demo is False


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"BOTSTORE_WECHAT_MODE": "secret"},
            "wechat.mode: must be plaintext, compatible or safe (got 'secret')",
        ),
        ({"BOTSTORE_SERVER_PORT": "eighty"}, "server.port: must be a whole number (got 'eighty')"),
        ({"BOTSTORE_SERVER_PORT": "70000"}, "server.port: must be 1-65535 (got 70000)"),
        (
            {"BOTSTORE_WECHAT_ENCODING_AES_KEY": "short"},
            "wechat.encoding_aes_key: must be 43 letters/digits (got **********)",
        ),
        (
            {"BOTSTORE_DATABASE_URL": "mysql://x"},
            "database.url: must start with sqlite+aiosqlite:// or postgresql+asyncpg:// (got 'mysql://x')",
        ),
        (
            {"BOTSTORE_WECHAT_TOKEN": "a b"},
            "wechat.token: must be 3-32 letters/digits (got **********)",
        ),
        (
            {"BOTSTORE_WALLET_TIMEZONE": "Mars/Olympus"},
            "wallet.timezone: must be an IANA time zone (got 'Mars/Olympus')",
        ),
        (
            {"BOTSTORE_DATABASE_SEED_DEMO": "maybe"},
            "database.seed_demo: must be true or false (got 'maybe')",
        ),
    ],
)
def test_a_bad_value_names_the_key(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as error:
        load_config(DEFAULT_PATH, env=env)
    assert str(error.value) == message


def test_unknown_keys_and_sections_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[server]\nprot = 1\n")
    with pytest.raises(ConfigError, match=r"^server.prot: unknown setting$"):
        load_config(path, env={})
    path.write_text("[serve]\nport = 1\n")
    with pytest.raises(ConfigError, match=r"^serve: unknown section$"):
        load_config(path, env={})


def test_secrets_are_masked_when_printed() -> None:
    redacted = load_config(DEFAULT_PATH, env={}).redacted()
    assert redacted["wechat"]["token"] == "**********"
    assert redacted["admin"]["token"] == "**********"
    assert redacted["server"]["port"] == 8080


def test_serve_with_a_bad_value_stops_with_one_line(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "botstore", "serve"],
        env={"BOTSTORE_WECHAT_MODE": "secret", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert result.returncode == 2
    assert result.stderr == (
        "botstore: bad config: wechat.mode: must be plaintext, compatible or safe (got 'secret')\n"
    )


@pytest.mark.parametrize(
    "levels", ["gold:500", "green:0, gold:x", "green:0, gold:0", "", "green:0,,"]
)
def test_membership_levels_must_start_at_zero_and_rise(levels: str) -> None:
    with pytest.raises(ConfigError, match=r"^membership.levels: must be name:points pairs"):
        load_config(DEFAULT_PATH, env={"BOTSTORE_MEMBERSHIP_LEVELS": levels})


def test_the_shipped_config_is_the_defaults() -> None:
    # Off loopback, serve refuses secrets equal to these defaults (check_exposure): config.toml
    # must ship the very same values, or its public ones would pass as the user's own.
    assert load_config(DEFAULT_PATH, env={}) == Config()


def test_the_mini_program_has_its_own_appid_and_secret_from_the_environment() -> None:
    config = load_config(
        DEFAULT_PATH,
        env={
            "BOTSTORE_MINIPROGRAM_APP_ID": "wx00000000000000aa",
            "BOTSTORE_MINIPROGRAM_APP_SECRET": "mine",
        },
    )
    assert (config.miniprogram.app_id, config.miniprogram.app_secret) == (
        "wx00000000000000aa",
        "mine",
    )
    assert config.redacted()["miniprogram"]["app_secret"] == "**********"


def test_the_mini_program_appid_must_differ_from_the_account_appid() -> None:
    with pytest.raises(ConfigError, match=r"^miniprogram.app_id: must differ from wechat.app_id"):
        load_config(DEFAULT_PATH, env={"BOTSTORE_MINIPROGRAM_APP_ID": "wx0123456789abcdef"})


def test_off_loopback_the_shipped_mini_program_secret_is_refused() -> None:
    own = {
        "BOTSTORE_SERVER_HOST": "0.0.0.0",
        "BOTSTORE_WECHAT_TOKEN": "own1token",
        "BOTSTORE_WECHAT_APP_SECRET": "own-secret",
        "BOTSTORE_WECHAT_ENCODING_AES_KEY": "B" * 43,
        "BOTSTORE_ADMIN_TOKEN": "own-admin-token",
    }
    with pytest.raises(ConfigError, match=r"^miniprogram.app_secret \(BOTSTORE_MINIPROGRAM_"):
        check_exposure(load_config(DEFAULT_PATH, env=own))
    mine = own | {"BOTSTORE_MINIPROGRAM_APP_SECRET": "own-mini-secret"}
    check_exposure(load_config(DEFAULT_PATH, env=mine))


def test_the_ad_click_allowance_and_link_lifetime_come_from_the_environment() -> None:
    config = load_config(
        DEFAULT_PATH,
        env={
            "BOTSTORE_ARTICLES_AD_CLICKS_PER_FAN_PER_DAY": "3",
            "BOTSTORE_ARTICLES_AD_LINK_VALID_HOURS": "2",
        },
    )
    assert (config.articles.ad_clicks_per_fan_per_day, config.articles.ad_link_valid_hours) == (
        3,
        2,
    )
    with pytest.raises(ConfigError, match=r"articles.ad_clicks_per_fan_per_day: must be 1-100"):
        load_config(DEFAULT_PATH, env={"BOTSTORE_ARTICLES_AD_CLICKS_PER_FAN_PER_DAY": "0"})


def test_links_follow_the_port_when_no_public_url_is_set() -> None:
    config = load_config(DEFAULT_PATH, env={"BOTSTORE_SERVER_PORT": "9000"})
    assert config.server.public_url == "" and config.server.base_url == "http://127.0.0.1:9000"
    explicit = load_config(
        DEFAULT_PATH, env={"BOTSTORE_SERVER_PUBLIC_URL": "https://botstore.example.com/"}
    )
    assert explicit.server.base_url == "https://botstore.example.com"
    ipv6 = config.replace(server={"host": "::1"})
    assert ipv6.server.base_url == "http://[::1]:9000"
    # Listening on every address: links name loopback, as the start-up line does.
    assert config.replace(server={"host": "0.0.0.0"}).server.base_url == "http://127.0.0.1:9000"
