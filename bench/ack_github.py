"""The stand-in GitHub for bench/ack.py, in a process of its own.

    python bench/ack_github.py SEED.json READY_FILE REPORT_FILE

Starts ``bot.testing.fakegithub.FakeGitHub`` on 127.0.0.1 (a free port, the real clock), seeded
from SEED.json (app id, public key, installation, repository, the pull requests and the review
comments the benchmark's deliveries describe), writes its base URL to READY_FILE, and serves until
SIGTERM or SIGINT; then it writes how many requests it answered and the ones that did not match
GitHub's API description to REPORT_FILE. It runs apart from the load generator so that answering
the worker's API calls never delays the clock that times the acknowledgements, and at a lower
CPU priority so that, on a small machine, it takes what the server and the load leave.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.testing.fakegithub import FakeGitHub


async def serve(seed: dict, ready: Path, report: Path) -> None:
    fake = FakeGitHub(app_id=seed["app_id"], public_key_pem=seed["public_key"])
    fake.add_installation(seed["installation"], seed["owner"])
    fake.add_repo(seed["owner"], seed["repo"], installation_id=seed["installation"])
    for number, author in seed["pulls"]:
        fake.add_pull(seed["owner"], seed["repo"], number, author=author)
    for number, comment_id, reviewer, body in seed["comments"]:
        fake.add_review_comment(
            seed["owner"], seed["repo"], number, comment_id=comment_id, user=reviewer, body=body
        )
    base_url = await fake.start("127.0.0.1", 0)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    partial = ready.with_suffix(".part")
    partial.write_text(base_url)
    partial.replace(ready)
    try:
        await stop.wait()
    finally:
        await fake.close()
        report.write_text(
            json.dumps({"requests": len(fake.requests), "violations": fake.violations})
        )


def main() -> int:
    if len(sys.argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    seed_file, ready, report = (Path(a) for a in sys.argv[1:])
    with contextlib.suppress(OSError):
        os.nice(10)
    asyncio.run(serve(json.loads(seed_file.read_text()), ready, report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
