"""Parsing inbound pushes (wechat-protocol.md §2) into typed messages and events."""

from typing import TypeVar

import pytest

from botstore.wechat import (
    AnnualRenewEvent,
    ClickEvent,
    Event,
    ImageMessage,
    InboundMessage,
    KfCloseSessionEvent,
    KfCreateSessionEvent,
    KfSwitchSessionEvent,
    LinkMessage,
    LocationEvent,
    LocationMessage,
    LocationSelectEvent,
    MassSendJobFinishEvent,
    MessageError,
    MiniProgramPageMessage,
    NamingVerifyFailEvent,
    NamingVerifySuccessEvent,
    PicPhotoOrAlbumEvent,
    PicSysphotoEvent,
    PicWeixinEvent,
    QualificationVerifyFailEvent,
    QualificationVerifySuccessEvent,
    ScanCodePushEvent,
    ScanCodeWaitMsgEvent,
    ScanEvent,
    ShortVideoMessage,
    SubscribeEvent,
    SubscribeMsgChangeEvent,
    SubscribeMsgPopupEvent,
    SubscribeMsgSentEvent,
    TemplateSendJobFinishEvent,
    TextMessage,
    UnknownEvent,
    UnknownMessage,
    UnsubscribeEvent,
    VerifyExpiredEvent,
    VideoMessage,
    ViewEvent,
    ViewMiniprogramEvent,
    VoiceMessage,
    build_message_xml,
    parse_envelope,
    parse_message,
)

T = TypeVar("T", bound=InboundMessage)

OPENID = "o9AgO5Kd5ggOC-bXrbNODIiE3bGY"
GH = "gh_97417a04a28d"


def push(msg_type: str, body: str, *, create_time: str = "1714112445") -> str:
    return (
        "<xml>\n"
        f"  <ToUserName><![CDATA[{GH}]]></ToUserName>\n"
        f"  <FromUserName><![CDATA[{OPENID}]]></FromUserName>\n"
        f"  <CreateTime>{create_time}</CreateTime>\n"
        f"  <MsgType><![CDATA[{msg_type}]]></MsgType>\n"
        f"{body}\n"
        "</xml>"
    )


def event(name: str, body: str = "") -> str:
    return push("event", f"  <Event><![CDATA[{name}]]></Event>\n{body}")


def parse_as(xml: str | bytes, cls: type[T]) -> T:
    message = parse_message(xml)
    assert type(message) is cls
    return message


# --- normal messages (§2.5) ------------------------------------------------------------------


def test_text_message() -> None:
    xml = push(
        "text",
        "<Content><![CDATA[hello\nworld]]></Content><MsgId>6054768590064713728</MsgId>",
    )
    message = parse_as(xml.encode(), TextMessage)
    assert message.to_user == GH
    assert message.from_user == OPENID
    assert message.create_time == 1714112445
    assert message.msg_type == "text"
    assert message.content == "hello\nworld"
    assert message.msg_id == "6054768590064713728"
    assert message.msg_data_id is None
    assert message.idx is None
    assert message.dedup_key == f"msg:{OPENID}:6054768590064713728"


def test_msg_id_keeps_all_64_bits() -> None:
    message = parse_as(
        push("text", "<Content>x</Content><MsgId>9223372036854775807</MsgId>"), TextMessage
    )
    assert message.msg_id == "9223372036854775807"
    assert message.fields["MsgId"] == "9223372036854775807"


def test_message_sent_from_an_article_carries_msg_data_id_and_idx() -> None:
    xml = push(
        "text",
        "<Content>hi</Content><MsgId>1</MsgId><MsgDataId><![CDATA[2247483653]]></MsgDataId>"
        "<Idx>2</Idx>",
    )
    message = parse_as(xml, TextMessage)
    assert message.msg_data_id == "2247483653"
    assert message.idx == 2


def test_image_message() -> None:
    xml = push(
        "image",
        "<PicUrl><![CDATA[http://mmbiz.qpic.cn/x]]></PicUrl>"
        "<MediaId><![CDATA[media_id]]></MediaId><MsgId>1234567890123456</MsgId>",
    )
    message = parse_as(xml, ImageMessage)
    assert (message.pic_url, message.media_id) == ("http://mmbiz.qpic.cn/x", "media_id")
    assert message.msg_id == "1234567890123456"


