"""The README's examples as a newcomer runs them: found in the text, run as printed, judged.

A walkthrough section's fenced `graphql` and `sh` blocks are its examples. A `graphql` block is
what GraphiQL sends: the whole block, once per operation in it, named by `operationName`. An `sh`
block runs in bash from the repository's root, stopping at the first failing command. Only the
README's documented placeholders are filled in: its address (http://127.0.0.1:8000) becomes the
test server's, and the GraphiQL header's `<customer token>` (or another role's) becomes what
`.venv/bin/paygate token customer@example.com --role customer` prints, as the README says.

A step succeeded when it answered HTTP 2xx with JSON carrying no GraphQL `errors`, no
`__typename` naming an error type anywhere in it, and, for a mutation, a `__typename` on each of
its results (a union answered without one could hide an error).
"""
from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import tempfile
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
from graphql import GraphQLError, OperationDefinitionNode, OperationType, parse

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
PAYGATE = ROOT / ".venv" / "bin" / "paygate"
ADDRESS = "http://127.0.0.1:8000"  # where the README's examples expect `make run`
WALKTHROUGH = ("Trying it", "Paying an order (GraphQL)", "REST compatibility (legacy clients)",
               "The multi-provider API (seed 003)", "Background jobs",
               "Marketplace (sellers, holds, transfers, payouts)")
RUNNABLE = ("graphql", "sh")
_FENCE = re.compile(r"^```(\w*)\s*$")
_HEADER_TOKEN = re.compile(r"Bearer <(\w+) token>")

ERROR_TYPES_QUERY = '{ __type(name: "Error") { possibleTypes { name } } }'

# Records every answer the README's curl commands get, and stops at the first that isn't 2xx;
# the command line and its output are otherwise the README's own.
SH_PRELUDE = r"""set -euo pipefail
shopt -s inherit_errexit
curl() {
  local answer status
  answer=$(mktemp "$README_ANSWERS/$(date +%s%N).XXXXXX")
  status=$(command curl -o "$answer" -w '%{http_code}' "$@") || { echo "curl failed: curl $*" >&2; return 1; }
  echo "$status" > "$answer.status"
  cat "$answer"
  [[ $status == 2?? ]] || { echo "HTTP $status from: curl $*" >&2; return 1; }
}
"""


@dataclass(frozen=True)
class Example:
    section: str
    language: str
    text: str
    line: int  # of the opening fence, 1-based
    before: str  # the README up to the block, where its placeholders are explained

    @property
    def where(self) -> str:
        return f"README.md:{self.line} ({self.section}, {self.language})"


def examples(readme: str) -> Iterator[Example]:
    """Every fenced block of the walkthrough sections, in order (whatever its language: one that
    isn't runnable is reported, not skipped)."""
    lines = readme.splitlines()
    section, start, language = "", None, ""
    for number, line in enumerate(lines, 1):
        fence = _FENCE.match(line)
        if start is None and line.startswith("## "):
            section = line[3:].strip()
        elif start is None and fence:
            start, language = number, fence.group(1)
        elif start is not None and fence and not fence.group(1):
            if section in WALKTHROUGH:
                yield Example(section, language, "\n".join(lines[start:number - 1]) + "\n", start,
                              "\n".join(lines[:start - 1]))
            start = None


def problems_in(answer: object, *, mutation: bool, error_types: frozenset[str]) -> list[str]:
    """What is wrong with a GraphQL or REST answer that came back 2xx (empty: nothing)."""
    if not isinstance(answer, dict | list):
        return [f"not a JSON object: {answer!r}"]
    found = []
    if isinstance(answer, dict) and answer.get("errors"):
        found.append(f"errors: {answer['errors']}")
    found += [f"answered {name}" for name in _typenames(answer) if name in error_types]
    if mutation:
        data = answer.get("data") if isinstance(answer, dict) else None
        for field, value in (data or {}).items():
            if isinstance(value, dict) and "__typename" not in value:
                found.append(f"{field} answered without __typename: {value}")
    return found


def _typenames(value: object) -> Iterator[str]:
    if isinstance(value, dict):
        if isinstance(value.get("__typename"), str):
            yield value["__typename"]
        for item in value.values():
            yield from _typenames(item)
    elif isinstance(value, list):
        for item in value:
            yield from _typenames(item)


