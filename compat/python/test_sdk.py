"""Drives the official Python slack_sdk (sync WebClient and AsyncWebClient) against our server.

Environment: SLACK_API_URL (ending in /api/), CONTROL_URL, CONTROL_TOKEN, FIXTURE (path).
Prints one line per check and a closing 'N passed, N failed' line; exits non-zero on failure.
"""
import asyncio
import json
import os
import sys
import traceback
import urllib.request

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

API = os.environ["SLACK_API_URL"]
CONTROL = os.environ["CONTROL_URL"].rstrip("/")
CONTROL_TOKEN = os.environ["CONTROL_TOKEN"]
FIXTURE = open(os.environ["FIXTURE"], "rb").read()
ADMIN = "xoxp-acme-admin"

results = {"passed": 0, "failed": 0}


def control(path, body=None):
    req = urllib.request.Request(CONTROL + path, data=body, method="POST")
    req.add_header("Authorization", "Bearer " + CONTROL_TOKEN)
    req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req) as resp:
        return json.loads(resp.read() or b"{}")


def control_call(method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(CONTROL + path, data=data, method=method)
    req.add_header("Authorization", "Bearer " + CONTROL_TOKEN)
    req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req) as resp:
        return json.loads(resp.read() or b"{}")


def tiny_list_limit():
    """list at 60/min with a burst of 1: a second call at once gets 429 with Retry-After: 1."""
    control_call("PUT", "/emulator/rate-limits", {
        "mode": "custom",
        "overrides": {"admin.users.session.list": {"per_minute": 60, "burst": 1}}})
    control_call("DELETE", "/emulator/requests")


def list_answers():
    log = control_call("GET", "/emulator/requests?method=admin.users.session.list")
    return [r["answer"] for r in log["requests"]]


def no_limits():
    control_call("PUT", "/emulator/rate-limits", {"mode": "off", "overrides": {}})


def reload_fixture():
    control("/fixtures", FIXTURE)


def check(name):
    def wrap(fn):
        reload_fixture()
        try:
            if asyncio.iscoroutinefunction(fn):
                asyncio.run(fn())
            else:
                fn()
            results["passed"] += 1
            print(f"ok   {name}")
        except Exception:  # noqa: BLE001 - report and go on
            results["failed"] += 1
            print(f"FAIL {name}")
            traceback.print_exc()
        return fn
    return wrap


def sync_client(token=ADMIN, **kw):
    return WebClient(token=token, base_url=API, **kw)


def async_client(token=ADMIN):
    return AsyncWebClient(token=token, base_url=API)


def all_session_ids(client, **kw):
    ids = []
    for page in client.admin_users_session_list(limit=2, **kw):
        ids.extend(s["session_id"] for s in page["active_sessions"])
    return ids


@check("sync list: pagination to the end, every session once, bots never")
def _():
    ids = all_session_ids(sync_client())
    assert ids == sorted(ids), ids
    assert len(ids) == len(set(ids)) == 9, ids


@check("sync list: one user on one team")
def _():
    r = sync_client().admin_users_session_list(team_id="T0ENG", user_id="W0DEV")
    assert {s["user_id"] for s in r["active_sessions"]} == {"W0DEV"}
    assert len(r["active_sessions"]) == 3
    s = r["active_sessions"][0]
    assert s["created"]["os"] == "macOS" and isinstance(s["session_id"], int)


@check("sync invalidate (team_id form, as the SDK sends it) ends the session token")
def _():
    c = sync_client()
    assert c.admin_users_session_invalidate(session_id="1001", team_id="T0ENG")["ok"]
    try:
        sync_client("xoxc-w0dev-desktop").auth_test()
        raise AssertionError("revoked session token still authenticates")
    except SlackApiError as e:
        assert e.response["error"] == "invalid_auth"
    assert 1001 not in all_session_ids(c)


@check("sync invalidate with user_id kwarg (today's reference form)")
def _():
    assert sync_client().admin_users_session_invalidate(session_id="1002", team_id="T0ENG", user_id="W0DEV")["ok"]


@check("sync reset mobile_only leaves desktop and web")
def _():
    c = sync_client()
    assert c.admin_users_session_reset(user_id="W0DEV", mobile_only=True)["ok"]
    left = c.admin_users_session_list(team_id="T0ENG", user_id="W0DEV")["active_sessions"]
    assert sorted(s["session_id"] for s in left) == [1001, 1003], left


