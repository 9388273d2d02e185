"""Logging that never carries a personal identity number or a secret."""

from __future__ import annotations

import logging

from storage.domain.pnr import redact_personal_numbers

_HANDLER_NAME = "korttid"
_FORMATTER = logging.Formatter()


class RedactingFilter(logging.Filter):
    """Renders each record's message once, with identity numbers replaced."""

    def __init__(self, secrets: tuple[str, ...] = ()) -> None:
        super().__init__()
        self._secrets = tuple(s for s in secrets if s)

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = self._clean(record.getMessage()), None
        # A traceback quotes exception messages, and those may quote input (a driver error
        # with a query parameter): format it here, cleaned, so the formatter reuses it.
        if record.exc_info and not record.exc_text:
            record.exc_text = _FORMATTER.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self._clean(record.exc_text)
        if record.stack_info:
            record.stack_info = self._clean(record.stack_info)
        return True

    def _clean(self, text: str) -> str:
        text = redact_personal_numbers(text)
        for secret in self._secrets:
            text = text.replace(secret, "[hemligt]")
        return text


def setup_logging(level: str, secrets: tuple[str, ...] = ()) -> None:
    handler = logging.StreamHandler()
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter(secrets))
    root = logging.getLogger()
    # Replace only our own handler, so a second call (or a test harness's handler) is left alone.
    root.handlers[:] = [h for h in root.handlers if h.get_name() != _HANDLER_NAME] + [handler]
    root.setLevel(level.upper())
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    # At DEBUG the SQLite driver logs every statement with its parameters: what people typed.
    logging.getLogger("aiosqlite").setLevel(max(root.level, logging.INFO))
