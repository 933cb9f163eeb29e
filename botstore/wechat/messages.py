"""Inbound push XML (wechat-protocol.md §2): typed messages and events, and rendering it."""

import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from xml.etree.ElementTree import Element

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring

# Deeper nesting than any real push is refused instead of recursing without bound.
_MAX_DEPTH = 16
# Numbers are bounded as they are parsed, so none fails later when stored or converted: ids
# and counts fit 64 bits (MsgId is an int64, §2.3), times are Unix seconds Python's datetime
# holds (until the end of 9999), places are on Earth.
INT64_MAX = 2**63 - 1
MAX_UNIX_TIME = 253402300799  # 9999-12-31T23:59:59Z
_LATITUDE, _LONGITUDE = 90.0, 180.0
_INT = re.compile(r"[+-]?[0-9]+")
_FLOAT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_TAG = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")


class MessageError(ValueError):
    """An inbound body that is not a usable WeChat push; str() is a short reason."""


# --- messages (§2.4, §2.5) ------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class InboundMessage:
    """Fields common to every push (§2.4); `fields` keeps every element as parsed, to record."""

    to_user: str
    from_user: str
    create_time: int
    msg_type: str
    fields: Mapping[str, object] = field(default_factory=dict, hash=False, repr=False)

    @property
    def dedup_key(self) -> str:
        """The key under which retries of this push are recognised (§4)."""
        # Only a MsgId of digits, as NormalMessage's: a colon in it could make two senders' keys
        # alike.
        msg_id = self.fields.get("MsgId")
        if isinstance(msg_id, str) and _INT.fullmatch(msg_id.strip()):
            return f"msg:{self.from_user}:{int(msg_id)}"
        return f"evt:{self.from_user}:{self.create_time}:{self.msg_type}:"


@dataclass(frozen=True, slots=True, kw_only=True)
class NormalMessage(InboundMessage):
    """A fan's message (not an event); msg_data_id and idx only when sent from an article."""

    msg_id: str = ""
    msg_data_id: str | None = None
    idx: int | None = None

    @property
    def dedup_key(self) -> str:
        """`msg:{FromUserName}:{MsgId}`, or `msg:{FromUserName}:@{CreateTime}` without one.

        The sender is part of it, as in WxJava's key (§4): on the MsgId alone, another sender's
        push with the same MsgId would pass for a copy and get the first sender's reply. The `@`
        keeps a CreateTime apart from a MsgId, which is digits only.
        """
        if self.msg_id:
            return f"msg:{self.from_user}:{self.msg_id}"
        return f"msg:{self.from_user}:@{self.create_time}"


@dataclass(frozen=True, slots=True, kw_only=True)
class TextMessage(NormalMessage):
    content: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ImageMessage(NormalMessage):
    pic_url: str
    media_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class VoiceMessage(NormalMessage):
    media_id: str
    format: str
    # None when speech recognition is off; "" when it is on but heard nothing (§2.5).
    recognition: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class VideoMessage(NormalMessage):
    media_id: str
    thumb_media_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ShortVideoMessage(NormalMessage):
    media_id: str
    thumb_media_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class LocationMessage(NormalMessage):
    latitude: float
    longitude: float
    scale: int
    label: str


@dataclass(frozen=True, slots=True, kw_only=True)
class LinkMessage(NormalMessage):
    title: str
    description: str
    url: str


@dataclass(frozen=True, slots=True, kw_only=True)
class MiniProgramPageMessage(NormalMessage):
    app_id: str
    title: str
    page_path: str
    thumb_url: str
    thumb_media_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class UnknownMessage(InboundMessage):
    """A MsgType this layer does not know; everything is still in `fields`."""


