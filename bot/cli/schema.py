"""``python -m bot schema``: write the JSON Schemas editors use to complete and check the YAML."""

from __future__ import annotations

from pathlib import Path
from typing import TextIO

from bot.core.schema_json import SCHEMA_FILES, schema_text


def write_schemas(folder: Path, *, check: bool, out: TextIO) -> int:
    stale = []
    for kind, name in SCHEMA_FILES.items():
        path = folder / name
        text = schema_text(kind)
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current == text:
            continue
        stale.append(path)
        if not check:
            folder.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            out.write(f"wrote {path}\n")
    if check and stale:
        out.write("out of date: " + ", ".join(map(str, stale)) + "; run: python -m bot schema\n")
        return 1
    if not stale:
        out.write(f"{folder}: up to date\n")
    return 0