def test_voice_message_with_recognition() -> None:
    xml = push(
        "voice",
        "<MediaId><![CDATA[m]]></MediaId><Format><![CDATA[amr]]></Format>"
        "<Recognition><![CDATA[腾讯微信团队]]></Recognition><MsgId>1</MsgId>",
    )
    message = parse_as(xml, VoiceMessage)
    assert (message.media_id, message.format, message.recognition) == ("m", "amr", "腾讯微信团队")


def test_voice_message_recognition_absent_or_empty() -> None:
    without = push("voice", "<MediaId>m</MediaId><Format>speex</Format><MsgId>1</MsgId>")
    assert parse_as(without, VoiceMessage).recognition is None
    empty = push("voice", "<MediaId>m</MediaId><Format>amr</Format><Recognition/><MsgId>1</MsgId>")
    assert parse_as(empty, VoiceMessage).recognition == ""


@pytest.mark.parametrize(
    ("msg_type", "cls"), [("video", VideoMessage), ("shortvideo", ShortVideoMessage)]
)
def test_video_and_short_video_messages(msg_type: str, cls: type[VideoMessage]) -> None:
    xml = push(
        msg_type,
        "<MediaId><![CDATA[m]]></MediaId><ThumbMediaId><![CDATA[t]]></ThumbMediaId>"
        "<MsgId>7</MsgId>",
    )
    message = parse_as(xml, cls)
    assert (message.media_id, message.thumb_media_id, message.msg_id) == ("m", "t", "7")


def test_location_message_latitude_is_location_x() -> None:
    xml = push(
        "location",
        "<Location_X>23.134521</Location_X><Location_Y>113.358803</Location_Y><Scale>20</Scale>"
        "<Label><![CDATA[位置信息]]></Label><MsgId>1234567890123456</MsgId>",
    )
    message = parse_as(xml, LocationMessage)
    assert message.latitude == 23.134521
    assert message.longitude == 113.358803
    assert message.scale == 20
    assert message.label == "位置信息"


def test_link_message() -> None:
    xml = push(
        "link",
        "<Title><![CDATA[公众平台官网链接]]></Title><Description><![CDATA[d]]></Description>"
        "<Url><![CDATA[http://example.com/?a=1&b=2]]></Url><MsgId>1</MsgId>",
    )
    message = parse_as(xml, LinkMessage)
    assert (message.title, message.description, message.url) == (
        "公众平台官网链接",
        "d",
        "http://example.com/?a=1&b=2",
    )


def test_mini_program_page_message() -> None:
    xml = push(
        "miniprogrampage",
        "<AppId><![CDATA[wxabc]]></AppId><Title><![CDATA[t]]></Title>"
        "<PagePath><![CDATA[pages/index]]></PagePath><ThumbUrl><![CDATA[http://u]]></ThumbUrl>"
        "<ThumbMediaId><![CDATA[tm]]></ThumbMediaId><MsgId>1</MsgId>",
    )
    message = parse_as(xml, MiniProgramPageMessage)
    assert (
        message.app_id,
        message.title,
        message.page_path,
        message.thumb_url,
        message.thumb_media_id,
    ) == ("wxabc", "t", "pages/index", "http://u", "tm")


def test_unknown_msg_type_is_kept_not_refused() -> None:
    xml = push("hologram", "<Beam><![CDATA[x]]></Beam><MsgId>5</MsgId>")
    message = parse_as(xml, UnknownMessage)
    assert message.msg_type == "hologram"
    assert message.fields["Beam"] == "x"
    assert message.dedup_key == f"msg:{OPENID}:5"


# --- events (§2.6) ---------------------------------------------------------------------------


def test_plain_subscribe() -> None:
    message = parse_as(event("subscribe", "<EventKey><![CDATA[]]></EventKey>"), SubscribeEvent)
    assert message.event == "subscribe"
    assert message.event_key == ""
    assert message.scene is None
    assert message.ticket is None
    assert message.dedup_key == f"evt:{OPENID}:1714112445:subscribe:"


def test_subscribe_through_a_parametric_qr_code() -> None:
    xml = event(
        "subscribe",
        "<EventKey><![CDATA[qrscene_123123]]></EventKey><Ticket><![CDATA[TICKET]]></Ticket>",
    )
    message = parse_as(xml, SubscribeEvent)
    assert message.scene == "123123"
    assert message.ticket == "TICKET"
    assert message.dedup_key == f"evt:{OPENID}:1714112445:subscribe:qrscene_123123"


