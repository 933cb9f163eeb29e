"""Shared test helpers: a router of probe commands and database counters."""

import asyncio
import hashlib

import sqlalchemy
from sqlalchemy import func
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import SQLModel, select
from sqlmodel.ext.asyncio.session import AsyncSession

from botstore.money import Fen
from botstore.router import Context, Router, Text, Word
from botstore.services import ledger, wallet
from botstore.wechat import (
    Article,
    ImageReply,
    MusicReply,
    NewsReply,
    Reply,
    TextReply,
    TransferCustomerServiceReply,
    VideoReply,
    VoiceReply,
)

probe = Router(name="tests.probe", title="Probe")


@probe.command("echo")
async def echo(ctx: Context, text: Text) -> Reply:
    """Replies with the text as given."""
    return TextReply(text)


@probe.command("kind")
async def kind(ctx: Context, reply_type: Word) -> Reply:
    """Replies with one reply of each type."""
    replies: dict[str, Reply] = {
        "image": ImageReply("media-image-1"),
        "voice": VoiceReply("media-voice-1"),
        "video": VideoReply("media-video-1", title="A video", description="about <things>"),
        "music": MusicReply("Song", "desc", "http://m/1.mp3", "http://m/1hq.mp3", "thumb-1"),
        "news": NewsReply(
            (Article("Title & more", "desc ]]> end", "http://p/1.png", "http://u/1"),)
        ),
        "transfer": TransferCustomerServiceReply("agent@botstore"),
        "transfer_any": TransferCustomerServiceReply(),
    }
    return replies[reply_type]


@probe.command("spend")
async def spend(ctx: Context, amount: Fen) -> Reply:
    """Moves money from the wallet to the platform."""
    platform = await ledger.system_account(ctx.session, "platform")
    await ledger.transfer(
        ctx.session,
        key=f"{ctx.dedup_key}:spend",
        kind="spend",
        legs=[ledger.Leg(wallet.wallet_id(ctx.fan), -amount), ledger.Leg(platform.id, amount)],
        now=ctx.now,
    )
    return TextReply(f"spent {amount}")


async def top_up_one_yuan(ctx: Context, role: str) -> None:
    """What the held and slow probes do once let through: a ¥1 top-up keyed on the message."""
    outside = await ledger.system_account(ctx.session, "outside")
    await ledger.transfer(
        ctx.session,
        key=f"{ctx.dedup_key}:{role}",
        kind="topup",
        legs=[ledger.Leg(outside.id, -100), ledger.Leg(wallet.wallet_id(ctx.fan), 100)],
        now=ctx.now,
    )


@probe.command("slow")
async def slow(ctx: Context, seconds: Word) -> Reply:
    """Takes its time (real seconds), then tops up 1 yuan."""
    await asyncio.sleep(float(seconds))
    await top_up_one_yuan(ctx, "slow")
    return TextReply("done slowly")


async def count(sessions: async_sessionmaker[AsyncSession], table: type[SQLModel]) -> int:
    async with sessions() as session:
        return (await session.exec(select(func.count()).select_from(table))).one()


async def digest(sessions: async_sessionmaker[AsyncSession]) -> str:
    """A hash of every row of every table: equal means nothing was stored or changed."""
    hasher = hashlib.sha256()
    async with sessions() as session:
        connection = await session.connection()
        for table in SQLModel.metadata.sorted_tables:
            rows = await connection.execute(
                sqlalchemy.select(table).order_by(*table.primary_key.columns)
            )
            hasher.update(repr(rows.all()).encode())
    return hasher.hexdigest()
