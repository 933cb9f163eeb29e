"""Credentials kept out of what aiohttp writes about requests: access log lines, and its answer
to (and log of) a request it can't parse.

The emulated /cgi-bin API takes `access_token` and `secret` in the query string, as WeChat's does,
so a request's URL is a credential; a Cookie or Authorization header is one too.
"""

import logging
import re
from urllib.parse import unquote_plus

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from aiohttp.http_exceptions import BadHttpMessage, BadHttpMethod, HttpProcessingError, LineTooLong
from aiohttp.web_protocol import RequestHandler

# Query parameters whose values are credentials (compared after decoding, ignoring case).
SECRET_PARAMETERS = frozenset(
    {"access_token", "refresh_token", "secret", "appsecret", "token", "js_code", "code"}
)
MASK = "***"


def redact_url(url: str) -> str:
    """The URL (or path and query) with the values of SECRET_PARAMETERS masked."""
    head, question, query = url.partition("?")
    if not question:
        return url
    # yarl splits only at "&", but other readers of a log may split at ";" as well.
    pairs = re.split(r"([&;])", query)
    for index in range(0, len(pairs), 2):
        name, equals, _ = pairs[index].partition("=")
        if equals and unquote_plus(name).lower() in SECRET_PARAMETERS:
            pairs[index] = f"{name}={MASK}"
    return f"{head}?{''.join(pairs)}"


class AccessLog(AbstractAccessLogger):
    """aiohttp's default line, "%a "%r" %s %b "%{Referer}i" "%{User-Agent}i"" with the time left
    to the log's own format and credentials in the URL and referrer masked; the configured
    format string is not used."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        version = request.version
        self.logger.info(
            '%s "%s %s HTTP/%d.%d" %d %d "%s" "%s" %.3fs',
            request.remote or "-",
            request.method,
            redact_url(request.path_qs),
            version.major,
            version.minor,
            response.status,
            response.body_length,
            redact_url(request.headers.get("Referer", "-")),
            request.headers.get("User-Agent", "-"),
            time,
        )

    @property
    def enabled(self) -> bool:
        return self.logger.isEnabledFor(logging.INFO)


def _refusal(error: HttpProcessingError) -> str:
    if isinstance(error, LineTooLong):
        return f"the URL or a header is longer than {error.args[1]} bytes"
    return "the request is not well-formed HTTP"


_aiohttp_handle_error = RequestHandler.handle_error


def _handle_error(
    self: RequestHandler,
    request: web.BaseRequest,
    status: int = 500,
    exc: BaseException | None = None,
    message: str | None = None,
) -> web.StreamResponse:
    if isinstance(exc, HttpProcessingError):
        # The parser's message quotes up to 100 bytes of the offending line (a URL's
        # ?access_token=..., a Cookie); aiohttp logs it and sends it back as the body.
        message = _refusal(exc)
        exc = BadHttpMethod("") if isinstance(exc, BadHttpMethod) else BadHttpMessage(message)
    return _aiohttp_handle_error(self, request, status, exc, message)


def quote_no_request_in_parser_errors() -> None:
    """Make aiohttp answer and log a request it can't parse without quoting any of it.

    aiohttp has no per-application hook for these answers (they are made before any app sees
    the request), so this replaces RequestHandler.handle_error for the whole process; other
    errors go to aiohttp's own. Calling it again changes nothing.
    """
    RequestHandler.handle_error = _handle_error  # type: ignore[method-assign]
