"""Routing: commands with typed arguments, events, merchant keyword rules; each message accepted
in one transaction and handled in the next. Knows no HTTP."""

import asyncio
import contextlib
import inspect
import logging
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import partial
from typing import Any, NewType, TypeVar, get_type_hints

from jinja2 import Environment
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from botstore.config import Config
from botstore.db import closing
from botstore.errors import BadArgument, DomainError
from botstore.i18n import EN, N_, locale_of_word
from botstore.images import absolute
from botstore.merchant_sandbox import TemplateLimitExceeded
from botstore.models import Conversation, Fan, KeywordRule
from botstore.money import Fen, parse_yuan
from botstore.numbers import ID_MAX, parse_whole
from botstore.services import conversations, fans, keywords, messages, notices, settings
from botstore.templating import merchant_environment, render_merchant
from botstore.wechat import (
    Article,
    ClickEvent,
    Event,
    InboundMessage,
    NewsReply,
    Reply,
    TextMessage,
    TextReply,
    VoiceMessage,
    build_message_xml,
    parse_message,
    reply_from_dict,
    reply_to_dict,
)
from botstore.wechat.customer_service import reply_to_customer_service

log = logging.getLogger(__name__)

Id = NewType("Id", int)
Qty = NewType("Qty", int)
Text = NewType("Text", str)
Word = NewType("Word", str)

MAX_QTY = 999

_T = TypeVar("_T")


def _parse_id(text: str) -> int:
    ident = parse_whole(text.removeprefix("#"), minimum=1, maximum=ID_MAX)
    if ident is None:
        raise BadArgument("id", text, N_("an id is a number such as #12"))
    return ident


def _parse_qty(text: str) -> int:
    qty = parse_whole(text, minimum=1, maximum=MAX_QTY)
    if qty is None:
        raise BadArgument("quantity", text, N_("a whole number from 1 to 999"))
    return qty


PARSERS: dict[Any, Callable[[str], Any]] = {
    Id: _parse_id,
    Fen: parse_yuan,
    Qty: _parse_qty,
    Word: str,
    str: str,
}


class UsageError(DomainError):
    """The words don't fit the command's form: `problem` is missing (an argument), unexpected
    (extra words), invalid (an argument's `reason`, a catalogue id) or last (an option that
    must come last); the reply template words each in the fan's language."""

    template = "usage"

    def __init__(
        self,
        command: "Command",
        problem: str,
        *,
        param: "Param | None" = None,
        words: str = "",
        reason: str = "",
        values: Mapping[str, object] | None = None,
    ) -> None:
        super().__init__(
            command=command,
            problem=problem,
            param=param,
            words=words,
            reason=reason,
            values=values or {},
        )


@dataclass(frozen=True, slots=True)
class TemplateReplies:
    """Renders reply bodies from templates/replies/, in one environment per locale (built once;
    a message only picks its locale's)."""

    envs: Mapping[str, Environment]
    # Bodies of templates whose context is fixed for the app's life, per (template, locale).
    _fixed: dict[tuple[str, str], str] = field(default_factory=dict, compare=False)

    def render(self, template: str, locale: str = EN, **context: Any) -> str:
        env = self.envs[locale]
        return env.get_template(f"replies/{template}").render(**context).strip()

    def render_fixed(self, template: str, locale: str, **context: Any) -> str:
        """`render` for a template that reads nothing but `context` and the locale, and whose
        `context` never changes while the app runs (help's overview of the registry): rendered
        once per locale. Walking the registry's macros costs more than the rest of a message."""
        key = (template, locale)
        body = self._fixed.get(key)
        if body is None:
            body = self._fixed[key] = self.render(template, locale, **context)
        return body