def test_unsubscribe() -> None:
    assert parse_as(event("unsubscribe"), UnsubscribeEvent).event_key == ""


def test_scan_keeps_wire_case_and_has_no_prefix() -> None:
    xml = event("SCAN", "<EventKey><![CDATA[123123]]></EventKey><Ticket><![CDATA[T]]></Ticket>")
    message = parse_as(xml, ScanEvent)
    assert message.event == "SCAN"
    assert message.scene == "123123"
    assert message.ticket == "T"
    assert message.dedup_key == f"evt:{OPENID}:1714112445:SCAN:123123"


def test_location_event() -> None:
    xml = event(
        "LOCATION",
        "<Latitude>23.137466</Latitude><Longitude>113.352425</Longitude>"
        "<Precision>119.385040</Precision>",
    )
    message = parse_as(xml, LocationEvent)
    assert (message.latitude, message.longitude, message.precision) == (
        23.137466,
        113.352425,
        119.38504,
    )


def test_click_event() -> None:
    message = parse_as(event("CLICK", "<EventKey><![CDATA[V1001_TODAY]]></EventKey>"), ClickEvent)
    assert message.event_key == "V1001_TODAY"


def test_view_event() -> None:
    xml = event(
        "VIEW", "<EventKey><![CDATA[http://www.qq.com/]]></EventKey><MenuId>208379533</MenuId>"
    )
    message = parse_as(xml, ViewEvent)
    assert message.event_key == "http://www.qq.com/"
    assert message.menu_id == "208379533"


def test_view_miniprogram_event() -> None:
    xml = event(
        "view_miniprogram", "<EventKey><![CDATA[pages/index]]></EventKey><MenuId>1</MenuId>"
    )
    message = parse_as(xml, ViewMiniprogramEvent)
    assert (message.event_key, message.menu_id) == ("pages/index", "1")


@pytest.mark.parametrize(
    ("name", "cls"),
    [("scancode_push", ScanCodePushEvent), ("scancode_waitmsg", ScanCodeWaitMsgEvent)],
)
def test_scancode_events(name: str, cls: type[ScanCodePushEvent]) -> None:
    xml = event(
        name,
        "<EventKey><![CDATA[6]]></EventKey><ScanCodeInfo><ScanType><![CDATA[qrcode]]></ScanType>"
        "<ScanResult><![CDATA[1]]></ScanResult></ScanCodeInfo>",
    )
    message = parse_as(xml, cls)
    assert (message.event_key, message.scan_type, message.scan_result) == ("6", "qrcode", "1")


@pytest.mark.parametrize(
    ("name", "cls"),
    [
        ("pic_sysphoto", PicSysphotoEvent),
        ("pic_photo_or_album", PicPhotoOrAlbumEvent),
        ("pic_weixin", PicWeixinEvent),
    ],
)
def test_pic_events_with_several_pictures(name: str, cls: type[PicSysphotoEvent]) -> None:
    xml = event(
        name,
        "<EventKey><![CDATA[6]]></EventKey><SendPicsInfo><Count>2</Count><PicList>"
        "<item><PicMd5Sum><![CDATA[1b5f7c23b5bf75682a53e7b6d163e185]]></PicMd5Sum></item>"
        "<item><PicMd5Sum><![CDATA[2b5f7c23b5bf75682a53e7b6d163e185]]></PicMd5Sum></item>"
        "</PicList></SendPicsInfo>",
    )
    message = parse_as(xml, cls)
    assert message.count == 2
    assert message.pic_md5_sums == (
        "1b5f7c23b5bf75682a53e7b6d163e185",
        "2b5f7c23b5bf75682a53e7b6d163e185",
    )


def test_pic_event_with_one_picture_is_a_one_item_tuple() -> None:
    xml = event(
        "pic_weixin",
        "<EventKey>k</EventKey><SendPicsInfo><Count>1</Count><PicList>"
        "<item><PicMd5Sum><![CDATA[abc]]></PicMd5Sum></item></PicList></SendPicsInfo>",
    )
    message = parse_as(xml, PicWeixinEvent)
    assert (message.count, message.pic_md5_sums) == (1, ("abc",))


