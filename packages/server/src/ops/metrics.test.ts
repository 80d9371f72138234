import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, test } from 'node:test';
import { newId } from '../crypto/index.ts';
import { cliWorkspace } from '../testing/cli-process.ts';
import { recordSecret } from '../testing/secret-ledger.ts';
import { startServer } from '../testing/server-process.ts';
import { openStream } from '../testing/stream-client.ts';
import { closeTestPools, createTestApp, describeEachEngine, newPassword } from '../testing/test-app.ts';
import { isMetricsTokenValid } from './metrics.ts';

after(closeTestPools);

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/**
 * The Prometheus text exposition format (0.0.4), strictly: every sample belongs to a family announced by
 * # HELP and # TYPE, label values are quoted with \\, \" and \n escapes, values are floats (or ±Inf, NaN).
 */
const parseExposition = (text: string): { samples: Sample[]; types: Map<string, string> } => {
  const types = new Map<string, string>();
  const helped = new Set<string>();
  const samples: Sample[] = [];
  assert.ok(text.endsWith('\n'), 'the exposition ends with a newline');
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const meta = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.+)$/.exec(line);
    if (meta) {
      if (meta[1] === 'TYPE') {
        assert.match(meta[3] as string, /^(counter|gauge|histogram|summary|untyped)$/, line);
        types.set(meta[2] as string, meta[3] as string);
      } else helped.add(meta[2] as string);
      continue;
    }
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(match, `a sample line: ${line}`);
    const labels: Record<string, string> = {};
    const labelText = match[2] ?? '';
    const labelPattern = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)/gy;
    let consumed = 0;
    for (let m = labelPattern.exec(labelText); m; m = labelPattern.exec(labelText)) {
      labels[m[1] as string] = (m[2] as string).replace(/\\(.)/g, (_all, c: string) => (c === 'n' ? '\n' : c));
      consumed = labelPattern.lastIndex;
    }
    assert.equal(consumed, labelText.length, `labels parse: ${line}`);
    // Values are read as Go's ParseFloat does: NaN and Inf in any case (prom-client writes Nan).
    const raw = (match[3] as string).toLowerCase();
    const value = raw === '+inf' || raw === 'inf' ? Infinity : raw === '-inf' ? -Infinity : Number(raw);
    assert.ok(raw === 'nan' || !Number.isNaN(value), `a number: ${line}`);
    const name = match[1] as string;
    const family = [...types.keys()].find((f) => name === f || ((types.get(f) === 'histogram' || types.get(f) === 'summary') && /^(.*)_(bucket|sum|count)$/.exec(name)?.[1] === f));
    assert.ok(family && helped.has(family), `${name} belongs to a family with # HELP and # TYPE`);
    samples.push({ name, labels, value });
  }
  return { samples, types };
};

