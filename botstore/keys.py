"""Typed keys of everything the web app holds."""

import asyncio

from aiohttp import web
from jinja2 import Environment
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from botstore.clock import Clock
from botstore.config import Config
from botstore.router import Dispatcher, Router
from botstore.scheduler import Scheduler
from botstore.signed_queries import SeenQueries
from botstore.wechat import ReplyRenderer, WeChatCrypto
from botstore.wxpay.platform import PlatformCache

config_key = web.AppKey("config", Config)
clock_key = web.AppKey("clock", Clock)
engine_key = web.AppKey("engine", AsyncEngine)
db_key = web.AppKey("db", async_sessionmaker[AsyncSession])
routers_key = web.AppKey("routers", list[Router])
dispatcher_key = web.AppKey("dispatcher", Dispatcher)
crypto_key = web.AppKey("crypto", WeChatCrypto)
xml_key = web.AppKey("xml", ReplyRenderer)
seen_queries_key = web.AppKey("seen_queries", SeenQueries)
background_key = web.AppKey("background", set[asyncio.Task[object]])
scheduler_key = web.AppKey("scheduler", Scheduler)
wxpay_platform_key = web.AppKey("wxpay_platform", PlatformCache)
# The public pages' environments, one per locale (botstore/pages/language.py picks one).
page_envs_key = web.AppKey("page_envs", dict[str, Environment])