def test_pic_event_without_pictures() -> None:
    xml = event("pic_weixin", "<EventKey>k</EventKey><SendPicsInfo><PicList/></SendPicsInfo>")
    message = parse_as(xml, PicWeixinEvent)
    assert (message.count, message.pic_md5_sums) == (0, ())


def test_location_select_event_with_numbers_in_cdata() -> None:
    xml = event(
        "location_select",
        "<EventKey><![CDATA[6]]></EventKey><SendLocationInfo>"
        "<Location_X><![CDATA[23]]></Location_X><Location_Y><![CDATA[113]]></Location_Y>"
        "<Scale><![CDATA[15]]></Scale><Label><![CDATA[ 广州市海珠区]]></Label>"
        "<Poiname><![CDATA[]]></Poiname></SendLocationInfo>",
    )
    message = parse_as(xml, LocationSelectEvent)
    assert (message.latitude, message.longitude, message.scale) == (23.0, 113.0, 15)
    assert (message.label, message.poiname) == (" 广州市海珠区", "")


def test_template_send_job_finish_reads_msg_id_with_capital_d() -> None:
    xml = event(
        "TEMPLATESENDJOBFINISH",
        "<MsgID>200163836</MsgID><Status><![CDATA[failed:user block]]></Status>",
    )
    message = parse_as(xml, TemplateSendJobFinishEvent)
    assert (message.msg_id, message.status) == ("200163836", "failed:user block")
    assert message.dedup_key == f"evt:{OPENID}:1714112445:TEMPLATESENDJOBFINISH:"


def test_mass_send_job_finish() -> None:
    xml = event(
        "MASSSENDJOBFINISH",
        "<MsgID>1988</MsgID><Status><![CDATA[send success]]></Status><TotalCount>100</TotalCount>"
        "<FilterCount>80</FilterCount><SentCount>75</SentCount><ErrorCount>5</ErrorCount>"
        "<CopyrightCheckResult><Count>2</Count><ResultList><item><ArticleIdx>1</ArticleIdx>"
        "</item><item><ArticleIdx>2</ArticleIdx></item></ResultList><CheckState>2</CheckState>"
        "</CopyrightCheckResult>",
    )
    message = parse_as(xml, MassSendJobFinishEvent)
    assert (message.msg_id, message.status) == ("1988", "send success")
    assert (
        message.total_count,
        message.filter_count,
        message.sent_count,
        message.error_count,
    ) == (100, 80, 75, 5)
    check = message.fields["CopyrightCheckResult"]
    assert check == {
        "Count": "2",
        "ResultList": {"item": [{"ArticleIdx": "1"}, {"ArticleIdx": "2"}]},
        "CheckState": "2",
    }


def test_subscribe_msg_popup_with_several_lists() -> None:
    xml = event(
        "subscribe_msg_popup_event",
        "<SubscribeMsgPopupEvent>"
        "<List><TemplateId><![CDATA[VRR0UEO9VJOLs0MHlU0OilqX6MVFDwH3_3gz3Oc0NIc]]></TemplateId>"
        "<SubscribeStatusString><![CDATA[accept]]></SubscribeStatusString>"
        "<PopupScene>2</PopupScene></List>"
        "<List><TemplateId><![CDATA[9nLIlbOQZC5Y89AZteFEux3WCXRRRG5Wfzkpssu4bLI]]></TemplateId>"
        "<SubscribeStatusString><![CDATA[reject]]></SubscribeStatusString>"
        "<PopupScene>2</PopupScene></List></SubscribeMsgPopupEvent>",
    )
    message = parse_as(xml, SubscribeMsgPopupEvent)
    assert [item["SubscribeStatusString"] for item in message.items] == ["accept", "reject"]
    assert message.items[0]["PopupScene"] == "2"


def test_subscribe_msg_change_with_one_list_is_a_one_item_tuple() -> None:
    xml = event(
        "subscribe_msg_change_event",
        "<SubscribeMsgChangeEvent><List><TemplateId><![CDATA[T1]]></TemplateId>"
        "<SubscribeStatusString><![CDATA[reject]]></SubscribeStatusString></List>"
        "</SubscribeMsgChangeEvent>",
    )
    message = parse_as(xml, SubscribeMsgChangeEvent)
    assert message.items == ({"TemplateId": "T1", "SubscribeStatusString": "reject"},)


