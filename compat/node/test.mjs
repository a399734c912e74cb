// Drives the official Node @slack/web-api WebClient against our server.
// Environment: SLACK_API_URL (ending in /api/), CONTROL_URL, CONTROL_TOKEN, FIXTURE (path).
import { readFileSync } from 'node:fs';
import assert from 'node:assert/strict';
import { WebClient, WebClientEvent, ErrorCode, LogLevel } from '@slack/web-api';

const API = process.env.SLACK_API_URL;
const CONTROL = process.env.CONTROL_URL.replace(/\/$/, '');
const FIXTURE = readFileSync(process.env.FIXTURE);
let passed = 0;
let failed = 0;

async function reload() {
  const r = await fetch(`${CONTROL}/fixtures`, {
    method: 'POST',
    headers: { authorization: `Bearer ${process.env.CONTROL_TOKEN}`, 'content-type': 'application/json' },
    body: FIXTURE,
  });
  assert.equal(r.status, 200, await r.text());
}

async function control(method, path, body) {
  const r = await fetch(`${CONTROL}${path}`, {
    method,
    headers: { authorization: `Bearer ${process.env.CONTROL_TOKEN}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  assert.ok(r.ok, text);
  return JSON.parse(text);
}

const client = (token = 'xoxp-acme-admin') =>
  new WebClient(token, { slackApiUrl: API, logLevel: LogLevel.ERROR, retryConfig: { retries: 0 } });

async function check(name, fn) {
  await reload();
  try {
    await fn();
    passed++;
    console.log(`ok   ${name}`);
  } catch (e) {
    failed++;
    console.log(`FAIL ${name}`);
    console.log(e);
  }
}

async function expectError(promise, code) {
  try {
    await promise;
  } catch (e) {
    assert.equal(e.code, ErrorCode.PlatformError, String(e));
    assert.equal(e.data.error, code);
    return e.data;
  }
  throw new Error(`expected ${code}`);
}

await check('list: paginate() to the end, every session once', async () => {
  const ids = [];
  for await (const page of client().paginate('admin.users.session.list', { limit: 2 })) {
    ids.push(...page.active_sessions.map((s) => s.session_id));
  }
  assert.equal(ids.length, 9);
  assert.equal(new Set(ids).size, 9);
  assert.deepEqual(ids, [...ids].sort((a, b) => a - b));
});

await check('list: one user on one team', async () => {
  const r = await client().admin.users.session.list({ team_id: 'T0ENG', user_id: 'W0DEV' });
  assert.equal(r.active_sessions.length, 3);
  assert.ok(r.active_sessions.every((s) => s.user_id === 'W0DEV'));
  assert.equal(r.response_metadata.next_cursor, '');
  assert.ok(r.response_metadata.scopes.includes('admin.users:read'));
  assert.deepEqual(r.response_metadata.acceptedScopes, ['admin.users:read']);
});

await check('invalidate (team_id + session_id, as Node types say)', async () => {
  assert.ok((await client().admin.users.session.invalidate({ session_id: '1001', team_id: 'T0ENG' })).ok);
  await expectError(client('xoxc-w0dev-desktop').auth.test(), 'invalid_auth');
});

await check('reset web_only', async () => {
  assert.ok((await client().admin.users.session.reset({ user_id: 'W0DEV', web_only: true })).ok);
  const r = await client().admin.users.session.list({ team_id: 'T0ENG', user_id: 'W0DEV' });
  assert.deepEqual(r.active_sessions.map((s) => s.session_id), [1001, 1002]);
});

await check('resetBulk (user_ids as a JSON array string)', async () => {
  assert.ok((await client().admin.users.session.resetBulk({ user_ids: ['W0DEV', 'W0OPS'] })).ok);
  let ids = [];
  for (let i = 0; i < 100; i++) {
    const r = await client().admin.users.session.list({});
    ids = r.active_sessions.map((s) => s.session_id);
    if (!ids.some((id) => id >= 1001 && id <= 1006)) break;
    await new Promise((res) => setTimeout(res, 100));
  }
  assert.ok(!ids.some((id) => id >= 1001 && id <= 1006), String(ids));
});

await check('settings: set, get, clear', async () => {
  const c = client();
  assert.ok((await c.admin.users.session.setSettings({ user_ids: ['W0OPS'], duration: 28800, desktop_app_browser_quit: false })).ok);
  let r = await c.admin.users.session.getSettings({ user_ids: ['W0OPS', 'W0ADMIN'] });
  assert.deepEqual(r.session_settings, [{ user_id: 'W0OPS', desktop_app_browser_quit: false, duration: 28800 }]);
  assert.deepEqual(r.no_settings_applied, ['W0ADMIN']);
  assert.ok((await c.admin.users.session.clearSettings({ user_ids: ['W0OPS'] })).ok);
  r = await c.admin.users.session.getSettings({ user_ids: ['W0OPS'] });
  assert.deepEqual(r.session_settings, []);
});

await check('errors: missing_scope, not_an_admin, not_allowed_token_type, invalid_arguments', async () => {
  const d = await expectError(client('xoxp-acme-reader').admin.users.session.reset({ user_id: 'W0DEV' }), 'missing_scope');
  assert.equal(d.needed, 'admin.users:write');
  await expectError(client('xoxp-acme-member').admin.users.session.list({}), 'not_an_admin');
  await expectError(client('xoxb-acme-bot').admin.users.session.list({}), 'not_allowed_token_type');
  const e = await expectError(client().admin.users.session.getSettings({ user_ids: [] }), 'invalid_arguments');
  assert.ok(e.response_metadata.messages.some((m) => m.includes('user_ids')), JSON.stringify(e));
});

await check('auth.test', async () => {
  const r = await client().auth.test();
  assert.equal(r.user_id, 'W0ADMIN');
  assert.equal(r.enterprise_id, 'E0ACME');
  assert.equal(typeof r.is_enterprise_install, 'boolean');
});

await check('a rate-limited call is retried (default retry policy waits Retry-After)', async () => {
  // list at 60/min with a burst of 1: a second call at once gets 429 with Retry-After: 1.
  await control('PUT', '/emulator/rate-limits', {
    mode: 'custom',
    overrides: { 'admin.users.session.list': { per_minute: 60, burst: 1 } },
  });
  await control('DELETE', '/emulator/requests');
  try {
    const c = new WebClient('xoxp-acme-admin', { slackApiUrl: API, logLevel: LogLevel.ERROR });
    const waits = [];
    c.on(WebClientEvent.RATE_LIMITED, (seconds) => waits.push(seconds));
    assert.ok((await c.admin.users.session.list({})).ok);
    const r = await c.admin.users.session.list({});
    assert.ok(r.ok);
    assert.deepEqual(waits, [1]);
    const log = await control('GET', '/emulator/requests?method=admin.users.session.list');
    assert.deepEqual(log.requests.map((q) => q.answer), ['ok', 'ratelimited', 'ok']);
  } finally {
    await control('PUT', '/emulator/rate-limits', { mode: 'off', overrides: {} });
  }
});

await check('users.list: paginate() to the end, every user once', async () => {
  const ids = [];
  for await (const page of client().paginate('users.list', { limit: 2 })) {
    assert.equal(typeof page.cache_ts, 'number');
    ids.push(...page.members.map((u) => u.id));
  }
  assert.deepEqual(ids, ['W0ADMIN', 'W0BOT', 'W0DEV', 'W0GONE', 'W0OPS', 'W0OWNER']);
  const r = await client().users.list({ team_id: 'T0OPS' });
  assert.deepEqual(r.members.map((u) => u.id), ['W0GONE', 'W0OPS', 'W0OWNER']);
});

await check('users.lookupByEmail and users.info', async () => {
  const { user } = await client().users.lookupByEmail({ email: 'DANA@acme.example' });
  assert.equal(user.id, 'W0DEV');
  assert.equal(user.profile.email, 'Dana@Acme.example');
  assert.equal(user.enterprise_user.enterprise_id, 'E0ACME');
  assert.deepEqual(user.enterprise_user.teams, ['T0ENG']);
  const info = await client().users.info({ user: 'W0OWNER' });
  assert.equal(info.user.is_primary_owner, true);
  assert.equal((await client().users.info({ user: 'W0GONE' })).user.deleted, true);
  await expectError(client().users.lookupByEmail({ email: 'gone@acme.example' }), 'users_not_found');
  await expectError(client().users.info({ user: 'W0NOBODY' }), 'user_not_found');
  const d = await expectError(client('xoxp-acme-reader').users.lookupByEmail({ email: 'x@y.example' }), 'missing_scope');
  assert.equal(d.needed, 'users:read.email');
});

console.log(`node @slack/web-api: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
