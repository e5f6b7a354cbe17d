"""The `o16n` command: `o16n serve` runs the server, `o16n users ...` manages local users."""

from __future__ import annotations

import argparse
import gc
import getpass
import os
import sys

from sqlalchemy.orm import Session

from .server.config import ConfigError, Settings

YOUNG_GC_THRESHOLD = 20_000  # allocations between young collections (CPython's default: 700)


def serve(args: argparse.Namespace) -> int:
    import uvicorn

    from .server.app import create_app

    try:
        settings = Settings.from_env(host=args.host, port=args.port, data_dir=args.data_dir,
                                     database_url=args.database_url)
        app = create_app(settings)  # checks the sign-in providers (and reaches the OIDC issuer)
    except ConfigError as exc:
        return _fail(f"bad setting {exc}", code=2)
    state = app.state.o16n
    print(f"o16n: data in {settings.data_dir}", flush=True)
    if state.admin_password_file:
        print(f"o16n: created user 'admin'; its password is in {state.admin_password_file}", flush=True)
    print(f"o16n: serving on http://{settings.host}:{settings.port}", flush=True)
    tune_garbage_collector()
    uvicorn.run(app, host=settings.host, port=settings.port, log_level=args.log_level, access_log=args.access_log)
    return 0


def tune_garbage_collector() -> None:
    """What was loaded at start-up (the server, its libraries, onnxruntime) lives as long as the
    process: keep the collector from walking it again and again (gc.freeze), and collect young
    objects less often. A batch chunk makes tens of thousands of short-lived containers; with the
    defaults, collections took as long as the batch itself (bench/batch.py --realtime: 6,000 ->
    10,000-15,000 items/s)."""
    gc.collect()
    gc.freeze()
    _young, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_GC_THRESHOLD, middle, old)


def _user_store(args: argparse.Namespace):
    from .server.store import db

    settings = Settings.from_env(data_dir=args.data_dir, database_url=args.database_url)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = db.make_engine(settings.effective_database_url)
    db.migrate(engine)
    return db.session_factory(engine)


def users(args: argparse.Namespace) -> int:
    from .server.auth import users as local_users

    sessions = _user_store(args)
    try:
        with sessions.begin() as db:
            if args.action == "list":
                _print_users(db, long=args.long)
                return 0
            if args.action == "add":
                password = _new_password(f"password for {args.username}: ")
                local_users.add_user(db, args.username, password, args.role or "Contributor")
                done = f"added {args.username} ({args.role or 'Contributor'})"
            elif args.action == "remove":
                local_users.remove(db, args.username)
                done = f"removed {args.username}"
            elif args.action == "set-role":
                if not args.role:
                    return _fail("set-role needs --role Owner|Contributor|Reader")
                local_users.set_role(db, args.username, args.role)
                done = f"{args.username} is now {args.role} (their tokens were revoked)"
            else:  # set-password
                local_users.set_password(db, args.username, _new_password(f"new password for {args.username}: "))
                done = f"password of {args.username} changed (their tokens were revoked)"
    except local_users.UserError as exc:
        return _fail(str(exc))
    print(done)  # only once the transaction has committed
    return 0


def database(args: argparse.Namespace) -> int:
    """`o16n db upgrade` migrates (nodes started with O16N_AUTO_MIGRATE=false wait for it); `current` tells."""
    from .server.store import db

    settings = Settings.from_env(data_dir=args.data_dir, database_url=args.database_url)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = db.make_engine(settings.effective_database_url)
    try:
        if args.action == "upgrade":
            db.migrate(engine)
        current, head = db.current_revision(engine), db.head_revision()
        print(f"database at revision {current} ({'current' if current == head else f'this o16n needs {head}'})")
        return 0 if current == head else 1
    finally:
        engine.dispose()


def keys(args: argparse.Namespace) -> int:
    """`o16n keys rotate`: a new token signing key for every node; tokens signed before stay valid."""
    from .server.auth.keys import KeyRing

    settings = Settings.from_env(data_dir=args.data_dir, database_url=args.database_url)
    ring = KeyRing(_user_store(args), settings.data_dir, settings.access_token_lifetime, 0)
    if args.action == "rotate":
        print(f"new signing key {ring.rotate()}; nodes use it within a minute")
    for key in ring.all():
        print(f"{key.kid}\t{key.created_at.isoformat(timespec='seconds')}")
    return 0