def test_subscribe_msg_sent() -> None:
    xml = event(
        "subscribe_msg_sent_event",
        "<SubscribeMsgSentEvent><List><TemplateId><![CDATA[T1]]></TemplateId>"
        "<MsgID>1700827132819554304</MsgID><ErrorCode>0</ErrorCode>"
        "<ErrorStatus><![CDATA[success]]></ErrorStatus></List></SubscribeMsgSentEvent>",
    )
    message = parse_as(xml, SubscribeMsgSentEvent)
    assert message.items[0]["MsgID"] == "1700827132819554304"


def test_kf_session_events() -> None:
    create = parse_as(
        event("kf_create_session", "<KfAccount><![CDATA[test1@test]]></KfAccount>"),
        KfCreateSessionEvent,
    )
    assert create.kf_account == "test1@test"
    close = parse_as(
        event("kf_close_session", "<KfAccount><![CDATA[test1@test]]></KfAccount>"),
        KfCloseSessionEvent,
    )
    assert close.kf_account == "test1@test"
    switch = parse_as(
        event(
            "kf_switch_session",
            "<FromKfAccount><![CDATA[a@test]]></FromKfAccount>"
            "<ToKfAccount><![CDATA[b@test]]></ToKfAccount>",
        ),
        KfSwitchSessionEvent,
    )
    assert (switch.from_kf_account, switch.to_kf_account) == ("a@test", "b@test")


@pytest.mark.parametrize(
    ("name", "cls"),
    [
        ("qualification_verify_success", QualificationVerifySuccessEvent),
        ("naming_verify_success", NamingVerifySuccessEvent),
        ("annual_renew", AnnualRenewEvent),
        ("verify_expired", VerifyExpiredEvent),
    ],
)
def test_verification_success_events(name: str, cls: type[AnnualRenewEvent]) -> None:
    message = parse_as(event(name, "<ExpiredTime>1442401156</ExpiredTime>"), cls)
    assert message.expired_time == 1442401156


@pytest.mark.parametrize(
    ("name", "cls"),
    [
        ("qualification_verify_fail", QualificationVerifyFailEvent),
        ("naming_verify_fail", NamingVerifyFailEvent),
    ],
)
def test_verification_fail_events(name: str, cls: type[NamingVerifyFailEvent]) -> None:
    xml = event(
        name, "<FailTime>1442401122</FailTime><FailReason><![CDATA[名称重复]]></FailReason>"
    )
    message = parse_as(xml, cls)
    assert (message.fail_time, message.fail_reason) == (1442401122, "名称重复")


def test_event_names_dispatch_case_insensitively_but_keep_wire_case() -> None:
    message = parse_as(event("click", "<EventKey>k</EventKey>"), ClickEvent)
    assert message.event == "click"


def test_unknown_event_is_kept_not_refused() -> None:
    xml = event("user_get_card", "<CardId><![CDATA[p1]]></CardId><EventKey>x</EventKey>")
    message = parse_as(xml, UnknownEvent)
    assert isinstance(message, Event)
    assert message.event == "user_get_card"
    assert message.fields["CardId"] == "p1"
    assert message.dedup_key == f"evt:{OPENID}:1714112445:user_get_card:x"


def test_event_without_event_element_is_an_unknown_event() -> None:
    assert parse_as(push("event", ""), UnknownEvent).event == ""


# --- XML conventions (§2.3) ------------------------------------------------------------------


def test_cdata_and_escaped_text_are_identical() -> None:
    with_cdata = push("text", '<Content><![CDATA[a < b & "c" > d]]></Content><MsgId>1</MsgId>')
    escaped = push(
        "text", "<Content>a &lt; b &amp; &quot;c&quot; &gt; d</Content><MsgId>1</MsgId>"
    )
    assert parse_message(with_cdata) == parse_message(escaped)
    assert parse_as(escaped, TextMessage).content == 'a < b & "c" > d'


def test_content_split_across_cdata_sections_is_joined() -> None:
    xml = push("text", "<Content><![CDATA[a]]]]><![CDATA[>b]]></Content><MsgId>1</MsgId>")
    assert parse_as(xml, TextMessage).content == "a]]>b"


