"""The operations of the extended description, over real HTTP, with the fake's own checks on.

The ``fake`` fixture (from test_fakegithub) asserts after each test that no request broke the
description and that every answer has the shape the description gives.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import hmac
import json
import re
import socket
import time
from pathlib import Path
from typing import Any

import jwt
import test_fakegithub as base
from conftest import FIXTURES, SHARED
from test_fakegithub import APP_ID, INSTALLATION, OWNER, PR, REPO, START, Client

from bot.testing.fakegithub import DESCRIPTION_FILE, FakeGitHub

# the fake's own fixtures: a fake with its answers checked, a token client, a webhook receiver
app_key, clock, fake, gh, http, receiver = (
    base.app_key,
    base.clock,
    base.fake,
    base.gh,
    base.http,
    base.receiver,
)
SECRET = "webhook-s3cret"
BASE = f"/repos/{OWNER}/{REPO}"


def links(headers) -> dict[str, str]:
    return {rel: url for url, rel in re.findall(r'<([^>]+)>; rel="(\w+)"', headers.get("Link", ""))}


def payload(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class AppClient(Client):
    """A client that authenticates as an app, with a JWT signed by ``private_key``."""

    def __init__(self, fake: FakeGitHub, http, private_key: str, *, iss: Any = APP_ID):
        super().__init__(fake, http, "")
        issued = int(time.time()) - 60
        claims = {"iat": issued, "exp": issued + 600, "iss": str(iss)}
        self.jwt = jwt.encode(claims, private_key, algorithm="RS256")

    async def call(self, method: str, path: str, body: Any = None, headers=None):
        sent = {"Authorization": f"Bearer {self.jwt}", **(headers or {})}
        return await super().call(method, path, body, sent)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# the description itself ---------------------------------------------------------------------------
def test_the_package_ships_the_extended_description_and_its_licenses():
    shared = SHARED / "github-rest-openapi-extended.json"
    if shared.exists():
        assert DESCRIPTION_FILE.read_bytes() == shared.read_bytes()
    document = json.loads(DESCRIPTION_FILE.read_text())
    operations = sum(
        1 for item in document["paths"].values() for method in item if method != "parameters"
    )
    assert operations == 48
    here = Path(DESCRIPTION_FILE).parent
    assert "MIT" in (here / "LICENSE-rest-api-description.txt").read_text()
    assert "Octokit contributors" in (here / "LICENSE-octokit-openapi.txt").read_text()


async def test_an_unknown_request_is_still_a_violation(fake, http, app_key):
    app = AppClient(fake, http, app_key[0])
    status, _, _ = await app.call("GET", "/app/hook/config")
    assert status == 404
    status, _, _ = await app.call("GET", "/app/hook/deliveries?page=2")
    assert status == 422, "deliveries page by cursor; the description has no page parameter"
    status, _, _ = await app.call("DELETE", "/app/hook/deliveries/1")
    assert status == 404
    assert len(fake.violations) == 3
    assert fake.violations[0].startswith("GET /app/hook/config: no path in the description")
    assert "unknown parameter 'page'" in fake.violations[1]
    assert "the description has GET" in fake.violations[2]
    fake.violations.clear()


# webhook deliveries ------------------------------------------------------------------------------
async def test_a_webhook_arrives_signed_with_githubs_headers_and_is_recorded(
    fake, http, app_key, receiver, clock
):
    fake.set_webhook_target(receiver.url, SECRET)
    sent = payload("pull_request_review_comment.created")
    guid = await fake.send_webhook("pull_request_review_comment", sent)

    [(headers, body)] = receiver.got
    assert json.loads(body) == sent
    assert headers["x-github-event"] == "pull_request_review_comment"
    assert headers["x-github-delivery"] == guid
    assert headers["x-hub-signature-256"] == signature(SECRET, body)
    assert headers["user-agent"].startswith("GitHub-Hookshot/")
    assert headers["x-github-hook-installation-target-id"] == str(APP_ID)
    assert headers["content-type"] == "application/json"

    app = AppClient(fake, http, app_key[0])
    status, _, listed = await app.call("GET", "/app/hook/deliveries")
    assert status == 200
    [item] = listed
    assert {k: item[k] for k in ("guid", "redelivery", "status", "status_code", "event")} == {
        "guid": guid,
        "redelivery": False,
        "status": "OK",
        "status_code": 200,
        "event": "pull_request_review_comment",
    }
    assert (item["action"], item["installation_id"], item["repository_id"]) == (
        "created",
        sent["installation"]["id"],
        sent["repository"]["id"],
    )
    assert item["delivered_at"] == "2026-03-02T09:00:00Z"
    status, _, one = await app.call("GET", f"/app/hook/deliveries/{item['id']}")
    assert status == 200
    assert one["request"]["payload"] == sent and one["url"] == receiver.url
    assert one["request"]["headers"]["X-GitHub-Delivery"] == guid
    assert json.loads(one["response"]["payload"]) == {"accepted": True}


async def test_a_failed_delivery_is_recorded_and_never_retried(fake, http, app_key, receiver):
    fake.set_webhook_target(receiver.url, SECRET)
    receiver.answers = [503]
    await fake.send_webhook("ping", payload("ping.with-app_id"))
    fake.set_webhook_target(f"http://127.0.0.1:{free_port()}/webhooks", SECRET)
    await fake.send_webhook("ping", payload("ping.with-app_id"))
    await fake.flush_webhooks()

    assert len(receiver.got) == 1, "GitHub does not retry a delivery by itself"
    down, failed = fake.deliveries()
    assert (failed["status"], failed["status_code"]) == ("Invalid HTTP Response: 503", 503)
    assert (down["status"], down["status_code"]) == ("failed to connect to host", 0)
    app = AppClient(fake, http, app_key[0])
    _, _, failures = await app.call("GET", "/app/hook/deliveries?status=failure")
    _, _, successes = await app.call("GET", "/app/hook/deliveries?status=success")
    assert [d["id"] for d in failures] == [down["id"], failed["id"]]
    assert successes == []


async def test_redelivery_sends_the_same_delivery_again(fake, http, app_key, receiver):
    fake.set_webhook_target(receiver.url, SECRET)
    receiver.answers = [503]
    sent = payload("pull_request_review.submitted")
    guid = await fake.send_webhook("pull_request_review", sent)
    [failed] = fake.deliveries()

    app = AppClient(fake, http, app_key[0])
    status, _, _ = await app.call("POST", f"/app/hook/deliveries/{failed['id']}/attempts")
    assert status == 202
    await fake.flush_webhooks()

    (first_headers, first_body), (headers, body) = receiver.got
    assert body == first_body and json.loads(body) == sent
    assert headers["x-github-delivery"] == guid == first_headers["x-github-delivery"]
    assert headers["x-github-event"] == "pull_request_review"
    assert headers["x-hub-signature-256"] == signature(SECRET, body)
    _, _, listed = await app.call("GET", "/app/hook/deliveries")
    assert [(d["guid"], d["redelivery"], d["status"]) for d in listed] == [
        (guid, True, "OK"),
        (guid, False, "Invalid HTTP Response: 503"),
    ]
    assert listed[0]["id"] != failed["id"]


async def test_redelivery_faults_and_unknown_deliveries(fake, http, app_key, receiver, gh):
    fake.set_webhook_target(receiver.url, SECRET)
    await fake.send_webhook("ping", payload("ping.with-app_id"))
    [delivery] = fake.deliveries()
    app = AppClient(fake, http, app_key[0])
    fake.inject_fault("POST", "/app/hook/deliveries/*/attempts", status=502)
    assert (await app.call("POST", f"/app/hook/deliveries/{delivery['id']}/attempts"))[0] == 502
    await fake.flush_webhooks()
    assert len(receiver.got) == 1, "a redelivery GitHub failed to accept sends nothing"
    assert (await app.call("POST", "/app/hook/deliveries/12345/attempts"))[0] == 404
    assert (await app.call("GET", "/app/hook/deliveries/12345"))[0] == 404
    status, _, body = await gh.call("GET", "/app/hook/deliveries")
    assert (status, body["message"]) == (401, "A JSON web token could not be decoded")


async def test_deliveries_page_by_cursor_newest_first(fake, http, app_key, receiver):
    fake.set_webhook_target(receiver.url, SECRET)
    for n in range(5):
        await fake.send_webhook("ping", {"zen": f"zen {n}", "hook_id": n})
    app = AppClient(fake, http, app_key[0])
    status, headers, first = await app.call("GET", "/app/hook/deliveries?per_page=2")
    assert status == 200 and len(first) == 2
    newest = [d["id"] for d in fake.deliveries()]
    assert [d["id"] for d in first] == newest[:2]
    assert set(links(headers)) == {"next"} and "cursor=" in links(headers)["next"]

    await fake.send_webhook("ping", {"zen": "late", "hook_id": 9})  # arrives at the head
    _, headers, second = await app.call("GET", links(headers)["next"])
    assert [d["id"] for d in second] == newest[2:4], "a cursor keeps its place"
    _, headers, last = await app.call("GET", links(headers)["next"])
    assert [d["id"] for d in last] == newest[4:] and "next" not in links(headers)
    assert "prev" in links(headers)
    status, _, body = await app.call("GET", "/app/hook/deliveries?cursor=v1_nope")
    assert (status, body["message"]) == (400, "Bad Request")


# the app-manifest flow -----------------------------------------------------------------------------
MANIFEST = {
    "name": "Learning Nudges (staging)",
    "url": "https://nudges.example.com",
    "description": "Staging copy",
    "hook_attributes": {"url": "", "active": True},
    "redirect_url": "https://nudges.example.com/setup",
    "public": False,
    "default_permissions": {"pull_requests": "write", "checks": "write", "metadata": "read"},
    "default_events": ["pull_request_review_comment", "pull_request_review"],
}


async def test_a_manifest_code_converts_once_into_an_app_that_can_authenticate(
    fake, http, app_key, receiver
):
    manifest = copy.deepcopy(MANIFEST)
    manifest["hook_attributes"]["url"] = receiver.url
    fake.add_manifest_code("c0de", manifest)
    anonymous = Client(fake, http, "")
    url = "/app-manifests/c0de/conversions"
    status, _, made = await anonymous.call("POST", url, headers={"Authorization": ""})
    assert status == 201
    assert made["id"] != APP_ID and made["slug"] == "learning-nudges-staging"
    assert (made["name"], made["owner"]["login"]) == ("Learning Nudges (staging)", OWNER)
    assert made["permissions"] == manifest["default_permissions"]
    assert made["events"] == manifest["default_events"]
    assert made["pem"].startswith("-----BEGIN RSA PRIVATE KEY-----")
    assert made["client_id"] and made["client_secret"] and made["webhook_secret"]

    again = await anonymous.call("POST", url, headers={"Authorization": ""})
    assert (again[0], again[2]["message"]) == (404, "Not Found"), "a code converts once"
    assert (await anonymous.call("POST", "/app-manifests/other/conversions"))[0] == 404

    new_app = AppClient(fake, http, made["pem"], iss=made["id"])
    status, _, me = await new_app.call("GET", "/app")
    assert (status, me["id"], me["slug"]) == (200, made["id"], made["slug"])
    assert (await new_app.call("GET", "/app/installations"))[2] == []
    by_client_id = AppClient(fake, http, made["pem"], iss=made["client_id"])
    assert (await by_client_id.call("GET", "/app"))[2]["id"] == made["id"], "iss may be a client id"
    forged = AppClient(fake, http, made["pem"], iss=APP_ID)
    assert (await forged.call("GET", "/app"))[0] == 401, "the new key does not sign for another app"

    fake.add_installation(55, "acme-staging", app_id=made["id"])
    status, _, token = await new_app.call("POST", "/app/installations/55/access_tokens")
    assert status == 201 and token["token"].startswith("ghs_")
    old_app = AppClient(fake, http, app_key[0])
    assert (await old_app.call("POST", "/app/installations/55/access_tokens"))[0] == 404

    guid = await fake.send_webhook("ping", {"zen": "hi", "hook_id": 1}, app_id=made["id"])
    [(headers, body)] = receiver.got
    assert headers["x-github-delivery"] == guid
    assert headers["x-hub-signature-256"] == signature(made["webhook_secret"], body)
    assert [d["guid"] for d in fake.deliveries(app_id=made["id"])] == [guid]
    assert fake.deliveries() == [], "each app has its own deliveries"


async def test_a_manifest_code_expires_after_an_hour(fake, http, clock):
    fake.add_manifest_code("late", MANIFEST)
    clock.advance(minutes=61)
    status, _, _ = await Client(fake, http, "").call("POST", "/app-manifests/late/conversions")
    assert status == 404


# pull requests, review comments, reviews ----------------------------------------------------------
async def test_review_comments_of_a_repository_backfill_with_since_and_pages(fake, gh):
    fake.add_pull(OWNER, REPO, 8, author="carol")
    for n in range(40):
        fake.add_review_comment(
            OWNER,
            REPO,
            PR if n % 2 else 8,
            comment_id=5000 + n,
            user="bob",
            body=f"c{n}",
            created_at=START - dt.timedelta(days=40 - n),
        )
    status, headers, page = await gh.call("GET", f"{BASE}/pulls/comments")
    assert status == 200 and [c["id"] for c in page] == list(range(5000, 5030))
    assert page[0]["created_at"] == "2026-01-21T09:00:00Z"
    _, _, rest = await gh.call("GET", links(headers)["next"])
    assert [c["id"] for c in rest] == list(range(5030, 5040))

    since = "2026-02-25T09:00:00Z"
    _, _, recent = await gh.call(
        "GET", f"{BASE}/pulls/comments?since={since}&sort=created&direction=desc&per_page=100"
    )
    assert [c["id"] for c in recent] == list(range(5039, 5034, -1))
    assert {c["pull_request_url"].rsplit("/", 1)[1] for c in recent} == {"7", "8"}


async def test_pulls_list_filters_sorts_and_pages(fake, gh):
    fake.add_pull(OWNER, REPO, 8, author="carol", created_at=START - dt.timedelta(days=3))
    fake.add_pull(OWNER, REPO, 9, author="dave", state="closed", head_ref="fix-login")
    fake.add_pull(OWNER, REPO, 10, author="erin", created_at=START - dt.timedelta(days=40))
    _, _, open_pulls = await gh.call("GET", f"{BASE}/pulls")
    assert [p["number"] for p in open_pulls] == [PR, 8, 10], "open ones, newest first"
    assert "merged" not in open_pulls[0] and open_pulls[0]["user"]["login"] == "alice"
    _, _, oldest = await gh.call("GET", f"{BASE}/pulls?state=all&direction=asc")
    assert [p["number"] for p in oldest] == [10, 8, PR, 9]
    _, _, closed = await gh.call("GET", f"{BASE}/pulls?state=closed&head={OWNER}:fix-login")
    assert [p["number"] for p in closed] == [9]
    _, _, stale = await gh.call("GET", f"{BASE}/pulls?sort=long-running")
    assert [p["number"] for p in stale] == [10]
    _, headers, first = await gh.call("GET", f"{BASE}/pulls?state=all&per_page=3")
    assert len(first) == 3 and links(headers)["last"].endswith("page=2")


async def test_seeded_reviews_are_listed(fake, gh):
    fake.add_review(
        OWNER, REPO, PR, user="bob", body="Please split this", state="CHANGES_REQUESTED"
    )
    _, _, reviews = await gh.call("GET", f"{BASE}/pulls/{PR}/reviews")
    assert [(r["user"]["login"], r["state"], r["body"]) for r in reviews] == [
        ("bob", "CHANGES_REQUESTED", "Please split this")
    ]
    assert fake.reviews(OWNER, REPO, PR) == reviews


# installations and organisations ----------------------------------------------------------------
async def test_installation_repositories_with_total_count_and_pages(fake, http, app_key, gh):
    for n in range(4):
        fake.add_repo(OWNER, f"svc-{n}", installation_id=INSTALLATION)
    fake.add_installation(10, "other")
    fake.add_repo("other", "secret", installation_id=10)
    status, headers, first = await gh.call("GET", "/installation/repositories?per_page=2")
    assert status == 200 and first["total_count"] == 5
    assert [r["name"] for r in first["repositories"]] == ["shop", "svc-0"]
    _, _, last = await gh.call("GET", links(headers)["last"])
    assert [r["name"] for r in last["repositories"]] == ["svc-3"]

    app = AppClient(fake, http, app_key[0])
    _, _, token = await app.call(
        "POST", f"/app/installations/{INSTALLATION}/access_tokens", {"repositories": ["svc-1"]}
    )
    _, _, narrow = await Client(fake, http, token["token"]).call(
        "GET", "/installation/repositories"
    )
    assert (narrow["total_count"], narrow["repository_selection"]) == (1, "selected")
    assert (await app.call("GET", "/installation/repositories"))[0] == 401


async def test_org_teams_are_listed_with_their_parent(fake, gh):
    fake.add_team(OWNER, "engineering", ["lead"], name="Engineering")
    fake.add_team(OWNER, "backend", ["carol"], name="Backend", parent="engineering")
    for n in range(30):
        fake.add_team(OWNER, f"squad-{n:02}", [], name=f"Squad {n:02}")
    status, headers, teams = await gh.call("GET", f"/orgs/{OWNER}/teams")
    assert status == 200 and len(teams) == 30 and "next" in links(headers)
    assert [t["slug"] for t in teams[:2]] == ["backend", "engineering"]
    assert teams[0]["parent"]["slug"] == "engineering" and teams[1]["parent"] is None
    assert (await gh.call("GET", "/orgs/other/teams"))[0] == 404


# checks and actions --------------------------------------------------------------------------------
async def test_annotations_of_a_check_run(fake, gh):
    _, _, run = await gh.call(
        "POST", f"{BASE}/check-runs", {"name": "nudges", "head_sha": "d" * 40}
    )
    annotations = [
        {
            "path": f"playbooks/p{n}.yml",
            "start_line": n + 1,
            "end_line": n + 1,
            "annotation_level": "failure",
            "message": f"problem {n}",
        }
        for n in range(35)
    ]
    await gh.call(
        "PATCH",
        f"{BASE}/check-runs/{run['id']}",
        {"output": {"title": "t", "summary": "s", "annotations": annotations}},
    )
    status, headers, listed = await gh.call("GET", f"{BASE}/check-runs/{run['id']}/annotations")
    assert status == 200 and len(listed) == 30 and "next" in links(headers)
    assert listed[0]["blob_href"].endswith(f"/blob/{'d' * 40}/playbooks/p0.yml")
    assert (listed[0]["message"], listed[0]["title"]) == ("problem 0", None)
    assert (await gh.call("GET", f"{BASE}/check-runs/424242/annotations"))[0] == 404


async def test_check_runs_for_a_ref(fake, gh, clock):
    fake.add_pull(OWNER, REPO, 8, author="carol", head_sha="e" * 40, head_ref="feature/x")
    first = (await gh.call("POST", f"{BASE}/check-runs", {"name": "nudges", "head_sha": "e" * 40}))[
        2
    ]
    clock.advance(minutes=1)
    second = (
        await gh.call("POST", f"{BASE}/check-runs", {"name": "nudges", "head_sha": "e" * 40})
    )[2]
    await gh.call("POST", f"{BASE}/check-runs", {"name": "lint", "head_sha": "e" * 40})
    await gh.call("POST", f"{BASE}/check-runs", {"name": "nudges", "head_sha": "f" * 40})

    _, _, latest = await gh.call("GET", f"{BASE}/commits/{'e' * 40}/check-runs")
    assert latest["total_count"] == 2
    assert {r["id"] for r in latest["check_runs"]} >= {second["id"]}
    assert first["id"] not in {r["id"] for r in latest["check_runs"]}
    _, _, every = await gh.call("GET", f"{BASE}/commits/heads/feature/x/check-runs?filter=all")
    assert every["total_count"] == 3
    _, _, named = await gh.call(
        "GET", f"{BASE}/commits/feature/x/check-runs?check_name=lint&status=queued"
    )
    assert [r["name"] for r in named["check_runs"]] == ["lint"]
    _, headers, paged = await gh.call(
        "GET", f"{BASE}/commits/{'e' * 40}/check-runs?filter=all&per_page=1"
    )
    assert (paged["total_count"], len(paged["check_runs"])) == (3, 1)
    assert links(headers)["last"].endswith("page=3")


async def test_workflow_runs_and_jobs(fake, gh):
    old = fake.add_workflow_run(
        OWNER,
        REPO,
        name="CI",
        conclusion="failure",
        created_at=START - dt.timedelta(days=2),
        head_sha="1" * 40,
        actor="carol",
    )
    new = fake.add_workflow_run(
        OWNER,
        REPO,
        name="CI",
        event="pull_request",
        head_branch="change-7",
        pull_numbers=[PR],
        head_sha="2" * 40,
    )
    running = fake.add_workflow_run(
        OWNER, REPO, name="Deploy", status="in_progress", conclusion=None
    )
    fake.add_workflow_job(OWNER, REPO, new["id"], name="test", steps=[{"name": "pytest"}])
    fake.add_workflow_job(OWNER, REPO, new["id"], name="lint")

    status, _, runs = await gh.call("GET", f"{BASE}/actions/runs")
    assert status == 200 and runs["total_count"] == 3
    assert {r["id"] for r in runs["workflow_runs"][:2]} == {new["id"], running["id"]}
    assert runs["workflow_runs"][-1]["id"] == old["id"], "newest first"
    checks = {
        "status=failure": [old["id"]],
        "status=in_progress": [running["id"]],
        "actor=carol": [old["id"]],
        "event=pull_request": [new["id"]],
        f"head_sha={'2' * 40}": [new["id"]],
        "created=2026-02-28T09:00:00Z": [old["id"]],
        "branch=change-7": [new["id"]],
    }
    for query, expected in checks.items():
        _, _, found = await gh.call("GET", f"{BASE}/actions/runs?{query}")
        assert [r["id"] for r in found["workflow_runs"]] == expected, query
    status, _, _ = await gh.call("GET", f"{BASE}/actions/runs?created=%3E%3D2026-03-01")
    assert status == 422, "the description's `created` is a date-time, not a range"
    assert "is not a 'date-time'" in fake.violations.pop()
    _, _, with_pr = await gh.call("GET", f"{BASE}/actions/runs?event=pull_request")
    assert [p["number"] for p in with_pr["workflow_runs"][0]["pull_requests"]] == [PR]
    _, _, without = await gh.call(
        "GET", f"{BASE}/actions/runs?event=pull_request&exclude_pull_requests=true"
    )
    assert without["workflow_runs"][0]["pull_requests"] == []
    _, headers, paged = await gh.call("GET", f"{BASE}/actions/runs?per_page=2")
    assert (paged["total_count"], len(paged["workflow_runs"])) == (3, 2) and "next" in links(
        headers
    )

    _, _, jobs = await gh.call("GET", f"{BASE}/actions/runs/{new['id']}/jobs")
    assert jobs["total_count"] == 2
    assert [(j["name"], j["conclusion"]) for j in jobs["jobs"]] == [
        ("test", "success"),
        ("lint", "success"),
    ]
    assert jobs["jobs"][0]["steps"][0]["name"] == "pytest"
    assert (await gh.call("GET", f"{BASE}/actions/runs/424242/jobs"))[0] == 404
