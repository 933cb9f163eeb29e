"""Merchant keyword rules: exact, contains or regex, highest priority first."""

import re

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from botstore.errors import BadArgument
from botstore.models import KeywordRule, MatchType

MAX_PATTERN = 200


def matches(rule: KeywordRule, text: str) -> bool:
    folded = text.strip().casefold()
    if rule.match_type == MatchType.EXACT:
        return folded == rule.pattern.strip().casefold()
    if rule.match_type == MatchType.CONTAINS:
        return rule.pattern.casefold() in folded
    try:
        return re.search(rule.pattern, text, re.IGNORECASE) is not None
    except re.error:
        return False


# Built once: every text message runs it.
_ENABLED_RULES = (
    select(KeywordRule)
    .where(col(KeywordRule.enabled).is_(True))
    .order_by(col(KeywordRule.priority).desc(), col(KeywordRule.id))
)


async def match(session: AsyncSession, text: str) -> KeywordRule | None:
    """The first enabled rule that matches `text`, or None."""
    rules = await session.exec(_ENABLED_RULES)
    return next((rule for rule in rules if matches(rule, text)), None)


def validate(rule: KeywordRule) -> KeywordRule:
    """Refuse rules that could never work."""
    if rule.match_type not in (MatchType.EXACT, MatchType.CONTAINS, MatchType.REGEX):
        raise BadArgument("match_type", rule.match_type, "exact, contains or regex")
    if not rule.pattern or len(rule.pattern) > MAX_PATTERN:
        raise BadArgument("pattern", rule.pattern, f"1-{MAX_PATTERN} characters")
    if rule.match_type == MatchType.REGEX:
        try:
            re.compile(rule.pattern)
        except re.error as error:
            raise BadArgument(
                "pattern", rule.pattern, f"not a regular expression: {error}"
            ) from None
    if rule.reply_type not in ("text", "news"):
        raise BadArgument("reply_type", rule.reply_type, "text or news")
    return rule