const find = (samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined =>
  samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;

describe('metrics token', () => {
  test('only the exact bearer token passes', () => {
    const token = 'x'.repeat(40);
    assert.ok(isMetricsTokenValid(`Bearer ${token}`, token));
    for (const header of [undefined, '', token, `Bearer ${token}x`, `Bearer ${token.slice(1)}`, `Basic ${token}`, `bearer ${token}`]) assert.ok(!isMetricsTokenValid(header, token), String(header));
  });
});

describeEachEngine('metrics', (engine) => {
  test('/metrics behind its token: requests by route pattern and status, latency, sockets, fan-out, posts, log-ins, mail, audit, containment', async () => {
    const token = randomBytes(32).toString('base64url');
    recordSecret(token);
    const t = await createTestApp(engine, { METRICS_TOKEN: token });
    try {
      assert.equal((await t.inject({ method: 'GET', url: '/metrics' })).statusCode, 401, 'no token');
      assert.equal((await t.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${token.slice(0, -1)}` } })).statusCode, 401, 'a wrong token');
      const scrape = async () => {
        const response = await t.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${token}` } });
        assert.equal(response.statusCode, 200, response.body);
        assert.match(String(response.headers['content-type']), /^text\/plain; version=0\.0\.4/);
        return parseExposition(response.body);
      };
      const empty = await scrape();
      assert.equal(find(empty.samples, 'conclave_audit_checkpoint_age_seconds'), -1, 'no checkpoint yet');

      const { owner, member, instanceId } = await t.setUpWithMember();
      const room = (await t.as(owner, { method: 'POST', url: `/api/v1/instances/${instanceId}/rooms`, payload: { name: 'Metrics' } })).json<{ id: string }>().id;
      assert.equal((await t.as(member, { method: 'POST', url: `/api/v1/rooms/${room}/join` })).statusCode, 204);
      const bearer = await t.login(owner.email, owner.password, 'bearer');
      const failed = await t.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email: owner.email, password: newPassword(), mode: 'bearer' } });
      assert.equal(failed.statusCode, 401);
      const base = await t.listen();
      const stream = await openStream(base, { token: bearer.token });
      try {
        await stream.next((frame) => frame.type === 'ready');
        for (const body of ['one', 'two', 'three']) await t.post(member, room, body);
        await stream.next((frame) => frame.type === 'message.created' && (frame as { message: { body: string } }).message.body === 'three');
        assert.equal((await t.inject({ method: 'POST', url: '/api/v1/auth/password-reset', payload: { email: member.email } })).statusCode, 202);
        await t.ctx.audit.checkpoint();
        const incidentId = newId(Date.now());
        await t.ctx.database.db.insertInto('incidents').values({ id: incidentId, number: 1, title: 'x', severity: 'SEV1', status: 'investigating', aware_at: 1, declared_at: 1, declared_by: null, resolved_at: null, details: 'x', published_at: null, postmortem: null, postmortem_published_at: null, updated_at: 1 }).execute();
        await t.ctx.database.db.insertInto('incident_containments').values({ id: newId(Date.now()), incident_id: incidentId, scope_id: null, target: 'everyone', steps: '[]', status: 'running', step_index: 0, cursor: null, done: 40, total: 100, epoch: 1, created_by: null, started_at: 1, updated_at: 1, finished_at: null }).execute();

        const { samples, types } = await scrape();
        const posts = { method: 'POST', route: '/api/v1/rooms/:roomId/messages' };
        assert.equal(find(samples, 'conclave_http_requests_total', { ...posts, status: '201' }), 3, 'three posts answered 201, by route pattern');
        assert.equal(find(samples, 'conclave_http_request_duration_seconds_count', posts), 3);
        assert.ok((find(samples, 'conclave_http_request_duration_seconds_sum', posts) as number) > 0);
        assert.equal(find(samples, 'conclave_http_request_duration_seconds_bucket', { ...posts, le: '+Inf' }), 3);
        assert.equal(types.get('conclave_http_request_duration_seconds'), 'histogram');
        assert.equal(find(samples, 'conclave_http_requests_total', { method: 'GET', route: '/metrics', status: '401' }), 2, 'refused scrapes are counted too');
        assert.ok(!samples.some((s) => Object.values(s.labels).some((v) => v.includes(room))), 'no raw URL (room id) in any label');
        assert.equal(find(samples, 'conclave_messages_posted_total'), 3);
        assert.equal(find(samples, 'conclave_stream_sockets_open'), 1);
        assert.ok((find(samples, 'conclave_events_fanned_out_total') as number) >= 3, 'the three posts were fanned out');
        assert.ok((find(samples, 'conclave_event_deliveries_total') as number) >= 3);
        assert.equal(find(samples, 'conclave_logins_total', { result: 'succeeded' }), 3, 'owner, member, owner again (bearer)');
        assert.equal(find(samples, 'conclave_logins_total', { result: 'failed' }), 1);
        assert.ok((find(samples, 'conclave_mail_outbox', { status: 'queued' }) as number) >= 1, 'the reset mail is queued');
        assert.equal(find(samples, 'conclave_mail_outbox', { status: 'failed' }), 0);
        const entries = find(samples, 'conclave_audit_entries') as number;
        assert.ok(entries > 5 && (find(samples, 'conclave_audit_entries_appended_total') as number) <= entries);
        const age = find(samples, 'conclave_audit_checkpoint_age_seconds') as number;
        assert.ok(age >= 0 && age < 60, `a fresh checkpoint (${age} s)`);
        assert.equal(find(samples, 'conclave_containments_running'), 1);
        assert.equal(find(samples, 'conclave_containment_accounts_done'), 40);
        assert.equal(find(samples, 'conclave_containment_accounts_total'), 100);
        assert.ok(find(samples, 'process_cpu_user_seconds_total') !== undefined, 'process metrics where metrics are exposed');
      } finally {
        stream.close();
        await stream.closed;
      }
      const afterClose = await scrape();
      assert.equal(find(afterClose.samples, 'conclave_stream_sockets_open'), 0);
    } finally {
      await t.close();
    }
  });

  test('without METRICS_TOKEN the main port has no /metrics; METRICS_PORT serves them on 127.0.0.1 apart', async () => {
    const t = await createTestApp(engine);
    try {
      assert.equal((await t.inject({ method: 'GET', url: '/metrics' })).statusCode, 404);
    } finally {
      await t.close();
    }
    const workspace = await cliWorkspace(engine, 'metrics', { METRICS_PORT: '0' });
    const server = await startServer(workspace.env);
    try {
      const url = /Metrics for Prometheus at (http:\/\/127\.0\.0\.1:\d+\/metrics)/.exec(server.output())?.[1];
      assert.ok(url, server.output());
      assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
      const response = await fetch(url);
      assert.equal(response.status, 200);
      const { samples } = parseExposition(await response.text());
      assert.equal(find(samples, 'conclave_http_requests_total', { method: 'GET', route: '/healthz', status: '200' }), 1);
      assert.equal((await fetch(`${server.url}/metrics`)).status, 404, 'not on the public port without a token');
      assert.equal((await fetch(url.replace('/metrics', '/other'))).status, 404);
    } finally {
      await server.stop('SIGKILL');
      await workspace.close();
    }
  });
});
