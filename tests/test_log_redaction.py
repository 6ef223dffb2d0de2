"""One redaction for everything leaving through logs: card numbers (plain, spaced, dashed) are
masked in messages, arguments, extras, exception and stack text, for every logger the app's
logging reaches (ours, uvicorn's, SQLAlchemy's, httpx's), before any handler writes them."""
from __future__ import annotations

import io
import json
import logging
import re

import pytest

from paygate.logs import CardNumberFilter, JsonFormatter, configure_logging

NUMBERS = ["4242424242424242", "4242 4242 4242 4242", "4242-4242-4242-4242"]


@pytest.fixture
def logged():
    """Logging as `paygate serve` configures it, written to a buffer; restored afterwards."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level, {name: (logging.getLogger(name).handlers[:], logging.getLogger(name).propagate)
                                           for name in ("uvicorn", "uvicorn.error")}
    configure_logging("DEBUG")
    buffer = io.StringIO()
    root.handlers[0].setStream(buffer)
    yield buffer
    root.handlers[:], level, loggers = saved
    root.setLevel(level)
    for name, (handlers, propagate) in loggers.items():
        logging.getLogger(name).handlers[:], logging.getLogger(name).propagate = handlers, propagate


@pytest.mark.parametrize("number", NUMBERS)
@pytest.mark.parametrize("logger", ["paygate.http", "uvicorn.error", "sqlalchemy.engine.Engine", "httpx", "strawberry"])
def test_a_card_number_is_masked_wherever_a_record_carries_it(logged, logger, number):
    log = logging.getLogger(logger)

    log.warning("path /orders/%s/cancel/", number, extra={"path": f"/x/{number}", "ids": [number], "n": 4242424242424242})
    try:
        raise ValueError(f"value {number} refused")
    except ValueError:
        log.exception("failed on %s", number, stack_info=True)

    lines = [json.loads(line) for line in logged.getvalue().splitlines()]
    assert len(lines) == 2 and "4242424242424242" not in re.sub("[ -]", "", logged.getvalue())
    assert "****" in lines[0]["msg"] and "****" in lines[0]["path"] and "****" in lines[1]["exc"]
    assert "ValueError" in lines[1]["exc"] and "stack" in lines[1]


def test_handlers_after_the_filter_see_the_masked_record(logged):
    seen: list[logging.LogRecord] = []
    later = logging.Handler()
    later.emit = seen.append
    logging.getLogger().addHandler(later)

    logging.getLogger("paygate.test").info("typed %s", "4242 4242 4242 4242")

    assert seen[0].getMessage() == "typed **** **** **** ****"


def test_the_formatter_alone_masks_too():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "card %s", ("4242-4242-4242-4242",), None)

    assert "****-****-****-****" in JsonFormatter().format(record)
    assert CardNumberFilter().filter(record) is True  # masks, never drops


def test_text_without_a_card_number_is_logged_as_it_was(logged):
    logging.getLogger("paygate.test").info("order %s for %s", "ORD-000123", "29.99", extra={"amount": 2999})

    line = json.loads(logged.getvalue())
    assert (line["msg"], line["amount"]) == ("order ORD-000123 for 29.99", 2999)