@dataclass(frozen=True, slots=True)
class Context:
    """All a handler can touch."""

    message: InboundMessage
    fan: Fan
    session: AsyncSession  # this message's unit of work: hand it to services, don't query here
    dedup_key: str  # FromUserName+MsgId, or FromUserName+CreateTime for events
    now: datetime  # the emulated clock, read once per message
    config: Config
    replies: TemplateReplies
    areas: list[tuple[str, list["Command"]]]  # the registry, for help
    merchant_env: Environment | None = None  # the sandbox for merchant-written replies
    # The reply's language: the command word's, else the fan's (Dispatcher.locale_for).
    locale: str = EN

    def text(self, template: str, **context: Any) -> TextReply:
        return TextReply(self.render(template, **context))

    def fixed_text(self, template: str, **context: Any) -> TextReply:
        """A reply that depends only on the language and on `context` fixed for the app's life
        (TemplateReplies.render_fixed): it sees no fan and no config."""
        return TextReply(self.replies.render_fixed(template, self.locale, **context))

    def render(self, template: str, **context: Any) -> str:
        """A reply body in this message's language (news cards use it for their fields)."""
        return self.replies.render(
            template, self.locale, fan=self.fan, config=self.config, **context
        )

    async def account_reply(self, name: str, *, text: str = "") -> Reply | None:
        """The merchant's own reply `name` (settings.WELCOME, ...), or None: use the built-in."""
        value = await settings.reply(self.session, name)
        if value is None:
            return None
        env = self.merchant_env or merchant_environment()
        try:
            return render_merchant_reply(
                env, value, text=text, openid=self.fan.openid, nickname=self.fan.nickname
            )
        except TemplateLimitExceeded as error:  # stopped early: the loop went on serving fans
            log.warning("the %s reply was stopped: %s", name, error)
            return None
        except Exception:  # a merchant's broken template falls back to the built-in reply
            log.warning("the %s reply failed to render", name, exc_info=True)
            return None

    def news(self, *articles: Article) -> NewsReply:
        # botstore's own pictures are kept root-relative; a fan's client fetches PicUrl as is.
        base = self.config.server.base_url
        return NewsReply(
            tuple(
                replace(article, pic_url=absolute(article.pic_url, base)) for article in articles
            )
        )


def _saying_held(ctx: Context, reply: Reply | None) -> Reply | None:
    """A text reply whose command held a notice for another party (outside WeChat's 48-hour
    window, services/notices.py) ends saying who will see it when they next write."""
    held = [party for party in notices.held_for(ctx.session) if party.fan_id != ctx.fan.id]
    if not held or not isinstance(reply, TextReply):
        return reply
    return TextReply(f"{reply.content}\n{ctx.render('_held.txt', held=held)}")


HandlerFn = Callable[..., Awaitable[Reply | None]]
ConversationFn = Callable[["Context", Conversation, str], Awaitable[Reply | None]]


@dataclass(frozen=True, slots=True)
class Param:
    name: str
    parse: Callable[[str], Any]
    rest: bool  # takes the rest of the line
    optional: bool
    default: Any

    @property
    def words(self) -> str:
        """The name as help shows it (a catalogue id: the extractor reads it from handlers)."""
        return self.name.replace("_", " ")

    @property
    def label(self) -> str:
        return f"[{self.words}]" if self.optional else f"<{self.words}>"


@dataclass(frozen=True, slots=True)
class Command:
    name: str
    aliases: tuple[str, ...]
    handler: HandlerFn
    params: tuple[Param, ...]
    summary: str
    area: str
    # Words the fan may type for an option argument (buy's `nocoupon`: 不用券), by locale.
    options: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    @property
    def usage(self) -> str:
        labels = (
            f"[{self.options[param.name]['en']}]" if param.name in self.options else param.label
            for param in self.params
        )
        return " ".join([self.name, *labels])

    def words_in(self, locale: str) -> tuple[str, ...]:
        """The command's words written in `locale` (余额 for zh_CN, balance for en), then
        those of no language ("?"): what help shows a fan of that locale."""
        words = (self.name, *self.aliases)
        # "?" suits every fan; the full-width "？" only those who type Chinese.
        neutral = tuple(
            w for w in words if locale_of_word(w) is None and (w.isascii() or locale != EN)
        )
        return tuple(w for w in words if locale_of_word(w) == locale) + neutral

    def bind(self, words: list[str]) -> list[Any]:
        values: list[Any] = []
        for index, param in enumerate(self.params):
            if param.rest:
                rest = " ".join(words[index:])
                if not rest and not param.optional:
                    raise UsageError(self, "missing", param=param)
                values.append(rest or param.default)
                return values
            if index >= len(words):
                if not param.optional:
                    raise UsageError(self, "missing", param=param)
                values.append(param.default)
                continue
            try:
                values.append(param.parse(words[index]))
            except BadArgument as error:
                raise UsageError(
                    self,
                    "invalid",
                    param=param,
                    reason=error.details["reason"],
                    values=error.details["values"],
                ) from None
        if len(words) > len(self.params):
            raise UsageError(self, "unexpected", words=" ".join(words[len(self.params) :]))
        return values


