import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, test } from 'node:test';
import { createMailWorker, createSmtpTransport } from '../mail/index.ts';
import { databaseUrlFor, runCli, spawnCli, type Run } from '../testing/cli-process.ts';
import { resetTokenIn, startSmtpSink } from '../testing/smtp-sink.ts';
import { openStream, type StreamClient } from '../testing/stream-client.ts';
import { closeTestPools, createTestApp, describeEachEngine, newPassword, type Client, type TestApp } from '../testing/test-app.ts';
import { incidentMailRenderers } from './index.ts';

after(closeTestPools);

/**
 * The incident drill: 3 instances and 50 people; an attacker holding one person's API token reads rooms in
 * two of them. The operator declares, scopes, contains (crashing halfway and resuming) with the `conclave`
 * CLI, against the database a live server is serving from.
 */
interface World {
  t: TestApp;
  base: string;
  env: Record<string, string>;
  owner: Client;
  instances: Array<{ id: string; slug: string; people: Client[] }>;
  victim: Client;
  attackerToken: { id: string; token: string };
  rooms: { readA: string; quietA: string; readB: string; quietC: string };
}

const cli = async (world: World, args: string[]): Promise<Run> => {
  const run = await runCli(args, world.env);
  assert.equal(run.code, 0, `conclave ${args.join(' ')} failed (${run.code}): ${run.stderr}${run.stdout}`);
  return run;
};

const seed = async (t: TestApp): Promise<Omit<World, 'env' | 'base'>> => {
  const { owner, instanceId, instanceSlug } = await t.setUp();
  const instances: World['instances'] = [{ id: instanceId, slug: instanceSlug, people: [] }];
  for (const label of ['b', 'c']) {
    const slug = `drill-${label}-${Date.now().toString(36)}`;
    const created = await t.as(owner, { method: 'POST', url: '/api/v1/instances', payload: { slug, name: `Drill ${label}` } });
    assert.equal(created.statusCode, 201, created.body);
    instances.push({ id: created.json<{ id: string }>().id, slug, people: [] });
  }
  const join = async (instance: World['instances'][number], person?: Client): Promise<Client> => {
    const invite = await t.as(owner, { method: 'POST', url: `/api/v1/instances/${instance.id}/invites`, payload: {} });
    const token = invite.json<{ token: string }>().token;
    if (person) {
      const joined = await t.as(person, { method: 'POST', url: `/api/v1/instances/${instance.id}/join`, payload: { inviteToken: token } });
      if (joined.statusCode >= 300) {
        const signup = await t.inject({ method: 'POST', url: '/api/v1/auth/signup', payload: { email: person.email, password: person.password, displayName: 'Someone', instance: instance.slug, inviteToken: token } });
        assert.equal(signup.statusCode, 202, signup.body);
      }
      instance.people.push(person);
      return person;
    }
    const created = await t.signUpAndLogIn(instance.slug, { inviteToken: token });
    instance.people.push(created);
    return created;
  };
  // 49 people besides the owner: 17 in A, 16 in B, 16 in C; the victim is in A and B.
  for (let i = 0; i < 16; i += 1) await join(instances[0]!);
  for (let i = 0; i < 16; i += 1) await join(instances[1]!);
  for (let i = 0; i < 16; i += 1) await join(instances[2]!);
  const victim = await join(instances[0]!);
  await join(instances[1]!, victim);

  const room = async (client: Client, instanceId: string, name: string, members: Client[]): Promise<string> => {
    const created = await t.as(client, { method: 'POST', url: `/api/v1/instances/${instanceId}/rooms`, payload: { name, topic: `${name} topic`, privacy: 'private' } });
    assert.equal(created.statusCode, 201, created.body);
    const roomId = created.json<{ id: string }>().id;
    for (const member of members) {
      const added = await t.as(client, { method: 'POST', url: `/api/v1/rooms/${roomId}/members`, payload: { accountId: member.accountId } });
      assert.ok(added.statusCode < 300, added.body);
      await t.post(member, roomId, `hello from ${member.email}`);
    }
    return roomId;
  };
  const [a, b, c] = instances as [World['instances'][number], World['instances'][number], World['instances'][number]];
  const rooms = {
    readA: await room(victim, a.id, 'payroll', a.people.slice(0, 5)),
    quietA: await room(a.people[6]!, a.id, 'quiet-a', a.people.slice(7, 10)),
    readB: await room(victim, b.id, 'roadmap', b.people.slice(0, 4)),
    quietC: await room(c.people[0]!, c.id, 'quiet-c', c.people.slice(1, 4)),
  };
  const token = await t.as(victim, { method: 'POST', url: '/api/v1/me/tokens', payload: { name: 'ci bot', scopes: ['read'] } });
  assert.equal(token.statusCode, 201, token.body);
  return { t, owner, instances, victim, attackerToken: token.json<{ id: string; token: string }>(), rooms };
};