# --- events (§2.6) --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Event(InboundMessage):
    """MsgType `event`; `event` keeps the wire case (`SCAN`, `subscribe`, ...)."""

    event: str
    event_key: str = ""

    @property
    def dedup_key(self) -> str:
        """`evt:{FromUserName}:{CreateTime}:{Event}:{EventKey}` (§4)."""
        key = f"evt:{self.from_user}:{self.create_time}:{self.event}:{self.event_key}"
        # A VIEW's EventKey is a URL of up to 1024 bytes (§8): keep keys short enough to store.
        if len(key) > MAX_DEDUP_KEY:
            return "evt:sha256:" + hashlib.sha256(key.encode()).hexdigest()
        return key


@dataclass(frozen=True, slots=True, kw_only=True)
class SubscribeEvent(Event):
    ticket: str | None = None

    @property
    def scene(self) -> str | None:
        """The parametric QR code's scene when the follow came from one (`qrscene_` prefix)."""
        prefix = "qrscene_"
        return self.event_key[len(prefix) :] if self.event_key.startswith(prefix) else None


@dataclass(frozen=True, slots=True, kw_only=True)
class UnsubscribeEvent(Event):
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class ScanEvent(Event):
    ticket: str | None = None

    @property
    def scene(self) -> str:
        """The QR code's scene; SCAN sends it without the `qrscene_` prefix (§2.6)."""
        return self.event_key


@dataclass(frozen=True, slots=True, kw_only=True)
class LocationEvent(Event):
    latitude: float
    longitude: float
    precision: float


@dataclass(frozen=True, slots=True, kw_only=True)
class ClickEvent(Event):
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class ViewEvent(Event):
    menu_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ViewMiniprogramEvent(Event):
    menu_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ScanCodeEvent(Event):
    """A menu scan button (`scancode_push` / `scancode_waitmsg`)."""

    scan_type: str
    scan_result: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ScanCodePushEvent(ScanCodeEvent):
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class ScanCodeWaitMsgEvent(ScanCodeEvent):
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class PicEvent(Event):
    """A menu photo button; one MD5 per picture sent."""

    count: int
    pic_md5_sums: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class PicSysphotoEvent(PicEvent):
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class PicPhotoOrAlbumEvent(PicEvent):
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class PicWeixinEvent(PicEvent):
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class LocationSelectEvent(Event):
    latitude: float
    longitude: float
    scale: int
    label: str
    poiname: str


@dataclass(frozen=True, slots=True, kw_only=True)
class TemplateSendJobFinishEvent(Event):
    msg_id: str
    status: str


@dataclass(frozen=True, slots=True, kw_only=True)
class MassSendJobFinishEvent(Event):
    msg_id: str
    status: str
    total_count: int
    filter_count: int
    sent_count: int
    error_count: int


