"""Passive replies (wechat-protocol.md §3): rendering, parsing back, storage."""

import json
from pathlib import Path

import pytest
from defusedxml.ElementTree import fromstring
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from botstore.wechat import (
    Article,
    ImageReply,
    MusicReply,
    NewsReply,
    Reply,
    ReplyError,
    ReplyRenderer,
    TextReply,
    TransferCustomerServiceReply,
    VideoReply,
    VoiceReply,
    install_filters,
    parse_reply,
    reply_from_dict,
    reply_to_dict,
)
from botstore.wechat.replies import cdata

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
OPENID = "o9AgO5Kd5ggOC-bXrbNODIiE3bGY"
GH = "gh_97417a04a28d"
NASTY = 'a]]>b <tag> & "q" ]]]]> 中文\nline'


def make_renderer(**options: object) -> ReplyRenderer:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["xml"]),
        undefined=StrictUndefined,
        **options,  # type: ignore[arg-type]
    )
    return ReplyRenderer(env)


def render(reply: Reply, renderer: ReplyRenderer | None = None) -> str:
    renderer = renderer or make_renderer()
    return renderer.render(reply, to_user=OPENID, from_user=GH, create_time=1714112446)


ALL_REPLIES: list[Reply] = [
    TextReply(content="你好"),
    TextReply(content=NASTY),
    TextReply(content=""),
    ImageReply(media_id="media-1"),
    VoiceReply(media_id="voice-1"),
    VideoReply(media_id="video-1"),
    VideoReply(media_id="video-1", title=NASTY, description="d"),
    MusicReply(),
    MusicReply(
        title="t",
        description="d",
        music_url="http://m/a.mp3?x=1&y=2",
        hq_music_url="http://m/hq.mp3",
        thumb_media_id="thumb",
    ),
    NewsReply(articles=(Article(title="one"),)),
    NewsReply(
        articles=tuple(
            Article(title=f"t{n} {NASTY}", description="d", pic_url="http://p", url="http://u?a&b")
            for n in range(8)
        )
    ),
    TransferCustomerServiceReply(),
    TransferCustomerServiceReply(kf_account="test1@test"),
]


def test_text_reply_has_the_exact_shape_of_3_2() -> None:
    assert render(TextReply(content="你好")) == (
        "<xml>\n"
        "<ToUserName><![CDATA[o9AgO5Kd5ggOC-bXrbNODIiE3bGY]]></ToUserName>\n"
        "<FromUserName><![CDATA[gh_97417a04a28d]]></FromUserName>\n"
        "<CreateTime>1714112446</CreateTime>\n"
        "<MsgType><![CDATA[text]]></MsgType>\n"
        "<Content><![CDATA[你好]]></Content>\n"
        "</xml>"
    )


@pytest.mark.parametrize("reply", ALL_REPLIES, ids=lambda reply: type(reply).__name__)
def test_every_reply_renders_well_formed_and_parses_back(reply: Reply) -> None:
    xml = render(reply)
    root = fromstring(xml, forbid_dtd=True)
    assert root.tag == "xml"
    assert root.findtext("MsgType") == reply.msg_type
    parsed = parse_reply(xml)
    assert (parsed.to_user, parsed.from_user, parsed.create_time) == (OPENID, GH, 1714112446)
    assert parsed.reply == reply


