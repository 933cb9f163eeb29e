"""The emulated WeChat platform: the client that signs and posts messages to a webhook."""