@dataclass(frozen=True, slots=True, kw_only=True)
class SubscribeMsgEvent(Event):
    """A subscription-notification event; one item per `<List>`, as raw fields."""

    items: tuple[Mapping[str, object], ...] = field(hash=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class SubscribeMsgPopupEvent(SubscribeMsgEvent):
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class SubscribeMsgChangeEvent(SubscribeMsgEvent):
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class SubscribeMsgSentEvent(SubscribeMsgEvent):
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class KfCreateSessionEvent(Event):
    kf_account: str


@dataclass(frozen=True, slots=True, kw_only=True)
class KfCloseSessionEvent(Event):
    kf_account: str


@dataclass(frozen=True, slots=True, kw_only=True)
class KfSwitchSessionEvent(Event):
    from_kf_account: str
    to_kf_account: str


@dataclass(frozen=True, slots=True, kw_only=True)
class VerifySuccessEvent(Event):
    """A verification lifecycle event carrying `ExpiredTime`."""

    expired_time: int


@dataclass(frozen=True, slots=True, kw_only=True)
class QualificationVerifySuccessEvent(VerifySuccessEvent):
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class NamingVerifySuccessEvent(VerifySuccessEvent):
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class AnnualRenewEvent(VerifySuccessEvent):
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class VerifyExpiredEvent(VerifySuccessEvent):
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class VerifyFailEvent(Event):
    """A failed verification, with `FailTime` and `FailReason`."""

    fail_time: int
    fail_reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class QualificationVerifyFailEvent(VerifyFailEvent):
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class NamingVerifyFailEvent(VerifyFailEvent):
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class UnknownEvent(Event):
    """An Event this layer does not know; everything is still in `fields`."""


# --- XML in ---------------------------------------------------------------------------------


def _parse_root(body: bytes | str) -> Element:
    try:
        root = fromstring(body, forbid_dtd=True)
    except DefusedXmlException:
        raise MessageError("DTD and entities are not allowed") from None
    except (ParseError, ValueError):
        raise MessageError("malformed XML") from None
    if root.tag != "xml":
        raise MessageError("root element is not xml")
    return root


def _element_value(element: Element, depth: int) -> object:
    if len(element) == 0:
        return element.text or ""
    if depth >= _MAX_DEPTH:
        raise MessageError("XML nested too deeply")
    # Repeated children become a list; a single one stays a value (§2.6 parsing gotchas), and
    # the typed extractors below normalise both shapes.
    values: dict[str, object] = {}
    for child in element:
        value = _element_value(child, depth + 1)
        if child.tag not in values:
            values[child.tag] = value
        elif isinstance(seen := values[child.tag], list):
            seen.append(value)
        else:
            values[child.tag] = [seen, value]
    return values


def parse_xml_fields(body: bytes | str) -> dict[str, object]:
    """Parse untrusted `<xml>` into nested dicts: text as str, repeated elements as lists."""
    value = _element_value(_parse_root(body), 0)
    return value if isinstance(value, dict) else {}


def parse_envelope(body: bytes | str) -> dict[str, str]:
    """Return the top-level text elements of a push body (to find `Encrypt`, `ToUserName`)."""
    return {tag: value for tag, value in parse_xml_fields(body).items() if isinstance(value, str)}


def _text(fields: Mapping[str, object], name: str) -> str:
    value = fields.get(name, "")
    if not isinstance(value, str):
        raise MessageError(f"{name} is not text")
    return value


def _optional_text(fields: Mapping[str, object], name: str) -> str | None:
    return _text(fields, name) if name in fields else None


def _optional_int(
    fields: Mapping[str, object], name: str, *, maximum: int = INT64_MAX
) -> int | None:
    value = _text(fields, name).strip()
    if not value:
        return None
    if not _INT.fullmatch(value):
        raise MessageError(f"{name} is not an integer")
    # Checked on the digits first: int() of thousands of them raises (Python's digit limit).
    digits = value.lstrip("+-").lstrip("0")
    if value.startswith("-") and digits or len(digits) > len(str(maximum)):
        raise MessageError(_out_of_range(name, maximum))
    number = int(value)
    if number > maximum:
        raise MessageError(_out_of_range(name, maximum))
    return number


def _out_of_range(name: str, maximum: int) -> str:
    if maximum == MAX_UNIX_TIME:
        return f"{name} must be Unix seconds from 0 to {MAX_UNIX_TIME} (the end of 9999)"
    return f"{name} must be a whole number from 0 to {maximum}"


def _int(fields: Mapping[str, object], name: str, *, maximum: int = INT64_MAX) -> int:
    value = _optional_int(fields, name, maximum=maximum)
    return 0 if value is None else value


def _float(fields: Mapping[str, object], name: str, *, limit: float | None = None) -> float:
    """A number; within ±`limit` if given (a latitude or longitude), else finite and >= 0."""
    value = _text(fields, name).strip()
    if not value:
        return 0.0
    if not _FLOAT.fullmatch(value):
        raise MessageError(f"{name} is not a number")
    number = float(value)  # "1e400" is inf: refused below with everything off the range
    if limit is not None and not -limit <= number <= limit:
        raise MessageError(f"{name} must be a number from {-limit:g} to {limit:g}")
    if limit is None and not 0 <= number <= INT64_MAX:
        raise MessageError(f"{name} must be a number from 0 to {INT64_MAX}")
    return number


def _id(fields: Mapping[str, object], name: str) -> str:
    # MsgId is an int64: checked as an integer, kept as its digits, never a float (§2.3).
    value = _optional_int(fields, name)
    return "" if value is None else str(value)


def _group(fields: Mapping[str, object], name: str) -> Mapping[str, object]:
    value = fields.get(name, "")
    if isinstance(value, dict):
        return value
    if isinstance(value, str) and not value.strip():
        return {}
    raise MessageError(f"{name} is not a group of elements")


def _repeated(fields: Mapping[str, object], name: str) -> tuple[Mapping[str, object], ...]:
    value = fields.get(name)
    if value is None:
        return ()
    values = value if isinstance(value, list) else [value]
    return tuple(_group({name: item}, name) for item in values)


_Extract = Callable[[Mapping[str, object]], dict[str, object]]


def _pics(fields: Mapping[str, object]) -> dict[str, object]:
    info = _group(fields, "SendPicsInfo")
    items = _repeated(_group(info, "PicList"), "item")
    sums = tuple(_text(item, "PicMd5Sum") for item in items)
    count = _optional_int(info, "Count")
    return {"count": len(sums) if count is None else count, "pic_md5_sums": sums}


def _scan_code(fields: Mapping[str, object]) -> dict[str, object]:
    info = _group(fields, "ScanCodeInfo")
    return {"scan_type": _text(info, "ScanType"), "scan_result": _text(info, "ScanResult")}


def _location_select(fields: Mapping[str, object]) -> dict[str, object]:
    info = _group(fields, "SendLocationInfo")
    return {
        "latitude": _float(info, "Location_X", limit=_LATITUDE),
        "longitude": _float(info, "Location_Y", limit=_LONGITUDE),
        "scale": _int(info, "Scale"),
        "label": _text(info, "Label"),
        "poiname": _text(info, "Poiname"),
    }


def _subscribe_msg(group: str) -> _Extract:
    return lambda fields: {"items": _repeated(_group(fields, group), "List")}


def _verify_success(fields: Mapping[str, object]) -> dict[str, object]:
    return {"expired_time": _int(fields, "ExpiredTime", maximum=MAX_UNIX_TIME)}


def _verify_fail(fields: Mapping[str, object]) -> dict[str, object]:
    return {
        "fail_time": _int(fields, "FailTime", maximum=MAX_UNIX_TIME),
        "fail_reason": _text(fields, "FailReason"),
    }


def _media(fields: Mapping[str, object]) -> dict[str, object]:
    return {"media_id": _text(fields, "MediaId"), "thumb_media_id": _text(fields, "ThumbMediaId")}


def _nothing(fields: Mapping[str, object]) -> dict[str, object]:
    return {}


_MESSAGES: dict[str, tuple[type[NormalMessage], _Extract]] = {
    "text": (TextMessage, lambda f: {"content": _text(f, "Content")}),
    "image": (
        ImageMessage,
        lambda f: {"pic_url": _text(f, "PicUrl"), "media_id": _text(f, "MediaId")},
    ),
    "voice": (
        VoiceMessage,
        lambda f: {
            "media_id": _text(f, "MediaId"),
            "format": _text(f, "Format"),
            "recognition": _optional_text(f, "Recognition"),
        },
    ),
    "video": (VideoMessage, _media),
    "shortvideo": (ShortVideoMessage, _media),
    "location": (
        LocationMessage,
        lambda f: {
            # Location_X is the latitude, Location_Y the longitude (§2.5).
            "latitude": _float(f, "Location_X", limit=_LATITUDE),
            "longitude": _float(f, "Location_Y", limit=_LONGITUDE),
            "scale": _int(f, "Scale"),
            "label": _text(f, "Label"),
        },
    ),
    "link": (
        LinkMessage,
        lambda f: {
            "title": _text(f, "Title"),
            "description": _text(f, "Description"),
            "url": _text(f, "Url"),
        },
    ),
    "miniprogrampage": (
        MiniProgramPageMessage,
        lambda f: {
            "app_id": _text(f, "AppId"),
            "title": _text(f, "Title"),
            "page_path": _text(f, "PagePath"),
            "thumb_url": _text(f, "ThumbUrl"),
            "thumb_media_id": _text(f, "ThumbMediaId"),
        },
    ),
}

# Keyed by the lower-cased Event: the wire mixes cases (`SCAN`, `subscribe`) and SDKs dispatch
# case-insensitively (§2.6).
_EVENTS: dict[str, tuple[type[Event], _Extract]] = {
    "subscribe": (SubscribeEvent, lambda f: {"ticket": _optional_text(f, "Ticket")}),
    "unsubscribe": (UnsubscribeEvent, _nothing),
    "scan": (ScanEvent, lambda f: {"ticket": _optional_text(f, "Ticket")}),
    "location": (
        LocationEvent,
        lambda f: {
            "latitude": _float(f, "Latitude", limit=_LATITUDE),
            "longitude": _float(f, "Longitude", limit=_LONGITUDE),
            "precision": _float(f, "Precision"),
        },
    ),
    "click": (ClickEvent, _nothing),
    "view": (ViewEvent, lambda f: {"menu_id": _optional_text(f, "MenuId")}),
    "view_miniprogram": (
        ViewMiniprogramEvent,
        lambda f: {"menu_id": _optional_text(f, "MenuId")},
    ),
    "scancode_push": (ScanCodePushEvent, _scan_code),
    "scancode_waitmsg": (ScanCodeWaitMsgEvent, _scan_code),
    "pic_sysphoto": (PicSysphotoEvent, _pics),
    "pic_photo_or_album": (PicPhotoOrAlbumEvent, _pics),
    "pic_weixin": (PicWeixinEvent, _pics),
    "location_select": (LocationSelectEvent, _location_select),
    "templatesendjobfinish": (
        TemplateSendJobFinishEvent,
        # The report's id is `MsgID`, capital D (§2.6).
        lambda f: {"msg_id": _id(f, "MsgID") or _id(f, "MsgId"), "status": _text(f, "Status")},
    ),
    "masssendjobfinish": (
        MassSendJobFinishEvent,
        lambda f: {
            "msg_id": _id(f, "MsgID") or _id(f, "MsgId"),
            "status": _text(f, "Status"),
            "total_count": _int(f, "TotalCount"),
            "filter_count": _int(f, "FilterCount"),
            "sent_count": _int(f, "SentCount"),
            "error_count": _int(f, "ErrorCount"),
        },
    ),
    "subscribe_msg_popup_event": (
        SubscribeMsgPopupEvent,
        _subscribe_msg("SubscribeMsgPopupEvent"),
    ),
    "subscribe_msg_change_event": (
        SubscribeMsgChangeEvent,
        _subscribe_msg("SubscribeMsgChangeEvent"),
    ),
    "subscribe_msg_sent_event": (SubscribeMsgSentEvent, _subscribe_msg("SubscribeMsgSentEvent")),
    "kf_create_session": (KfCreateSessionEvent, lambda f: {"kf_account": _text(f, "KfAccount")}),
    "kf_close_session": (KfCloseSessionEvent, lambda f: {"kf_account": _text(f, "KfAccount")}),
    "kf_switch_session": (
        KfSwitchSessionEvent,
        lambda f: {
            "from_kf_account": _text(f, "FromKfAccount"),
            "to_kf_account": _text(f, "ToKfAccount"),
        },
    ),
    "qualification_verify_success": (QualificationVerifySuccessEvent, _verify_success),
    "naming_verify_success": (NamingVerifySuccessEvent, _verify_success),
    "annual_renew": (AnnualRenewEvent, _verify_success),
    "verify_expired": (VerifyExpiredEvent, _verify_success),
    "qualification_verify_fail": (QualificationVerifyFailEvent, _verify_fail),
    "naming_verify_fail": (NamingVerifyFailEvent, _verify_fail),
}


def _required_text(fields: Mapping[str, object], name: str) -> str:
    value = _text(fields, name)
    if not value.strip():
        raise MessageError(f"missing {name}")
    return value


MAX_DEDUP_KEY = 200
# Far beyond anything the platform sends (an OpenID is 28 characters, §0); longer values are junk.
_LENGTH_LIMITS = {"ToUserName": 64, "FromUserName": 64, "MsgType": 32, "Event": 64, "MsgId": 24}


def parse_message(body: bytes | str) -> InboundMessage:
    """Parse an inbound (plaintext or decrypted) push into its typed message or event."""
    return message_from_fields(parse_xml_fields(body))


def message_from_fields(fields: dict[str, object]) -> InboundMessage:
    """The typed message or event of a push's fields as `parse_xml_fields` gives them (the
    webhook parses a plaintext push once, for its envelope and its message)."""
    _required_text(fields, "CreateTime")
    create_time = _int(fields, "CreateTime", maximum=MAX_UNIX_TIME)
    for name, limit in _LENGTH_LIMITS.items():
        if len(_text(fields, name)) > limit:
            raise MessageError(f"{name} longer than {limit} characters")
    common: dict[str, object] = {
        "to_user": _required_text(fields, "ToUserName"),
        "from_user": _required_text(fields, "FromUserName"),
        "create_time": create_time,
        "msg_type": _required_text(fields, "MsgType"),
        "fields": fields,
    }
    msg_type = str(common["msg_type"]).strip().lower()
    if msg_type == "event":
        event = _text(fields, "Event")
        event_cls, extract = _EVENTS.get(event.strip().lower(), (UnknownEvent, _nothing))
        extra = extract(fields)
        return event_cls(**common, event=event, event_key=_text(fields, "EventKey"), **extra)
    if msg_type not in _MESSAGES:
        return UnknownMessage(**common)
    message_cls, extract = _MESSAGES[msg_type]
    extra = extract(fields)
    return message_cls(
        **common,
        msg_id=_id(fields, "MsgId"),
        msg_data_id=_optional_text(fields, "MsgDataId"),
        idx=_optional_int(fields, "Idx"),
        **extra,
    )


# --- XML out (emulator side) ----------------------------------------------------------------


def cdata_section(text: str) -> str:
    """Wrap text in CDATA, splitting any `]]>` across two sections (§2.3)."""
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _render(tag: str, value: object) -> str:
    if not _TAG.fullmatch(tag):
        raise ValueError(f"not an XML element name: {tag!r}")
    if value is None:
        return ""
    if isinstance(value, str):
        return f"<{tag}>{cdata_section(value)}</{tag}>"
    if isinstance(value, bool):
        raise TypeError(f"{tag}: booleans have no WeChat XML form")
    if isinstance(value, int | float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError(f"{tag}: not a finite number")
        return f"<{tag}>{value}</{tag}>"
    if isinstance(value, Mapping):
        inner = "".join(_render(str(key), item) for key, item in value.items())
        return f"<{tag}>{inner}</{tag}>"
    if isinstance(value, list | tuple):
        return "".join(_render(tag, item) for item in value)
    raise TypeError(f"{tag}: cannot render {type(value).__name__}")


def build_message_xml(fields: Mapping[str, object]) -> str:
    """Render push XML: str in CDATA, numbers bare, mappings nested, a list repeats its tag."""
    return "<xml>" + "".join(_render(tag, value) for tag, value in fields.items()) + "</xml>"