@pytest.mark.parametrize("reply", ALL_REPLIES, ids=lambda reply: type(reply).__name__)
def test_rendering_does_not_depend_on_whitespace_options(reply: Reply) -> None:
    renderer = make_renderer(trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    assert parse_reply(render(reply, renderer)).reply == reply


def test_content_with_cdata_terminator_survives() -> None:
    xml = render(TextReply(content=NASTY))
    assert "]]]]><![CDATA[>" in xml
    assert fromstring(xml, forbid_dtd=True).findtext("Content") == NASTY


def test_news_article_count_matches_the_items() -> None:
    reply = ALL_REPLIES[10]
    assert isinstance(reply, NewsReply)
    root = fromstring(render(reply), forbid_dtd=True)
    assert root.findtext("ArticleCount") == "8"
    assert len(root.findall("Articles/item")) == 8
    assert root.findtext("Articles/item/Url") == "http://u?a&b"


def test_music_uses_the_music_url_tag() -> None:
    xml = render(ALL_REPLIES[8])
    assert "<MusicUrl>" in xml
    assert "MusicURL" not in xml
    assert "<HQMusicUrl><![CDATA[http://m/hq.mp3]]></HQMusicUrl>" in xml


def test_image_and_voice_wrap_their_media_id() -> None:
    image = fromstring(render(ImageReply(media_id="m1")), forbid_dtd=True)
    assert image.findtext("Image/MediaId") == "m1"
    voice = fromstring(render(VoiceReply(media_id="m2")), forbid_dtd=True)
    assert voice.findtext("Voice/MediaId") == "m2"


def test_transfer_emits_trans_info_only_when_an_agent_is_named() -> None:
    anyone = render(TransferCustomerServiceReply())
    assert "TransInfo" not in anyone
    assert anyone.endswith("<MsgType><![CDATA[transfer_customer_service]]></MsgType>\n</xml>")
    agent = render(TransferCustomerServiceReply(kf_account="test1@test"))
    assert "<TransInfo><KfAccount><![CDATA[test1@test]]></KfAccount></TransInfo>" in agent


def test_header_values_are_cdata_too() -> None:
    xml = make_renderer().render(
        TextReply(content="x"), to_user="a]]>b", from_user="<gh>", create_time=7
    )
    parsed = parse_reply(xml)
    assert (parsed.to_user, parsed.from_user, parsed.create_time) == ("a]]>b", "<gh>", 7)


# --- the cdata filter ------------------------------------------------------------------------


def test_cdata_filter_returns_markup_and_splits_terminators() -> None:
    value = cdata("x]]>y")
    assert isinstance(value, Markup)
    assert value == "<![CDATA[x]]]]><![CDATA[>y]]>"


def test_cdata_filter_refuses_non_strings() -> None:
    with pytest.raises(TypeError):
        cdata(None)  # type: ignore[arg-type]


def test_install_filters_adds_cdata() -> None:
    env = Environment(autoescape=True)
    install_filters(env)
    assert env.from_string("{{ v|cdata }}").render(v="<&]]>") == "<![CDATA[<&]]]]><![CDATA[>]]>"


# --- parse_reply refusals --------------------------------------------------------------------

HEADER = (
    f"<ToUserName><![CDATA[{OPENID}]]></ToUserName><FromUserName><![CDATA[{GH}]]></FromUserName>"
    "<CreateTime>1714112446</CreateTime>"
)


def news(count: int, items: int) -> str:
    item = "<item><Title><![CDATA[t]]></Title><Url><![CDATA[u]]></Url></item>"
    return (
        f"<xml>{HEADER}<MsgType><![CDATA[news]]></MsgType><ArticleCount>{count}</ArticleCount>"
        f"<Articles>{item * items}</Articles></xml>"
    )


def test_parse_reply_accepts_a_hand_written_news_reply() -> None:
    parsed = parse_reply(news(2, 2))
    assert parsed.reply == NewsReply(articles=(Article(title="t", url="u"),) * 2)


@pytest.mark.parametrize(("count", "items"), [(2, 1), (1, 2), (0, 3), (3, 0)])
def test_parse_reply_refuses_a_mismatched_article_count(count: int, items: int) -> None:
    with pytest.raises(ReplyError, match="ArticleCount"):
        parse_reply(news(count, items))


def test_parse_reply_refuses_news_without_articles() -> None:
    with pytest.raises(ReplyError):
        parse_reply(news(0, 0))


@pytest.mark.parametrize("msg_type", ["JSON", "device_text", "Text", ""])
def test_parse_reply_refuses_unknown_msg_types(msg_type: str) -> None:
    xml = f"<xml>{HEADER}<MsgType><![CDATA[{msg_type}]]></MsgType><Content>x</Content></xml>"
    with pytest.raises(ReplyError, match="MsgType"):
        parse_reply(xml)


@pytest.mark.parametrize(
    ("xml", "reason"),
    [
        ('{"errcode": 0}', "malformed XML"),
        ("success", "malformed XML"),
        ("", "malformed XML"),
        (
            '<!DOCTYPE xml [<!ENTITY e "x">]><xml><Content>&e;</Content></xml>',
            "DTD and entities are not allowed",
        ),
        (f"<xml>{HEADER}<MsgType>text</MsgType></xml>", "missing Content"),
        (
            "<xml><FromUserName>gh</FromUserName><CreateTime>1</CreateTime>"
            "<MsgType>text</MsgType><Content>x</Content></xml>",
            "missing ToUserName",
        ),
        (
            "<xml><ToUserName>o</ToUserName><FromUserName>gh</FromUserName>"
            "<CreateTime>soon</CreateTime><MsgType>text</MsgType><Content>x</Content></xml>",
            "CreateTime is not an integer",
        ),
        (f"<xml>{HEADER}<MsgType>image</MsgType></xml>", "missing Image"),
        (f"<xml>{HEADER}<MsgType>image</MsgType><Image></Image></xml>", "missing MediaId"),
        (f"<xml>{HEADER}<MsgType>voice</MsgType><MediaId>m</MediaId></xml>", "missing Voice"),
        (f"<xml>{HEADER}<MsgType>video</MsgType><Video><Title>t</Title></Video></xml>", "MediaId"),
        (f"<xml>{HEADER}<MsgType>music</MsgType></xml>", "missing Music"),
        (f"<xml>{HEADER}<MsgType>news</MsgType><Articles/></xml>", "missing ArticleCount"),
        (f"<xml>{HEADER}<MsgType>text</MsgType><Content><b>x</b></Content></xml>", "not text"),
        ("<reply><MsgType>text</MsgType></reply>", "root element is not xml"),
    ],
)
def test_parse_reply_refuses_malformed_replies(xml: str, reason: str) -> None:
    with pytest.raises(ReplyError, match=reason):
        parse_reply(xml)


def test_parse_reply_accepts_bytes_and_any_element_order() -> None:
    xml = (
        "<xml><Content>hi</Content><MsgType>text</MsgType><CreateTime>3</CreateTime>"
        "<FromUserName>gh</FromUserName><ToUserName>fan</ToUserName><Extra>1</Extra></xml>"
    )
    parsed = parse_reply(xml.encode())
    assert parsed.reply == TextReply(content="hi")
    assert (parsed.to_user, parsed.from_user, parsed.create_time) == ("fan", "gh", 3)


# --- storage ---------------------------------------------------------------------------------


@pytest.mark.parametrize("reply", ALL_REPLIES, ids=lambda reply: type(reply).__name__)
def test_reply_dicts_are_json_safe_and_round_trip(reply: Reply) -> None:
    data = reply_to_dict(reply)
    assert data["type"] == reply.msg_type
    assert reply_from_dict(json.loads(json.dumps(data))) == reply


def test_reply_to_dict_shape() -> None:
    assert reply_to_dict(NewsReply(articles=(Article(title="t", url="u"),))) == {
        "type": "news",
        "articles": [{"title": "t", "description": "", "pic_url": "", "url": "u"}],
    }
    assert reply_to_dict(TransferCustomerServiceReply()) == {
        "type": "transfer_customer_service",
        "kf_account": None,
    }


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"type": "hologram"},
        {"type": 3},
        {"type": "text"},
        {"type": "text", "content": 5},
        {"type": "text", "content": None},
        {"type": "text", "content": "x", "extra": "y"},
        {"type": "news"},
        {"type": "news", "articles": "nope"},
        {"type": "news", "articles": [{"description": "no title"}]},
        {"type": "news", "articles": [{"title": "t", "color": "red"}]},
        {"type": "news", "articles": ["t"]},
        {"type": "news", "articles": [], "extra": 1},
    ],
)
def test_reply_from_dict_refuses_bad_data(data: dict[str, object]) -> None:
    with pytest.raises(ReplyError):
        reply_from_dict(data)


def test_every_reply_type_has_a_template() -> None:
    names = {path.name for path in (TEMPLATES / "replies" / "xml").iterdir()}
    assert {f"{reply.msg_type}.xml" for reply in ALL_REPLIES} <= names
    assert "_header.xml" in names


@pytest.mark.parametrize("create_time", ["9" * 5000, "9" * 20])
def test_a_reply_with_a_number_too_large_is_a_reply_error(create_time: str) -> None:
    # Another bot's reply is untrusted: int() of 5000 digits raised ValueError in the console.
    xml = render(TextReply("hi")).replace(">1714112446<", f">{create_time}<", 1)
    assert create_time in xml
    with pytest.raises(ReplyError, match="CreateTime is too large for a 64-bit integer"):
        parse_reply(xml)
