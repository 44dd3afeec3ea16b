"""How fast ``python -m bot serve`` acknowledges webhooks, beside a floor measured in the same run.

    python bench/ack.py [--requests 2000] [--concurrency 32] [--warmup 200] [--rounds 3]
                        [--matching 0.1] [--pg-url postgresql://postgres@127.0.0.1:5432/DB]
                        [--keep-logs DIR] [--check]

GitHub gives a delivery ten seconds, so how fast the server says 202 (and how that holds up while
its worker processes what it stored) is what an operator sees first. For each database kind
(SQLite always; PostgreSQL when ``--pg-url`` is given) the bench runs two targets on loopback:

* ``floor``: bench/ack_floor.py, a bare aiohttp app that reads the body, checks the HMAC, stores
  one row with the project's store (``bot.store.open_store`` / ``add_delivery``) and answers 202;
* ``serve``: the real ``python -m bot serve`` with its worker in the same process
  (``RUN_WORKER=1``), talking to a stand-in GitHub (bench/ack_github.py) seeded with the pull
  requests and review comments the deliveries describe.

Both get the same signed ``pull_request_review_comment`` ``created`` deliveries (GitHub's example
payload with a long comment body; comment ids, reviewers and pull-request authors vary; a fresh
``X-GitHub-Delivery`` per request), from one aiohttp ClientSession, at most ``--concurrency`` in
flight. ``--matching`` is the share of comments that a playbook matches (the rest are ordinary
review remarks): at 0 the worker only classifies and records, above it the worker also plans
nudges and posts them to the stand-in GitHub, paced at one write a second as GitHub asks. Each target gets a fresh database (a new SQLite file; a new PostgreSQL schema, dropped
afterwards), ``--warmup`` deliveries that are not counted, then ``--requests`` timed ones.
Latency is from sending a request to having read its answer. Per round the floor runs first, then
serve; each round's serve is divided by that round's floor (on a shared machine both see the same
background load), and with several rounds the ratios given are the medians of those.

Reported per target: acknowledged requests (202), errors, throughput, p50 and p99 latency, and the
serve process's inbox backlog right after the load (from ``GET /healthz``, when it says: a large
one means the worker fell behind while the web path kept up, 0 that it kept pace); then
serve/floor for throughput and p99. The spec asks for throughput >= 1.0x the floor and p99
<= 1.5x the floor's, on SQLite and on PostgreSQL; ``--check`` exits 3 when a ratio misses.

Everything listens on and is sent to 127.0.0.1 only; request counts and every wait are bounded
(``--time-limit`` per timed phase); subprocesses, temporary files and schemas are removed at the
end, also after an error or Ctrl-C. It talks to the server only over HTTP and through its
command line and settings, so it keeps working while the server's internals change.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import copy
import hashlib
import hmac
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.testing.fakegithub import app_keypair

FIXTURE = (
    ROOT / "tests" / "fixtures" / "github-webhooks" / "pull_request_review_comment.created.json"
)
FLOOR = ROOT / "bench" / "ack_floor.py"
STAND_IN = ROOT / "bench" / "ack_github.py"
SECRET = "ack-bench-webhook-secret"
APP_ID = 6161
INSTALLATION = 4711
OWNER, REPO = "ackbench", "service"
EVENT = "pull_request_review_comment"
ENGINEERS = ["ada", "bruno", "chen", "dilnoza", "emeka", "fatima", "goran", "hana"]
REVIEWERS = ["ines", "jonas", "kemal", "lucia", "mei", "nils"]
# Remarks that some playbook matches, and remarks that none does (most review comments).
MATCHING = [
    "This builds the SQL with an f-string. Please use bind parameters here.",
    "The except block swallows the error silently; at least log it or re-raise.",
    "There is an API token hardcoded in this config; read it from the environment instead.",
    "Could this loop issue one query per row? Fetch them in one go.",
]
PLAIN = [
    "Nice refactor, the naming reads much better now.",
    "Could you split this function in two? It does the parsing and the formatting.",
    "I would rename this variable to say what unit it is in.",
    "Looks good to me once the changelog entry is in.",
]
FILLER = (
    "Context for the comment above, line {line}: the handler reads the request, looks up the "
    "account, builds the reply and writes an audit entry before it returns. The surrounding code "
    "has changed a lot in this pull request, so here is the reasoning in full, with the paths "
    "I looked at and what I would expect a reader of this module to understand without asking. "
)
READY_TIMEOUT = 60.0
STOP_TIMEOUT = 20.0


# deliveries -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Delivery:
    pull: int
    engineer: str
    reviewer: str
    comment_id: int
    text: str
    body: bytes
    signature: str


def build_deliveries(
    count: int, comment_chars: int, matching: float, seed: int = 5
) -> list[Delivery]:
    """``count`` signed review-comment deliveries built from GitHub's example payload."""
    rng = random.Random(seed)
    template = json.loads(FIXTURE.read_text())
    made = []
    for index in range(count):
        engineer = ENGINEERS[index % len(ENGINEERS)]
        reviewer = rng.choice(REVIEWERS)
        pull = 100 + ENGINEERS.index(engineer)
        comment_id = 7_000_000 + index
        text = rng.choice(MATCHING if rng.random() < matching else PLAIN) + "\n\n"
        line = 10
        while len(text) < comment_chars:
            text += FILLER.format(line=line)
            line += rng.randrange(1, 9)
        text = text[:comment_chars]
        payload = copy.deepcopy(template)
        payload["installation"] = {
            "id": INSTALLATION,
            "node_id": "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9u",
        }
        payload["repository"].update(full_name=f"{OWNER}/{REPO}", name=REPO)
        payload["repository"]["owner"] = {**payload["repository"]["owner"], "login": OWNER}
        payload["pull_request"].update(number=pull)
        payload["pull_request"]["user"] = {
            **payload["pull_request"]["user"],
            "login": engineer,
            "type": "User",
        }
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        comment = payload["comment"]
        comment.update(
            id=comment_id,
            body=text,
            created_at=stamp,
            updated_at=stamp,
            pull_request_review_id=comment_id,
        )
        comment.pop("in_reply_to_id", None)
        comment["user"] = {**comment["user"], "login": reviewer, "type": "User"}
        payload["sender"] = {**payload["sender"], "login": reviewer, "type": "User"}
        body = json.dumps(payload, separators=(",", ":")).encode()
        signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        made.append(Delivery(pull, engineer, reviewer, comment_id, text, body, signature))
    return made


