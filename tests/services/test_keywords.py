"""The keyword-rule cache: what it keeps, and that a change committed mid-read is not lost."""

from datetime import UTC, datetime

from botstore.models import KeywordRule
from botstore.services import keywords
from botstore.services.keywords import RuleCache


async def add_rule(database, pattern: str) -> None:
    async with database() as session, session.begin():
        session.add(
            KeywordRule(
                match_type="exact",
                pattern=pattern,
                content="hi",
                created_at=datetime(2026, 1, 1, tzinfo=UTC),
            )
        )


async def patterns(cache: RuleCache, database) -> list[str]:
    async with database() as session:
        return [rule.pattern for rule in await cache.enabled(session)]


async def test_rules_read_before_a_change_committed_are_not_kept(database, monkeypatch) -> None:
    cache = RuleCache(max_age=60)
    await add_rule(database, "first")
    original_exec = keywords.AsyncSession.exec

    async def exec_then_commit_elsewhere(self, statement, *args, **kwargs):
        rows = list(await original_exec(self, statement, *args, **kwargs))
        # Another request commits a change while this read is in flight.
        cache.forget(keywords._database_of(self))
        return rows

    monkeypatch.setattr(keywords.AsyncSession, "exec", exec_then_commit_elsewhere)
    assert await patterns(cache, database) == ["first"]
    monkeypatch.undo()
    await add_rule(database, "second")  # no cache forget: this test's cache is its own
    assert sorted(await patterns(cache, database)) == ["first", "second"]


async def test_rules_are_kept_until_forgotten(database) -> None:
    cache = RuleCache(max_age=60)
    await add_rule(database, "first")
    assert await patterns(cache, database) == ["first"]
    await add_rule(database, "second")
    assert await patterns(cache, database) == ["first"]  # kept
    async with database() as session:
        cache.forget(keywords._database_of(session))
    assert sorted(await patterns(cache, database)) == ["first", "second"]
