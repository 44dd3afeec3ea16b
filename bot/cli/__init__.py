"""Command line: ``python -m bot COMMAND`` (or ``learning-nudges COMMAND``).

One module per command; this one only parses arguments, checks their ranges and hands over,
importing a command's module when it runs so that ``validate`` never loads the web server.
Every failure exits non-zero: 1 when the command ran and found a problem (a broken playbook, an
empty report database), 2 when it could not run (a bad argument, a setting that cannot work).
``serve``, ``worker``, ``migrate``, ``report`` and ``register`` read ``.env`` from the current
folder first; a variable already set in the environment wins.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from bot import __version__
from bot.app.settings import DEFAULT_API_URL, DEFAULT_DATABASE_URL, SETTINGS_HELP, SHIPPED_PLAYBOOKS

DEFAULT_PLAYBOOKS = SHIPPED_PLAYBOOKS
COMMANDS = (
    ("serve", "the webhook server, and the worker unless RUN_WORKER=0"),
    ("worker", "only the worker (a separate Procfile process)"),
    ("migrate", "create or upgrade the database tables (the Procfile's release step)"),
    ("register", "register the GitHub App from app.yml in one click; writes .env"),
    ("demo", "a scripted month of code review against a local stand-in for GitHub"),
    ("validate", "check playbook files and org settings; file:line: what to write instead"),
    ("classify", "which playbooks review comments match (JSON lines in and out)"),
    ("preview", "a playbook's nudge, co-sign request and follow-ups as posted; --html FILE"),
    ("schema", "write the JSON Schemas editors use for playbooks and org.yml"),
    ("report", "decisions per playbook, role and team; the kill switch; failed deliveries"),
    ("simulate", "the decision core and the kill switch over a synthetic organisation"),
    ("backfill", "read the last 90 days of review history into the store (never nudges)"),
    ("replay", "dry run: the recorded review history through proposed playbooks"),
)


def _settings_epilog(names: Sequence[str]) -> str:
    rows = [(n, text) for n, text in SETTINGS_HELP if n in names]
    width = max(len(n) for n, _ in rows)
    return "settings read (environment variables, or .env in the current folder):\n" + "\n".join(
        f"  {n.ljust(width)}  {text}" for n, text in rows
    )


def _bounded(low: int, high: int, what: str):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{what} is a whole number, got {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{what} must be from {low} to {high}, got {value}")
        return value

    return parse


def _playbooks_folder(text: str) -> Path:
    path = Path(text)
    if not path.is_dir():
        raise argparse.ArgumentTypeError(f"{path} is not a folder of playbooks")
    if not any(p.suffix in (".yml", ".yaml") and p.name != "org.yml" for p in path.iterdir()):
        raise argparse.ArgumentTypeError(f"{path} has no playbook files (*.yml)")
    return path


def _port(text: str) -> int:
    return _bounded(0, 65535, "--port")(text)


SIMULATE_RANGES = (("days", 1, 3650), ("engineers", 4, 10000))


def build_parser() -> argparse.ArgumentParser:
    from bot.cli.simulate import add_arguments as simulate_arguments

    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(
        prog="python -m bot",
        description="Learning Nudges: short learning nudges in the pull request, when code review "
        "shows a recurring gap.",
        epilog="commands:\n"
        + "\n".join(f"  {n.ljust(9)} {h}" for n, h in COMMANDS)
        + "\n\n`python -m bot COMMAND --help` lists each command's options and the settings it reads.",
        formatter_class=formatter,
    )
    parser.add_argument("--version", action="version", version=f"learning-nudges {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    helps = dict(COMMANDS)

    def command(
        name: str, description: str, settings: Sequence[str] = ()
    ) -> argparse.ArgumentParser:
        return sub.add_parser(
            name,
            help=helps[name],
            description=description,
            formatter_class=formatter,
            epilog=_settings_epilog(settings) if settings else None,
        )

    every = [n for n, _ in SETTINGS_HELP]
    command(
        "serve",
        "Answer GitHub's webhooks (POST /webhooks; GET /healthz, /readyz, /metrics) and, unless "
        "RUN_WORKER=0, work the inbox in the same process.\nBefore listening it checks every "
        "setting, the store, the playbooks and that GitHub accepts the App's JWT; a failure is "
        "one line and exit status 2.",
        [n for n in every if n != "HEALTH_PORT"],
    )
    command(
        "worker",
        "Work the inbox and the scheduled jobs, without a webhook server (run with RUN_WORKER=0 "
        "on serve). The same start-up checks as serve. With HEALTH_PORT it answers GET /healthz, "
        "/readyz and /metrics on that port.",
        [n for n in every if n not in ("PORT", "RUN_WORKER")],
    )
    command(
        "migrate",
        "Create or upgrade the tables in DATABASE_URL and exit (safe to run from several "
        "processes at once: migrations take an advisory lock). serve and worker migrate too; run "
        "this as the release step so that a failing migration stops a deploy.",
        ["DATABASE_URL"],
    )
    reg = command(
        "register",
        "Register the GitHub App through GitHub's app-manifest flow: open the page this prints, "
        "press the button, name the App on GitHub and create it. GitHub redirects back here; the "
        "App's id, private key, webhook secret and login are written to .env (mode 600).",
        ["GITHUB_API_URL"],
    )
    reg.add_argument(
        "--webhook-url",
        required=True,
        metavar="URL",
        help="where GitHub sends webhooks: https://YOUR-HOST/webhooks",
    )
    reg.add_argument(
        "--org",
        metavar="ORG",
        help="register the App under this organisation (default: your account)",
    )
    reg.add_argument(
        "--name",
        metavar="NAME",
        help="the App's name (default: app.yml's; GitHub names must be unique)",
    )
    reg.add_argument(
        "--manifest", type=Path, metavar="FILE", help="default: app.yml shipped with the app"
    )
    reg.add_argument(
        "--env-file", type=Path, default=Path(".env"), metavar="FILE", help="default: .env"
    )
    reg.add_argument(
        "--port",
        type=_port,
        default=3000,
        help="local port for GitHub's redirect (default 3000; 0: any)",
    )
    reg.add_argument(
        "--force", action="store_true", help="replace an App already written in the env file"
    )
    reg.add_argument("--no-browser", action="store_true", help="only print the address to open")
    demo = command(
        "demo",
        "Replay a scripted month of code review as signed webhooks against the real server, "
        "worker and store and a local stand-in for GitHub; print every decision and every posted "
        "comment whole. No credentials, no network. Needs the 'demo' extra.",
    )
    demo.add_argument("--quiet", action="store_true", help="print only the summary line")
    demo.add_argument(
        "--html", type=Path, metavar="FILE", help="also write the pull requests as an HTML page"
    )
    check = command(
        "validate",
        "Check playbook files and org.yml. Every problem is printed as "
        "FILE:LINE: FIELD: what to write instead; exit status 1 when any file is broken, or when "
        "there is no playbook to check. Warnings (FILE:LINE: warning: …) leave it 0.",
    )
    check.add_argument(
        "paths",
        nargs="*",
        type=Path,
        metavar="PATH",
        help=f"playbook files or folders (default: the shipped playbooks, {DEFAULT_PLAYBOOKS})",
    )
    cls = command(
        "classify",
        "Classify review comments: JSON lines with a 'text' field (and, for a line comment, its "
        "'diff_hunk') on standard input, each written back with a 'playbooks' field: the ids it "
        "matches; one comment a line (--input text), or --text COMMENT. Exit status 1 when a line "
        "could not be read.",
    )
    cls.add_argument(
        "--playbooks",
        type=_playbooks_folder,
        default=DEFAULT_PLAYBOOKS,
        metavar="DIR",
        help="folder of playbooks (default: the shipped ones)",
    )
    cls.add_argument(
        "--text",
        action="append",
        metavar="COMMENT",
        help="classify this comment and explain each match (repeatable)",
    )
    cls.add_argument(
        "--code",
        metavar="LINES",
        default="",
        help="with --text: the code the comment is on (a diff hunk, or plain lines), so that "
        "playbooks' match.on_code rules are tried too",
    )
    cls.add_argument(
        "--input",
        choices=("json", "text"),
        default="json",
        help="standard input holds JSON lines with a text field (default), or one comment a line",
    )
    cls.add_argument(
        "--explain",
        action="store_true",
        help="JSON lines: add each match's pattern, the words it matched and a quote",
    )
    rep = command(
        "report",
        "Print nudge decisions per playbook, role and team, feedback, the kill switch's figures "
        "and failed deliveries. Read-only: a database that does not exist is reported, not created.",
        ["DATABASE_URL", "PLAYBOOKS_DIR"],
    )
    rep.add_argument(
        "--database-url", metavar="URL", help=f"default: DATABASE_URL, else {DEFAULT_DATABASE_URL}"
    )
    rep.add_argument(
        "--color",
        choices=("auto", "always", "never"),
        default="auto",
        help="colour the tables: auto (default) when writing to a terminal and NO_COLOR is unset",
    )
    sim = command(
        "simulate",
        "Run the decision core and the kill switch over a synthetic organisation with a known "
        "effect per playbook, on its own clock; no I/O. --days 1 to 3650, --engineers 4 to 10000.",
    )
    simulate_arguments(sim)
    sim.add_argument(
        "--series",
        action="store_true",
        help="instead: one engineer's spaced follow-ups over months, as a text chart",
    )
    sim.add_argument("--playbook", default="sql-injection", help="with --series: which playbook")
    pre = command(
        "preview",
        "Show the nudge, the co-sign request and each follow-up of a playbook exactly as they "
        "will be posted (Markdown), for a made-up engineer whose review comments are the "
        "playbook's examples.match; exit 1 when the playbook does not load.",
    )
    pre.add_argument(
        "playbook", type=Path, help="a playbook file, like playbooks/sql-injection.yml"
    )
    pre.add_argument(
        "--html", type=Path, metavar="FILE", help="also write them as a page of GitHub comments"
    )
    sch = command(
        "schema",
        "Write playbook.schema.json and org.schema.json, made from the checks of validate, so "
        "that an editor completes and checks the YAML.",
    )
    sch.add_argument(
        "--out", type=Path, default=DEFAULT_PLAYBOOKS / "schema", help="default: playbooks/schema"
    )
    sch.add_argument(
        "--check",
        action="store_true",
        help="only say whether the files are up to date (exit 1 if not)",
    )
    back = command(
        "backfill",
        "Read the last days of review comments and reviews of an installation's repositories "
        "through the API and record them as reviewed pull requests and matching comments, never "
        "as nudges; a stopped backfill continues where it stopped. Exit 1 if it stopped again.",
        every,
    )
    back.add_argument("--days", type=int, default=90, help="how far back to read (default 90)")
    back.add_argument("--installation", type=int, metavar="ID", help="only this installation")
    rpl = command(
        "replay",
        "Run the review history in the store through proposed playbooks and org settings: who "
        "would have been nudged, when, how often, and the budget it would have used. Nothing is "
        "posted and nothing is written.",
        ["DATABASE_URL", "PLAYBOOKS_DIR"],
    )
    rpl.add_argument(
        "--since", default="90d", help="how far back: 90d, 12w or a date (default 90d)"
    )
    rpl.add_argument(
        "--playbooks",
        type=Path,
        help="folder of proposed playbooks and org.yml (default PLAYBOOKS_DIR)",
    )
    rpl.add_argument("--database-url", help="defaults to DATABASE_URL")
    rpl.add_argument("--installation", type=int, metavar="ID", help="only this installation")
    rpl.add_argument(
        "--markdown", action="store_true", help="print the Markdown summary (as in a check run)"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "simulate":
        for name, low, high in SIMULATE_RANGES:
            value = getattr(args, name)
            if not low <= value <= high:
                parser.exit(
                    2,
                    f"python -m bot simulate: error: --{name} must be from {low} to {high}, got {value}\n",
                )
    if args.command in ("serve", "worker", "migrate", "report", "register", "backfill", "replay"):
        from bot.app.settings import load_env_file

        load_env_file()
    if args.command == "preview":
        import sys

        from bot.cli.preview import preview

        return preview(args.playbook, html=args.html, out=sys.stdout)
    if args.command == "schema":
        import sys

        from bot.cli.schema import write_schemas

        return write_schemas(args.out, check=args.check, out=sys.stdout)

    if args.command == "backfill":
        import asyncio
        import sys

        from bot.cli.backfill import run_backfill
        from bot.cli.serve import _logging, _settings

        _logging()
        return asyncio.run(
            run_backfill(
                _settings(), sys.stdout, days=max(args.days, 1), installation=args.installation
            )
        )
    if args.command == "replay":
        import sys

        from bot.cli.replay import replay_command

        return replay_command(args, sys.stdout, sys.stderr)

    if args.command == "validate":
        from bot.cli.validate import validate

        return validate(args.paths)
    if args.command == "classify":
        from bot.cli.classify import classify

        return classify(
            args.playbooks,
            texts=args.text,
            input_format=args.input,
            explain=args.explain,
            code=args.code,
        )
    if args.command == "simulate":
        from bot.cli.simulate import simulate

        return simulate(args)
    if args.command == "report":
        from bot.cli.report import main as report

        return report(args.database_url, args.color)
    if args.command == "migrate":
        from bot.cli.migrate import migrate

        return migrate()
    if args.command == "register":
        from bot.cli.register import register

        return register(args)
    if args.command == "demo":
        from bot.cli.demo import main as demo

        return demo(quiet=args.quiet, html=args.html)
    from bot.cli.serve import run

    return run(args.command)


if __name__ == "__main__":
    raise SystemExit(main())


__all__ = ["DEFAULT_API_URL", "DEFAULT_PLAYBOOKS", "build_parser", "main"]
