import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, test } from 'node:test';
import { openMail } from '../mail/index.ts';
import { closeTestPools, createTestApp, describeEachEngine, newPassword, type Client, type Response, type TestApp } from '../testing/test-app.ts';

after(closeTestPools);

const code = (response: Response): string | undefined => response.json<{ error?: { code: string } }>().error?.code;

const rowCounts = async (t: TestApp): Promise<Record<string, number>> => {
  const counts: Record<string, number> = {};
  for (const table of ['incidents', 'incident_updates', 'incident_scopes', 'incident_scope_accounts', 'incident_containments', 'incident_mailings', 'mail_outbox'] as const) {
    counts[table] = Number((await t.ctx.database.db.selectFrom(table).select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
  }
  return counts;
};

describeEachEngine('incident console API', (engine) => {
  test('an operator declares, updates, scopes and contains through the API; progress counts the people who reset', async () => {
    const t = await createTestApp(engine);
    try {
      const { owner, member, instanceId } = await t.setUpWithMember();
      const roomResponse = await t.as(owner, { method: 'POST', url: `/api/v1/instances/${instanceId}/rooms`, payload: { name: 'ops' } });
      const roomId = roomResponse.json<{ id: string }>().id;
      await t.as(member, { method: 'POST', url: `/api/v1/rooms/${roomId}/join`, payload: {} });
      await t.post(member, roomId, 'the deploy key is in the vault');
      // The member's session reads the room: that session is what the operator suspects.
      const read = await t.as(member, { method: 'GET', url: `/api/v1/rooms/${roomId}/messages` });
      assert.equal(read.statusCode, 200);
      const memberSession = (await t.as(member, { method: 'GET', url: '/api/v1/me/sessions' })).json<{ sessions: Array<{ id: string; current: boolean }> }>().sessions.find((s) => s.current)!.id;

      const declared = await t.as(owner, {
        method: 'POST',
        url: '/api/v1/operator/incidents',
        payload: { title: 'Session cookie stolen', severity: 'SEV2', awareAt: new Date(Date.now() - 3_600_000).toISOString(), notice: { whatHappened: 'A session was used from elsewhere.', approxPeople: 2 } },
      });
      assert.equal(declared.statusCode, 201, declared.body);
      const incident = declared.json<{ ref: string; deadlineMsLeft: number; status: string; notice: { approxPeople: number } }>();
      assert.equal(incident.ref, 'INC-1');
      assert.equal(incident.status, 'investigating');
      assert.equal(incident.notice.approxPeople, 2);
      assert.ok(incident.deadlineMsLeft > 70 * 3_600_000 && incident.deadlineMsLeft < 71 * 3_600_000, 'the 72-hour clock started an hour ago');

      const updated = await t.as(owner, { method: 'PATCH', url: '/api/v1/operator/incidents/INC-1', payload: { status: 'identified', note: 'The session was used from 203.0.113.9.' } });
      assert.equal(updated.statusCode, 200, updated.body);

      const scoped = await t.as(owner, { method: 'POST', url: '/api/v1/operator/incidents/INC-1/scope', payload: { sessions: [memberSession] } });
      assert.equal(scoped.statusCode, 201, scoped.body);
      const scope = scoped.json<{ verified: boolean; counts: { accounts: Record<string, number>; roomsRead: number }; instances: Array<{ instanceId: string; segment: string; affected: number }> }>();
      assert.equal(scope.verified, true);
      assert.equal(scope.counts.roomsRead, 1);
      // The member (credentials) and the owner (member of the room read) are affected.
      assert.equal(scope.counts.accounts['affected'], 2);
      assert.deepEqual(scope.instances.map((i) => [i.instanceId, i.segment, i.affected]), [[instanceId, 'affected', 2]]);

      const started = await t.as(owner, { method: 'POST', url: '/api/v1/operator/incidents/INC-1/containments', payload: { target: 'affected', steps: ['reset-passwords'] } });
      assert.equal(started.statusCode, 202, started.body);
      const containmentId = started.json<{ id: string }>().id;
      let status = 'running';
      for (let i = 0; i < 100 && status !== 'done'; i += 1) {
        await sleep(50);
        status = (await t.as(owner, { method: 'GET', url: `/api/v1/operator/incidents/INC-1/containments/${containmentId}` })).json<{ status: string }>().status;
      }
      assert.equal(status, 'done');
      const again = await t.as(owner, { method: 'POST', url: '/api/v1/operator/incidents/INC-1/containments', payload: { target: 'affected', steps: ['reset-passwords'] } });
      assert.equal(again.statusCode, 200, 'the same containment, already done');
      assert.equal(again.json<{ id: string }>().id, containmentId);

      // The member resets (a forced reset's token, as the reset mail would carry it).
      const refused = await t.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email: member.email, password: member.password } });
      assert.equal(code(refused), 'PASSWORD_RESET_REQUIRED');
      // The refusal queued a mail with a fresh link (no SMTP here: it waits in the outbox).
      const mail = await t.ctx.database.db.selectFrom('mail_outbox').selectAll().where('account_id', '=', member.accountId).where('kind', '=', 'password_reset').executeTakeFirstOrThrow();
      const token = /cnv_r_[A-Za-z0-9_-]+/.exec(openMail(t.ctx, mail).content.text ?? '')?.[0];
      assert.ok(token, 'the mail carries a reset link');
      const confirm = await t.inject({ method: 'POST', url: '/api/v1/auth/password-reset/confirm', payload: { token, newPassword: newPassword() } });
      assert.equal(confirm.statusCode, 200, confirm.body);

      // Notices: a dry run writes nothing; then the affected get theirs (queued: no SMTP here).
      const dry = await t.as(owner, { method: 'POST', url: '/api/v1/operator/incidents/INC-1/notices', payload: { dryRun: true } });
      assert.equal(dry.statusCode, 200, dry.body);
      const plan = dry.json<{ segments: Array<{ segment: string; people: number; template: string }>; samples: Array<{ template: string; rendered: { subject: string } }> }>();
      assert.deepEqual(plan.segments.map((x) => [x.segment, x.people, x.template]), [['affected', 2, 'action-required'], ['possibly_affected', 0, 'precautionary'], ['not_affected', 0, 'none']]);
      assert.ok(plan.samples.some((x) => x.template === 'action-required' && x.rendered.subject.startsWith('[INC-1]')));
      assert.equal((await t.ctx.database.db.selectFrom('incident_mailings').selectAll().execute()).length, 0);
      const sent = await t.as(owner, { method: 'POST', url: '/api/v1/operator/incidents/INC-1/notices', payload: { ratePerSecond: 50 } });
      assert.equal(sent.statusCode, 202, sent.body);
      const mailings = (await t.as(owner, { method: 'GET', url: '/api/v1/operator/incidents/INC-1/mailings' })).json<{ mailings: Array<{ id: string; template: string; queued: number }> }>().mailings;
      const actionRequired = mailings.find((m) => m.template === 'action-required');
      assert.equal(actionRequired?.queued, 2);
      const recipients = (await t.as(owner, { method: 'GET', url: `/api/v1/operator/incidents/INC-1/mailings/${actionRequired!.id}/recipients` })).json<{ recipients: Array<{ email: string; status: string }> }>().recipients;
      assert.deepEqual(recipients.map((r) => r.email.toLowerCase()).sort(), [owner.email, member.email].map((e) => e.toLowerCase()).sort());

      const progress = (await t.as(owner, { method: 'GET', url: '/api/v1/operator/incidents/INC-1/progress?bucket=minute' })).json<{ resets: { required: number; completed: number; series: Array<{ at: string; completed: number }> }; notices: { queued: number } }>();
      assert.ok(progress.notices.queued >= 2);
      assert.equal(progress.resets.required, 2);
      assert.equal(progress.resets.completed, 1);
      assert.equal(progress.resets.series.at(-1)?.completed, 1);
      // Each point is the end of its bucket (like the notices' series): the reset happened before it, in that minute.
      const usedAt = Number((await t.ctx.database.db.selectFrom('password_resets').select('used_at').where('account_id', '=', member.accountId).where('used_at', 'is not', null).executeTakeFirstOrThrow()).used_at);
      const pointAt = Date.parse(progress.resets.series.at(-1)!.at);
      assert.equal(pointAt % 60_000, 0);
      assert.ok(pointAt > usedAt && pointAt - usedAt <= 60_000, `the point (${pointAt}) closes the minute of the reset (${usedAt})`);

      const detail = (await t.as(owner, { method: 'GET', url: '/api/v1/operator/incidents/1' })).json<{ incident: { status: string }; timeline: Array<{ kind: string }>; containments: unknown[] }>();
      assert.equal(detail.incident.status, 'contained');
      assert.deepEqual(detail.timeline.map((e) => e.kind), ['declared', 'status', 'scope', 'contain', 'status', 'notify']);
      assert.equal(detail.containments.length, 1);
    } finally {
      await t.close();
    }
  });

  test('bad input answers its catalog code and changes nothing; people who are not operators are refused', async () => {
    const t = await createTestApp(engine);
    try {
      const { owner, member } = await t.setUpWithMember();
      const declared = await t.as(owner, { method: 'POST', url: '/api/v1/operator/incidents', payload: { title: 'Drill', severity: 'SEV3' } });
      assert.equal(declared.statusCode, 201);
      const before = await rowCounts(t);
      const cases: Array<[Client, 'GET' | 'POST' | 'PATCH', string, unknown, number, string]> = [
        [member, 'GET', '/api/v1/operator/incidents', undefined, 403, 'FORBIDDEN'],
        [member, 'POST', '/api/v1/operator/incidents', { title: 'x', severity: 'SEV1' }, 403, 'FORBIDDEN'],
        [member, 'POST', '/api/v1/operator/incidents/INC-1/containments', { target: 'everyone' }, 403, 'FORBIDDEN'],
        [owner, 'POST', '/api/v1/operator/incidents', { title: '', severity: 'SEV1' }, 400, 'VALIDATION_FAILED'],
        [owner, 'POST', '/api/v1/operator/incidents', { title: 'x', severity: 'SEV4' }, 400, 'VALIDATION_FAILED'],
        [owner, 'POST', '/api/v1/operator/incidents', { title: 'x', severity: 'SEV1', awareAt: new Date(Date.now() + 86_400_000).toISOString() }, 400, 'VALIDATION_FAILED'],
        [owner, 'POST', '/api/v1/operator/incidents', { title: 'x\u0007', severity: 'SEV1' }, 400, 'VALIDATION_FAILED'],
        [owner, 'POST', '/api/v1/operator/incidents', { title: 'x', severity: 'SEV1', notice: { approxPeople: -1 } }, 400, 'VALIDATION_FAILED'],
        [owner, 'POST', '/api/v1/operator/incidents', { title: 'x', severity: 'SEV1', extra: 1 }, 400, 'VALIDATION_FAILED'],
        [owner, 'GET', '/api/v1/operator/incidents/INC-99', undefined, 404, 'INCIDENT_NOT_FOUND'],
        [owner, 'GET', '/api/v1/operator/incidents/not-a-ref', undefined, 400, 'VALIDATION_FAILED'],
        [owner, 'PATCH', '/api/v1/operator/incidents/INC-1', {}, 400, 'VALIDATION_FAILED'],
        [owner, 'PATCH', '/api/v1/operator/incidents/INC-1', { status: 'panicking' }, 400, 'VALIDATION_FAILED'],
        [owner, 'PATCH', '/api/v1/operator/incidents/INC-1', { note: '   ' }, 400, 'VALIDATION_FAILED'],
        [owner, 'POST', '/api/v1/operator/incidents/INC-1/scope', {}, 400, 'VALIDATION_FAILED'],
        [owner, 'POST', '/api/v1/operator/incidents/INC-1/scope', { ips: ['not an address'] }, 400, 'VALIDATION_FAILED'],
        [owner, 'POST', '/api/v1/operator/incidents/INC-1/scope', { everyone: true, ips: ['203.0.113.9'] }, 400, 'VALIDATION_FAILED'],
        [owner, 'POST', '/api/v1/operator/incidents/INC-1/scope', { since: '2026-11-02T00:00:00Z', until: '2026-11-01T00:00:00Z' }, 400, 'VALIDATION_FAILED'],
        [owner, 'GET', '/api/v1/operator/incidents/INC-1/scope', undefined, 404, 'INCIDENT_SCOPE_NOT_FOUND'],
        [owner, 'POST', '/api/v1/operator/incidents/INC-1/containments', { target: 'affected' }, 404, 'INCIDENT_SCOPE_NOT_FOUND'],
        [owner, 'POST', '/api/v1/operator/incidents/INC-1/containments', { target: 'somebody' }, 400, 'VALIDATION_FAILED'],
        [owner, 'POST', '/api/v1/operator/incidents/INC-1/containments', { target: 'everyone', steps: [] }, 400, 'VALIDATION_FAILED'],
        [owner, 'POST', '/api/v1/operator/incidents/INC-1/containments', { target: 'everyone', steps: ['end-sessions', 'end-sessions'] }, 400, 'VALIDATION_FAILED'],
        [owner, 'GET', '/api/v1/operator/incidents/INC-1/containments/0190a0a0-0000-7000-8000-000000000000', undefined, 404, 'CONTAINMENT_NOT_FOUND'],
        [owner, 'GET', '/api/v1/operator/incidents/INC-1/progress?bucket=week', undefined, 400, 'VALIDATION_FAILED'],
        [member, 'POST', '/api/v1/operator/incidents/INC-1/notices', { dryRun: true }, 403, 'FORBIDDEN'],
        [owner, 'POST', '/api/v1/operator/incidents/INC-1/notices', { dryRun: true }, 404, 'INCIDENT_SCOPE_NOT_FOUND'],
        [owner, 'POST', '/api/v1/operator/incidents/INC-1/notices', { scopeId: null, plan: { affected: 'panic' } }, 400, 'VALIDATION_FAILED'],
        [owner, 'POST', '/api/v1/operator/incidents/INC-1/notices', { scopeId: null, ratePerSecond: 0 }, 400, 'VALIDATION_FAILED'],
        [owner, 'POST', '/api/v1/operator/incidents/INC-1/notices', { scopeId: null, plan: { not_affected: 'action-required' } }, 400, 'VALIDATION_FAILED'],
        [owner, 'POST', '/api/v1/operator/incidents/INC-1/notices/follow-up', { segment: 'everyone', subject: '', body: 'x' }, 400, 'VALIDATION_FAILED'],
        [owner, 'POST', '/api/v1/operator/incidents/INC-1/notices/follow-up', { segment: 'everyone', subject: 'two\nlines', body: 'x' }, 400, 'VALIDATION_FAILED'],
        [owner, 'POST', '/api/v1/operator/incidents/INC-1/notices/follow-up', { segment: 'affected', subject: 'x', body: 'x' }, 404, 'INCIDENT_SCOPE_NOT_FOUND'],
        [owner, 'GET', '/api/v1/operator/incidents/INC-1/mailings/0190a0a0-0000-7000-8000-000000000000/recipients', undefined, 404, 'MAILING_NOT_FOUND'],
        [owner, 'GET', '/api/v1/operator/incidents/INC-1/mailings/0190a0a0-0000-7000-8000-000000000000/recipients?limit=0', undefined, 400, 'VALIDATION_FAILED'],
      ];
      for (const [client, method, url, payload, status, expected] of cases) {
        const response = await t.as(client, { method, url, ...(payload === undefined ? {} : { payload }) });
        assert.equal(response.statusCode, status, `${method} ${url} ${JSON.stringify(payload)}: ${response.body}`);
        assert.equal(code(response), expected, `${method} ${url} ${JSON.stringify(payload)}`);
      }
      assert.deepEqual(await rowCounts(t), before, 'nothing was written');
    } finally {
      await t.close();
    }
  });
});
