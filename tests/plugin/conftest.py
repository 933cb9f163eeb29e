"""tests/conftest.py defines its own `wechat` (botstore's signing emulator for botstore's own
app); here the plugin's fixture is the one meant, so it is re-exported to take precedence."""

import pytest
from aiohttp import web

from botstore.testing import wechat  # noqa: F401  (the plugin's fixture, re-exported)
from tests.plugin.example_bot import create_bot


@pytest.fixture
def wechat_app() -> web.Application:
    return create_bot()
