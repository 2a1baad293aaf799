"""Structured logs: one JSON object per line, each carrying the request's correlation id.

The correlation id is the caller's `x-vol-correlation` (or the one the service made up for the
request); the middleware puts it in `correlation_id` for the length of the request, and every
record logged while it runs carries it, whichever logger wrote it.

A record's fields: `time` (UTC, ISO 8601 with milliseconds), `level`, `logger`, `pid` (which
worker process), `message`, `correlation_id` (when inside a request), `exception` (a formatted
traceback, when there is one), and whatever the caller passed as `extra={"fields": {...}}` (the
access log passes method, route, status, duration_ms and client). Nothing here adds request data of its own: what a record says is
what its caller chose to log, and no caller logs a password, code or token.
"""

from __future__ import annotations

import logging
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

import orjson

correlation_id: ContextVar[str | None] = ContextVar("ticketbooth_correlation_id", default=None)

ACCESS_LOGGER = "ticketbooth.access"

# Attributes every LogRecord has; anything else a caller put there through `extra` is output too.
_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime", "color_message"}


class JsonFormatter(logging.Formatter):
    """Formats a record as one line of JSON (see the module docstring for its fields)."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "pid": record.process,
            "message": record.getMessage(),
        }
        cid = correlation_id.get()
        if cid:
            out["correlation_id"] = cid
        fields = record.__dict__.get("fields")
        if isinstance(fields, dict):
            out.update(fields)
        for key, value in record.__dict__.items():
            if key not in _STANDARD and key != "fields" and key not in out:
                out[key] = value
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            out["exception"] = record.exc_text
        if record.stack_info:
            out["stack"] = self.formatStack(record.stack_info)
        return orjson.dumps(out, default=str).decode("utf-8")


class TextFormatter(logging.Formatter):
    """The plain format (`TICKETBOOTH_LOG_FORMAT=text`): time, level, logger, message, then the
    correlation id and the access fields as key=value."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        extras = []
        cid = correlation_id.get()
        if cid:
            extras.append(f"correlation_id={cid.encode('unicode_escape').decode('ascii')}")  # one line, always
        fields = record.__dict__.get("fields")
        if isinstance(fields, dict):
            extras.extend(f"{k}={v}" for k, v in fields.items())
        return f"{line} [{' '.join(extras)}]" if extras else line


def log_config(level: str, fmt: str) -> dict[str, Any]:
    """A `logging.config.dictConfig` for uvicorn and the service: uvicorn's loggers and the service's
    own (`ticketbooth.*`, the access log included) write to stderr, as JSON (`fmt` "json") or text."""
    formatter = {"()": f"{__name__}.{'JsonFormatter' if fmt == 'json' else 'TextFormatter'}"}
    handler = {"class": "logging.StreamHandler", "formatter": "default", "stream": "ext://sys.stderr"}
    level = level.upper()
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"default": formatter},
        "handlers": {"default": handler},
        "loggers": {
            "uvicorn": {"handlers": ["default"], "level": level, "propagate": False},
            "uvicorn.error": {"level": level},
            "uvicorn.access": {"handlers": ["default"], "level": level, "propagate": False},
            "ticketbooth": {"handlers": ["default"], "level": level, "propagate": False},
        },
    }