const accountsIn = async (t: TestApp, scopeId: string, segment: 'affected' | 'possibly_affected'): Promise<string[]> =>
  (await t.ctx.database.db.selectFrom('incident_scope_accounts').select('account_id').where('scope_id', '=', scopeId).where('segment', '=', segment).orderBy('account_id').execute()).map((r) => r.account_id);

describeEachEngine('incident drill', (engine) => {
  test('declare, scope from the audit log, contain for the affected (crash halfway, resume), every credential of theirs dies', { timeout: 280_000 }, async () => {
    const t = await createTestApp(engine);
    try {
      const base = await t.listen();
      const env = { ...t.env, ...(t.pgSchema ? { DATABASE_URL: databaseUrlFor(t.pgSchema) } : {}), LOG_LEVEL: 'warn' };
      const world: World = { ...(await seed(t)), base, env };
      const [a, b, c] = world.instances as [World['instances'][number], World['instances'][number], World['instances'][number]];

      // The attacker reads two rooms with the stolen token.
      for (const roomId of [world.rooms.readA, world.rooms.readB]) {
        const read = await t.inject({ method: 'GET', url: `/api/v1/rooms/${roomId}/messages`, headers: { authorization: `Bearer ${world.attackerToken.token}` } });
        assert.equal(read.statusCode, 200, read.body);
      }

      // Live sockets: an affected person (in the room read in A) and someone not affected (in C).
      const affectedPerson = a.people[1]!;
      const bystander = c.people[2]!;
      const affectedSocket: StreamClient = await openStream(base, { token: (await t.login(affectedPerson.email, affectedPerson.password, 'bearer')).token });
      const bystanderSocket: StreamClient = await openStream(base, { token: (await t.login(bystander.email, bystander.password, 'bearer')).token });

      // Declare.
      const declared = await cli(world, ['incident', 'declare', '--title', 'API token leaked in a CI log', '--severity', 'SEV1', '--what-happened', 'A read token was exposed.', '--category', 'chat messages']);
      assert.match(declared.stdout, /Declared INC-1/);
      assert.match(declared.stdout, /left until the 72-hour notification deadline/);

      // Scope: exactly the rooms' people and the token's owner are affected; A and B are affected; C is not.
      const scoped = await cli(world, ['incident', 'scope', 'INC-1', '--token', world.attackerToken.id, '--json']);
      const scope = JSON.parse(scoped.stdout) as { id: string; verified: boolean; counts: { accounts: Record<string, number>; instances: Record<string, number>; roomsRead: number }; instances: Array<{ instanceId: string; segment: string }> };
      assert.equal(scope.verified, true);
      assert.equal(scope.counts.roomsRead, 2);
      const expectedAffected = [world.victim, ...a.people.slice(0, 5), ...b.people.slice(0, 4)].map((p) => p.accountId).sort();
      assert.deepEqual(await accountsIn(t, scope.id, 'affected'), [...new Set(expectedAffected)].sort());
      const expectedPossibly = [world.owner, ...a.people, ...b.people].map((p) => p.accountId).filter((id) => !expectedAffected.includes(id));
      assert.deepEqual(await accountsIn(t, scope.id, 'possibly_affected'), [...new Set(expectedPossibly)].sort());
      assert.deepEqual(
        scope.instances.map((i) => [i.instanceId, i.segment]).sort(),
        [[a.id, 'affected'], [b.id, 'affected']].sort(),
      );
      assert.equal(scope.counts.accounts['affected'], new Set(expectedAffected).size);
      assert.equal(scope.counts.accounts['not_affected'], c.people.length);
      assert.equal(scope.counts.instances['not_affected'], 1);
      const human = await cli(world, ['incident', 'show', 'INC-1']);
      assert.match(human.stdout, /affected\s+10\s+2/);

      // Contain the affected, one account per chunk, slowly; kill it halfway.
      const child = spawnCli(['incident', 'contain', 'INC-1', '--segment', 'affected', '--chunk-size', '1', '--throttle-ms', '300'], world.env);
      // Polls until it has done three chunks (or has exited): the process first spends seconds of CPU loading,
      // many more on a busy machine, so the bound is only a hang guard.
      let done = 0;
      for (let i = 0; i < 1_800 && done < 3 && child.exitCode === null && child.signalCode === null; i += 1) {
        await sleep(100);
        const row = await t.ctx.database.db.selectFrom('incident_containments').select(['done', 'step_index']).executeTakeFirst();
        done = row && Number(row.step_index) === 0 ? Number(row.done) : 0;
      }
      child.kill('SIGKILL');
      await once(child, 'close');
      assert.ok(done >= 3, 'the containment made progress before it was killed');
      const halfway = await t.ctx.database.db.selectFrom('accounts').select(['id', 'reset_required_at']).where('id', 'in', expectedAffected).execute();
      const resetHalfway = halfway.filter((r) => r.reset_required_at !== null).length;
      assert.ok(resetHalfway >= 3 && resetHalfway < expectedAffected.length, `halfway: ${resetHalfway} of ${expectedAffected.length} reset`);

      // Resume: the same containment, finished, with one epoch for everyone.
      const resumed = await cli(world, ['incident', 'contain', 'INC-1', '--segment', 'affected', '--json']);
      const result = JSON.parse(resumed.stdout) as { id: string; status: string; epoch: number };
      assert.equal(result.status, 'done');
      const containments = await t.ctx.database.db.selectFrom('incident_containments').selectAll().execute();
      assert.equal(containments.length, 1, 'resumed, not started again');
      const contained = await t.ctx.database.db.selectFrom('accounts').select(['id', 'reset_required_at', 'not_before']).execute();
      for (const row of contained) {
        if (expectedAffected.includes(row.id)) {
          assert.equal(Number(row.reset_required_at), result.epoch, 'every affected account reset at the containment epoch, once');
          assert.equal(Number(row.not_before), result.epoch);
        } else {
          assert.equal(row.reset_required_at, null, 'nobody else is touched');
        }
      }
      const again = await cli(world, ['incident', 'contain', 'INC-1', '--segment', 'affected']);
      assert.match(again.stdout, /already done/);

      // The attacker's token and the affected sessions are dead; old passwords no longer log in.
      const denied = await t.inject({ method: 'GET', url: `/api/v1/rooms/${world.rooms.readA}/messages`, headers: { authorization: `Bearer ${world.attackerToken.token}` } });
      assert.equal(denied.statusCode, 401, denied.body);
      const closed = await Promise.race([affectedSocket.closed, sleep(3_000).then(() => undefined)]);
      assert.equal(closed?.code, 4003, 'the affected person\'s socket closed');
      const login = await t.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email: affectedPerson.email, password: affectedPerson.password } });
      assert.equal(login.json<{ error: { code: string } }>().error.code, 'PASSWORD_RESET_REQUIRED');
      const stillOpen = await Promise.race([bystanderSocket.closed.then(() => 'closed'), sleep(300).then(() => 'open')]);
      assert.equal(stillOpen, 'open', 'a person not affected keeps their socket');
      const bystanderLogin = await t.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email: bystander.email, password: bystander.password } });
      assert.equal(bystanderLogin.statusCode, 200);
      affectedSocket.close();
      bystanderSocket.close();

      // The incident moved to contained, and its timeline says what was done.
      const shown = JSON.parse((await cli(world, ['incident', 'show', 'INC-1', '--json'])).stdout) as { incident: { status: string }; timeline: Array<{ kind: string; body: string }> };
      assert.equal(shown.incident.status, 'contained');
      assert.deepEqual(shown.timeline.map((e) => e.kind), ['declared', 'scope', 'contain', 'contain', 'status']);
      const audit = await t.ctx.database.db.selectFrom('audit_entries').select('action').where('action', 'like', 'incident.%').execute();
      assert.deepEqual(audit.map((e) => e.action).sort(), ['incident.contain', 'incident.contain', 'incident.contain_start', 'incident.declare', 'incident.scope', 'incident.update'].sort());

      // Notify: look first (nothing is written), then send through the outbox to a real SMTP server.
      const dry = await cli(world, ['incident', 'notify', 'INC-1', '--dry-run']);
      assert.match(dry.stdout, /affected\s+10 people → action-required/);
      assert.match(dry.stdout, /possibly affected\s+24 people → precautionary/);
      assert.match(dry.stdout, /not affected\s+16 people → none/);
      assert.match(dry.stdout, /sample: action-required[\s\S]*Subject: \[INC-1\] Action required/);
      assert.equal((await t.ctx.database.db.selectFrom('incident_mailings').selectAll().execute()).length, 0, 'a dry run writes nothing');
      const sink = await startSmtpSink();
      const worker = createMailWorker(t.ctx, { transport: createSmtpTransport(new URL(sink.url), { maxConnections: 2 }), concurrency: 2, renderers: incidentMailRenderers() });
      try {
        const drain = async (): Promise<void> => {
          for (let i = 0; i < 50; i += 1) {
            if ((await worker.runOnce()) === 0 && Number((await t.ctx.database.db.selectFrom('mail_outbox').select((eb) => eb.fn.countAll().as('n')).where('status', 'in', ['queued', 'sending']).executeTakeFirstOrThrow()).n) === 0) return;
            await sleep(20);
          }
        };
        await drain(); // mails queued before (the forced account's log-in link)
        const before = sink.received.length;
        await cli(world, ['incident', 'notify', 'INC-1', '--rate', '1000']);
        await drain();
        const notices = sink.received.slice(before).filter((m) => m.subject.startsWith('[INC-1]'));
        const byPerson = new Map<string, string[]>();
        for (const mail of notices) byPerson.set(mail.to.toLowerCase(), [...(byPerson.get(mail.to.toLowerCase()) ?? []), mail.subject]);
        const everyone = [world.owner, ...a.people, ...b.people, ...c.people];
        const subjectsOf = (person: Client): string[] => byPerson.get(person.email.toLowerCase()) ?? [];
        for (const person of everyone) {
          const subjects = subjectsOf(person).filter((subject) => !subject.includes('Incident report'));
          if (expectedAffected.includes(person.accountId)) assert.deepEqual(subjects.map((x) => /Action required/.test(x)), [true], `${person.email}: one action-required notice`);
          else if (expectedPossibly.includes(person.accountId)) assert.deepEqual(subjects.map((x) => /what it may mean for you/.test(x)), [true], `${person.email}: one precautionary notice`);
          else assert.deepEqual(subjects, [], `${person.email} was not affected and gets nothing`);
        }
        // The owner administers A and B (affected) and C: a report for each instance the incident touched.
        assert.equal(subjectsOf(world.owner).filter((x) => x.includes('Incident report')).length, 2);
        // The action-required link resets the password.
        const actionMail = notices.find((m) => m.to.toLowerCase() === affectedPerson.email.toLowerCase())!;
        const confirm = await t.inject({ method: 'POST', url: '/api/v1/auth/password-reset/confirm', payload: { token: resetTokenIn(actionMail), newPassword: newPassword() } });
        assert.equal(confirm.statusCode, 200, confirm.body);
        // Nobody twice: notify again queues nothing new and no other notice arrives (only the reset's own
        // "password changed" mail).
        await drain();
        const incidentMails = (): number => sink.received.filter((m) => m.subject.startsWith('[INC-1]')).length;
        const count = sink.received.length;
        const noticesSoFar = incidentMails();
        const again = await cli(world, ['incident', 'notify', 'INC-1', '--rate', '1000']);
        assert.match(again.stdout, /\(0 new\)/);
        await drain();
        assert.equal(incidentMails(), noticesSoFar);
        // A follow-up to the affected only.
        const bodyFile = join(await mkdtemp(join(tmpdir(), 'drill-fu-')), 'update.txt');
        await writeFile(bodyFile, 'We have finished our review. No other data was read.');
        await cli(world, ['incident', 'notify', 'INC-1', '--follow-up', '--segment', 'affected', '--subject', 'Review finished', '--body-file', bodyFile, '--rate', '1000']);
        await drain();
        const followUps = sink.received.slice(count).filter((m) => m.subject.includes('Review finished'));
        assert.deepEqual(followUps.map((m) => m.to.toLowerCase()).sort(), everyone.filter((p) => expectedAffected.includes(p.accountId)).map((p) => p.email.toLowerCase()).filter((e, i, all) => all.indexOf(e) === i).sort());
        const progress = JSON.parse((await cli(world, ['incident', 'progress', 'INC-1', '--json'])).stdout) as { resets: { required: number; completed: number } };
        assert.deepEqual([progress.resets.required, progress.resets.completed], [expectedAffected.length, 1]);
      } finally {
        await worker.stop();
        await sink.close();
      }

      // Publish: a public update, then the postmortem (from the template, edited), then read /status and the feed.
      await cli(world, ['incident', 'update', 'INC-1', '--note', 'We revoked the leaked token and reset the passwords of the people concerned.', '--public']);
      await cli(world, ['incident', 'update', 'INC-1', '--note', 'Internal: the token came from job 4411.']);
      const template = (await cli(world, ['incident', 'postmortem', 'INC-1', '--template'])).stdout;
      for (const section of ['Summary', 'Lead-up', 'Fault', 'Impact', 'Detection', 'Response', 'Recovery', 'Timeline', 'Lessons', 'Actions']) assert.match(template, new RegExp(`## ${section}`), section);
      const postmortem = `${template}\n\nThe token was printed by a debug step <script>alert('x')</script> [see](javascript:alert(1)).\n`;
      const file = join(await mkdtemp(join(tmpdir(), 'drill-pm-')), 'postmortem.md');
      await writeFile(file, postmortem);
      await cli(world, ['incident', 'postmortem', 'INC-1', '--file', file, '--publish']);
      const status = await fetch(`${base}/status`);
      const page = await status.text();
      assert.equal(status.status, 200);
      assert.match(page, /API token leaked in a CI log/);
      const incidentPage = await (await fetch(`${base}/status/incidents/INC-1`)).text();
      assert.match(incidentPage, /We revoked the leaked token/);
      assert.doesNotMatch(incidentPage, /job 4411/, 'internal entries stay internal');
      assert.doesNotMatch(incidentPage, /<script>alert/, 'the postmortem is rendered inert');
      assert.doesNotMatch(incidentPage, /href="javascript:/);
      const feed = await fetch(`${base}/status/feed.atom`);
      assert.match(feed.headers.get('content-type') ?? '', /atom\+xml/);
      const atom = await feed.text();
      assert.match(atom, /<entry>[\s\S]*API token leaked in a CI log[\s\S]*<\/entry>/);
      assert.doesNotMatch(atom, /job 4411/);
    } finally {
      await t.close();
    }
  });
});
