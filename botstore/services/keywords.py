"""Merchant keyword rules: exact, contains or regex, highest priority first; their upkeep."""

import logging
import time
import weakref
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

import regex
from sqlalchemy import Connection, Engine, event
from sqlalchemy.orm import Session
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from botstore.db import is_memory
from botstore.errors import BadArgument, NotFound
from botstore.models import KeywordRule, MatchType

log = logging.getLogger(__name__)

MAX_PATTERN = 200
MAX_PRIORITY = 1_000_000
# Every text message runs every enabled regex rule: a pattern that backtracks catastrophically
# on some text (e.g. "(a|aa)+$") gives up after this long and counts as no match.
MATCH_TIMEOUT_SECONDS = 0.05
# At save, a pattern must finish on texts built to make bad patterns backtrack, within this.
PROBE_TIMEOUT_SECONDS = 0.2
PROBE_LENGTH = 1000
REPLY_TYPES = ("text", "news")
# Fields a merchant edits, with their column lengths.
FIELDS = {
    "content": 2000,
    "title": 200,
    "description": 500,
    "url": 500,
    "pic_url": 500,
}


@lru_cache(maxsize=1024)
def _compiled(pattern: str) -> regex.Pattern[str]:
    return regex.compile(pattern, regex.IGNORECASE | regex.VERSION0)


def matches(rule: "KeywordRule | Rule", text: str, folded: str | None = None) -> bool:
    """Whether `rule` matches `text` (`folded`: text.strip().casefold(), if at hand)."""
    if folded is None:
        folded = text.strip().casefold()
    if rule.match_type == MatchType.EXACT:
        return folded == rule.pattern.strip().casefold()
    if rule.match_type == MatchType.CONTAINS:
        return rule.pattern.casefold() in folded
    try:
        return _compiled(rule.pattern).search(text, timeout=MATCH_TIMEOUT_SECONDS) is not None
    except regex.error:
        return False
    except TimeoutError:
        log.warning("keyword rule %s: regex timed out; treated as no match", rule.id)
        return False


_ENABLED_RULES = (
    select(KeywordRule)
    .where(col(KeywordRule.enabled).is_(True))
    .order_by(col(KeywordRule.priority).desc(), col(KeywordRule.id))
)
_ALL_RULES = select(KeywordRule).order_by(col(KeywordRule.priority).desc(), col(KeywordRule.id))


@dataclass(frozen=True, slots=True)
class Rule:
    """An enabled rule as the webhook matches it: a snapshot, safe to share across sessions."""

    id: int
    match_type: str
    pattern: str
    reply_type: str
    content: str
    title: str
    description: str
    url: str
    pic_url: str


class RuleCache:
    """The enabled rules per database, read at most once a second.

    Every text message needs them, and they change only when a merchant edits them. A commit
    that changes a rule in this process forgets its database's entry at once (see
    `_forget_changed_rules`); another process sees the edit within `max_age` seconds.
    """

    def __init__(self, max_age: float = 1.0) -> None:
        self.max_age = max_age
        self._rules: dict[object, tuple[float, tuple[Rule, ...]]] = {}
        # Bumped by every forget: rules read before a change committed are not kept after it.
        self._generation = 0

    async def enabled(self, session: AsyncSession) -> tuple[Rule, ...]:
        key = _database_of(session)
        cached = self._rules.get(key)
        if cached is not None and time.monotonic() - cached[0] < self.max_age:
            return cached[1]
        read_at, generation = time.monotonic(), self._generation
        rules = tuple(
            Rule(
                id=rule.id or 0,
                match_type=rule.match_type,
                pattern=rule.pattern,
                reply_type=rule.reply_type,
                **{name: getattr(rule, name) for name in FIELDS},
            )
            for rule in await session.exec(_ENABLED_RULES)
        )
        if generation == self._generation:
            self._rules[key] = (read_at, rules)
        return rules

    def forget(self, database: object) -> None:
        self._generation += 1
        self._rules.pop(database, None)


rule_cache = RuleCache()


# Each engine's cache key, worked out once: parsing its URL costs ~9 µs a text message.
_database_keys: "weakref.WeakKeyDictionary[Engine, object]" = weakref.WeakKeyDictionary()


def _database_of(session: AsyncSession | Session) -> object:
    """The cache key: the database's URL, so every engine on one database shares the rules;
    an in-memory database is its engine's alone."""
    engine = getattr(session.bind, "sync_engine", session.bind)
    if isinstance(engine, Connection):
        engine = engine.engine
    if not isinstance(engine, Engine):
        return None
    key = _database_keys.get(engine)
    if key is None:
        url = engine.url.render_as_string()
        key = _database_keys[engine] = (url, id(engine)) if is_memory(url) else url
    return key


@event.listens_for(Session, "after_flush")
def _note_changed_rules(session: Session, _context: object) -> None:
    if any(
        isinstance(item, KeywordRule) for item in (*session.new, *session.dirty, *session.deleted)
    ):
        session.info["keyword_rules_changed"] = True