class Router:
    """Commands and event handlers of one business area, registered by decorators."""

    def __init__(self, *, name: str, title: str) -> None:
        self.name = name
        self.title = title
        self.commands: list[Command] = []
        self.events: dict[str, HandlerFn] = {}
        self.conversations: dict[str, ConversationFn] = {}

    def command(
        self,
        name: str,
        *aliases: str,
        options: Mapping[str, Mapping[str, str]] | None = None,
    ) -> Callable[[HandlerFn], HandlerFn]:
        """Register a command: usage from the parameters, summary from the docstring.

        Name it in English with its Chinese word among the aliases: the word typed decides
        the reply's language. `options` names an option's words per locale, e.g.
        {"nocoupon": {"en": "nocoupon", "zh_CN": "不用券"}}."""

        def register(handler: HandlerFn) -> HandlerFn:
            self.commands.append(
                Command(
                    name=name,
                    aliases=aliases,
                    handler=handler,
                    params=_params(handler),
                    summary=(inspect.getdoc(handler) or "").splitlines()[0]
                    if handler.__doc__
                    else "",
                    area=self.title,
                    options=options or {},
                )
            )
            return handler

        return register

    def event(self, name: str) -> Callable[[HandlerFn], HandlerFn]:
        """Register the handler of an event (case-insensitive, as the SDKs dispatch them)."""

        def register(handler: HandlerFn) -> HandlerFn:
            self.events[name.lower()] = handler
            return handler

        return register

    def conversation(self, kind: str) -> Callable[[ConversationFn], ConversationFn]:
        """Register the handler of a conversation kind: it gets the fan's next texts.

        It returns a reply, or None to hand the text back to normal routing (the fan moved on;
        the handler should have finished the conversation).
        """

        def register(handler: ConversationFn) -> ConversationFn:
            self.conversations[kind] = handler
            return handler

        return register


