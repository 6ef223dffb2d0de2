"""Structured JSON logs, one object a line, each carrying the request id of the request it serves
(and its trace and span ids when traces are recorded), and never a card number.

Card numbers reach log records from outside: a URL path, a GraphQL syntax error quoting the query,
a provider's error message, a driver's parameter dump. `CardNumberFilter` masks them (plain,
spaced or dashed: domain/text.py) in a record's message and arguments, its extras, and its
exception and stack text, before any formatter sees it. `configure_logging` installs it on the
root handler, which every logger reaches (uvicorn's are made to propagate; SQLAlchemy's and
httpx's do); the filter rewrites the record itself, so handlers after it see the masked record
too. `JsonFormatter` masks as well, so that a handler configured elsewhere with it is safe
without the filter.
"""
from __future__ import annotations

import json
import logging
import logging.config
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from opentelemetry import trace

from domain.text import MIN_DIGITS, looks_like_card_number, redact_card_numbers

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)

# Record attributes that aren't ours to print (uvicorn's color_message repeats msg with ANSI codes).
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime", "color_message"}
_MASKED = "_card_numbers_masked"
_NOT_MASKED = _STANDARD - {"color_message"}  # what mask_card_numbers leaves alone (or does apart)
_TRACEBACKS = logging.Formatter()


def mask_card_numbers(record: logging.LogRecord) -> None:
    """Mask card numbers in `record`, in place; a record already masked is left as it is."""
    if getattr(record, _MASKED, False):
        return
    message = record.getMessage()
    masked = _redacted(message)
    if masked != message:
        record.msg, record.args = masked, ()
    attributes = record.__dict__
    for name in attributes.keys() - _NOT_MASKED:
        attributes[name] = _masked(attributes[name])
    if record.exc_info and not record.exc_text:
        record.exc_text = _TRACEBACKS.formatException(record.exc_info)
    if record.exc_text:
        record.exc_text = _redacted(record.exc_text)
    if record.stack_info:
        record.stack_info = _redacted(record.stack_info)
    setattr(record, _MASKED, True)


def _redacted(text: str) -> str:
    # A card number is at least MIN_DIGITS digits: shorter text (most of a request's log line:
    # its method, path, status, address) holds none, and is returned as it is.
    return text if len(text) < MIN_DIGITS else redact_card_numbers(text)


def _masked(value: Any) -> Any:
    if isinstance(value, str):
        return _redacted(value)
    if isinstance(value, dict):
        return {_masked(k): _masked(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_masked(v) for v in value)
    if value is None or isinstance(value, bool | float):
        return value
    # Anything else is logged through its text: a card number held as an int, or in an object's
    # repr, is masked text in the log.
    text = str(value)
    return redact_card_numbers(text) if len(text) >= MIN_DIGITS and looks_like_card_number(text) else value


class CardNumberFilter(logging.Filter):
    """Masks card numbers in every record it sees; never drops one."""

    def filter(self, record: logging.LogRecord) -> bool:
        mask_card_numbers(record)
        return True


def log_masked(logger: logging.Logger, msg: str, fields: dict[str, Any]) -> None:
    """`logger.info(msg, extra=fields)` for a line logged on every request (the access line,
    paygate/middleware.py), at about half its cost: the record is made without logging's search
    of the stack for its caller (the caller's own frame is the answer), and `fields` are masked
    here, the record marked so, which spares the filter and the formatter their walk over every
    attribute of the record. `msg` is ours, with no arguments: never a card number."""
    if not logger.isEnabledFor(logging.INFO):
        return
    caller = sys._getframe(1)
    extra = {name: _masked(value) for name, value in fields.items()}
    extra[_MASKED] = True
    logger.handle(logger.makeRecord(logger.name, logging.INFO, caller.f_code.co_filename, caller.f_lineno,
                                    msg, (), None, caller.f_code.co_name, extra))


# As json.dumps(value, default=str), whose keyword builds an encoder on every call.
_ENCODE = json.JSONEncoder(default=str).encode
_second: tuple[int, str] = (-1, "")


def timestamp(created: float) -> str:
    """`datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds")`, exactly, with
    the date and time of a second formatted once: every line of a busy second shares them.
    Rounded as datetime rounds (to the microsecond, half to even, carrying into the second)."""
    whole = int(created)
    micros = round((created - whole) * 1_000_000)
    if micros >= 1_000_000:
        whole, micros = whole + 1, micros - 1_000_000
    second, text = _second
    if second != whole:
        text = datetime.fromtimestamp(whole, UTC).isoformat(timespec="seconds").removesuffix("+00:00")
        _set_second(whole, text)
    return f"{text}.{micros // 1000:03d}+00:00"


def _set_second(second: int, text: str) -> None:
    global _second
    _second = (second, text)  # one tuple: a thread reading it sees a second and its own text


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        mask_card_numbers(record)
        entry = {
            "ts": timestamp(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        request_id = request_id_var.get()
        if request_id:
            entry["request_id"] = request_id
        span = trace.get_current_span().get_span_context()
        if span.is_valid:  # a trace is recorded (paygate/tracing.py): the line leads to it
            entry["trace_id"] = format(span.trace_id, "032x")
            entry["span_id"] = format(span.span_id, "016x")
        entry.update({k: v for k, v in record.__dict__.items() if k not in _STANDARD and not k.startswith("_")})
        if record.exc_text:
            entry["exc"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        return _ENCODE(entry)


def logging_config(level: str = "INFO") -> dict:
    """Our JSON lines on stderr, as a `logging.config.dictConfig` dict.

    A dict, not calls on loggers, so that uvicorn applies it in every process it starts:
    `--workers N` processes inherit nothing that the parent configured, and uvicorn calls
    `dictConfig(log_config)` in each of them before it imports the app.
    """
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonFormatter}},
        # Every record reaches the root's handler; the filter masks card numbers in the record itself.
        "filters": {"cards": {"()": CardNumberFilter}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "stream": "ext://sys.stderr",
                                "formatter": "json", "filters": ["cards"]}},
        "root": {"handlers": ["stderr"], "level": level},
        "loggers": {
            # uvicorn's access log would repeat ours without the request id.
            "uvicorn.access": {"handlers": [], "propagate": False},
            "uvicorn": {"handlers": [], "propagate": True},
            "uvicorn.error": {"handlers": [], "propagate": True},
        },
    }


def configure_logging(level: str = "INFO") -> None:
    logging.config.dictConfig(logging_config(level))