def stand_in_seed(deliveries: list[Delivery], public_key: str) -> dict:
    pulls = sorted({(d.pull, d.engineer) for d in deliveries})
    return {
        "app_id": APP_ID,
        "public_key": public_key,
        "installation": INSTALLATION,
        "owner": OWNER,
        "repo": REPO,
        "pulls": pulls,
        "comments": [(d.pull, d.comment_id, d.reviewer, d.text) for d in deliveries],
    }


# processes --------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def base_env() -> dict[str, str]:
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "PYTHONPATH", "VIRTUAL_ENV", "TMPDIR")
    return {k: v for k, v in os.environ.items() if k in keep}


@dataclass
class Process:
    name: str
    process: subprocess.Popen
    log: Path

    @classmethod
    def start(cls, name: str, argv: list[str], env: dict[str, str], log: Path) -> Process:
        with log.open("wb") as out:
            process = subprocess.Popen(
                argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
            )
        return cls(name, process, log)

    def tail(self, chars: int = 3000) -> str:
        with contextlib.suppress(OSError):
            return self.log.read_text(errors="replace")[-chars:]
        return ""

    def check_alive(self) -> None:
        if self.process.poll() is not None:
            raise RuntimeError(
                f"{self.name} exited with {self.process.returncode}; its output:\n{self.tail()}"
            )

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@contextlib.asynccontextmanager
async def running(
    name: str, argv: list[str], env: dict[str, str], log: Path
) -> AsyncIterator[Process]:
    process = Process.start(name, argv, env, log)
    try:
        yield process
    finally:
        await asyncio.to_thread(process.stop)


async def wait_healthy(session: aiohttp.ClientSession, url: str, process: Process) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while True:
        process.check_alive()
        with contextlib.suppress(aiohttp.ClientError, TimeoutError):
            async with session.get(
                url + "/healthz", timeout=aiohttp.ClientTimeout(total=5)
            ) as answer:
                if answer.status == 200:
                    return
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"{process.name} did not answer GET /healthz in {READY_TIMEOUT:.0f}s:\n{process.tail()}"
            )
        await asyncio.sleep(0.1)


async def wait_file(path: Path, process: Process) -> str:
    deadline = time.monotonic() + READY_TIMEOUT
    while not path.exists():
        process.check_alive()
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"{process.name} did not start in {READY_TIMEOUT:.0f}s:\n{process.tail()}"
            )
        await asyncio.sleep(0.05)
    return path.read_text().strip()


