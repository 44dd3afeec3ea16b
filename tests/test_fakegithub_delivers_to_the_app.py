"""The stand-in GitHub's webhook deliveries are ones the running app accepts, as GitHub's are."""

from __future__ import annotations

import json
import time

import aiohttp
import jwt
from conftest import APP_ID, SECRET, fixture_payload


async def test_the_app_takes_the_fakes_delivery_and_knows_its_redelivery(bot, rsa_key):
    github = bot.github
    github.set_webhook_target(str(bot.client.make_url("/webhooks")), SECRET)
    guid = await github.send_webhook("ping", fixture_payload("ping.with-app_id"))
    [first] = github.deliveries()
    assert (first["guid"], first["status"], first["status_code"]) == (guid, "OK", 202)
    assert json.loads(first["response"]["payload"])["stored"] is True

    issued = int(time.time()) - 60
    token = jwt.encode(
        {"iat": issued, "exp": issued + 600, "iss": str(APP_ID)}, rsa_key[0], "RS256"
    )
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{github.base_url}/app/hook/deliveries/{first['id']}/attempts",
            headers={"Authorization": f"Bearer {token}"},
        ) as response,
    ):
        assert response.status == 202
    await github.flush_webhooks()
    again = github.deliveries()[0]
    assert (again["guid"], again["redelivery"], again["status"]) == (guid, True, "OK")
    assert json.loads(again["response"]["payload"])["stored"] is False, "the app knows the guid"

    github.set_webhook_target(str(bot.client.make_url("/webhooks")), "not-the-secret")
    await github.send_webhook("ping", fixture_payload("ping.with-app_id"))
    refused = github.deliveries()[0]
    assert (refused["status"], refused["status_code"]) == ("Invalid HTTP Response: 401", 401)
