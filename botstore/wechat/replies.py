"""Passive replies (wechat-protocol.md §3): typed replies, their XML, and parsing it back."""

import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import ClassVar

from jinja2 import Environment
from markupsafe import Markup

from botstore.wechat.messages import INT64_MAX, MessageError, cdata_section, parse_xml_fields

_INT = re.compile(r"[+-]?[0-9]+")


class ReplyError(ValueError):
    """A reply that WeChat would not accept, or stored reply data that is not a reply."""


@dataclass(frozen=True, slots=True)
class TextReply:
    msg_type: ClassVar[str] = "text"
    content: str


@dataclass(frozen=True, slots=True)
class ImageReply:
    msg_type: ClassVar[str] = "image"
    media_id: str


@dataclass(frozen=True, slots=True)
class VoiceReply:
    msg_type: ClassVar[str] = "voice"
    media_id: str


@dataclass(frozen=True, slots=True)
class VideoReply:
    msg_type: ClassVar[str] = "video"
    media_id: str
    title: str = ""
    description: str = ""


@dataclass(frozen=True, slots=True)
class MusicReply:
    msg_type: ClassVar[str] = "music"
    title: str = ""
    description: str = ""
    music_url: str = ""
    hq_music_url: str = ""
    thumb_media_id: str = ""


@dataclass(frozen=True, slots=True)
class Article:
    title: str
    description: str = ""
    pic_url: str = ""
    url: str = ""


@dataclass(frozen=True, slots=True)
class NewsReply:
    msg_type: ClassVar[str] = "news"
    articles: tuple[Article, ...]


@dataclass(frozen=True, slots=True)
class TransferCustomerServiceReply:
    msg_type: ClassVar[str] = "transfer_customer_service"
    # None (or "") hands the fan to any agent; otherwise to this one (§3.2).
    kf_account: str | None = None


Reply = (
    TextReply
    | ImageReply
    | VoiceReply
    | VideoReply
    | MusicReply
    | NewsReply
    | TransferCustomerServiceReply
)

_REPLY_TYPES: dict[str, type[Reply]] = {
    cls.msg_type: cls
    for cls in (
        TextReply,
        ImageReply,
        VoiceReply,
        VideoReply,
        MusicReply,
        NewsReply,
        TransferCustomerServiceReply,
    )
}


@dataclass(frozen=True, slots=True)
class ParsedReply:
    """A passive reply as the platform reads it."""

    to_user: str
    from_user: str
    create_time: int
    reply: Reply


# --- storage --------------------------------------------------------------------------------


def _article_to_dict(article: Article) -> dict[str, object]:
    return {f.name: getattr(article, f.name) for f in fields(article)}


def reply_to_dict(reply: Reply) -> dict[str, object]:
    """Turn a reply into JSON-safe data with a "type" key."""
    data: dict[str, object] = {"type": reply.msg_type}
    for f in fields(reply):
        value = getattr(reply, f.name)
        if isinstance(reply, NewsReply) and f.name == "articles":
            value = [_article_to_dict(article) for article in value]
        data[f.name] = value
    return data


def _strings(cls: type, data: Mapping[str, object], *, nullable: frozenset[str]) -> dict:
    names = {f.name for f in fields(cls)}
    unknown = set(data) - names
    if unknown:
        raise ReplyError(f"unknown {cls.__name__} fields: {', '.join(sorted(unknown))}")
    for name, value in data.items():
        if not (isinstance(value, str) or (value is None and name in nullable)):
            raise ReplyError(f"{cls.__name__}.{name} is not a string")
    return dict(data)


def _article_from_dict(data: object) -> Article:
    if not isinstance(data, Mapping):
        raise ReplyError("an article is not a mapping")
    try:
        return Article(**_strings(Article, data, nullable=frozenset()))
    except TypeError:
        raise ReplyError("an article lacks its title") from None


def reply_from_dict(data: Mapping[str, object]) -> Reply:
    """Rebuild a reply from `reply_to_dict` data."""
    kind = data.get("type")
    cls = _REPLY_TYPES.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise ReplyError(f"unknown reply type {kind!r}")
    rest = {name: value for name, value in data.items() if name != "type"}
    if cls is NewsReply:
        articles = rest.pop("articles", None)
        if not isinstance(articles, list | tuple):
            raise ReplyError("news needs a list of articles")
        if rest:
            raise ReplyError(f"unknown NewsReply fields: {', '.join(sorted(rest))}")
        return NewsReply(articles=tuple(_article_from_dict(item) for item in articles))
    kwargs = _strings(cls, rest, nullable=frozenset({"kf_account"}))
    try:
        return cls(**kwargs)
    except TypeError:
        raise ReplyError(f"{cls.__name__} lacks a required field") from None


# --- XML out --------------------------------------------------------------------------------


def cdata(text: str) -> Markup:
    """Jinja filter: text as a CDATA section that survives `]]>` (STYLE.md §7)."""
    if not isinstance(text, str):
        raise TypeError(f"cdata needs a string, not {type(text).__name__}")
    return Markup(cdata_section(text))