def _params(handler: HandlerFn) -> tuple[Param, ...]:
    hints = get_type_hints(handler)
    params = list(inspect.signature(handler).parameters.values())[1:]  # after ctx
    out = []
    for index, param in enumerate(params):
        kind = hints.get(param.name, str)
        rest = kind is Text
        if rest and index != len(params) - 1:
            raise TypeError(f"{handler.__name__}: a Text parameter must come last")
        if not rest and kind not in PARSERS:
            raise TypeError(f"{handler.__name__}: no parser for {param.name}: {kind}")
        out.append(
            Param(
                name=param.name,
                parse=str if rest else PARSERS[kind],
                rest=rest,
                optional=param.default is not inspect.Parameter.empty,
                default=None if param.default is inspect.Parameter.empty else param.default,
            )
        )
    return tuple(out)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a message got: the reply (None = "success"), when, and whether it was a retry."""

    reply: Reply | None
    handled_at: datetime
    duplicate: bool


TRANSIENT_ATTEMPTS = 3
# PostgreSQL's deadlock_detected and serialization_failure: the transaction may simply rerun.
TRANSIENT_SQLSTATES = frozenset({"40P01", "40001"})


def is_transient(error: DBAPIError) -> bool:
    return getattr(error.orig, "sqlstate", None) in TRANSIENT_SQLSTATES


class Handoff:
    """Decides, without a race, who delivers a reply: the HTTP response or the outbox.

    The webhook gives up at the reply budget, but only once the message is accepted (durable):
    before that, WeChat's own retry is the message's only copy, so it must not hear `success`.
    The handler claims the passive reply just before it commits. Both run on one event loop with
    no await between test and set, so exactly one side wins.
    """

    def __init__(self) -> None:
        self.state = "pending"
        self.accepted = asyncio.Event()

    def claim_passive(self) -> bool:
        if self.state == "pending":
            self.state = "passive"
        return self.state == "passive"

    def give_up(self) -> bool:
        if self.state == "pending" and self.accepted.is_set():
            self.state = "late"
        return self.state == "late"

    @classmethod
    def late(cls) -> "Handoff":
        """For a message nobody waits on (finished after a restart): the reply goes out later."""
        handoff = cls()
        handoff.accepted.set()
        handoff.give_up()
        return handoff


@dataclass
class Dispatcher:
    """Routes each inbound message inside one database transaction with its dedup key."""

    routers: Iterable[Router]
    sessions: async_sessionmaker[AsyncSession]
    config: Config
    replies: TemplateReplies
    merchant_env: Environment
    commands: dict[str, Command] = field(init=False)
    events: dict[str, HandlerFn] = field(init=False)
    conversations: dict[str, ConversationFn] = field(init=False)
    areas: list[tuple[str, list[Command]]] = field(init=False)
    engine: AsyncEngine = field(init=False)  # the sessions' own, for Core transactions
    # SQLite: messages take the one connection in arrival order (see __post_init__).
    _turns: asyncio.Lock | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        self.engine = self.sessions.kw["bind"]
        if self.engine.dialect.name == "sqlite":
            # The pool's queue is not fair: a connection given back goes to whoever asks next,
            # and a new message, whose statements now run without yielding, often asks before
            # the waiter that was woken runs; that waiter queues again at the back. Under
            # steady load a few messages starved for the whole run. asyncio.Lock is fair: a
            # newcomer queues behind every waiter.
            self._turns = asyncio.Lock()
        self.routers = list(self.routers)
        self.commands, self.events, self.conversations, self.areas = {}, {}, {}, []
        for router in self.routers:
            for command in router.commands:
                for word in (command.name, *command.aliases):
                    if word.lower() in self.commands:
                        raise ValueError(f"command word {word!r} registered twice")
                    self.commands[word.lower()] = command
            self.events.update(router.events)
            self.conversations.update(router.conversations)
            if router.commands:
                self.areas.append((router.title, router.commands))

    async def handle(
        self, message: InboundMessage, *, encrypted: bool, now: datetime, handoff: Handoff
    ) -> Outcome:
        """Handle `message` once; a copy seen before gets the first copy's reply.

        Two transactions: the first accepts the message (its dedup key and log row, committed,
        so that a crash can't lose a message WeChat was told `success` for), the second handles
        it and stores the reply with the key. Both on one connection, taken from the pool once.
        """
        key = message.dedup_key
        turn = self._turns or contextlib.nullcontext()
        async with turn, closing(await self.engine.connect()) as connection:
            await self._retrying(
                key, lambda: self._accept(connection, message, key, encrypted=encrypted, now=now)
            )
            handoff.accepted.set()
            return await self.finish(message, key, now=now, handoff=handoff, bind=connection)

    async def finish(
        self,
        message: InboundMessage,
        key: str,
        *,
        now: datetime,
        handoff: Handoff,
        bind: AsyncConnection | None = None,
    ) -> Outcome:
        """Handle the accepted message `key`, unless a copy of it was handled already; on
        `bind` if given, else on a connection of the pool."""
        return await self._retrying(
            key, lambda: self._finish_once(message, key, now=now, handoff=handoff, bind=bind)
        )

    async def finish_accepted(self, *, now: datetime) -> int:
        """Handle every message accepted but never handled (the server stopped in between),
        once each; their replies go to the outbox. Returns how many were handled here."""
        async with self.sessions() as session:
            pending = await messages.accepted(session)
        handled = 0
        for key, fields in pending:
            try:
                message = parse_message(build_message_xml(fields))
                outcome = await self.finish(message, key, now=now, handoff=Handoff.late())
            except Exception:  # one broken message must not keep the others waiting
                log.exception("accepted message %s could not be handled", key)
                continue
            handled += not outcome.duplicate
        return handled

    async def _retrying(self, key: str, run: Callable[[], Awaitable[_T]]) -> _T:
        # A transaction PostgreSQL aborts to break a deadlock (or a serialization failure)
        # kept nothing, so it runs again from the start, a few times.
        for attempt in range(1, TRANSIENT_ATTEMPTS + 1):
            try:
                return await run()
            except DBAPIError as error:
                if attempt == TRANSIENT_ATTEMPTS or not is_transient(error):
                    raise
                log.warning("message %s: %s; running it again", key, error.orig)
        raise AssertionError("unreachable")

    async def _accept(
        self,
        connection: AsyncConnection,
        message: InboundMessage,
        key: str,
        *,
        encrypted: bool,
        now: datetime,
    ) -> None:
        await messages.accept(
            connection,
            key,
            openid=message.from_user,
            msg_type=message.msg_type,
            event=message.event if isinstance(message, Event) else None,
            fields=dict(message.fields),
            encrypted=encrypted,
            now=now,
        )

    async def _finish_once(
        self,
        message: InboundMessage,
        key: str,
        *,
        now: datetime,
        handoff: Handoff,
        bind: AsyncConnection | None,
    ) -> Outcome:
        try:
            return await self._in_transaction(message, key, now, handoff, self.route, bind)
        except _Refused as refused:
            # A refused command keeps nothing it wrote: its whole transaction rolled back (few
            # commands are refused, so this is cheaper than a savepoint around every one). The
            # refusal, rendered before the rollback while what it names was still loaded, is
            # the reply, stored in a transaction of its own.
            refusal = partial(_reply_with, refused.reply)
            return await self._in_transaction(message, key, now, handoff, refusal, bind)

    async def _in_transaction(
        self,
        message: InboundMessage,
        key: str,
        now: datetime,
        handoff: Handoff,
        respond: Callable[[Context], Awaitable[Reply | None]],
        bind: AsyncConnection | None,
    ) -> Outcome:
        """Take `key`, run `respond` and store its reply, in one transaction."""
        session = self.sessions(bind=bind) if bind is not None else self.sessions()
        async with closing(session), session.begin():
            if not await messages.take(session, key):
                stored = await messages.stored_reply(session, key)
                if stored is None:  # pruned since
                    return Outcome(None, now, duplicate=True)
                reply = reply_from_dict(stored.reply) if stored.reply else None
                return Outcome(reply, stored.handled_at, duplicate=True)
            fan = await fans.get_or_create(session, message.from_user, now=now)
            if fan.waiting_notices:  # notices held outside the window go out as the fan writes
                event = message.event if isinstance(message, Event) else None
                await notices.deliver_waiting(
                    session, fan, msg_type=message.msg_type, event=event, now=now
                )
            ctx = Context(
                message,
                fan,
                session,
                key,
                now,
                self.config,
                self.replies,
                self.areas,
                self.merchant_env,
                locale=self.locale_for(message, fan),
            )
            try:
                reply = await respond(ctx)
            except DomainError as error:
                raise _Refused(_refusal(error, ctx)) from error
            reply = _saying_held(ctx, reply)
            await messages.store_reply(
                session, key, reply_to_dict(reply) if reply else None, now=now
            )
            if reply is not None and not handoff.claim_passive():
                # Past the budget the fan got "success": the reply goes out as a
                # customer-service message, committed with everything else.
                messages.send_to_outbox(
                    session,
                    message.from_user,
                    reply_to_customer_service(reply, touser=message.from_user),
                    reason="late_reply",
                    now=now,
                )
        return Outcome(reply, now, duplicate=False)

    def locale_for(self, message: InboundMessage, fan: Fan) -> str:
        """The reply's language: the command word's when the fan typed (or said) one, which
        the fan keeps as theirs; else the fan's (notices, events, unknown text)."""
        text = ""
        if isinstance(message, TextMessage):
            text = message.content
        elif isinstance(message, VoiceMessage):
            text = message.recognition or ""
        words = text.split(maxsplit=1)
        if words and words[0].lower() in self.commands:
            spoken = locale_of_word(words[0])
            if spoken is not None:
                return fans.speaks(fan, spoken)
        return fans.language(fan, default=self.config.wechat.language)

    async def route(self, ctx: Context) -> Reply | None:
        message = ctx.message
        if isinstance(message, ClickEvent):
            # A click button's key names the command it runs (COMMANDS.md, Events).
            return await self.run_text(ctx, message.event_key)
        if isinstance(message, Event):
            handler = self.events.get(message.event.lower())
            return await handler(ctx) if handler else None
        if isinstance(message, TextMessage):
            return await self.run_text(ctx, message.content)
        if isinstance(message, VoiceMessage) and message.recognition:
            return await self.run_text(ctx, message.recognition)
        handler = self.events.get(f"message:{message.msg_type}")
        return await handler(ctx) if handler else None

    async def run_text(self, ctx: Context, text: str) -> Reply | None:
        """Route a fan's text: an open conversation, then keyword rules, then commands."""
        conversation = await conversations.active(ctx.session, ctx.fan, now=ctx.now)
        if conversation is not None:
            handler = self.conversations.get(conversation.kind)
            if handler is None:  # a kind no router handles any more
                await conversations.finish(ctx.session, ctx.fan)
            else:
                reply = await handler(ctx, conversation, text)
                if reply is not None:
                    return reply
        rule = await keywords.match(ctx.session, text)
        if rule is not None:
            reply = self.keyword_reply(rule, ctx, text)
            if reply is not None:  # a rule rendering nothing lets the text go on
                return reply
        words = text.split()
        command = self.commands.get(words[0].lower()) if words else None
        if command is None:
            custom = await ctx.account_reply(settings.DEFAULT_REPLY, text=text)
            return custom or ctx.text("unknown_command.txt", text=_shorten(text))
        return await command.handler(ctx, *command.bind(words[1:]))

    def keyword_reply(self, rule: keywords.Rule, ctx: Context, text: str) -> Reply | None:
        try:
            return render_merchant_reply(
                self.merchant_env,
                rule_fields(rule),
                text=text,
                openid=ctx.fan.openid,
                nickname=ctx.fan.nickname,
            )
        except TemplateLimitExceeded as error:  # stopped early: the loop went on serving fans
            log.warning("keyword rule %s was stopped: %s", rule.id, error)
            return ctx.text("errors/keyword_template.txt", rule=rule)
        except Exception:  # a merchant's broken template must not break the webhook
            log.warning("keyword rule %s failed to render", rule.id, exc_info=True)
            return ctx.text("errors/keyword_template.txt", rule=rule)


class _Refused(Exception):
    """A command's DomainError, with the reply it renders to: rolls the transaction back."""

    def __init__(self, reply: Reply) -> None:
        super().__init__(reply)
        self.reply = reply


async def _reply_with(reply: Reply, _ctx: Context) -> Reply:
    return reply


def _refusal(error: DomainError, ctx: Context) -> Reply:
    return ctx.text(f"errors/{error.template}.txt", error=error, **error.details)


def rule_fields(rule: KeywordRule | keywords.Rule) -> dict[str, str]:
    """A keyword rule's reply in the shape of a reply setting."""
    return {
        "reply_type": rule.reply_type,
        **{
            name: getattr(rule, name)
            for name in ("content", "title", "description", "url", "pic_url")
        },
    }


def render_reply(env: Environment, reply: Mapping[str, str], **values: str) -> Reply:
    """A merchant-written reply (text, or one news card), each field a sandboxed template.

    `values` are what templates see: text (the fan's message), openid, nickname. Template
    errors propagate: callers decide between a fallback and showing them (the admin preview).
    """
    if reply.get("reply_type") == "news":
        article = Article(
            **{
                name: render_merchant(env, reply.get(name, ""), **values)
                for name in ("title", "description", "url", "pic_url")
            }
        )
        return NewsReply((article,))
    return TextReply(render_merchant(env, reply.get("content", ""), **values))


def render_merchant_reply(
    env: Environment, reply: Mapping[str, str], **values: str
) -> Reply | None:
    """`render_reply` as the webhook sends it: None when the templates rendered nothing (WeChat
    would show an empty bubble), so that the caller falls back. The admin preview shows the
    empty reply instead, with `render_reply`."""
    rendered = render_reply(env, reply, **values)
    if isinstance(rendered, TextReply) and not rendered.content.strip():
        return None
    if isinstance(rendered, NewsReply) and not any(a.title.strip() for a in rendered.articles):
        return None
    return rendered


def _shorten(text: str, limit: int = 40) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"
