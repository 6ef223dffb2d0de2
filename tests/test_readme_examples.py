"""Every example of the README's walkthrough runs as printed, in order, on a fresh `make run`.

The server is what `make run` makes: a new SQLite file migrated and loaded with the demo shop by
the `paygate` command, and the app `paygate serve` runs (`embedded_app`, its jobs included), on a
loopback port. How examples are found, run and judged: tests/readme_examples.py.
"""
from __future__ import annotations

import os
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
import pytest

from paygate.app import embedded_app
from tests.conftest import start_server, stop_server
from tests.readme_examples import (PAYGATE, README, RUNNABLE, WALKTHROUGH, Example, command, error_types,
                                   examples, fresh_shop_env, run_graphql, run_sh, token)


@dataclass
class FreshRun:
    url: str
    env: dict[str, str]
    client: httpx.AsyncClient
    error_types: frozenset[str]
    tokens: dict[str, str] = field(default_factory=dict)

    async def token_of(self, role: str) -> str:
        if role not in self.tokens:
            self.tokens[role] = await token(role, self.env)
        return self.tokens[role]

    async def run(self, example: Example) -> list[str]:
        if example.language not in RUNNABLE:
            return [f"{example.where}: fenced as {example.language!r}: the walkthrough's blocks are "
                    f"{' or '.join(RUNNABLE)}, so that they are run"]
        if example.language == "graphql":
            return await run_graphql(example, self.client, self.token_of, self.error_types)
        return await run_sh(example, self.url, self.env, self.error_types)


@pytest.fixture(scope="module")
async def fresh_run(tmp_path_factory) -> AsyncIterator[FreshRun]:
    if not PAYGATE.exists():
        pytest.fail(f"the README's commands need {PAYGATE}: run the suite with `make test`")
    env = fresh_shop_env(f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('readme') / 'paygate.db'}")
    for step in ("migrate", "demo"):  # as `make run` does, before serving
        code, _, err = await command(str(PAYGATE), step, env=env)
        assert code == 0, f"paygate {step}: {err}"
    with pytest.MonkeyPatch.context() as patch:  # embedded_app reads its settings from the environment
        for name in [n for n in os.environ if n.startswith("PAYGATE_")]:
            patch.delenv(name)
        patch.setenv("PAYGATE_DATABASE_URL", env["PAYGATE_DATABASE_URL"])
        app = embedded_app()
    server, task, url = await start_server(app)
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        yield FreshRun(url, env, client, await error_types(client))
    await stop_server(server, task)


@pytest.fixture(scope="module")
async def walkthrough(fresh_run) -> list[tuple[Example, list[str]]]:
    """Each example run in order, until one fails (the next ones build on it)."""
    ran = []
    for example in examples(README.read_text()):
        problems = await fresh_run.run(example)
        ran.append((example, problems))
        if problems:
            break
    return ran


def _example(section: str, language: str, text: str) -> Example:
    return Example(section, language, text, 0, "as a customer (`Authorization: Bearer <customer token>`)")


async def test_every_walkthrough_section_has_examples_and_each_runs_as_printed(walkthrough):
    failed = [problem for _, problems in walkthrough for problem in problems]
    sections = {example.section for example, _ in walkthrough}

    assert not failed, "\n\n".join(failed)
    assert sections == set(WALKTHROUGH)


async def test_paying_the_order_the_readme_paid_again_is_caught(walkthrough, fresh_run):
    pay = next(e for e, _ in walkthrough if e.language == "graphql" and "processPayment" in e.text)

    problems = await fresh_run.run(pay)

    assert any("answered Conflict" in p for p in problems), problems


async def test_a_graphql_block_with_two_anonymous_operations_is_caught(walkthrough, fresh_run):
    block = _example("Trying it", "graphql", '{ products(first: 1) { totalCount } }\n\n'
                                             'mutation { cartSetItem(input: {productId: "UHJvZHVjdDox", '
                                             'quantity: 1}) { __typename } }\n')

    problems = await fresh_run.run(block)

    assert any("errors" in p for p in problems), problems


async def test_a_mutation_answered_without_its_typename_is_caught(walkthrough, fresh_run):
    block = _example("Paying an order (GraphQL)", "graphql",
                     'mutation Checkout { checkout { ... on CheckoutSuccess { order { id } } } }\n')

    problems = await fresh_run.run(block)  # the cart is empty by now: a typed error, unseen

    assert any("without __typename" in p for p in problems), problems


async def test_a_curl_step_that_pays_a_paid_order_again_stops_the_block(walkthrough, fresh_run):
    block = _example("REST compatibility (legacy clients)", "sh", """\
TOKEN=$(.venv/bin/paygate token customer@example.com --role customer)
curl -s -X POST http://127.0.0.1:8000/api/payment/create-intent/ -H "Authorization: Bearer $TOKEN" \\
     -H 'Content-Type: application/json' -d '{"order_id": 1, "gateway": "dummy"}'
curl -s http://127.0.0.1:8000/orders/api/payments/ -H "Authorization: Bearer $TOKEN"
""")

    problems = await fresh_run.run(block)

    assert any("HTTP 400" in p and "is paid" in p for p in problems), problems
    assert '"count"' not in "".join(problems)  # it stopped there: the payments list never answered


async def test_a_curl_step_answered_with_a_typed_error_is_caught_though_the_shell_went_on(walkthrough,
                                                                                          fresh_run):
    block = _example("REST compatibility (legacy clients)", "sh", r"""
TOKEN=$(.venv/bin/paygate token customer@example.com --role customer)
curl -s http://127.0.0.1:8000/graphql -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
     -d @- <<'EOF'
{"query": "mutation { cartSetItem(input: {productId: \"UHJvZHVjdDox\", quantity: 99}) { __typename } }"}
EOF
""")

    problems = await fresh_run.run(block)

    assert problems == [f"{block.where}: answered InsufficientStock"], problems
