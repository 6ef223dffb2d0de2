"""The ledger: balanced by construction, exact in every exponent, derived balances that add up."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from domain.errors import (
    InvalidAmountError,
    InvalidStateError,
    RefundExceedsCapturedError,
    UnbalancedEntryError,
    ValidationError,
)
from domain.ledger import (
    Account,
    AccountKind,
    Capture,
    EntryKind,
    JournalEntry,
    Payout,
    PayoutSource,
    Posting,
    SellerShare,
    Side,
    Transfer,
    allocate,
    balance_of,
    balances,
    capture_entry,
    capture_view,
    capture_views,
    due_holds,
    holds,
    payout_entry,
    payout_failure_entry,
    payout_paid_entry,
    provider_fee_entry,
    refund_entry,
    refund_failure_entry,
    release_entry,
    transfer_entry,
    trial_balance,
)
from domain.ledger import accounts as acc
from domain.money import Money

T0 = datetime(2024, 5, 1, 12, tzinfo=UTC)
HOLD = timedelta(days=7)
BUYER = 900


def usd(minor: int) -> Money:
    return Money.of(minor, "USD")


def capture_of(payment_id: str, code: str, shares: dict[int, int], bps: int = 1000,
               provider_fee: int = 0, at: datetime = T0) -> JournalEntry:
    seller_shares = tuple(SellerShare(s, Money.of(m, code)) for s, m in shares.items())
    return capture_entry(Capture(payment_id, seller_shares, bps, at, Money.of(provider_fee, code)))


def amounts(entry: JournalEntry) -> dict[tuple[str, str], int]:
    return {(p.account.key, p.side.value): p.amount.minor for p in entry.postings}


# Accounts

@pytest.mark.parametrize("account", [
    acc.provider_clearing("USD"), acc.provider_fees("JPY"), acc.platform_fees("KWD"),
    acc.seller_held(42, "USD"), acc.seller_available(42, "USD"), acc.seller_transferred(7, "EUR"),
    acc.payouts_in_transit(7, "USD"), acc.payouts_paid(7, "USD"), acc.customer_refunds(3, "USD"),
    acc.customer_refunds(None, "USD"),
])
def test_an_account_key_parses_back_to_the_same_account(account):
    key = account.key

    assert Account.parse(key) == account


def test_account_keys_are_stable_strings():
    assert acc.seller_held(42, "USD").key == "seller_held:42:USD"
    assert acc.provider_clearing("JPY").key == "provider_clearing:JPY"


@pytest.mark.parametrize("key", ["", "seller_held:USD", "platform_fees:1:USD", "nope:USD",
                                 "seller_held:042:USD", "seller_held:-1:USD", "seller_held:1:usd",
                                 "seller_held:1:USD:x", "provider_clearing:XXX"])
def test_a_malformed_account_key_is_refused(key):
    with pytest.raises(ValidationError):
        Account.parse(key)


def test_every_kind_has_a_normal_side_so_balances_read_positive():
    debit_normal = {k for k in AccountKind if k.normal_side is Side.DEBIT}

    assert debit_normal == {AccountKind.PROVIDER_CLEARING, AccountKind.PROVIDER_FEES,
                            AccountKind.DISPUTE_COSTS}


# Entries

def test_a_balanced_entry_is_built():
    entry = JournalEntry.balanced(EntryKind.TRANSFER, "transfer:t1", T0, [
        Posting.debit(acc.seller_available(1, "USD"), usd(500)),
        Posting.credit(acc.seller_transferred(1, "USD"), usd(500))])

    assert entry.total("USD") == usd(500)
    assert trial_balance([entry]) == {"USD": usd(0)}


@pytest.mark.parametrize("postings", [
    [],
    [Posting.debit(acc.seller_available(1, "USD"), usd(500))],
    [Posting.debit(acc.seller_available(1, "USD"), usd(500)),
     Posting.credit(acc.seller_transferred(1, "USD"), usd(499))],
    [Posting.debit(acc.provider_clearing("USD"), usd(100)),
     Posting.credit(acc.platform_fees("JPY"), Money.of(100, "JPY"))],
])
def test_an_empty_or_unbalanced_entry_is_refused(postings):
    with pytest.raises(UnbalancedEntryError):
        JournalEntry.balanced(EntryKind.TRANSFER, "transfer:t1", T0, postings)


def test_an_entry_balanced_in_each_of_two_currencies_is_accepted():
    postings = [Posting.debit(acc.provider_clearing("USD"), usd(100)),
                Posting.credit(acc.platform_fees("USD"), usd(100)),
                Posting.debit(acc.provider_clearing("JPY"), Money.of(150, "JPY")),
                Posting.credit(acc.platform_fees("JPY"), Money.of(150, "JPY"))]

    entry = JournalEntry.balanced(EntryKind.REVERSAL, "fx:1", T0, postings)

    assert entry.currencies == ("JPY", "USD")


@pytest.mark.parametrize("minor", [0, -5])
def test_a_posting_of_zero_or_a_negative_amount_is_refused(minor):
    with pytest.raises(InvalidAmountError):
        Posting.debit(acc.provider_clearing("USD"), usd(minor))


def test_a_posting_in_another_currency_than_its_account_is_refused():
    with pytest.raises(ValidationError):
        Posting.debit(acc.provider_clearing("USD"), Money.of(100, "EUR"))


def test_an_entry_with_a_naive_time_or_an_empty_ref_is_refused():
    postings = [Posting.debit(acc.seller_available(1, "USD"), usd(5)),
                Posting.credit(acc.seller_transferred(1, "USD"), usd(5))]

    with pytest.raises(ValidationError):
        JournalEntry.balanced(EntryKind.TRANSFER, "transfer:t1", datetime(2024, 5, 1), postings)
    with pytest.raises(ValidationError):
        JournalEntry.balanced(EntryKind.TRANSFER, " ", T0, postings)


def test_a_reversal_swaps_every_side_and_nets_every_balance_to_zero():
    capture = capture_of("p1", "USD", {1: 1999, 2: 1005}, provider_fee=117)

    reversal = capture.reversal(EntryKind.REVERSAL, "reversal:p1", T0 + timedelta(hours=1))

    assert {(p.account, p.amount, p.side.opposite) for p in reversal.postings} == \
        {(p.account, p.amount, p.side) for p in capture.postings}
    assert reversal.parent_ref == capture.ref
    assert all(m.minor == 0 for m in balances([capture, reversal]).values())


def test_entries_are_immutable():
    entry = capture_of("p1", "USD", {1: 1000})

    with pytest.raises(AttributeError):
        entry.ref = "capture:other"  # type: ignore[misc]


# Capture

@pytest.mark.parametrize(("code", "shares", "fee", "nets"), [
    ("USD", {1: 1999, 2: 1005}, 301, {1: 1799, 2: 904}),     # 199.9 rounds to 200, 100.5 to 101
    ("JPY", {1: 1500, 2: 15}, 152, {1: 1350, 2: 13}),        # 1.5 yen rounds half up to 2
    ("KWD", {1: 1250, 2: 5, 3: 1}, 126, {1: 1125, 2: 4, 3: 1}),
])
def test_a_capture_credits_each_seller_net_and_the_platform_its_fee_exactly(code, shares, fee, nets):
    entry = capture_of("p1", code, shares, bps=1000)

    gross = sum(shares.values())
    assert amounts(entry)[(f"provider_clearing:{code}", "debit")] == gross
    assert amounts(entry)[(f"platform_fees:{code}", "credit")] == fee
    assert {s: amounts(entry)[(f"seller_held:{s}:{code}", "credit")] for s in nets} == nets
    assert trial_balance([entry]) == {code: Money.zero(code)}


def test_three_one_cent_shares_at_ten_percent_leave_no_fee_and_still_balance():
    entry = capture_of("p1", "USD", {1: 1, 2: 1, 3: 1}, bps=1000)

    assert AccountKind.PLATFORM_FEES not in {p.account.kind for p in entry.postings}
    assert balance_of([entry], acc.seller_held(2, "USD")) == usd(1)
    assert trial_balance([entry]) == {"USD": usd(0)}


def test_the_provider_fee_is_borne_by_the_platform_and_not_the_sellers():
    entry = capture_of("p1", "USD", {1: 10_000}, bps=1000, provider_fee=320)

    assert balance_of([entry], acc.provider_clearing("USD")) == usd(9_680)
    assert balance_of([entry], acc.provider_fees("USD")) == usd(320)
    assert balance_of([entry], acc.seller_held(1, "USD")) == usd(9_000)


def test_a_provider_fee_learnt_later_is_its_own_entry_on_the_same_capture():
    capture = capture_of("p1", "USD", {1: 10_000})

    fee = provider_fee_entry("p1", usd(320), T0 + timedelta(minutes=5))

    assert (fee.kind, fee.ref, fee.parent_ref) == (EntryKind.PROVIDER_FEE, capture.ref, capture.ref)
    assert capture_views([capture, fee])[capture.ref].provider_fee == usd(320)


@pytest.mark.parametrize("build", [
    lambda: Capture("p1", (), 1000, T0),
    lambda: Capture("p1", (SellerShare(1, usd(5)), SellerShare(1, usd(6))), 1000, T0),
    lambda: Capture("p1", (SellerShare(1, usd(5)), SellerShare(2, Money.of(6, "EUR"))), 1000, T0),
    lambda: Capture("p1", (SellerShare(1, usd(5)),), 10_001, T0),
    lambda: Capture("p1", (SellerShare(1, usd(5)),), 1000, T0, usd(6)),
    lambda: Capture("", (SellerShare(1, usd(5)),), 1000, T0),
    lambda: SellerShare(1, usd(0)),
])
def test_a_capture_that_makes_no_sense_is_refused(build):
    with pytest.raises(ValidationError):
        build()


# Refunds

@pytest.mark.parametrize(("total", "weights", "parts"), [
    (2, [1, 1, 1], [1, 1, 0]),
    (10, [4, 4, 4], [4, 3, 3]),
    (1, [1, 1, 1], [1, 0, 0]),
    (7, [904, 1799, 301], [2, 4, 1]),
    (0, [5, 5], [0, 0]),
    (10, [10, 0], [10, 0]),
])
def test_allocation_is_exact_and_breaks_ties_towards_the_earlier_part(total, weights, parts):
    assert allocate(total, weights) == parts


@given(st.lists(st.integers(0, 10**12), min_size=1, max_size=6).filter(sum), st.data())
def test_allocation_always_sums_exactly_and_never_exceeds_a_part(weights, data):
    total = data.draw(st.integers(0, sum(weights)))

    parts = allocate(total, weights)

    assert sum(parts) == total
    assert all(0 <= p <= w for p, w in zip(parts, weights, strict=True))


def test_a_partial_refund_is_taken_from_sellers_and_fee_in_proportion_and_sums_exactly():
    capture = capture_of("p1", "USD", {1: 1999, 2: 1005})  # nets 1799, 904; fee 301

    refund = refund_entry(capture_view(capture, []), "r1", usd(1000), BUYER, T0)

    assert amounts(refund) == {("seller_held:1:USD", "debit"): 599, ("seller_held:2:USD", "debit"): 301,
                               ("platform_fees:USD", "debit"): 100,
                               ("customer_refunds:900:USD", "credit"): 1000}
    assert refund.parent_ref == capture.ref


def test_one_cent_refunds_of_one_cent_shares_empty_every_part_exactly_once():
    capture = capture_of("p1", "USD", {1: 1, 2: 1, 3: 1})
    journal = [capture]

    for n in range(3):
        journal.append(refund_entry(capture_view(capture, journal[1:]), f"r{n}", usd(1), BUYER, T0))

    view = capture_view(capture, journal[1:])
    assert view.refundable == usd(0)
    assert [s.refunded for s in view.sellers] == [usd(1)] * 3
    assert all(balance_of(journal, acc.seller_held(s, "USD")) == usd(0) for s in (1, 2, 3))


def test_successive_partial_refunds_end_with_every_part_at_zero():
    capture = capture_of("p1", "KWD", {1: 1_001, 2: 2_003, 3: 7}, bps=1_234)
    journal = [capture]

    for n, minor in enumerate([1_000, 3, 1, 500]):
        journal.append(refund_entry(capture_view(capture, journal[1:]), f"r{n}", Money.of(minor, "KWD"),
                                    BUYER, T0))
    rest = capture_view(capture, journal[1:]).refundable
    journal.append(refund_entry(capture_view(capture, journal[1:]), "last", rest, BUYER, T0))

    everyone = balances(journal)
    assert everyone[acc.customer_refunds(BUYER, "KWD")] == Money.of(3_011, "KWD")
    assert everyone[acc.platform_fees("KWD")].minor == 0
    assert all(everyone[acc.seller_held(s, "KWD")].minor == 0 for s in (1, 2, 3))


def test_a_refund_above_what_is_left_is_refused():
    capture = capture_of("p1", "USD", {1: 10_000})
    first = refund_entry(capture_view(capture, []), "r1", usd(6_000), BUYER, T0)

    with pytest.raises(RefundExceedsCapturedError):
        refund_entry(capture_view(capture, [first]), "r2", usd(4_001), BUYER, T0)


def test_a_refund_after_release_comes_out_of_available_money():
    capture = capture_of("p1", "USD", {1: 1_000, 2: 1_000})
    hold_of_seller_1 = holds([capture], hold_period=HOLD)[0]
    release = release_entry(hold_of_seller_1, T0 + HOLD)

    refund = refund_entry(capture_view(capture, [release]), "r1", usd(2_000), BUYER, T0 + HOLD)

    assert amounts(refund)[("seller_available:1:USD", "debit")] == 900
    assert amounts(refund)[("seller_held:2:USD", "debit")] == 900
    assert balance_of([capture, release, refund], acc.seller_available(1, "USD")) == usd(0)


def test_a_failed_refund_returns_the_money_to_available_once_the_hold_was_released():
    capture = capture_of("p1", "USD", {1: 1_000})
    refund = refund_entry(capture_view(capture, []), "r1", usd(400), BUYER, T0)
    release = release_entry(holds([capture, refund], hold_period=HOLD)[0], T0 + HOLD)

    failed = refund_failure_entry(capture_view(capture, [refund, release]), refund, T0 + HOLD)

    journal = [capture, refund, release, failed]
    assert (failed.kind, failed.ref) == (EntryKind.REFUND_FAILED, refund.ref)
    assert balance_of(journal, acc.seller_held(1, "USD")) == usd(0)
    assert balance_of(journal, acc.seller_available(1, "USD")) == usd(900)
    assert capture_view(capture, [refund, release, failed]).refundable == usd(1_000)


# Holds and releases

def test_a_hold_releases_after_the_hold_period_unless_another_date_is_given():
    first = capture_of("p1", "USD", {1: 1_000, 2: 500})
    second = capture_of("p2", "USD", {1: 300}, at=T0 + timedelta(days=1))

    found = holds([first, second], hold_period=HOLD, release_dates={second.ref: T0 + timedelta(days=2)})

    assert [(h.capture_ref, h.seller_id, h.held.minor) for h in found] == [
        ("capture:p2", 1, 270), ("capture:p1", 1, 900), ("capture:p1", 2, 450)]
    assert [h.capture_ref for h in due_holds(found, T0 + timedelta(days=3))] == ["capture:p2"]


def test_a_hold_is_not_released_before_its_date_unless_early_and_never_twice():
    capture = capture_of("p1", "USD", {1: 1_000})
    hold = holds([capture], hold_period=HOLD)[0]

    with pytest.raises(InvalidStateError):
        release_entry(hold, T0 + timedelta(days=1))
    release = release_entry(hold, T0 + timedelta(days=1), early=True)
    with pytest.raises(InvalidStateError):
        release_entry(holds([capture, release], hold_period=HOLD)[0], T0 + HOLD)

    assert balance_of([capture, release], acc.seller_available(1, "USD")) == usd(900)


# Transfers and payouts, in every exponent

@pytest.mark.parametrize(("code", "share"), [("USD", 12_345), ("JPY", 1_500), ("KWD", 1_250)])
def test_a_full_life_from_capture_to_paid_out_balances_at_every_step(code, share):
    money = lambda minor: Money.of(minor, code)  # noqa: E731
    capture = capture_of("p1", code, {1: share, 2: share // 3}, bps=1000, provider_fee=7)
    journal = [capture]
    journal.append(refund_entry(capture_view(capture, []), "r1", money(share // 10), BUYER, T0))
    for hold in due_holds(holds(journal, hold_period=HOLD), T0 + HOLD):
        journal.append(release_entry(hold, T0 + HOLD))
    available = balance_of(journal, acc.seller_available(1, code))
    journal.append(transfer_entry(Transfer("t1", 1, available), T0 + HOLD, available=available))
    payout = Payout("po1", 1, available, PayoutSource.CONNECTED)
    journal.append(payout_entry(payout, T0 + HOLD, balance=available))

    journal.append(payout_paid_entry(payout, T0 + HOLD + timedelta(days=2)))

    assert all(trial_balance([entry]) == {code: money(0)} for entry in journal)
    assert balance_of(journal, acc.payouts_paid(1, code)) == available
    assert balance_of(journal, acc.seller_transferred(1, code)) == money(0)
    assert balance_of(journal, acc.customer_refunds(BUYER, code)) == money(share // 10)


def test_a_failed_payout_puts_the_money_back_where_it_came_from():
    payout = Payout("po1", 1, usd(500), PayoutSource.PLATFORM)
    started = payout_entry(payout, T0, balance=usd(800))

    failed = payout_failure_entry(payout, T0 + timedelta(days=1))

    assert balance_of([started, failed], acc.seller_available(1, "USD")) == usd(0)
    assert balance_of([started, failed], acc.payouts_in_transit(1, "USD")) == usd(0)
    assert (failed.kind, failed.ref) == (EntryKind.PAYOUT_FAILED, started.ref)


def test_a_transfer_or_payout_above_the_balance_is_refused():
    with pytest.raises(InvalidStateError):
        transfer_entry(Transfer("t1", 1, usd(501)), T0, available=usd(500))
    with pytest.raises(InvalidStateError):
        payout_entry(Payout("po1", 1, usd(501)), T0, balance=usd(500))


# Any history

CODES = ("USD", "JPY", "KWD")
SELLERS = (1, 2, 3)


class LedgerHistory(RuleBasedStateMachine):
    """Random captures, refunds, failures, releases, transfers and payouts across currencies."""

    def __init__(self) -> None:
        super().__init__()
        self.journal: list[JournalEntry] = []
        self.now = T0
        self.serial = 0
        self.refunds: list[JournalEntry] = []
        self.payouts: list[Payout] = []

    def _id(self) -> str:
        self.serial += 1
        return str(self.serial)

    def _views(self):
        return capture_views(self.journal)

    @rule(code=st.sampled_from(CODES), shares=st.dictionaries(st.sampled_from(SELLERS), st.integers(1, 10**6),
                                                              min_size=1, max_size=3),
          bps=st.sampled_from([0, 1, 999, 1000, 9_999, 10_000]), provider_fee=st.integers(0, 50))
    def capture(self, code, shares, bps, provider_fee):
        fee = min(provider_fee, sum(shares.values()))
        self.journal.append(capture_of(self._id(), code, shares, bps, fee, at=self.now))

    @precondition(lambda self: any(v.refundable.minor for v in capture_views(self.journal).values()))
    @rule(data=st.data())
    def refund(self, data):
        open_ = [v for v in self._views().values() if v.refundable.minor]
        view = data.draw(st.sampled_from(open_))
        minor = data.draw(st.integers(1, view.refundable.minor))
        entry = refund_entry(view, self._id(), Money.of(minor, view.gross.code), BUYER, self.now)
        self.journal.append(entry)
        self.refunds.append(entry)

    @precondition(lambda self: self.journal)
    @rule(data=st.data())
    def refund_more_than_is_left(self, data):
        view = data.draw(st.sampled_from(list(self._views().values())))

        with pytest.raises(RefundExceedsCapturedError):
            refund_entry(view, self._id(), view.refundable + Money.of(1, view.gross.code), BUYER, self.now)

    @precondition(lambda self: self.refunds)
    @rule(data=st.data())
    def fail_a_refund(self, data):
        refund = self.refunds.pop(data.draw(st.integers(0, len(self.refunds) - 1)))
        self.journal.append(refund_failure_entry(self._views()[refund.parent_ref], refund, self.now))

    @rule(days=st.integers(1, 8))
    def let_time_pass_and_release_what_is_due(self, days):
        self.now += timedelta(days=days)

        for hold in due_holds(holds(self.journal, hold_period=HOLD), self.now):
            self.journal.append(release_entry(hold, self.now))

    def _positive(self, *kinds: AccountKind) -> list[tuple[Account, Money]]:
        return sorted(((a, m) for a, m in balances(self.journal).items() if a.kind in kinds and m.minor > 0),
                      key=lambda item: item[0].key)

    @precondition(lambda self: self._positive(AccountKind.SELLER_AVAILABLE))
    @rule(data=st.data())
    def transfer(self, data):
        account, available = data.draw(st.sampled_from(self._positive(AccountKind.SELLER_AVAILABLE)))
        amount = Money.of(data.draw(st.integers(1, available.minor)), account.currency)
        transfer = Transfer(self._id(), account.owner_id, amount)
        self.journal.append(transfer_entry(transfer, self.now, available=available))

    @precondition(lambda self: self._positive(AccountKind.SELLER_AVAILABLE, AccountKind.SELLER_TRANSFERRED))
    @rule(data=st.data())
    def start_a_payout(self, data):
        account, balance = data.draw(st.sampled_from(
            self._positive(AccountKind.SELLER_AVAILABLE, AccountKind.SELLER_TRANSFERRED)))
        connected = account.kind is AccountKind.SELLER_TRANSFERRED
        source = PayoutSource.CONNECTED if connected else PayoutSource.PLATFORM
        amount = Money.of(data.draw(st.integers(1, balance.minor)), account.currency)
        payout = Payout(self._id(), account.owner_id, amount, source)
        self.journal.append(payout_entry(payout, self.now, balance=balance))
        self.payouts.append(payout)

    @precondition(lambda self: self.payouts)
    @rule(data=st.data(), paid=st.booleans())
    def settle_a_payout(self, data, paid):
        payout = self.payouts.pop(data.draw(st.integers(0, len(self.payouts) - 1)))
        settle = payout_paid_entry if paid else payout_failure_entry
        self.journal.append(settle(payout, self.now))

    @invariant()
    def every_entry_balances_in_every_currency(self):
        for entry in self.journal:
            net: dict[str, int] = {}
            for p in entry.postings:
                net[p.amount.code] = net.get(p.amount.code, 0) + (p.amount.minor if p.side is Side.DEBIT
                                                                  else -p.amount.minor)
            assert set(net.values()) <= {0}

    @invariant()
    def the_trial_balance_is_zero(self):
        assert all(m.minor == 0 for m in trial_balance(self.journal).values())

    @invariant()
    def every_balance_is_the_sum_of_its_postings(self):
        expected: dict[Account, int] = {}
        for entry in self.journal:
            for p in entry.postings:
                sign = 1 if p.side is p.account.kind.normal_side else -1
                expected[p.account] = expected.get(p.account, 0) + sign * p.amount.minor
        assert {a: m.minor for a, m in balances(self.journal).items()} == expected

    @invariant()
    def nothing_held_in_transit_or_transferred_is_ever_negative(self):
        never_negative = {AccountKind.SELLER_HELD, AccountKind.SELLER_TRANSFERRED,
                          AccountKind.PAYOUTS_IN_TRANSIT, AccountKind.PAYOUTS_PAID,
                          AccountKind.CUSTOMER_REFUNDS}
        assert all(m.minor >= 0 for a, m in balances(self.journal).items() if a.kind in never_negative)
        assert all(h.held.minor >= 0 for h in holds(self.journal, hold_period=HOLD))

    @invariant()
    def no_capture_is_refunded_beyond_what_was_captured(self):
        refunded: dict[str, int] = {}
        for view in self._views().values():
            assert 0 <= view.refunded.minor <= view.gross.minor
            fee_left = view.platform_fee - view.platform_fee_refunded
            assert sum(s.refundable.minor for s in view.sellers) + fee_left.minor == view.refundable.minor
            refunded[view.gross.code] = refunded.get(view.gross.code, 0) + view.refunded.minor
        for code, minor in refunded.items():
            assert balance_of(self.journal, acc.customer_refunds(BUYER, code)).minor == minor


LedgerHistory.TestCase.settings = settings(max_examples=50, stateful_step_count=30, deadline=None)
TestAnyHistoryOfMoneyMovementsKeepsTheLedgerExact = LedgerHistory.TestCase