def install_filters(env: Environment) -> None:
    """Add the filters the reply templates use to a Jinja environment."""
    env.filters["cdata"] = cdata


class ReplyRenderer:
    """Renders replies through `templates/replies/xml/<msg_type>.xml`."""

    def __init__(self, env: Environment) -> None:
        install_filters(env)
        self._env = env

    def render(self, reply: Reply, *, to_user: str, from_user: str, create_time: int) -> str:
        """Render a passive reply; to_user is the fan, from_user the account (§3.1)."""
        template = self._env.get_template(f"replies/xml/{reply.msg_type}.xml")
        return template.render(
            reply=reply, to_user=to_user, from_user=from_user, create_time=int(create_time)
        )


# --- XML in (emulator side) -----------------------------------------------------------------


def _text(data: Mapping[str, object], name: str, *, required: bool = False) -> str:
    value = data.get(name)
    if value is None:
        if required:
            raise ReplyError(f"missing {name}")
        return ""
    if not isinstance(value, str):
        raise ReplyError(f"{name} is not text")
    return value


def _group(data: Mapping[str, object], name: str, *, required: bool = False) -> Mapping:
    value = data.get(name)
    if value is None and not required:
        return {}
    if isinstance(value, dict):
        return value
    if isinstance(value, str) and not value.strip():
        return {}
    raise ReplyError(f"missing {name}" if value is None else f"{name} is not a group of elements")


def _int(data: Mapping[str, object], name: str) -> int:
    value = _text(data, name, required=True).strip()
    if not _INT.fullmatch(value):
        raise ReplyError(f"{name} is not an integer")
    # A bot's reply is untrusted too: int() of thousands of digits raises (the digit limit).
    if len(value.lstrip("+-")) > len(str(INT64_MAX)):
        raise ReplyError(f"{name} is too large for a 64-bit integer")
    return int(value)


def _media_id(data: Mapping[str, object], wrapper: str) -> str:
    media_id = _text(_group(data, wrapper, required=True), "MediaId", required=True)
    if not media_id.strip():
        raise ReplyError(f"missing {wrapper}/MediaId")
    return media_id


def _parse_news(data: Mapping[str, object]) -> NewsReply:
    count = _int(data, "ArticleCount")
    items = _group(data, "Articles").get("item", [])
    items = items if isinstance(items, list) else [items]
    if count != len(items):
        # The platform treats a count that disagrees with the items as malformed (§3.2).
        raise ReplyError(f"ArticleCount is {count} but there are {len(items)} articles")
    if not items:
        raise ReplyError("news reply without articles")
    articles = []
    for item in items:
        values = _group({"item": item}, "item")
        articles.append(
            Article(
                title=_text(values, "Title"),
                description=_text(values, "Description"),
                pic_url=_text(values, "PicUrl"),
                url=_text(values, "Url"),
            )
        )
    return NewsReply(articles=tuple(articles))


def _parse_video(data: Mapping[str, object]) -> VideoReply:
    video = _group(data, "Video", required=True)
    return VideoReply(
        media_id=_media_id(data, "Video"),
        title=_text(video, "Title"),
        description=_text(video, "Description"),
    )


def _parse_music(data: Mapping[str, object]) -> MusicReply:
    music = _group(data, "Music", required=True)
    return MusicReply(
        title=_text(music, "Title"),
        description=_text(music, "Description"),
        music_url=_text(music, "MusicUrl"),
        hq_music_url=_text(music, "HQMusicUrl"),
        thumb_media_id=_text(music, "ThumbMediaId"),
    )


def _parse_transfer(data: Mapping[str, object]) -> TransferCustomerServiceReply:
    account = _text(_group(data, "TransInfo"), "KfAccount")
    return TransferCustomerServiceReply(kf_account=account or None)


_PARSERS = {
    "text": lambda data: TextReply(content=_text(data, "Content", required=True)),
    "image": lambda data: ImageReply(media_id=_media_id(data, "Image")),
    "voice": lambda data: VoiceReply(media_id=_media_id(data, "Voice")),
    "video": _parse_video,
    "music": _parse_music,
    "news": _parse_news,
    "transfer_customer_service": _parse_transfer,
}


def parse_reply(xml: str | bytes) -> ParsedReply:
    """Parse and check a plaintext passive reply as the platform would (§3.2, §9)."""
    try:
        data = parse_xml_fields(xml)
    except MessageError as error:
        raise ReplyError(str(error)) from None
    to_user = _text(data, "ToUserName", required=True)
    from_user = _text(data, "FromUserName", required=True)
    create_time = _int(data, "CreateTime")
    msg_type = _text(data, "MsgType", required=True)
    parser = _PARSERS.get(msg_type)
    if parser is None:
        raise ReplyError(f"unknown MsgType {msg_type!r}")
    return ParsedReply(
        to_user=to_user, from_user=from_user, create_time=create_time, reply=parser(data)
    )