def test_numbers_may_sit_in_cdata() -> None:
    xml = push(
        "location",
        "<Location_X><![CDATA[23.1]]></Location_X><Location_Y><![CDATA[113.3]]></Location_Y>"
        "<Scale><![CDATA[20]]></Scale><Label>x</Label><MsgId><![CDATA[42]]></MsgId>",
        create_time="<![CDATA[1714112445]]>",
    )
    message = parse_as(xml, LocationMessage)
    assert (message.create_time, message.latitude, message.scale, message.msg_id) == (
        1714112445,
        23.1,
        20,
        "42",
    )


def test_element_order_does_not_matter_and_unknown_elements_are_ignored() -> None:
    xml = (
        "<xml><MsgId>9</MsgId><Shiny><Nested>1</Nested></Shiny><Content>hi</Content>"
        "<MsgType>text</MsgType><CreateTime>5</CreateTime><FromUserName>fan</FromUserName>"
        "<ToUserName>gh</ToUserName></xml>"
    )
    message = parse_as(xml, TextMessage)
    assert (message.content, message.msg_id, message.create_time) == ("hi", "9", 5)
    assert message.fields["Shiny"] == {"Nested": "1"}


def test_xml_declaration_and_str_bodies_are_accepted() -> None:
    xml = '<?xml version="1.0" encoding="UTF-8"?>' + push("text", "<Content>中</Content>")
    assert parse_as(xml, TextMessage).content == "中"
    assert parse_as(xml.encode(), TextMessage).content == "中"


def test_fields_record_every_element_as_text() -> None:
    xml = push("text", "<Content>hi</Content><MsgId>1</MsgId>")
    assert parse_message(xml).fields == {
        "ToUserName": GH,
        "FromUserName": OPENID,
        "CreateTime": "1714112445",
        "MsgType": "text",
        "Content": "hi",
        "MsgId": "1",
    }


# --- refusals --------------------------------------------------------------------------------

BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE xml [
  <!ENTITY lol "lol">
  <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<xml><ToUserName>gh</ToUserName><FromUserName>f</FromUserName><CreateTime>1</CreateTime>
<MsgType>text</MsgType><Content>&lol4;</Content></xml>"""

EXTERNAL_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<xml><ToUserName>gh</ToUserName><FromUserName>f</FromUserName><CreateTime>1</CreateTime>
<MsgType>text</MsgType><Content>&xxe;</Content></xml>"""

BARE_DOCTYPE = '<!DOCTYPE xml SYSTEM "http://example.com/x.dtd"><xml><A>1</A></xml>'


@pytest.mark.parametrize("body", [BILLION_LAUGHS, EXTERNAL_ENTITY, BARE_DOCTYPE])
def test_dtds_and_entities_are_refused(body: str) -> None:
    for form in (body, body.encode()):
        with pytest.raises(MessageError, match="DTD and entities are not allowed"):
            parse_message(form)
        with pytest.raises(MessageError, match="DTD and entities are not allowed"):
            parse_envelope(form.encode() if isinstance(form, str) else form)


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not xml",
        b"<xml><ToUserName>gh</ToUserName>",
        b"<xml><a></b></xml>",
        b"<xml>&undefined;</xml>",
        b"\xff\xfe<xml/>",
        b"<xml/><xml/>",
    ],
)
def test_malformed_xml_is_refused(body: bytes) -> None:
    with pytest.raises(MessageError, match="malformed XML"):
        parse_message(body)


def test_root_must_be_xml() -> None:
    with pytest.raises(MessageError, match="root element is not xml"):
        parse_message("<root><ToUserName>gh</ToUserName></root>")


@pytest.mark.parametrize("missing", ["ToUserName", "FromUserName", "CreateTime", "MsgType"])
def test_missing_common_field_is_refused(missing: str) -> None:
    fields = {
        "ToUserName": "gh",
        "FromUserName": "fan",
        "CreateTime": 1,
        "MsgType": "text",
        "Content": "x",
    }
    del fields[missing]
    with pytest.raises(MessageError, match=f"missing {missing}"):
        parse_message(build_message_xml(fields))


