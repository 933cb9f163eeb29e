"""The pytest plugin against a bot written without botstore (example_bot.py: aiohttp + wechatpy),
in plaintext and AES; and, through pytester, that the entry point registers it and that a
platform-rule warning fails a test."""

from pathlib import Path

import pytest

from botstore.testing import WeChatClient, WeChatLintError
from botstore.wechat import NewsReply, TextReply
from tests.plugin.example_bot import AES_KEY, APP_ID, TOKEN, create_bot

pytest_plugins = ["pytester"]
pytestmark = pytest.mark.wechat(token=TOKEN, app_id=APP_ID, aes_key=AES_KEY)


@pytest.mark.parametrize("aes", [False, True], ids=["plaintext", "aes"])
async def test_the_example_bot_answers_typed_replies(wechat_factory, aes: bool) -> None:
    wechat = wechat_factory(app=create_bot(), aes=aes)
    assert await wechat.say("help") == TextReply("Commands: help, echo <text>, news [n]")
    assert await wechat.say("echo 你好 <b>") == TextReply("你好 <b>")
    news = await wechat.say("news")
    assert isinstance(news, NewsReply) and news.articles[0].title == "Story 1"
    assert await wechat.subscribe() == TextReply("Welcome! Send help.")
    assert await wechat.click("MENU_1") == TextReply("You clicked MENU_1.")
    assert await wechat.image() is None  # "success": nothing to show
    assert wechat.last.is_success
    assert wechat.last.encrypted is aes
    assert await wechat.verify()


async def test_the_wechat_fixture_uses_the_wechat_app_fixture(wechat: WeChatClient) -> None:
    reply = await wechat.say("echo hi")
    assert reply == TextReply("hi")
    assert wechat.last.warnings == []
    assert wechat.last.tries[0].outcome == "answered"


async def test_the_factory_makes_more_fans_of_the_same_bot(
    wechat: WeChatClient, wechat_factory
) -> None:
    other = wechat_factory(openid="o_second_fan", aes=True)
    assert await other.say("echo two") == TextReply("two")
    assert other.last.reply is not None and other.last.reply.to_user == "o_second_fan"
    assert other.last.encrypted and not (await wechat.say("echo one") and wechat.last.encrypted)


async def test_a_lint_warning_fails_with_the_warnings_listed(wechat: WeChatClient) -> None:
    with pytest.raises(WeChatLintError) as raised:
        await wechat.say("news 2")
    assert "the reply to 'news 2' breaks WeChat's rules:\n  - The reply has 2 news" in str(
        raised.value
    )
    with wechat.allow_warnings():
        news = await wechat.say("news 2")
    assert isinstance(news, NewsReply) and len(news.articles) == 2
    assert wechat.lint


@pytest.mark.wechat(lint=False)
async def test_the_marker_opts_out_of_lint(wechat: WeChatClient) -> None:
    news = await wechat.say("news 3")
    assert isinstance(news, NewsReply) and len(news.articles) == 3
    assert wechat.last.warnings


async def test_a_wrong_token_is_a_failure_not_a_silent_none(wechat_factory) -> None:
    wechat = wechat_factory(app=create_bot(), token="wrongtoken")
    with pytest.raises(WeChatLintError, match="HTTP 403"):
        await wechat.say("help")


async def test_a_webhook_url(wechat_factory, aiohttp_server) -> None:
    server = await aiohttp_server(create_bot())
    wechat = wechat_factory(url=str(server.make_url("/wechat")), aes=True)
    assert await wechat.say("echo over HTTP") == TextReply("over HTTP")


async def test_no_bot_to_talk_to_is_a_clear_usage_error(wechat_factory) -> None:
    with pytest.raises(pytest.UsageError, match="wechat_url"):
        await wechat_factory(app=None).say("help")
    with pytest.raises(pytest.UsageError, match="unknown settings"):
        wechat_factory(colour="blue")


def _example_project(pytester: pytest.Pytester) -> None:
    """A project that knows nothing of botstore's tests: the bot, an ini file, a conftest."""
    bot = Path(__file__).with_name("example_bot.py").read_text()
    pytester.makepyfile(example_bot=bot)
    pytester.makeini(
        f"""
        [pytest]
        asyncio_mode = auto
        asyncio_default_fixture_loop_scope = function
        wechat_token = {TOKEN}
        wechat_app_id = {APP_ID}
        wechat_aes_key = {AES_KEY}
        """
    )
    pytester.makeconftest(
        """
        import pytest
        from example_bot import create_bot

        @pytest.fixture
        def wechat_app():
            return create_bot()
        """
    )


def test_the_entry_point_registers_the_plugin_and_lint_fails_a_test(
    pytester: pytest.Pytester,
) -> None:
    _example_project(pytester)
    pytester.makepyfile(
        test_bot="""
        import pytest

        async def test_help(wechat):
            reply = await wechat.say("help")
            assert "echo" in reply.content

        @pytest.mark.wechat(aes=True)
        async def test_help_encrypted(wechat):
            assert (await wechat.say("echo secret")).content == "secret"
            assert wechat.last.encrypted

        async def test_two_news_cards(wechat):
            await wechat.say("news 2")

        @pytest.mark.wechat(lint=False)
        async def test_two_news_cards_allowed(wechat):
            assert len((await wechat.say("news 2")).articles) == 2
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines(["FAILED test_bot.py::test_two_news_cards - *"])
    assert "WeChatLintError: the reply to 'news 2' breaks WeChat's rules:" in result.stdout.str()
    assert "The reply has 2 news articles; WeChat shows only the first" in result.stdout.str()


def test_the_plugin_needs_a_bot_and_says_so(pytester: pytest.Pytester) -> None:
    pytester.makeini(
        "[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n"
        "wechat_token = t0ken\n"
    )
    pytester.makepyfile(
        test_nothing="""
        async def test_help(wechat):
            await wechat.say("help")
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    assert "define a `wechat_app` fixture" in result.stdout.str()
