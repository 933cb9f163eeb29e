"""Passive replies as customer-service API messages (wechat-protocol.md 7.2)."""

from typing import Any

from botstore.wechat.replies import (
    ImageReply,
    MusicReply,
    NewsReply,
    Reply,
    TextReply,
    TransferCustomerServiceReply,
    VideoReply,
    VoiceReply,
)


def reply_to_customer_service(reply: Reply, *, touser: str) -> dict[str, Any]:
    """The JSON body of /cgi-bin/message/custom/send carrying the same content as `reply`."""
    match reply:
        case TextReply(content=content):
            return {"touser": touser, "msgtype": "text", "text": {"content": content}}
        case ImageReply(media_id=media_id):
            return {"touser": touser, "msgtype": "image", "image": {"media_id": media_id}}
        case VoiceReply(media_id=media_id):
            return {"touser": touser, "msgtype": "voice", "voice": {"media_id": media_id}}
        case VideoReply():
            video = {
                "media_id": reply.media_id,
                "thumb_media_id": "",
                "title": reply.title,
                "description": reply.description,
            }
            return {"touser": touser, "msgtype": "video", "video": video}
        case MusicReply():
            music = {
                "title": reply.title,
                "description": reply.description,
                "musicurl": reply.music_url,
                "hqmusicurl": reply.hq_music_url,
                "thumb_media_id": reply.thumb_media_id,
            }
            return {"touser": touser, "msgtype": "music", "music": music}
        case NewsReply(articles=articles):
            # The customer-service API carries one article (45008 otherwise).
            items = [
                {"title": a.title, "description": a.description, "url": a.url, "picurl": a.pic_url}
                for a in articles[:1]
            ]
            return {"touser": touser, "msgtype": "news", "news": {"articles": items}}
        case TransferCustomerServiceReply():
            return {"touser": touser, "msgtype": "text", "text": {"content": ""}}
    raise TypeError(f"not a reply: {reply!r}")
