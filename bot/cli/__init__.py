"""Command line: ``python -m bot serve | worker | demo | validate | classify | preview | schema | report | simulate``.

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
    pre = sub.add_parser("preview", help="show a playbook's nudge, co-sign request and follow-ups as posted")
    pre.add_argument("playbook", type=Path, help="a playbook file, like playbooks/sql-injection.yml")
    pre.add_argument("--html", type=Path, metavar="FILE", help="also write them as an HTML page")
    sch = sub.add_parser("schema", help="write the JSON Schemas of playbooks and org.yml, for editors")
    sch.add_argument("--out", type=Path, default=DEFAULT_PLAYBOOKS / "schema", help="default: playbooks/schema")
    sch.add_argument("--check", action="store_true", help="only say whether the files are up to date")
    args = parser.parse_args(argv)

    if args.command == "preview":
        from bot.cli.preview import preview

        return preview(args.playbook, html=args.html, out=sys.stdout)
    if args.command == "schema":
        from bot.cli.schema import write_schemas

        return write_schemas(args.out, check=args.check, out=sys.stdout)

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