@check("sync resetBulk (comma-joined list) is carried out")
def _():
    import time
    c = sync_client()
    assert c.admin_users_session_resetBulk(user_ids=["W0DEV", "W0OPS"])["ok"]
    for _ in range(100):
        ids = all_session_ids(c)
        if not any(1001 <= i <= 1006 for i in ids):
            break
        time.sleep(0.1)
    assert not any(1001 <= i <= 1006 for i in ids), ids


@check("sync settings: get, set, clear")
def _():
    c = sync_client()
    r = c.admin_users_session_getSettings(user_ids=["W0DEV", "W0OPS"])
    assert r["session_settings"] == [{"user_id": "W0DEV", "desktop_app_browser_quit": True, "duration": 86400}], r.data
    assert r["no_settings_applied"] == ["W0OPS"], r.data
    assert c.admin_users_session_setSettings(user_ids=["W0OPS"], duration=28800, desktop_app_browser_quit=False)["ok"]
    r = c.admin_users_session_getSettings(user_ids=["W0OPS"])
    assert r["session_settings"][0]["duration"] == 28800
    assert c.admin_users_session_clearSettings(user_ids=["W0OPS", "W0DEV"])["ok"]
    r = c.admin_users_session_getSettings(user_ids=["W0OPS", "W0DEV"])
    assert r["session_settings"] == [] and sorted(r["no_settings_applied"]) == ["W0DEV", "W0OPS"], r.data


@check("sync errors: missing_scope with needed/provided, invalid_arguments messages")
def _():
    try:
        sync_client("xoxp-acme-reader").admin_users_session_reset(user_id="W0DEV")
        raise AssertionError("expected missing_scope")
    except SlackApiError as e:
        assert e.response["error"] == "missing_scope"
        assert e.response["needed"] == "admin.users:write"
        assert "admin.users:read" in e.response["provided"]
    try:
        sync_client().admin_users_session_setSettings(user_ids=["W0DEV"])
        raise AssertionError("expected at_least_one_session_setting_required")
    except SlackApiError as e:
        assert e.response["error"] == "at_least_one_session_setting_required"
    try:
        sync_client().admin_users_session_list(limit=5000)
        raise AssertionError("expected invalid_arguments")
    except SlackApiError as e:
        assert e.response["error"] == "invalid_arguments"
        assert any("limit" in m for m in e.response["response_metadata"]["messages"]), e.response.data


@check("sync auth.test with an API token and a session token")
def _():
    r = sync_client().auth_test()
    assert r["user_id"] == "W0ADMIN" and r["enterprise_id"] == "E0ACME"
    r = sync_client("xoxc-w0ops-web").auth_test()
    assert r["user_id"] == "W0OPS"


@check("async client (arguments in the query string): every method")
async def _():
    c = async_client()
    ids = []
    async for page in await c.admin_users_session_list(limit=4):
        ids.extend(s["session_id"] for s in page["active_sessions"])
    assert len(ids) == 9, ids
    assert (await c.admin_users_session_invalidate(session_id="1004", team_id="T0OPS"))["ok"]
    assert (await c.admin_users_session_reset(user_id="W0OPS", web_only=True))["ok"]
    r = await c.admin_users_session_list(team_id="T0OPS", user_id="W0OPS")
    assert [s["session_id"] for s in r["active_sessions"]] == [1005], r.data
    assert (await c.admin_users_session_resetBulk(user_ids=["W0OPS"]))["ok"]
    assert (await c.admin_users_session_setSettings(user_ids=["W0OPS"], desktop_app_browser_quit=True))["ok"]
    r = await c.admin_users_session_getSettings(user_ids=["W0OPS"])
    assert r["session_settings"][0]["desktop_app_browser_quit"] is True
    assert r["session_settings"][0]["duration"] is None
    assert (await c.admin_users_session_clearSettings(user_ids=["W0OPS"]))["ok"]
    try:
        await c.admin_users_session_reset(user_id="W0NOBODY")
        raise AssertionError("expected user_not_found")
    except SlackApiError as e:
        assert e.response["error"] == "user_not_found"


