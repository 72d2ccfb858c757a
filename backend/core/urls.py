"""Secrets inside URLs: `scheme://user:password@host` is shown as `scheme://user:***@host`.

`mask_url` masks one URL, `mask_secrets_in_text` every URL inside free text (error messages, log
lines), and `install_log_masking` makes every log record pass through `mask_secrets_in_text`, whoever
logged it (httpx logs request URLs, uvicorn logs errors). A user name alone (`https://token@host`, a
common way to pass a token) is masked whole: `https://***@host`.

A leaf module (stdlib only), so configuration, errors and Redis can all use it.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import urlsplit, urlunsplit

MASK = "***"

# scheme://userinfo@ — the authority ends at whitespace, '/', '?' or '#'; userinfo runs to its last '@'
# (a raw '@' in a password is wrong, but it happens: mask all of it)
_USERINFO = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.\-]*://)(?P<userinfo>[^\s/?#'\"<>]+)@")


def _mask_userinfo(userinfo: str) -> str:
    user, sep, _password = userinfo.partition(":")
    return f"{user}:{MASK}" if sep else MASK


def mask_url(url: str) -> str:
    """`url` with the password of its user info replaced by ***; a user name alone is masked whole."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return mask_secrets_in_text(url)
    if "@" not in parts.netloc:
        return url
    userinfo, _, hostport = parts.netloc.rpartition("@")
    return urlunsplit(parts._replace(netloc=f"{_mask_userinfo(userinfo)}@{hostport}"))


def mask_secrets_in_text(text: str) -> str:
    """Every `scheme://user:password@` in `text` with the password masked (see the module docstring)."""
    if "@" not in text or "://" not in text:
        return text
    return _USERINFO.sub(lambda m: m.group("scheme") + _mask_userinfo(m.group("userinfo")) + "@", text)


class _MaskedRecord(logging.LogRecord):
    def getMessage(self) -> str:  # noqa: N802 - the stdlib's name
        return mask_secrets_in_text(super().getMessage())


def install_log_masking() -> None:
    """Every log record from now on masks URL secrets in its message (idempotent, process-wide)."""
    factory = logging.getLogRecordFactory()
    if getattr(factory, "_mithi_masking", False):
        return

    def masked(*args: object, **kwargs: object) -> logging.LogRecord:
        record = factory(*args, **kwargs)
        if type(record) is logging.LogRecord:
            record.__class__ = _MaskedRecord  # same fields; getMessage() masks
        return record

    masked._mithi_masking = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(masked)
