"""Where paygate's CPU goes under load: py-spy samples of the running server (`--profile DIR`).

py-spy attaches to the server's pid from outside (no code of ours changes, no import), samples
its Python stacks (idle time in the event loop is not sampled), and writes them collapsed, one
stack a line. Each sample is charged to the library of its innermost frame that belongs to one
we know ("self time by library"): SQLAlchemy's share is what SQLAlchemy's own code costs, not
what it waits for. py-spy is a standalone binary: it need not be in the project's environment.
"""
from __future__ import annotations

import collections
import re
import shutil
import subprocess
from pathlib import Path

INSTALL_HINT = "pip install py-spy (in any environment: it is a standalone binary; it needs ptrace rights)"
SAMPLES_PER_S = 100

# Path fragments of a frame's file -> the library charged. First match wins; order matters.
LIBRARIES = (
    ("graphql/", "graphql-core (validation, execution)"),
    ("strawberry/", "Strawberry (schema, extensions, view)"),
    ("sqlalchemy/", "SQLAlchemy + SQLModel (ORM, sessions, pool)"),
    ("sqlmodel/", "SQLAlchemy + SQLModel (ORM, sessions, pool)"),
    ("asyncpg/", "asyncpg (protocol, socket writes)"),
    ("aiodataloader/", "aiodataloader"),
    ("uvicorn/", "uvicorn + httptools (HTTP)"),
    ("starlette/", "Starlette"),
    ("jwt/", "PyJWT (bearer token)"),
    ("cryptography/", "PyJWT (bearer token)"),
    ("hmac.py", "PyJWT (bearer token)"),
    ("json/", "json (encode, decode)"),
    ("paygate/logs.py", "logging (one access line a request)"),
    ("logging/", "logging (one access line a request)"),
    ("domain/", "paygate domain/"),
    ("db/", "paygate db/ (rows to domain objects, queries)"),
    ("gql/", "paygate gql/ (types, resolvers, loaders)"),
    ("paygate/", "paygate (middleware, auth, view)"),
    ("pydantic", "pydantic"),
    ("copy.py", "copy (deepcopy)"),
    ("asyncio/", "asyncio, event loop"),
)
_FILE = re.compile(r"\(([^()]*):\d+\)$")


def available() -> bool:
    return shutil.which("py-spy") is not None


class Sampler:
    """py-spy recording one process for a fixed time, in the background."""

    def __init__(self, pid: int, out: Path, seconds: int) -> None:
        self.out = out
        self.process = subprocess.Popen(
            ["py-spy", "record", "--pid", str(pid), "--duration", str(seconds), "--rate", str(SAMPLES_PER_S),
             "--format", "raw", "--output", str(out), "--nonblocking"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)

    def finish(self) -> Path:
        _, err = self.process.communicate(timeout=60)
        if self.process.returncode != 0 or not self.out.exists():
            raise RuntimeError(f"py-spy failed ({self.process.returncode}): {err.strip()}")
        return self.out


def library_of(frame: str) -> str | None:
    found = _FILE.search(frame)
    path = found.group(1) if found else ""
    return next((name for fragment, name in LIBRARIES if fragment in path), None)


def read_stacks(path: Path) -> list[tuple[list[str], int]]:
    stacks = []
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if count.isdigit():
            stacks.append((stack.split(";"), int(count)))
    return stacks


def by_library(stacks: list[tuple[list[str], int]]) -> collections.Counter:
    shares: collections.Counter = collections.Counter()
    for frames, count in stacks:
        shares[next((lib for lib in map(library_of, reversed(frames)) if lib), "other")] += count
    return shares


def hottest_functions(stacks: list[tuple[list[str], int]], top: int) -> list[tuple[str, int]]:
    """Innermost frames by samples (self time), line numbers dropped."""
    counts: collections.Counter = collections.Counter()
    for frames, count in stacks:
        counts[re.sub(r":\d+\)$", ")", frames[-1])] += count
    return counts.most_common(top)


def summary(path: Path, title: str, top_functions: int = 8) -> str:
    stacks = read_stacks(path)
    total = sum(count for _, count in stacks) or 1
    lines = [f"{title} ({total} samples, {path}):"]
    lines += [f"    {100 * n / total:5.1f} %  {name}" for name, n in by_library(stacks).most_common()
              if 100 * n / total >= 0.5]
    lines.append("    hottest functions (self):")
    lines += [f"    {100 * n / total:5.1f} %  {name}" for name, n in hottest_functions(stacks, top_functions)]
    return "\n".join(lines)
