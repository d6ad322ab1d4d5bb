"""Commands for people and roles: ``amayesh users …`` (accounts, roles, provinces, passwords, API tokens),
``amayesh db setup-roles`` (the service's PostGIS role) and the demo's documented accounts."""

from __future__ import annotations

import argparse
import sys

from cli.common import read_password
from services.settings import Settings

#: The demo's accounts: one per role (README, "Users and roles"). Demo only.
DEMO_ACCOUNTS = (
    ("demo_admin", "admin", ()),
    ("demo_planner", "planner", ()),
    ("demo_officer", "licensing_officer", ("11",)),
    ("demo_director", "provincial_director", ("11",)),
)


def create_demo_accounts(store_url: str) -> list[tuple[str, str, tuple[str, ...], str]]:
    """One documented account per role, for the demo only; existing ones are left alone."""
    from store.accounts import Accounts, demo_password

    accounts = Accounts(store_url)
    made: list[tuple[str, str, tuple[str, ...], str]] = []
    try:
        for username, role, provinces in DEMO_ACCOUNTS:
            if accounts.get(username) is None:
                accounts.add(
                    username,
                    demo_password(role),
                    role,
                    provinces,
                    display_name=f"DEMO {role}",
                    actor="build-demo",
                )
            made.append((username, role, provinces, demo_password(role)))
    finally:
        accounts.close()
    return made


def cmd_users(args: argparse.Namespace, settings: Settings) -> int:
    from store.accounts import Accounts

    accounts = Accounts(settings.store)
    actor = f"cli:{args.actor}" if args.actor else "cli"
    provinces = [p for p in (getattr(args, "provinces", None) or "").split(",") if p]
    try:
        if args.action == "add":
            user = accounts.add(
                args.username,
                read_password(args),
                args.role,
                provinces,
                display_name=args.name or "",
                actor=actor,
            )
            print(
                f"Added {user.username} ({user.role}{', provinces ' + ','.join(user.provinces) if user.provinces else ''})"
            )
        elif args.action == "set-role":
            user = accounts.set_role(args.username, args.role, actor=actor)
            print(f"{user.username} is now {user.role}; their sessions are signed out")
        elif args.action == "set-provinces":
            user = accounts.set_provinces(args.username, provinces, actor=actor)
            print(f"{user.username}: provinces {','.join(user.provinces) or 'none (national role)'}")
        elif args.action == "reset-password":
            accounts.reset_password(args.username, read_password(args), actor=actor)
            print(f"New password set for {args.username}; their sessions are signed out")
        elif args.action in ("disable", "enable"):
            accounts.set_disabled(args.username, args.action == "disable", actor=actor)
            print(f"{args.username} {args.action}d")
        elif args.action == "token":
            token_id, token = accounts.issue_token(
                args.username, label=args.label or "", days=args.days, actor=actor
            )
            print(f"Token {token_id} for {args.username} (shown once; only its hash is kept):")
            print(token)
        elif args.action == "revoke-token":
            accounts.revoke_token(args.token_id, actor=actor)
            print(f"Token {args.token_id} revoked")
        elif args.action == "list":
            users = accounts.list()
            if not users:
                print("no users; add the first admin with: amayesh users add NAME --role admin")
            for u in users:
                where = ",".join(u.provinces) or "national"
                state = " (disabled)" if u.disabled else ""
                tokens = [t["token_id"] for t in accounts.tokens_of(u.username) if t["revoked_at"] is None]
                print(f"{u.username:<20} {u.role:<20} {where:<12} tokens: {', '.join(tokens) or '-'}{state}")
    finally:
        accounts.close()
    return 0


def cmd_setup_roles(args: argparse.Namespace, settings: Settings) -> int:
    from store.roles import setup_roles

    if not settings.store.startswith(("postgresql://", "postgresql+psycopg://", "postgres://")):
        print(
            "error: setup-roles is for a PostGIS store (--store postgresql://owner@host/db)", file=sys.stderr
        )
        return 2
    password = read_password(args)
    if len(password) < 16:
        print("error: the service role's password needs at least 16 characters", file=sys.stderr)
        return 2
    for line in setup_roles(settings.store, args.role, password):
        print(line)
    print(f"Point the service at it: AMAYESH_STORE=postgresql://{args.role}:…@host:port/database")
    return 0
