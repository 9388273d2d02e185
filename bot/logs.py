"""Logging that never carries a personal identity number or a secret."""

from __future__ import annotations

import logging

from storage.domain.pnr import redact_personal_numbers

_HANDLER_NAME = "korttid"


class RedactingFilter(logging.Filter):
    """Renders each record's message once, with identity numbers replaced."""

    def __init__(self, secrets: tuple[str, ...] = ()) -> None:
        super().__init__()
        self._secrets = tuple(s for s in secrets if s)

    def filter(self, record: logging.LogRecord) -> bool:
        message = redact_personal_numbers(record.getMessage())
        for secret in self._secrets:
            message = message.replace(secret, "[hemligt]")
        record.msg, record.args = message, None
        return True


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
