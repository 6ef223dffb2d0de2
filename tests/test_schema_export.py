"""schema.graphql is the exported SDL, committed; it must never drift from the code."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from gql.schema import sdl

ROOT = Path(__file__).resolve().parents[1]


def test_the_committed_schema_is_the_exported_one():
    committed = (ROOT / "schema.graphql").read_text()

    assert committed == sdl(), "schema.graphql is stale: run `make schema` (paygate export-schema > schema.graphql)"


def test_paygate_export_schema_prints_the_same_sdl():
    printed = subprocess.run([sys.executable, "-m", "paygate.cli", "export-schema"], capture_output=True,
                             text=True, check=True, cwd=ROOT).stdout

    assert printed == sdl()


def test_the_schema_has_the_contracts_money_type_with_64_bit_amounts():
    text = sdl()

    assert "scalar MinorUnits" in text
    assert "type Money {\n  amount: MinorUnits!\n  currency: String!\n  decimal: String!\n  formatted: String!\n}" in text
