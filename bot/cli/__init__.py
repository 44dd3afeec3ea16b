"""Command line: ``python -m bot serve | worker | demo | validate | classify | report | simulate |
backfill | replay``.

One module per command; this one only parses arguments and hands over, importing a command's
module when it runs so that ``validate`` never loads the web server.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path

from bot.cli.simulate import add_arguments as simulate_arguments
from bot.cli.validate import DEFAULT_PLAYBOOKS


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("serve", help="run the webhook server (and the worker, unless RUN_WORKER=0)")
    sub.add_parser("worker", help="run only the worker (a separate Procfile process)")
    demo = sub.add_parser("demo", help="replay a scripted review history against a local stand-in for GitHub")
    demo.add_argument("--quiet", action="store_true", help="print only the summary line")
    check = sub.add_parser("validate", help="check playbook files and org settings")
    check.add_argument("paths", nargs="*", type=Path)
    cls = sub.add_parser("classify", help="classify comments: JSON lines, lines of text, or --text")
    cls.add_argument("--playbooks", type=Path, default=DEFAULT_PLAYBOOKS)
    cls.add_argument("--text", action="append", metavar="COMMENT",
                     help="classify this comment and explain each match (repeatable)")
    cls.add_argument("--input", choices=("json", "text"), default="json",
                     help="standard input holds JSON lines with a text field (default), or one comment a line")
    cls.add_argument("--explain", action="store_true",
                     help="JSON lines: add each match's pattern, the words it matched and a quote")
    rep = sub.add_parser("report", help="decisions per playbook and per role, and failed deliveries")
    rep.add_argument("--database-url", help="defaults to DATABASE_URL")
    sim = sub.add_parser("simulate", help="the kill switch over a synthetic organisation, no I/O")
    simulate_arguments(sim)
    sim.add_argument("--series", action="store_true",
                     help="instead: one engineer's spaced follow-ups over months, as a text chart")
    sim.add_argument("--playbook", default="sql-injection", help="with --series: which playbook")
    back = sub.add_parser("backfill", help="read the last 90 days of review history into the store (never nudges)")
    back.add_argument("--days", type=int, default=90, help="how far back to read (default 90)")
    back.add_argument("--installation", type=int, metavar="ID", help="only this installation")
    rep2 = sub.add_parser("replay", help="dry run: the recorded review history through proposed playbooks")
    rep2.add_argument("--since", default="90d", help="how far back: 90d, 12w or a date (default 90d)")
    rep2.add_argument("--playbooks", type=Path, help="folder of proposed playbooks and org.yml (default PLAYBOOKS_DIR)")
    rep2.add_argument("--database-url", help="defaults to DATABASE_URL")
    rep2.add_argument("--installation", type=int, metavar="ID", help="only this installation")
    rep2.add_argument("--markdown", action="store_true", help="print the Markdown summary (as in a check run)")
    args = parser.parse_args(argv)

    if args.command == "backfill":
        from bot.cli.backfill import run_backfill
        from bot.cli.serve import _logging, _settings

        _logging()
        return asyncio.run(run_backfill(_settings(), sys.stdout, days=max(args.days, 1), installation=args.installation))
    if args.command == "replay":
        from bot.cli.replay import replay_command

        return replay_command(args, sys.stdout, sys.stderr)

    if args.command == "validate":
        from bot.cli.validate import validate

        return validate(args.paths)
    if args.command == "classify":
        from bot.cli.classify import classify

        return classify(args.playbooks, texts=args.text, input_format=args.input, explain=args.explain)
    if args.command == "simulate":
        from bot.cli.simulate import simulate

        return simulate(args)
    if args.command == "report":
        import os

        from bot.app.settings import DEFAULT_DATABASE_URL

        url = args.database_url or os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
        playbooks = Path(os.environ.get("PLAYBOOKS_DIR") or DEFAULT_PLAYBOOKS)
        from bot.cli.report import _report

        asyncio.run(_report(url, playbooks, sys.stdout))
        return 0
    if args.command == "demo":
        from bot.cli.demo import run_demo

        return asyncio.run(run_demo(sys.stdout, quiet=args.quiet))
    from bot.cli.serve import _logging, _serve, _settings, _work

    _logging()
    settings = _settings()
    asyncio.run(_serve(settings) if args.command == "serve" else _work(settings))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