# databases --------------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def fresh_database(kind: str, base: str, workdir: Path, label: str) -> AsyncIterator[str]:
    """A database URL no run has used: a new SQLite file, or a new schema in the PostgreSQL one."""
    if kind == "sqlite":
        yield f"sqlite:///{workdir / (label + '.db')}"
        return
    import asyncpg  # only needed for PostgreSQL

    schema = f"ackbench_{label.replace('-', '_')}_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(base)
    try:
        await admin.execute(f'CREATE SCHEMA "{schema}"')
        separator = "&" if "?" in base else "?"
        yield f"{base}{separator}search_path={schema}"
    finally:
        with contextlib.suppress(Exception):
            await admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        await admin.close()


# load -------------------------------------------------------------------------------------------


@dataclass
class Phase:
    latencies: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0


async def send(
    session: aiohttp.ClientSession,
    url: str,
    deliveries: list[Delivery],
    concurrency: int,
    time_limit: float,
) -> Phase:
    """Each delivery once, with a new delivery id, at most ``concurrency`` in flight."""
    phase = Phase()
    gate = asyncio.Semaphore(concurrency)
    planned = [
        (
            d.body,
            {
                "Content-Type": "application/json",
                "User-Agent": "GitHub-Hookshot/ackbench",
                "X-GitHub-Event": EVENT,
                "X-GitHub-Delivery": str(uuid.uuid4()),
                "X-Hub-Signature-256": d.signature,
            },
        )
        for d in deliveries
    ]
    deadline = time.monotonic() + time_limit

    async def one(body: bytes, headers: dict[str, str]) -> None:
        async with gate:
            if time.monotonic() > deadline:
                phase.errors["not sent: time limit"] += 1
                return
            started = time.perf_counter()
            try:
                async with session.post(url + "/webhooks", data=body, headers=headers) as answer:
                    await answer.read()
                    status = answer.status
            except (aiohttp.ClientError, TimeoutError) as exc:
                phase.errors[type(exc).__name__] += 1
                return
            took = time.perf_counter() - started
            if status == 202:
                phase.latencies.append(took)
            else:
                phase.errors[f"HTTP {status}"] += 1

    started = time.perf_counter()
    await asyncio.gather(*(one(body, headers) for body, headers in planned))
    phase.seconds = time.perf_counter() - started
    return phase


async def backlog(session: aiohttp.ClientSession, url: str) -> str:
    """The inbox depth the server reports on /healthz, if it reports one."""
    with contextlib.suppress(
        aiohttp.ClientError, TimeoutError, ValueError, TypeError, AttributeError
    ):
        async with session.get(url + "/healthz", timeout=aiohttp.ClientTimeout(total=10)) as answer:
            depth = (await answer.json(content_type=None)).get("inbox", {}).get("depth")
            if depth is not None:
                return str(int(depth))
    return "-"


# runs -------------------------------------------------------------------------------------------