@check("sync: a rate-limited call is retried by RateLimitErrorRetryHandler")
def _():
    tiny_list_limit()
    try:
        bare = sync_client()
        assert bare.admin_users_session_list()["ok"]
        try:
            bare.admin_users_session_list()
            raise AssertionError("expected HTTP 429")
        except SlackApiError as e:
            assert e.response.status_code == 429, e.response.status_code
            assert e.response["error"] == "ratelimited"
            retry_after = {k.lower(): v for k, v in e.response.headers.items()}["retry-after"]
            assert retry_after in ("1", ["1"]), e.response.headers
        control_call("POST", "/emulator/rate-limits/reset")
        control_call("DELETE", "/emulator/requests")
        c = sync_client(retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=2)])
        assert c.admin_users_session_list()["ok"]
        assert c.admin_users_session_list()["ok"]
        assert list_answers() == ["ok", "ratelimited", "ok"], list_answers()
    finally:
        no_limits()


@check("async: a rate-limited call is retried by AsyncRateLimitErrorRetryHandler")
async def _():
    tiny_list_limit()
    try:
        c = AsyncWebClient(token=ADMIN, base_url=API,
                           retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=2)])
        assert (await c.admin_users_session_list(limit=3))["ok"]
        r = await c.admin_users_session_list(limit=3)
        assert r["ok"] and len(r["active_sessions"]) == 3, r.data
        assert list_answers() == ["ok", "ratelimited", "ok"], list_answers()
    finally:
        no_limits()


@check("org isolation: another org's admin sees none of Acme")
def _():
    c = sync_client("xoxp-other-admin")
    assert all_session_ids(c) == [9001]
    try:
        c.admin_users_session_invalidate(session_id="1001", team_id="T0ENG")
        raise AssertionError("expected session_not_found")
    except SlackApiError as e:
        assert e.response["error"] == "session_not_found"


@check("sync users.list: the SDK's pagination to the end, every user once, emails shown")
def _():
    ids, emails = [], {}
    for page in sync_client().users_list(limit=2):
        assert isinstance(page["cache_ts"], int), page.data
        for u in page["members"]:
            ids.append(u["id"])
            emails[u["id"]] = u["profile"].get("email")
    assert ids == ["W0ADMIN", "W0BOT", "W0DEV", "W0GONE", "W0OPS", "W0OWNER"], ids
    assert emails["W0DEV"] == "Dana@Acme.example" and emails["W0BOT"] is None, emails
    r = sync_client().users_list(team_id="T0OPS")
    assert [u["id"] for u in r["members"]] == ["W0GONE", "W0OPS", "W0OWNER"], r.data


@check("sync users.lookupByEmail and users.info: Slack's user object")
def _():
    c = sync_client()
    u = c.users_lookupByEmail(email="dana@ACME.example")["user"]
    assert u["id"] == "W0DEV" and u["team_id"] == "T0ENG" and u["name"] == "dana", u
    assert u["real_name"] == "Dana Scully" and u["profile"]["real_name"] == "Dana Scully", u
    assert u["deleted"] is False and u["is_admin"] is False and u["is_bot"] is False, u
    assert u["enterprise_user"]["enterprise_id"] == "E0ACME", u
    assert u["enterprise_user"]["teams"] == ["T0ENG"], u
    owner = c.users_info(user="W0OWNER")["user"]
    assert owner["is_primary_owner"] and owner["is_owner"] and owner["is_admin"], owner
    assert c.users_info(user="W0GONE")["user"]["deleted"] is True


@check("sync users errors: users_not_found, user_not_found, missing_scope")
def _():
    c = sync_client()
    for email in ("nobody@acme.example", "gone@acme.example"):
        try:
            c.users_lookupByEmail(email=email)
            raise AssertionError("expected users_not_found")
        except SlackApiError as e:
            assert e.response["error"] == "users_not_found", e.response.data
    try:
        c.users_info(user="W9ADMIN")
        raise AssertionError("expected user_not_found")
    except SlackApiError as e:
        assert e.response["error"] == "user_not_found", e.response.data
    try:
        sync_client("xoxp-acme-reader").users_list()
        raise AssertionError("expected missing_scope")
    except SlackApiError as e:
        assert e.response["error"] == "missing_scope" and e.response["needed"] == "users:read"


@check("async users: lookupByEmail, info, list pages")
async def _():
    c = async_client()
    u = (await c.users_lookupByEmail(email="omar@acme.example"))["user"]
    assert u["id"] == "W0OPS" and u["profile"]["email"] == "omar@acme.example", u
    assert (await c.users_info(user="W0OPS"))["user"]["real_name"] == "Omar Ops"
    ids = []
    async for page in await c.users_list(limit=4):
        ids.extend(m["id"] for m in page["members"])
    assert len(ids) == 6, ids


print(f"python slack_sdk: {results['passed']} passed, {results['failed']} failed")
sys.exit(1 if results["failed"] else 0)
