"""Run localstripe (GPL: only ever in its own process) for the Stripe adapter's tests.

    python tests/localstripe_server.py PORT

Three changes to how `localstripe --from-scratch --port N` runs, none to what it answers wrongly
on purpose (tests/fake_stripe.py covers what localstripe gets wrong):
- it binds 127.0.0.1, not every interface;
- it keeps its state in memory only: it has no option for this, and otherwise rewrites
  /tmp/localstripe.pickle on every write (slow, and shared by every run on the machine);
- its PaymentIntents gain `amount_received` and `amount_capturable`, two fields of Stripe's
  PaymentIntent object it leaves out, so that a capture's echo can be checked at all;
- its Subscriptions take `items[0][price]`, as Stripe documents them: localstripe knows only
  Plans (`items[0][plan]`), and Stripe accepts a plan's id wherever it takes a price's, so a
  `price` is read as the plan of that id (a test's price is a localstripe plan).
"""
from __future__ import annotations

import sys

from aiohttp import web
from localstripe import resources, server


def _amount_received(intent) -> int:
    charge = intent.latest_charge
    if charge is None or charge.status != "succeeded" or not charge.captured:
        return 0
    return getattr(charge, "_amount_captured", charge.amount)


def _amount_capturable(intent) -> int:
    return intent.latest_charge.amount if intent.status == "requires_capture" else 0


def _remember_captured_amount(capture):
    def wrapped(charge, amount, on_success=None):
        capture(charge, amount, on_success)
        charge._amount_captured = charge.amount if amount is None else int(amount)
    return wrapped


def _price_as_plan(init):
    def wrapped(self, *args, items=None, **kwargs):
        if isinstance(items, list):
            items = [{**{k: v for k, v in item.items() if k != "price"}, "plan": item.get("plan", item["price"])}
                     if isinstance(item, dict) and "price" in item else item for item in items]
        init(self, *args, items=items, **kwargs)
    return wrapped


def main(port: int) -> None:
    resources.Store.dump_to_disk = lambda self: None
    resources.PaymentIntent.amount_received = property(_amount_received)
    resources.PaymentIntent.amount_capturable = property(_amount_capturable)
    resources.Charge._capture = _remember_captured_amount(resources.Charge._capture)
    resources.Subscription.__init__ = _price_as_plan(resources.Subscription.__init__)
    web.run_app(server.app, host="127.0.0.1", port=port, access_log=None, print=None)


if __name__ == "__main__":
    main(int(sys.argv[1]))