async def error_types(client: httpx.AsyncClient) -> frozenset[str]:
    """The types implementing `Error`, as the server's own schema says."""
    answer = (await client.post("/graphql", json={"query": ERROR_TYPES_QUERY})).json()
    names = frozenset(t["name"] for t in answer["data"]["__type"]["possibleTypes"])
    assert {"NotFound", "Conflict", "PaymentDeclined"} <= names, answer
    return names


async def command(*args: str, env: dict[str, str], timeout_s: float = 120) -> tuple[int, str, str]:
    """A process run without blocking the event loop (the app under test serves in it)."""
    process = await asyncio.create_subprocess_exec(
        *args, cwd=ROOT, env=env, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, start_new_session=True)
    try:
        async with asyncio.timeout(timeout_s):
            out, err = await process.communicate()
    except TimeoutError:
        os.killpg(process.pid, signal.SIGKILL)  # bash and the curl it waits on
        await process.wait()
        raise
    return process.returncode, out.decode(), err.decode()


async def token(role: str, env: dict[str, str]) -> str:
    """What the README's `paygate token` command prints for that role's demo user."""
    code, out, err = await command(str(PAYGATE), "token", f"{role}@example.com", "--role", role, env=env)
    assert code == 0, err
    return out.strip()


async def run_graphql(example: Example, client: httpx.AsyncClient, token_of: Callable[[str], Awaitable[str]],
                      errors: frozenset[str]) -> list[str]:
    """Each operation of the block, sent as GraphiQL sends it: the whole editor, by name."""
    header = _HEADER_TOKEN.findall(example.before)
    if not header:
        return [f"{example.where}: no `Bearer <role token>` header is given before it"]
    headers = {"Authorization": f"Bearer {await token_of(header[-1])}"}
    try:
        operations = [d for d in parse(example.text).definitions if isinstance(d, OperationDefinitionNode)]
    except GraphQLError as exc:  # a syntax error, with its position
        return [f"{example.where}: does not parse: {exc}"]
    found = []
    for operation in operations:
        name = operation.name.value if operation.name else None
        response = await client.post("/graphql", headers=headers,
                                     json={"query": example.text} | ({"operationName": name} if name else {}))
        label = f"{example.where}, operation {name or '(anonymous)'}: HTTP {response.status_code}"
        if not response.is_success:
            found.append(f"{label}: {response.text}")
            continue
        mutation = operation.operation is OperationType.MUTATION
        problems = problems_in(response.json(), mutation=mutation, error_types=errors)
        found += [f"{label}: {p}" for p in problems]
        if found:
            break  # the next operation may need this one's result
    return found


async def run_sh(example: Example, base_url: str, env: dict[str, str],
                 errors: frozenset[str]) -> list[str]:
    """The block in bash, as printed but for the address; then every answer its curl got."""
    with tempfile.TemporaryDirectory() as answers:
        script = SH_PRELUDE + example.text.replace(ADDRESS, base_url)
        code, out, err = await command("bash", "-c", script, env=env | {"README_ANSWERS": answers})
        found = [] if code == 0 else [f"{example.where}: exited {code}\nstdout:\n{out}\nstderr:\n{err}"]
        bodies = sorted(p for p in Path(answers).iterdir() if p.suffix != ".status")
        if not bodies:
            found.append(f"{example.where}: made no request")
        for body in bodies:
            recorded = Path(f"{body}.status")
            status = recorded.read_text().strip() if recorded.exists() else "none (curl failed)"
            text = body.read_text()
            if not status.startswith("2"):
                found.append(f"{example.where}: HTTP {status}: {text}")
                continue
            try:
                answer = json.loads(text)
            except ValueError:
                found.append(f"{example.where}: not JSON: {text!r}")
                continue
            problems = problems_in(answer, mutation=False, error_types=errors)
            found += [f"{example.where}: {p}" for p in problems]
    return found


def fresh_shop_env(database_url: str) -> dict[str, str]:
    """The environment of a fresh `make run`: no PAYGATE_ setting but the database's place."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAYGATE_")}
    return env | {"PAYGATE_DATABASE_URL": database_url}
