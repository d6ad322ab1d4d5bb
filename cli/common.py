"""What the command groups share: progress on stderr, passwords read from the terminal or stdin, tables
written to files."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def progress(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def read_password(args: argparse.Namespace, confirm: bool = True) -> str:
    import getpass

    if getattr(args, "password_stdin", False):
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("password: ")
    if not confirm:
        return first
    if getpass.getpass("again: ") != first:
        raise SystemExit("error: the passwords differ")
    return first


def write_table(frame, path: Path) -> None:
    from exchange.formats import write_file

    write_file(frame, path, layer=path.stem)
    print(f"Wrote {len(frame):,} rows to {path}")