@pytest.mark.parametrize("create_time", ["abc", "1.5", "1_000", "", "１２"])
def test_non_integer_create_time_is_refused(create_time: str) -> None:
    with pytest.raises(MessageError, match="CreateTime"):
        parse_message(push("text", "<Content>x</Content>", create_time=create_time))


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("<Content>x</Content><MsgId>12.5</MsgId>", "MsgId is not an integer"),
        ("<Content>x</Content><MsgId>1e10</MsgId>", "MsgId is not an integer"),
        ("<Content>x</Content><MsgId>1</MsgId><Idx>first</Idx>", "Idx is not an integer"),
        ("<Content><b>bold</b></Content>", "Content is not text"),
    ],
)
def test_bad_values_in_text_messages_are_refused(body: str, reason: str) -> None:
    with pytest.raises(MessageError, match=reason):
        parse_message(push("text", body))


@pytest.mark.parametrize(
    "body",
    [
        "<Location_X>north</Location_X><Location_Y>1</Location_Y><Scale>1</Scale>",
        "<Location_X>nan</Location_X>",
        "<Location_X>inf</Location_X>",
        "<Location_X>1</Location_X><Scale>1.5</Scale>",
    ],
)
def test_bad_numbers_in_location_are_refused(body: str) -> None:
    with pytest.raises(MessageError):
        parse_message(push("location", body))


def test_bad_numbers_in_events_are_refused() -> None:
    with pytest.raises(MessageError, match="TotalCount is not an integer"):
        parse_message(event("MASSSENDJOBFINISH", "<MsgID>1</MsgID><TotalCount>lots</TotalCount>"))
    with pytest.raises(MessageError, match="Latitude is not a number"):
        parse_message(event("LOCATION", "<Latitude>x</Latitude>"))
    with pytest.raises(MessageError, match="SendPicsInfo"):
        parse_message(event("pic_weixin", "<SendPicsInfo>text</SendPicsInfo>"))


def test_absurd_nesting_is_refused() -> None:
    body = push("text", "<A>" * 50 + "x" + "</A>" * 50)
    with pytest.raises(MessageError, match="nested too deeply"):
        parse_message(body)


# --- dedup keys (§4) -------------------------------------------------------------------------


def test_two_events_in_the_same_second_have_different_keys() -> None:
    click = parse_message(event("CLICK", "<EventKey>a</EventKey>"))
    view = parse_message(event("VIEW", "<EventKey>a</EventKey>"))
    assert click.dedup_key != view.dedup_key


def test_retries_share_a_key() -> None:
    xml = push("text", "<Content>x</Content><MsgId>77</MsgId>")
    assert (
        parse_message(xml).dedup_key == parse_message(xml.encode()).dedup_key == f"msg:{OPENID}:77"
    )


def test_the_same_msg_id_from_two_senders_has_two_keys() -> None:
    body = "<Content>x</Content><MsgId>77</MsgId>"
    other = push("text", body).replace(OPENID, "o_other")
    assert parse_message(push("text", body)).dedup_key == f"msg:{OPENID}:77"
    assert parse_message(other).dedup_key == "msg:o_other:77"


def test_a_message_without_msg_id_never_shares_a_key_with_one_that_has_it() -> None:
    # Its CreateTime stands in for the MsgId, and could be the very digits of one.
    without = parse_message(push("text", "<Content>x</Content>"))
    with_id = parse_message(push("text", "<Content>x</Content><MsgId>1714112445</MsgId>"))
    assert without.dedup_key == f"msg:{OPENID}:@1714112445"
    assert with_id.dedup_key == f"msg:{OPENID}:1714112445"


def test_an_unknown_type_with_a_non_numeric_msg_id_is_keyed_like_an_event() -> None:
    message = parse_message(push("hologram", "<MsgId>7:o_other:8</MsgId>"))
    assert message.dedup_key == f"evt:{OPENID}:1714112445:hologram:"


# --- envelopes and the emulator's renderer ---------------------------------------------------


def test_parse_envelope_returns_top_level_text() -> None:
    body = (
        b"<xml><ToUserName><![CDATA[gh]]></ToUserName><Encrypt><![CDATA[abc+/=]]></Encrypt>"
        b"<Nested><A>1</A></Nested></xml>"
    )
    assert parse_envelope(body) == {"ToUserName": "gh", "Encrypt": "abc+/="}