@dataclass
class Run:
    database: str
    target: str
    phase: Phase
    backlog: str = "-"
    notes: list[str] = field(default_factory=list)

    @property
    def acknowledged(self) -> int:
        return len(self.phase.latencies)

    @property
    def throughput(self) -> float:
        return self.acknowledged / self.phase.seconds if self.phase.seconds else 0.0

    def percentile(self, q: int) -> float:
        values = sorted(self.phase.latencies)
        if not values:
            return float("nan")
        # nearest rank: the smallest latency with at least q % of the requests at or below it
        rank = max(1, -(-q * len(values) // 100))
        return values[rank - 1] * 1000


@dataclass
class Bench:
    args: argparse.Namespace
    workdir: Path
    deliveries: list[Delivery]
    private_key: str
    public_key: str
    session: aiohttp.ClientSession

    async def run(self, kind: str, base_url: str, target: str, label: str) -> Run:
        async with fresh_database(kind, base_url, self.workdir, label) as database_url:
            if target == "floor":
                return await self._floor(kind, database_url, label)
            return await self._serve(kind, database_url, label)

    async def _load(self, kind: str, target: str, url: str, process: Process) -> Run:
        await wait_healthy(self.session, url, process)
        warmup, timed = self.deliveries[: self.args.warmup], self.deliveries[self.args.warmup :]
        if warmup:
            await send(self.session, url, warmup, self.args.concurrency, self.args.time_limit)
        phase = await send(self.session, url, timed, self.args.concurrency, self.args.time_limit)
        process.check_alive()
        return Run(kind, target, phase)

    async def _floor(self, kind: str, database_url: str, label: str) -> Run:
        port = free_port()
        env = {
            **base_env(),
            "WEBHOOK_SECRET": SECRET,
            "DATABASE_URL": database_url,
            "PORT": str(port),
        }
        argv = [sys.executable, str(FLOOR)]
        async with running("floor", argv, env, self.workdir / f"{label}.log") as process:
            return await self._load(kind, "floor", f"http://127.0.0.1:{port}", process)

    async def _serve(self, kind: str, database_url: str, label: str) -> Run:
        seed = self.workdir / "stand-in-seed.json"
        if not seed.exists():
            seed.write_text(json.dumps(stand_in_seed(self.deliveries, self.public_key)))
        ready, report = self.workdir / f"{label}-github.url", self.workdir / f"{label}-github.json"
        argv = [sys.executable, str(STAND_IN), str(seed), str(ready), str(report)]
        async with running(
            "stand-in GitHub", argv, base_env(), self.workdir / f"{label}-github.log"
        ) as github:
            github_url = await wait_file(ready, github)
            port = free_port()
            env = {
                **base_env(),
                "WEBHOOK_SECRET": SECRET,
                "APP_ID": str(APP_ID),
                "PRIVATE_KEY": self.private_key,
                "GITHUB_API_URL": github_url,
                "PORT": str(port),
                "DATABASE_URL": database_url,
                "RUN_WORKER": "1",
            }
            argv = [sys.executable, "-m", "bot", "serve"]
            async with running(
                "python -m bot serve", argv, env, self.workdir / f"{label}.log"
            ) as serve:
                url = f"http://127.0.0.1:{port}"
                run = await self._load(kind, "serve", url, serve)
                run.backlog = await backlog(self.session, url)
        with contextlib.suppress(OSError, ValueError):
            answered = json.loads(report.read_text())
            if answered["violations"]:
                run.notes.append(
                    f"the stand-in GitHub saw {len(answered['violations'])} request(s) off GitHub's API "
                    f"description, e.g. {answered['violations'][0]}"
                )
        return run


# report -----------------------------------------------------------------------------------------


def errors_text(run: Run) -> str:
    return str(sum(run.phase.errors.values()))


def print_table(runs: list[Run]) -> list[str]:
    """Print the runs and the ratios; return the ratios that miss the spec."""
    header = (
        f"{'database':<10} {'target':<8} {'requests':>8} {'errors':>6} {'req/s':>8} "
        f"{'p50 ms':>8} {'p99 ms':>8} {'backlog':>7}"
    )
    print(header)
    print("-" * len(header))
    for run in runs:
        print(
            f"{run.database:<10} {run.target:<8} {run.acknowledged:>8} {errors_text(run):>6} "
            f"{run.throughput:>8.0f} {run.percentile(50):>8.1f} {run.percentile(99):>8.1f} {run.backlog:>7}"
        )
    print()
    misses = []
    for database in dict.fromkeys(r.database for r in runs):
        floor = [r for r in runs if r.database == database and r.target == "floor"]
        serve = [r for r in runs if r.database == database and r.target == "serve"]
        pairs = list(zip(floor, serve, strict=False))
        if not pairs:
            continue
        # Each round's serve against the floor measured just before it (both see the same
        # background load), then the median over the rounds.
        speed = [s.throughput / f.throughput if f.throughput else 0.0 for f, s in pairs]
        tail = [s.percentile(99) / f.percentile(99) for f, s in pairs]
        throughput, p99 = statistics.median(speed), statistics.median(tail)
        ok_t, ok_p = throughput >= 1.0, p99 <= 1.5
        rounds_text = ""
        if len(pairs) > 1:
            rounds_text = (
                f" (median of rounds: throughput {', '.join(f'{x:.2f}' for x in speed)};"
                f" p99 {', '.join(f'{x:.2f}' for x in tail)})"
            )
        print(
            f"{database:<10} serve/floor: throughput {throughput:.2f}x "
            f"{'ok' if ok_t else 'MISSES'} (spec >= 1.0x), p99 {p99:.2f}x "
            f"{'ok' if ok_p else 'MISSES'} (spec <= 1.5x){rounds_text}"
        )
        if not ok_t:
            misses.append(f"{database} throughput {throughput:.2f}x")
        if not ok_p:
            misses.append(f"{database} p99 {p99:.2f}x")
    for run in runs:
        for reason, count in run.phase.errors.items():
            print(f"note: {run.database} {run.target}: {count} x {reason}")
        for note in run.notes:
            print(f"note: {run.database} {run.target}: {note}")
    return misses


async def bench(args: argparse.Namespace) -> int:
    deliveries = build_deliveries(args.warmup + args.requests, args.comment_chars, args.matching)
    sizes = [len(d.body) for d in deliveries]
    databases = [("sqlite", "")]
    if args.pg_url:
        databases.append(("postgresql", args.pg_url))
    print(
        f"{args.requests} timed + {args.warmup} warm-up signed {EVENT}.created deliveries of "
        f"{statistics.mean(sizes) / 1024:.1f} KB (comment body {args.comment_chars} chars), "
        f"concurrency {args.concurrency}, {args.rounds} round(s); "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at start"
    )
    if not args.pg_url:
        print(
            "PostgreSQL skipped: give --pg-url postgresql://postgres@127.0.0.1:5432/DB to measure it"
        )
    print()
    private_key, public_key = app_keypair()
    runs: list[Run] = []
    connector = aiohttp.TCPConnector(limit=args.concurrency)
    timeout = aiohttp.ClientTimeout(total=args.request_timeout)
    with tempfile.TemporaryDirectory(prefix="ackbench-") as tmp:
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
            runner = Bench(args, Path(tmp), deliveries, private_key, public_key, session)
            for kind, base_url in databases:
                for round_number in range(1, args.rounds + 1):
                    for target in ("floor", "serve"):
                        label = f"{kind}-{target}-{round_number}"
                        print(f"  running {label} ...", file=sys.stderr, flush=True)
                        runs.append(await runner.run(kind, base_url, target, label))
            if args.keep_logs:
                args.keep_logs.mkdir(parents=True, exist_ok=True)
                for log in Path(tmp).glob("*.log"):
                    shutil.copy(log, args.keep_logs / log.name)
    misses = print_table(runs)
    if args.check and misses:
        print("misses the spec: " + ", ".join(misses))
        return 3
    return 0


def positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not a positive number")
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--requests", type=positive, default=2000, help="timed requests per target (2000)"
    )
    parser.add_argument(
        "--concurrency", type=positive, default=32, help="requests in flight at most (32)"
    )
    parser.add_argument(
        "--warmup", type=int, default=200, help="untimed requests before the timed ones (200)"
    )
    parser.add_argument(
        "--rounds", type=positive, default=3, help="floor+serve pairs per database (3)"
    )
    parser.add_argument(
        "--pg-url", help="a PostgreSQL database to measure too (a schema per run is made there)"
    )
    parser.add_argument(
        "--comment-chars", type=positive, default=2048, help="length of each comment body (2048)"
    )
    parser.add_argument(
        "--matching",
        type=float,
        default=0.1,
        help="share of comments a playbook matches (0.1); the rest match none",
    )
    parser.add_argument(
        "--time-limit", type=float, default=180.0, help="seconds at most per timed phase (180)"
    )
    parser.add_argument(
        "--request-timeout", type=float, default=30.0, help="seconds at most per request (30)"
    )
    parser.add_argument(
        "--keep-logs", type=Path, metavar="DIR", help="copy the processes' logs to DIR"
    )
    parser.add_argument(
        "--check", action="store_true", help="exit 3 when a serve/floor ratio misses the spec"
    )
    args = parser.parse_args(argv)
    if args.warmup < 0:
        parser.error("--warmup cannot be negative")
    if not 0 <= args.matching <= 1:
        parser.error("--matching is a share between 0 and 1")
    if args.pg_url and not args.pg_url.startswith(("postgres://", "postgresql://")):
        parser.error("--pg-url must start with postgresql://")
    for url in filter(None, [args.pg_url]):
        host = url.split("@")[-1].split("/")[0].split(":")[0]
        if host not in ("127.0.0.1", "localhost", "::1", "[::1]", ""):
            parser.error("--pg-url must point at this machine (127.0.0.1)")
    return asyncio.run(_main(args))


async def _main(args: argparse.Namespace) -> int:
    task = asyncio.current_task()
    loop = asyncio.get_running_loop()
    with contextlib.suppress(NotImplementedError):
        loop.add_signal_handler(signal.SIGTERM, task.cancel)
    try:
        return await bench(args)
    except (RuntimeError, TimeoutError) as exc:
        print(f"ack: {exc}", file=sys.stderr)
        return 1
    except asyncio.CancelledError:
        print("ack: stopped; subprocesses and temporary files removed", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