def envs(args: argparse.Namespace) -> int:
    """`o16n envs list`: every environment, its size and users; `prune`: remove the unused ones.

    Works on the database and this node's environments dir, with or without a running server
    (a server keeps using what is in use; an environment removed here is built again if asked for).
    """
    from sqlalchemy import delete, select

    from .server.environments.builder import Builder, tree_size
    from .server.store.models import Environment, Service, SessionRecord

    settings = Settings.from_env(data_dir=args.data_dir, database_url=args.database_url)
    sessions = _user_store(args)
    builder = Builder(settings)
    with sessions.begin() as db:
        rows = db.scalars(select(Environment).order_by(Environment.last_used_at)).all()
        users: dict[str, list[str]] = {}
        for name, version, key in db.execute(select(Service.name, Service.version, Service.environment_key)
                                             .where(Service.environment_key.is_not(None))).all():
            users.setdefault(str(key), []).append(f"{name}/{version}")
        for key in db.scalars(select(SessionRecord.environment_key).where(
                SessionRecord.environment_key.is_not(None), SessionRecord.gone_reason.is_(None))).all():
            users.setdefault(str(key), []).append("a session")
        local = set(builder.local_keys())
        if args.action == "list":
            print("key\tpython\tstate\tpackages\tsize\tusers\tlast used")
            for r in rows:
                size = _size(r.size_bytes) if r.key in local else "not on this node"
                print(f"{r.key[:16]}\t{r.python}\t{r.state}\t{len(r.packages or [])}\t{size}\t"
                      f"{', '.join(users.get(r.key, [])) or '-'}\t{r.last_used_at.isoformat(timespec='seconds')}")
            return 0
        unused = [r for r in rows if r.key not in users and r.state != "building"]
        keys = [r.key for r in unused]
        known = {r.key for r in rows}
        if keys:
            db.execute(delete(Environment).where(Environment.key.in_(keys)))
    freed = 0
    orphans = [k for k in local if k not in known]  # rows gone (pruned elsewhere): their dirs too
    for key in [*keys, *orphans]:
        if key in local:
            freed += tree_size(builder.root / key)
            builder.remove(key)
        print(f"removed {key[:16]}")
    builder.remove_stale()
    print(f"{len(keys) + len(orphans)} environment(s) removed, {_size(freed)} freed")
    return 0


def _size(count: int | None) -> str:
    if count is None:
        return "-"
    value = float(count)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{count} B"


def _print_users(db: Session, long: bool) -> None:
    """Tab-separated: name and role, then, for directory users, the provider and where the role came from.

    Local users keep their two columns (scripts that read them go on working); --long prints every
    user with all columns and a header.
    """
    from .server.auth.accounts import all_users, describe

    if long:
        print("id\tusername\trole\tprovider\trole source\tdisplay name\texternal id\tlast role check")
    for user in all_users(db):
        if long:
            row = describe(user)
            print("\t".join(str(row[k] or "") for k in ("id", "username", "role", "provider", "roleSource",
                                                         "displayName", "externalId", "lastRoleCheck")))
        elif user.provider == "local":
            print(f"{user.username}\t{user.role}")
        else:
            print(f"{user.username}\t{user.role}\t{user.provider}\t{user.role_source or ''}")


def _new_password(prompt: str) -> str:
    return os.environ.get("O16N_NEW_PASSWORD") or getpass.getpass(prompt)


def _fail(message: str, code: int = 1) -> int:
    print(f"o16n: {message}", file=sys.stderr)
    return code


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="o16n", description="Publish Python code and models as web services.")
    commands = parser.add_subparsers(dest="command", required=True)

    def storage(p: argparse.ArgumentParser) -> None:
        p.add_argument("--data-dir", help="where the database, snapshots and keys live (default ~/.local/share/o16n)")
        p.add_argument("--database-url", help="sqlite:///... or postgresql://... (default: SQLite in the data dir)")

    run = commands.add_parser("serve", help="run the o16n server")
    run.add_argument("--host", default=None, help="address to listen on (default 127.0.0.1)")
    run.add_argument("--port", type=int, default=None, help="port (default 12800)")
    run.add_argument("--log-level", default="info")
    run.add_argument("--access-log", action="store_true", help="log every request")
    storage(run)
    run.set_defaults(func=serve)

    schema = commands.add_parser("db", help="the database schema: upgrade it, or tell its revision")
    schema.add_argument("action", choices=["upgrade", "current"])
    storage(schema)
    schema.set_defaults(func=database)

    signing = commands.add_parser("keys", help="token signing keys: list them, or rotate (add a new one)")
    signing.add_argument("action", choices=["list", "rotate"])
    storage(signing)
    signing.set_defaults(func=keys)

    environments = commands.add_parser("envs", help="service environments: list them (size, users), prune unused ones")
    environments.add_argument("action", choices=["list", "prune"])
    storage(environments)
    environments.set_defaults(func=envs)

    manage = commands.add_parser("users", help="list users (local and directory); manage local users")
    manage.add_argument("action", choices=["add", "list", "remove", "set-role", "set-password"])
    manage.add_argument("--long", "-l", action="store_true", help="for list: every column, with a header")
    manage.add_argument("username", nargs="?")
    manage.add_argument("--role", choices=["Owner", "Contributor", "Reader"], help="for add (default Contributor) and set-role")
    storage(manage)
    manage.set_defaults(func=users)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "users" and args.action != "list" and not args.username:
        return _fail(f"'o16n users {args.action}' needs a user name")
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
