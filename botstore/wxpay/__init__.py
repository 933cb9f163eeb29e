"""WeChat Pay, emulated (API v3): the gateway under /v3/ (gateway.py), the platform's keys
(platform.py) and notification delivery (notify.py). The business lives in
botstore/services/wxpay.py, the wire format in botstore/wechat/pay.py."""