@event.listens_for(Session, "after_commit")
def _forget_changed_rules(session: Session) -> None:
    if session.info.pop("keyword_rules_changed", False):
        rule_cache.forget(_database_of(session))


@event.listens_for(Session, "after_rollback")
def _drop_changed_flag(session: Session) -> None:
    session.info.pop("keyword_rules_changed", None)


async def match(session: AsyncSession, text: str) -> Rule | None:
    """The first enabled rule that matches `text`, or None."""
    rules = await rule_cache.enabled(session)
    folded = text.strip().casefold()  # once, not once per rule
    return next((rule for rule in rules if matches(rule, text, folded)), None)


def _probes(pattern: str) -> list[str]:
    # Long runs of the characters the pattern speaks of, ending in one that breaks the match:
    # the texts on which nested or overlapping quantifiers backtrack exponentially.
    chars = {c for c in pattern if c.isalnum() or c in " -_.,"} | {"a", "1", " "}
    return [c * PROBE_LENGTH + end for c in sorted(chars)[:24] for end in ("!", "\x00")]


def check_regex(pattern: str) -> None:
    """Refuse a pattern that does not compile or backtracks catastrophically."""
    try:
        compiled = _compiled(pattern)
    except regex.error as error:
        raise BadArgument("pattern", pattern, f"not a regular expression: {error}") from None
    for probe in _probes(pattern):
        try:
            compiled.search(probe, timeout=PROBE_TIMEOUT_SECONDS)
        except TimeoutError:
            raise BadArgument(
                "pattern",
                pattern,
                "too slow on long texts (catastrophic backtracking): avoid nested or "
                "overlapping repeats such as (a+)+ or (a|aa)+",
            ) from None


def validate(rule: KeywordRule) -> KeywordRule:
    """Refuse rules that could never work."""
    if rule.match_type not in (MatchType.EXACT, MatchType.CONTAINS, MatchType.REGEX):
        raise BadArgument("match_type", rule.match_type, "exact, contains or regex")
    if not rule.pattern.strip() or len(rule.pattern) > MAX_PATTERN:
        raise BadArgument("pattern", rule.pattern, f"1-{MAX_PATTERN} characters")
    if rule.match_type == MatchType.REGEX:
        check_regex(rule.pattern)
    if rule.reply_type not in REPLY_TYPES:
        raise BadArgument("reply_type", rule.reply_type, "text or news")
    if not -MAX_PRIORITY <= rule.priority <= MAX_PRIORITY:
        raise BadArgument(
            "priority", str(rule.priority), f"from -{MAX_PRIORITY} to {MAX_PRIORITY}"
        )
    for name, limit in FIELDS.items():
        if len(getattr(rule, name)) > limit:
            raise BadArgument(name, getattr(rule, name)[:40], f"at most {limit} characters")
    if rule.reply_type == "text" and not rule.content.strip():
        raise BadArgument("content", "", "a text reply needs its text")
    if rule.reply_type == "news" and not rule.title.strip():
        raise BadArgument("title", "", "a news card needs a title")
    return rule


async def all_rules(session: AsyncSession) -> list[KeywordRule]:
    """Every rule in matching order (disabled ones included)."""
    return list(await session.exec(_ALL_RULES))


async def get(session: AsyncSession, rule_id: int) -> KeywordRule:
    rule = await session.get(KeywordRule, rule_id)
    if rule is None:
        raise NotFound("keyword rule", rule_id)
    return rule


async def create(session: AsyncSession, values: dict[str, Any], *, now: datetime) -> KeywordRule:
    """A new rule from the merchant's fields (validated); ids come on flush."""
    rule = validate(KeywordRule(**values, created_at=now))
    session.add(rule)
    await session.flush()
    return rule


async def update(session: AsyncSession, rule_id: int, changes: dict[str, Any]) -> KeywordRule:
    """Change some fields of a rule; the result must be valid as a whole."""
    rule = await get(session, rule_id)
    candidate = KeywordRule(**{**rule.model_dump(), **changes})
    validate(candidate)
    for name, value in changes.items():
        setattr(rule, name, value)
    await session.flush()
    return rule


async def delete(session: AsyncSession, rule_id: int) -> None:
    await session.delete(await get(session, rule_id))
    await session.flush()


async def reorder(session: AsyncSession, ids: list[int]) -> list[KeywordRule]:
    """Match in the order of `ids` (every rule, each once): priorities become n, n-1, ... 1."""
    rules = {rule.id: rule for rule in await all_rules(session)}
    if len(ids) != len(set(ids)) or set(ids) != set(rules):
        raise BadArgument("ids", str(ids)[:80], f"list every rule id once: {sorted(rules)}")
    for position, rule_id in enumerate(ids):
        rules[rule_id].priority = len(ids) - position
    await session.flush()
    return [rules[rule_id] for rule_id in ids]