def test_build_message_xml_renders_the_spec_shape() -> None:
    xml = build_message_xml(
        {
            "ToUserName": GH,
            "FromUserName": OPENID,
            "CreateTime": 1714112445,
            "MsgType": "text",
            "Content": "hello",
            "MsgId": 24500000000000001,
        }
    )
    assert xml == (
        "<xml><ToUserName><![CDATA[gh_97417a04a28d]]></ToUserName><FromUserName><![CDATA[o9AgO5Kd5"
        "ggOC-bXrbNODIiE3bGY]]></FromUserName><CreateTime>1714112445</CreateTime><MsgType><![CDATA"
        "[text]]></MsgType><Content><![CDATA[hello]]></Content><MsgId>24500000000000001</MsgId></xml>"
    )


def test_build_message_xml_splits_cdata_terminators() -> None:
    xml = build_message_xml(
        {
            "ToUserName": "gh",
            "FromUserName": "f",
            "CreateTime": 1,
            "MsgType": "text",
            "Content": "a]]>b]]>",
        }
    )
    assert "]]]]><![CDATA[>" in xml
    assert parse_as(xml, TextMessage).content == "a]]>b]]>"


ROUND_TRIPS: list[dict[str, object]] = [
    {"MsgType": "text", "Content": "<&>\"' 中文 ]]>", "MsgId": "6054768590064713728"},
    {"MsgType": "voice", "MediaId": "m", "Format": "amr", "Recognition": "", "MsgId": 3},
    {
        "MsgType": "location",
        "Location_X": 23.134521,
        "Location_Y": 113.358803,
        "Scale": 20,
        "Label": "x",
        "MsgId": 4,
    },
    {
        "MsgType": "event",
        "Event": "scancode_waitmsg",
        "EventKey": "k",
        "ScanCodeInfo": {"ScanType": "qrcode", "ScanResult": "r"},
    },
    {
        "MsgType": "event",
        "Event": "pic_photo_or_album",
        "EventKey": "k",
        "SendPicsInfo": {
            "Count": 2,
            "PicList": {"item": [{"PicMd5Sum": "a"}, {"PicMd5Sum": "b"}]},
        },
    },
    {
        "MsgType": "event",
        "Event": "location_select",
        "EventKey": "k",
        "SendLocationInfo": {
            "Location_X": "23",
            "Location_Y": "113",
            "Scale": "15",
            "Label": "l",
            "Poiname": "",
        },
    },
    {
        "MsgType": "event",
        "Event": "subscribe_msg_popup_event",
        "SubscribeMsgPopupEvent": {
            "List": [
                {"TemplateId": "a", "SubscribeStatusString": "accept", "PopupScene": 2},
                {"TemplateId": "b", "SubscribeStatusString": "reject", "PopupScene": 2},
            ]
        },
    },
]


@pytest.mark.parametrize(
    "extra", ROUND_TRIPS, ids=lambda extra: str(extra.get("Event", extra["MsgType"]))
)
def test_build_message_xml_round_trips_through_parse_message(extra: dict[str, object]) -> None:
    fields = {"ToUserName": GH, "FromUserName": OPENID, "CreateTime": 1714112445, **extra}
    message = parse_message(build_message_xml(fields))
    again = parse_message(build_message_xml(message.fields))
    assert again == message
    assert message.fields["CreateTime"] == "1714112445"


def test_round_trip_gives_typed_values() -> None:
    message = parse_message(
        build_message_xml(
            {"ToUserName": GH, "FromUserName": OPENID, "CreateTime": 1, **ROUND_TRIPS[4]}
        )
    )
    assert isinstance(message, PicPhotoOrAlbumEvent)
    assert message.pic_md5_sums == ("a", "b")
    popup = parse_message(
        build_message_xml(
            {"ToUserName": GH, "FromUserName": OPENID, "CreateTime": 1, **ROUND_TRIPS[6]}
        )
    )
    assert isinstance(popup, SubscribeMsgPopupEvent)
    assert len(popup.items) == 2


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"bad tag": "x"}, ValueError),
        ({"A": True}, TypeError),
        ({"A": float("nan")}, ValueError),
        ({"A": object()}, TypeError),
    ],
)
def test_build_message_xml_refuses_what_it_cannot_render(
    fields: dict[str, object], error: type[Exception]
) -> None:
    with pytest.raises(error):
        build_message_xml(fields)


def test_build_message_xml_skips_none() -> None:
    assert build_message_xml({"A": None, "B": "b"}) == "<xml><B><![CDATA[b]]></B></xml>"
