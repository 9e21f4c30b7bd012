"""Every status and enum value the Python package uses, checked against the C header's #defines.

The package spells the C values out (errors.py, SyncScope, LogLevel, ChangeKind); this test parses
capi/include/smallpeer/smallpeer.h so a value added or changed there cannot drift from Python.
"""

from __future__ import annotations

import enum
import os
import re
from pathlib import Path
from typing import Dict

import pytest

import smallpeer
from smallpeer import ChangeKind, LogLevel, SyncScope, _smallpeer, errors

HEADER = Path(
    os.environ.get("SMALLPEER_C_HEADER")
    or Path(__file__).resolve().parents[2] / "capi" / "include" / "smallpeer" / "smallpeer.h"
)


def defines(prefix: str) -> Dict[str, int]:
    """The header's `#define <prefix><NAME> <integer>` lines, as NAME -> value."""
    found = {
        m.group(1): int(m.group(2))
        for m in re.finditer(rf"^#define {prefix}(\w+)\s+(-?\d+)\s*$", HEADER.read_text(), re.MULTILINE)
    }
    assert found, f"no #define {prefix}* in {HEADER}"
    return found


def members(cls: type[enum.IntEnum]) -> Dict[str, int]:
    return {m.name: int(m.value) for m in cls}


def test_abi_version() -> None:
    assert defines("SP_ABI_")["VERSION"] == _smallpeer.ABI_VERSION == _smallpeer.abi_version()


def test_status_codes() -> None:
    codes = defines("SP_")
    status = {name: value for name, value in codes.items() if name == "OK" or name.startswith("ERR_")}
    python = {name: getattr(errors, name) for name in dir(errors) if name == "OK" or name.startswith("ERR_")}
    assert python == status
    # Each error code raises its own DittoError subclass, and every class the module maps is for a C code.
    assert sorted(errors._BY_CODE) == sorted(v for k, v in status.items() if k != "OK")
    for name, value in status.items():
        if name != "OK":
            cls = errors._BY_CODE[value]
            assert issubclass(cls, smallpeer.DittoError)
            assert errors._from_status(value, "m").code == value


@pytest.mark.parametrize(
    ("prefix", "cls"),
    [("SP_SYNC_SCOPE_", SyncScope), ("SP_LOG_", LogLevel), ("SP_CHANGE_", ChangeKind)],
)
def test_enums(prefix: str, cls: type[enum.IntEnum]) -> None:
    assert members(cls) == defines(prefix)
