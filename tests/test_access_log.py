"""The access line's cheaper making (paygate/logs.py `log_masked`, `timestamp`): the same line as
`logger.info(..., extra=...)` would write, card numbers masked, timestamps exactly datetime's."""
from __future__ import annotations

import json
import logging
import random
from datetime import UTC, datetime

from paygate.logs import CardNumberFilter, JsonFormatter, log_masked, timestamp


def test_timestamps_are_written_exactly_as_datetime_writes_them():
    rng = random.Random(16)
    moments = [rng.uniform(0, 4e9) for _ in range(20_000)]
    moments += [1_796_518_237 + micros / 1e6 + nudge for micros in range(0, 1_000_000, 9973)
                for nudge in (0.0, 4.9e-7, 5e-7, 5.1e-7)]
    moments += [1_796_518_237.9999996, 1_796_518_237.0005, 0.0]

    assert [timestamp(t) for t in moments] == \
        [datetime.fromtimestamp(t, UTC).isoformat(timespec="milliseconds") for t in moments]


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[dict] = []
        self.addFilter(CardNumberFilter())
        self.setFormatter(JsonFormatter())

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(self.format(record)))


def test_a_masked_line_is_the_line_logger_info_writes_with_card_numbers_masked():
    log = logging.getLogger("paygate.test-access")
    lines = Lines()
    log.addHandler(lines)
    log.setLevel(logging.INFO)
    fields = {"method": "GET", "path": "/orders/4242424242424242/", "status": 200, "duration_ms": 1.5,
              "client": "127.0.0.1"}
    try:
        log.info("request", extra=fields)
        log_masked(log, "request", fields)
        log.setLevel(logging.WARNING)
        log_masked(log, "request", fields)
    finally:
        log.removeHandler(lines)

    plain, masked = lines.lines
    assert [k for k in masked if k != "ts"] == [k for k in plain if k != "ts"]
    assert {k: v for k, v in masked.items() if k != "ts"} == {k: v for k, v in plain.items() if k != "ts"}
    assert masked["path"] == "/orders/****************/"
