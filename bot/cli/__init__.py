"""Command line: ``python -m bot serve | worker | demo | validate | classify | report | simulate``."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from bot.app.settings import PACKAGE_ROOT, Settings, SettingsError

DEFAULT_PLAYBOOKS = PACKAGE_ROOT / "playbooks"


def _logging(level: str = "INFO") -> None:
    from bot.app.logfmt import OneLineFormatter

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(OneLineFormatter())
    logging.basicConfig(level=level, handlers=[handler])
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)


def _settings(need_github: bool = True) -> Settings:
    try:
        return Settings.from_env(need_github=need_github)
    except SettingsError as exc:
        print(f"learning-nudges: cannot start: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


# serve / worker ------------------------------------------------------------------------------


async def _serve(settings: Settings) -> None:
    from aiohttp import web

    from bot.app.wiring import build_service

    async with build_service(settings) as service:
        runner = web.AppRunner(service.app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "0.0.0.0", settings.port)
        await site.start()
        logging.getLogger("bot").info(
            "listening on port %d; playbooks=%d; store=%s", settings.port,
            len(service.worker.playbooks.playbooks), settings.database_url.split(":", 1)[0],
        )
        await _until_signal()
        await runner.cleanup()


async def _work(settings: Settings) -> None:
    from bot.app.wiring import build_service

    async with build_service(settings) as service:
        stop = asyncio.Event()
        task = asyncio.create_task(service.worker.run(stop))
        await _until_signal()
        stop.set()
        service.worker.wake.set()
        await task


async def _until_signal() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await stop.wait()


# validate ------------------------------------------------------------------------------------


def validate(paths: Sequence[Path], out: TextIO = sys.stdout) -> int:
    """Check playbooks (and org settings) for their authors; 1 when anything is broken."""
    from bot.core.org import ORG_FILE, parse_org_settings
    from bot.core.playbook import NOT_PLAYBOOKS, load_playbooks

    paths = list(paths) or [DEFAULT_PLAYBOOKS]
    missing = [p for p in paths if not p.exists()]
    for path in missing:
        print(f"{path}:1: (file): does not exist; give a playbook file or a folder of them", file=out)
    present = [p for p in paths if p.exists()]
    result = load_playbooks(*present)
    problems = list(result.problems)
    org_files = [p / ORG_FILE for p in present if p.is_dir() and (p / ORG_FILE).exists()]
    org_files += [p for p in present if p.is_file() and p.name in NOT_PLAYBOOKS]
    for org_file in org_files:
        problems += parse_org_settings(org_file.read_text(encoding="utf-8"), str(org_file))[1]
    for problem in sorted(problems):
        print(problem, file=out)
    broken = len({p.file for p in problems}) + len(missing)
    ok = len(result.playbooks)
    print(
        f"{ok} playbook{'s' if ok != 1 else ''} OK"
        + (f", {len(org_files)} org settings file checked" if org_files else "")
        + (f"; {broken} file{'s' if broken != 1 else ''} with problems" if broken else ""),
        file=out,
    )
    return 1 if problems or missing else 0


# classify ------------------------------------------------------------------------------------


def classify(playbooks_dir: Path, inp: TextIO = sys.stdin, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    """JSON lines with ``text`` in, the same objects with ``playbooks`` out."""
    from bot.core.classify import Classifier
    from bot.core.playbook import load_playbooks

    result = load_playbooks(playbooks_dir)
    for problem in result.problems:
        print(f"skipped: {problem}", file=err)
    classifier = Classifier(result.playbooks)
    status = 0
    for number, line in enumerate(inp, start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            text = item["text"]
            if not isinstance(text, str):
                raise TypeError("text must be a string")
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            print(f"line {number}: skipped, expected a JSON object with a text field ({exc})", file=err)
            status = 1
            continue
        item["playbooks"] = classifier.classify(text)
        out.write(json.dumps(item, ensure_ascii=False) + "\n")
    return status


# report --------------------------------------------------------------------------------------


async def _report(database_url: str, playbooks_dir: Path, out: TextIO) -> None:
    from bot.app.wiring import load_config
    from bot.cli.report import build_report
    from bot.store import open_store

    _playbooks, org, _problems = load_config(playbooks_dir)
    store = await open_store(database_url)
    try:
        out.write(await build_report(store, org))
    finally:
        await store.close()


# simulate ------------------------------------------------------------------------------------


def _effect(text: str) -> tuple[str, float]:
    name, _, value = text.partition("=")
    try:
        effect = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"write PLAYBOOK=EFFECT, like sql-injection=0.5; got {text!r}") from None
    if not name or not 0 <= effect <= 1:
        raise argparse.ArgumentTypeError(f"the effect is a share between 0 and 1, like sql-injection=0.5; got {text!r}")
    return name, effect


def simulate(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """Run the kill switch over a synthetic organisation and print what it decided."""
    from bot.simulation import DEFAULT_EFFECTS, Scenario, report, simulate

    effects = dict(args.effect) if args.effect else dict(DEFAULT_EFFECTS)
    scenario = Scenario(days=args.days, engineers=args.engineers, effects=effects, seed=args.seed)
    (out or sys.stdout).write(report(simulate(scenario)))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("serve", help="run the webhook server (and the worker, unless RUN_WORKER=0)")
    sub.add_parser("worker", help="run only the worker (a separate Procfile process)")
    demo = sub.add_parser("demo", help="replay a scripted review history against a local stand-in for GitHub")
    demo.add_argument("--quiet", action="store_true", help="print only the summary line")
    check = sub.add_parser("validate", help="check playbook files and org settings")
    check.add_argument("paths", nargs="*", type=Path)
    cls = sub.add_parser("classify", help="classify JSON lines from standard input")
    cls.add_argument("--playbooks", type=Path, default=DEFAULT_PLAYBOOKS)
    rep = sub.add_parser("report", help="decisions per playbook and per role, and failed deliveries")
    rep.add_argument("--database-url", help="defaults to DATABASE_URL")
    sim = sub.add_parser("simulate", help="the kill switch over a synthetic organisation, no I/O")
    sim.add_argument("--days", type=int, default=90)
    sim.add_argument("--engineers", type=int, default=60)
    sim.add_argument("--effect", type=_effect, action="append", metavar="PLAYBOOK=EFFECT",
                     help="true share of matching comments a nudge removes (default: sql-injection=0.5 "
                          "swallowed-errors=0); repeat for more playbooks")
    sim.add_argument("--seed", type=int, default=3, help="another seed, another organisation")
    args = parser.parse_args(argv)

    if args.command == "validate":
        return validate(args.paths)
    if args.command == "classify":
        return classify(args.playbooks)
    if args.command == "simulate":
        return simulate(args)
    if args.command == "report":
        import os

        from bot.app.settings import DEFAULT_DATABASE_URL

        url = args.database_url or os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
        playbooks = Path(os.environ.get("PLAYBOOKS_DIR") or DEFAULT_PLAYBOOKS)
        asyncio.run(_report(url, playbooks, sys.stdout))
        return 0
    if args.command == "demo":
        from bot.cli.demo import run_demo

        return asyncio.run(run_demo(sys.stdout, quiet=args.quiet))
    _logging()
    settings = _settings()
    asyncio.run(_serve(settings) if args.command == "serve" else _work(settings))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
