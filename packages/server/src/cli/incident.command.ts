import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { AppError } from '../errors.ts';
import {
  computeScope,
  containIncident,
  CONTAINMENT_STEPS,
  declareIncident,
  findIncident,
  findIncidentScope,
  incidentRef,
  incidentTimeline,
  instanceSlugs,
  listIncidentContainments,
  listIncidents,
  listMailingRecipients,
  mailingStatus,
  noticesDeliveredOverTime,
  incidentProgress,
  PROGRESS_BUCKETS,
  type ProgressBucket,
  notificationDeadline,
  planFollowUp,
  planNotices,
  queueFollowUp,
  queueNotices,
  resumeMailings,
  type MailingProgress,
  resolveIncident,
  updateIncident,
  type BreachNotice,
  type ContainmentProgress,
  type ContainmentStep,
  type ContainmentTarget,
  type OpenedIncident,
  type ScopeResult,
} from '../incidents/index.ts';
import type { IncidentSeverity, IncidentStatus } from '../db/index.ts';
import type { Services } from '../services.ts';
import { registerIncidentStatusCommands } from './incident-status.command.ts';
import { accountByEmail, instanceBySlug, parseTime } from './lookups.ts';
import { progressBar } from './progress.ts';
import { runCommand, withServices } from './run.ts';


const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

const hours = (ms: number): string => {
  const sign = ms < 0 ? '-' : '';
  const abs = Math.abs(ms);
  return `${sign}${Math.floor(abs / 3_600_000)}h ${String(Math.floor((abs % 3_600_000) / 60_000)).padStart(2, '0')}m`;
};

/** The regulator's clock: time left until 72 hours after awareness, or how late it is. */
export const deadlineClock = (incident: OpenedIncident, now: number): string => {
  const deadline = notificationDeadline(incident);
  const left = deadline - now;
  const at = new Date(deadline).toISOString();
  return left >= 0 ? `${hours(left)} left until the 72-hour notification deadline (${at})` : `the 72-hour notification deadline passed ${hours(-left)} ago (${at})`;
};

const noticeFrom = (options: Record<string, unknown>): Partial<BreachNotice> | undefined => {
  const notice: Partial<BreachNotice> = {};
  if (typeof options.whatHappened === 'string') notice.whatHappened = options.whatHappened;
  if (Array.isArray(options.category)) notice.categories = options.category as string[];
  if (typeof options.people === 'string') notice.approxPeople = wholeNumber('--people', options.people);
  if (typeof options.records === 'string') notice.approxRecords = wholeNumber('--records', options.records);
  if (typeof options.consequences === 'string') notice.consequences = options.consequences;
  if (typeof options.measures === 'string') notice.measures = options.measures;
  if (typeof options.contact === 'string') notice.contact = options.contact;
  return Object.keys(notice).length > 0 ? notice : undefined;
};

const wholeNumber = (name: string, value: string): number => {
  if (!/^\d{1,15}$/.test(value)) throw new AppError('VALIDATION_FAILED', { message: `${name} takes a whole number, not "${value}".` });
  return Number(value);
};

const noticeOptions = (command: Command): Command =>
  command
    .option('--what-happened <text>', 'breach notice: what happened')
    .option('--category <text>', 'breach notice: a category of people or records concerned (repeatable)', collect)
    .option('--people <n>', 'breach notice: approximate number of people concerned')
    .option('--records <n>', 'breach notice: approximate number of records concerned')
    .option('--consequences <text>', 'breach notice: likely consequences')
    .option('--measures <text>', 'breach notice: measures taken or proposed')
    .option('--contact <text>', 'breach notice: whom to contact')
    .option('--component <name>', 'an affected component (repeatable)', collect);

const printIncident = async (services: Services, incident: OpenedIncident): Promise<void> => {
  const now = services.now();
  console.log(`${incidentRef(incident)}  ${incident.severity}  ${incident.status}  ${incident.title}`);
  console.log(`  aware since ${new Date(incident.awareAt).toISOString()}; declared ${new Date(incident.declaredAt).toISOString()}${incident.resolvedAt ? `; resolved ${new Date(incident.resolvedAt).toISOString()}` : ''}`);
  console.log(`  ${deadlineClock(incident, now)}`);
  console.log(`  status page: ${incident.publishedAt ? `published ${new Date(incident.publishedAt).toISOString()}` : 'not published'}; postmortem: ${incident.postmortemPublishedAt ? 'published' : incident.postmortem ? 'draft' : 'none'}`);
  if (incident.details.components.length > 0) console.log(`  components: ${incident.details.components.join(', ')}`);
  const notice = incident.details.notice;
  console.log('  breach notice:');
  console.log(`    what happened: ${notice.whatHappened || '(to write)'}`);
  console.log(`    categories: ${notice.categories.length > 0 ? notice.categories.join(', ') : '(to write)'}`);
  console.log(`    approximately ${notice.approxPeople ?? '?'} people and ${notice.approxRecords ?? '?'} records`);
  console.log(`    likely consequences: ${notice.consequences || '(to write)'}`);
  console.log(`    measures: ${notice.measures || '(to write)'}`);
  console.log(`    contact: ${notice.contact || '(to write)'}`);
};

const printScope = (scope: ScopeResult, slugs: Map<string, string>): void => {
  const c = scope.counts;
  console.log(`Scope ${scope.id} against audit checkpoint ${scope.checkpointSize} (root ${scope.checkpointRoot.slice(0, 16)}…)${scope.verified ? ', log verified' : ', LOG DID NOT VERIFY'}.`);
  console.log(`  ${c.entriesMatched.toLocaleString('en-US')} audit entries matched; ${c.roomsRead.toLocaleString('en-US')} rooms read.`);
  console.log('  segment             people      instances');
  for (const segment of ['affected', 'possibly_affected', 'not_affected'] as const) {
    console.log(`  ${segment.replace('_', ' ').padEnd(18)}  ${c.accounts[segment].toLocaleString('en-US').padStart(10)}  ${c.instances[segment].toLocaleString('en-US').padStart(10)}`);
  }
  const listed = [...scope.instances].sort((a, b) => (a.segment === b.segment ? b.summary.affected - a.summary.affected : a.segment === 'affected' ? -1 : 1));
  if (listed.length > 0) {
    console.log('  per instance:');
    for (const entry of listed.slice(0, 50)) {
      console.log(`    ${(slugs.get(entry.instanceId) ?? entry.instanceId).padEnd(24)} ${entry.segment.replace('_', ' ').padEnd(18)} rooms read ${entry.summary.roomsRead}, people affected ${entry.summary.affected}, possibly ${entry.summary.possiblyAffected}`);
    }
    if (listed.length > 50) console.log(`    … and ${listed.length - 50} more (--json lists them all)`);
  }
};

const slugsOf = (services: Services, ids: string[]): Promise<Map<string, string>> => instanceSlugs(services, ids);

export const registerIncidentCommand = (program: Command): Command => {
  const incident = program.command('incident').description('Respond to an incident: declare, scope, contain, notify, publish');

  noticeOptions(
    incident
      .command('declare')
      .description('Declare an incident (the 72-hour notification clock starts at --aware-at, default now)')
      .requiredOption('--title <text>', 'a short title')
      .requiredOption('--severity <SEV1|SEV2|SEV3>', 'SEV1 (breach or outage), SEV2, SEV3')
      .option('--aware-at <time>', 'when you became aware (ISO 8601)')
      .option('--summary <text>', 'the first timeline entry'),
  ).action((options: Record<string, unknown>) =>
    runCommand(() =>
      withServices(async (services) => {
        const declared = await declareIncident(services, {
          title: String(options.title),
          severity: String(options.severity).toUpperCase() as IncidentSeverity,
          awareAt: parseTime('--aware-at', options.awareAt as string | undefined),
          components: options.component as string[] | undefined,
          notice: noticeFrom(options),
          summary: options.summary as string | undefined,
        });
        console.log(`Declared ${incidentRef(declared)} (${declared.id}).`);
        await printIncident(services, declared);
      }),
    ),
  );

  incident
    .command('list')
    .description('Incidents, newest first')
    .option('--open', 'only those not resolved')
    .option('--json', 'print JSON')
    .action((options: { open?: boolean; json?: boolean }) =>
      runCommand(() =>
        withServices(async (services) => {
          const incidents = await listIncidents(services, { open: options.open === true });
          if (options.json) {
            console.log(JSON.stringify(incidents.map((i) => ({ ref: incidentRef(i), ...i, deadlineAt: notificationDeadline(i) }))));
            return;
          }
          if (incidents.length === 0) console.log(options.open ? 'No open incidents.' : 'No incidents.');
          for (const i of incidents) console.log(`${incidentRef(i).padEnd(8)} ${i.severity}  ${i.status.padEnd(13)} ${new Date(i.declaredAt).toISOString()}  ${i.title}`);
        }),
      ),
    );

  incident
    .command('show <ref>')
    .description('An incident: its record, the deadline clock, the timeline, scopes and containments')
    .option('--json', 'print JSON')
    .action((ref: string, options: { json?: boolean }) =>
      runCommand(() =>
        withServices(async (services) => {
          const found = await findIncident(services, ref);
          const timeline = await incidentTimeline(services, found.id);
          const containments = await listIncidentContainments(services, found.id);
          let scope: ScopeResult | undefined;
          try {
            scope = await findIncidentScope(services, found.id);
          } catch (error) {
            if (!(error instanceof AppError && error.code === 'INCIDENT_SCOPE_NOT_FOUND')) throw error;
          }
          if (options.json) {
            console.log(JSON.stringify({ incident: { ref: incidentRef(found), ...found, deadlineAt: notificationDeadline(found) }, timeline, scope: scope ?? null, containments }));
            return;
          }
          await printIncident(services, found);
          console.log('timeline:');
          for (const entry of timeline) console.log(`  ${new Date(entry.at).toISOString()}  ${entry.kind.padEnd(9)} ${entry.public ? '[public] ' : ''}${entry.body}`);
          if (scope) printScope(scope, await slugsOf(services, scope.instances.map((i) => i.instanceId)));
          for (const c of containments) printContainment(c);
        }),
      ),
    );

  noticeOptions(
    incident
      .command('update <ref>')
      .description('Add to the timeline; change the status, severity, title, components or notice fields')
      .option('--status <status>', 'investigating, identified, contained, monitoring, resolved')
      .option('--severity <SEV1|SEV2|SEV3>', 'a new severity')
      .option('--title <text>', 'a new title')
      .option('--note <text>', 'the timeline entry')
      .option('--public', 'show this entry on the status page (once the incident is published)'),
  ).action((ref: string, options: Record<string, unknown>) =>
    runCommand(() =>
      withServices(async (services) => {
        const updated = await updateIncident(services, ref, {
          status: options.status as IncidentStatus | undefined,
          severity: typeof options.severity === 'string' ? (options.severity.toUpperCase() as IncidentSeverity) : undefined,
          title: options.title as string | undefined,
          components: options.component as string[] | undefined,
          notice: noticeFrom(options),
          note: options.note as string | undefined,
          public: options.public === true,
        });
        console.log(`Updated ${incidentRef(updated)}: ${updated.status}, ${updated.severity}.`);
      }),
    ),
  );

  incident
    .command('resolve <ref>')
    .description('Resolve an incident')
    .option('--note <text>', 'the timeline entry')
    .option('--public', 'show the entry on the status page')
    .action((ref: string, options: { note?: string; public?: boolean }) =>
      runCommand(() =>
        withServices(async (services) => {
          const resolved = await resolveIncident(services, ref, options.note, undefined, options.public === true);
          console.log(`Resolved ${incidentRef(resolved)}.`);
        }),
      ),
    );

  incident
    .command('scope <ref>')
    .description('Compute who and what was affected from the verified audit log (saved as a snapshot; changes nothing else)')
    .option('--session <id>', 'a session or API token id the attacker used (repeatable)', collect)
    .option('--token <id>', 'an API token id the attacker used (repeatable)', collect)
    .option('--account <email>', 'an account whose credentials were used or exposed (repeatable)', collect)
    .option('--ip <address>', 'a client address the attacker used (repeatable)', collect)
    .option('--instance <slug>', 'only this instance (repeatable)', collect)
    .option('--since <time>', 'from this time (ISO 8601)')
    .option('--until <time>', 'until this time (ISO 8601)')
    .option('--everyone', 'every account and instance is affected (a stolen database or backup)')
    .option('--unverified', 'compute it even if the audit log does not verify (the snapshot says so)')
    .option('--json', 'print JSON')
    .action((ref: string, options: { session?: string[]; token?: string[]; account?: string[]; ip?: string[]; instance?: string[]; since?: string; until?: string; everyone?: boolean; unverified?: boolean; json?: boolean }) =>
      runCommand(() =>
        withServices(async (services) => {
          const accounts: string[] = [];
          for (const email of options.account ?? []) accounts.push((await accountByEmail(services, email)).id);
          const instances: string[] = [];
          for (const slug of options.instance ?? []) instances.push((await instanceBySlug(services, slug)).id);
          const scope = await computeScope(
            services,
            ref,
            {
              sessions: [...(options.session ?? []), ...(options.token ?? [])],
              accounts,
              ips: options.ip ?? [],
              instances,
              since: parseTime('--since', options.since),
              until: parseTime('--until', options.until),
              everyone: options.everyone === true,
            },
            { allowUnverified: options.unverified === true },
          );
          if (options.json) console.log(JSON.stringify(scope));
          else printScope(scope, await slugsOf(services, scope.instances.map((i) => i.instanceId)));
        }),
      ),
    );

  incident
    .command('contain <ref>')
    .description('Invalidate passwords, end sessions and API tokens, rotate keys: for everyone or a segment of the scope. Resumable: run it again after a stop')
    .option('--everyone', 'every account on the server')
    .option('--segment <segment>', 'affected, possibly_affected or not_affected (of the latest scope, or --scope)')
    .option('--scope <id>', 'a scope other than the latest')
    .option('--step <step>', `a step, in order (repeatable; default: reset-passwords, end-sessions; also: rotate-keys)`, collect)
    .option('--chunk-size <n>', 'accounts per transaction', '5000')
    .option('--throttle-ms <n>', 'pause between chunks, to keep a busy server responsive', '0')
    .option('--json', 'print JSON')
    .action((ref: string, options: { everyone?: boolean; segment?: string; scope?: string; step?: string[]; chunkSize: string; throttleMs: string; json?: boolean }) =>
      runCommand(() =>
        withServices(async (services) => {
          if ((options.everyone === true) === (options.segment !== undefined)) throw new AppError('VALIDATION_FAILED', { message: 'Name one target: --everyone or --segment <segment>.' });
          const steps = options.step as ContainmentStep[] | undefined;
          for (const step of steps ?? []) {
            if (!CONTAINMENT_STEPS.includes(step)) throw new AppError('VALIDATION_FAILED', { message: `--step is one of ${CONTAINMENT_STEPS.join(', ')}, not "${step}".` });
          }
          const bar = progressBar('containing');
          let lastStep: string | null = null;
          const result = await containIncident(services, ref, {
            target: (options.everyone === true ? 'everyone' : options.segment) as ContainmentTarget,
            steps,
            scopeId: options.scope,
            chunkSize: wholeNumber('--chunk-size', options.chunkSize),
            throttleMs: wholeNumber('--throttle-ms', options.throttleMs),
            onProgress: (progress) => {
              if (progress.step !== lastStep && lastStep !== null) bar.end();
              lastStep = progress.step;
              bar.update(progress.done, progress.total);
            },
          });
          bar.end();
          if (options.json) console.log(JSON.stringify(result));
          else if (result.alreadyDone) console.log(`This containment (${result.id}) was already done at ${new Date(result.finishedAt ?? 0).toISOString()}; nothing was changed.`);
          else printContainment(result);
        }),
      ),
    );

  registerNoticeCommands(incident);
  registerIncidentStatusCommands(incident);
  return incident;
};

const AFFECTED_TEMPLATES = ['action-required', 'precautionary', 'none'] as const;
const NOT_AFFECTED_TEMPLATES = ['reassurance', 'none'] as const;

const oneOf = <T extends string>(name: string, value: string, allowed: readonly T[]): T => {
  if (!(allowed as readonly string[]).includes(value)) throw new AppError('VALIDATION_FAILED', { message: `${name} is one of ${allowed.join(', ')}, not "${value}".` });
  return value as T;
};

const printSample = (sample: { subject: string; text?: string | undefined }): void => {
  console.log(`    Subject: ${sample.subject}`);
  for (const line of (sample.text ?? '').split('\n')) console.log(`    | ${line}`);
};

const registerNoticeCommands = (incident: Command): void => {
  incident
    .command('notify <ref>')
    .description('Send each segment of the latest scope (or --scope) the notice that fits it, through the outbox; --dry-run first')
    .option('--dry-run', 'print counts per segment and a rendered sample of each mail; send nothing')
    .option('--scope <id>', 'a scope other than the latest')
    .option('--everyone', 'no scope: every account gets the affected template')
    .option('--affected <template>', 'action-required, precautionary or none', 'action-required')
    .option('--possibly-affected <template>', 'action-required, precautionary or none', 'precautionary')
    .option('--not-affected <template>', 'reassurance or none (the default: telling people who were not affected alarms them)', 'none')
    .option('--no-admin-reports', 'do not send instance admins the report of what the incident touched in their instance')
    .option('--rate <n>', 'mails per second, in all', '200')
    .option('--follow-up', 'a later mailing to one segment with your own subject and text (--segment, --subject, --body-file)')
    .option('--segment <segment>', 'with --follow-up: affected, possibly_affected, not_affected or everyone')
    .option('--subject <text>', 'with --follow-up: the subject')
    .option('--body-file <file>', 'with --follow-up: the plain text body ("-" reads stdin)')
    .option('--resume', 'finish mailings a stopped run left unfinished')
    .option('--json', 'print JSON')
    .action(
      (
        ref: string,
        options: {
          dryRun?: boolean;
          scope?: string;
          everyone?: boolean;
          affected: string;
          possiblyAffected: string;
          notAffected: string;
          adminReports: boolean;
          rate: string;
          followUp?: boolean;
          segment?: string;
          subject?: string;
          bodyFile?: string;
          resume?: boolean;
          json?: boolean;
        },
      ) =>
        runCommand(() =>
          withServices(async (services) => {
            const found = await findIncident(services, ref);
            const ratePerSecond = wholeNumber('--rate', options.rate);
            const bar = progressBar('queuing notices');
            const onProgress = (progress: MailingProgress): void => bar.update(progress.queued, progress.queued);
            if (options.resume === true) {
              const resumed = await resumeMailings(services, found.id, { onProgress });
              bar.end();
              if (options.json) console.log(JSON.stringify(resumed));
              else console.log(resumed.length === 0 ? 'No mailing was left unfinished.' : resumed.map((m) => `${m.template} to ${m.target}: ${m.queued} queued (${m.added} now)`).join('\n'));
              return;
            }
            const scopeId = options.everyone === true ? null : (await findIncidentScope(services, found.id, options.scope)).id;
            if (options.followUp === true) {
              if (options.segment === undefined || options.subject === undefined || options.bodyFile === undefined) {
                throw new AppError('VALIDATION_FAILED', { message: 'A follow-up needs --segment, --subject and --body-file.' });
              }
              const body = options.bodyFile === '-' ? await readStdin() : await readFile(options.bodyFile, 'utf8');
              const request = { incidentId: found.id, scopeId, segment: options.segment as 'everyone', subject: options.subject, body };
              if (options.dryRun === true) {
                const plan = await planFollowUp(services, request);
                if (options.json) console.log(JSON.stringify(plan));
                else {
                  console.log(`The follow-up would go to ${plan.people.toLocaleString('en-US')} people (${options.segment}). Sample:`);
                  printSample(plan.sample);
                }
                return;
              }
              const queued = await queueFollowUp(services, { ...request, ratePerSecond, onProgress });
              bar.end();
              if (options.json) console.log(JSON.stringify(queued));
              else console.log(`Follow-up ${queued.id}: ${queued.queued.toLocaleString('en-US')} mails queued at ${ratePerSecond}/s.`);
              return;
            }
            const request = {
              incidentId: found.id,
              scopeId,
              plan: {
                affected: oneOf('--affected', options.affected, AFFECTED_TEMPLATES),
                possibly_affected: oneOf('--possibly-affected', options.possiblyAffected, AFFECTED_TEMPLATES),
                not_affected: oneOf('--not-affected', options.notAffected, NOT_AFFECTED_TEMPLATES),
              },
              adminReports: options.adminReports && scopeId !== null,
            };
            const plan = await planNotices(services, request);
            if (options.dryRun === true) {
              if (options.json) {
                console.log(JSON.stringify(plan));
                return;
              }
              console.log(`Dry run for ${incidentRef(found)} (nothing is sent):`);
              for (const segment of plan.segments) {
                console.log(`  ${segment.segment.replace('_', ' ').padEnd(18)} ${segment.people.toLocaleString('en-US').padStart(10)} people → ${segment.template}${segment.alreadyQueued > 0 ? ` (${segment.alreadyQueued.toLocaleString('en-US')} already queued)` : ''}`);
              }
              if (plan.adminReports) console.log(`  instance admins: ${plan.adminReports.recipients} reports about ${plan.adminReports.instances} instances`);
              for (const sample of plan.samples) {
                console.log(`\n  --- sample: ${sample.template} ---`);
                printSample(sample.rendered);
              }
              return;
            }
            const queued = await queueNotices(services, { ...request, ratePerSecond, onProgress });
            bar.end();
            if (options.json) console.log(JSON.stringify(queued));
            else {
              for (const m of queued) console.log(`${m.template.padEnd(16)} to ${m.target.replace('_', ' ').padEnd(18)} ${m.queued.toLocaleString('en-US').padStart(10)} queued (${m.added.toLocaleString('en-US')} new)`);
              console.log(`Sending at ${ratePerSecond}/s in all. Follow it with: conclave incident mailings ${incidentRef(found)}`);
            }
          }),
        ),
    );

  incident
    .command('mailings <ref>')
    .description('Each mailing of an incident: its target, template and how many mails are queued, sent and failed')
    .option('--json', 'print JSON')
    .action((ref: string, options: { json?: boolean }) =>
      runCommand(() =>
        withServices(async (services) => {
          const found = await findIncident(services, ref);
          const mailings = await mailingStatus(services, found.id);
          if (options.json) {
            console.log(JSON.stringify(mailings));
            return;
          }
          if (mailings.length === 0) console.log('No mailings yet: conclave incident notify ' + incidentRef(found) + ' --dry-run');
          for (const m of mailings) {
            console.log(`${m.id}  ${m.template.padEnd(16)} ${m.target.replace('_', ' ').padEnd(18)} queued ${m.mails.queued}, sending ${m.mails.sending}, sent ${m.mails.sent}, failed ${m.mails.failed}`);
          }
        }),
      ),
    );

  incident
    .command('recipients <mailing-id>')
    .description('Per-recipient status of one mailing (shows addresses: operators only)')
    .option('--status <status>', 'queued, sending, sent or failed')
    .option('--limit <n>', 'at most this many', '100')
    .option('--json', 'print JSON')
    .action((mailingId: string, options: { status?: string; limit: string; json?: boolean }) =>
      runCommand(() =>
        withServices(async (services) => {
          const status = options.status === undefined ? undefined : oneOf('--status', options.status, ['queued', 'sending', 'sent', 'failed'] as const);
          const page = await listMailingRecipients(services, mailingId, { status, limit: wholeNumber('--limit', options.limit) });
          if (options.json) {
            console.log(JSON.stringify(page));
            return;
          }
          for (const r of page.recipients) {
            console.log(`${r.status.padEnd(8)} ${(r.email ?? '(account gone)').padEnd(40)} attempts ${r.attempts}${r.sentAt ? `, sent ${new Date(r.sentAt).toISOString()}` : ''}${r.lastError ? `, ${r.lastError}` : ''}`);
          }
          if (page.next) console.log('… more: raise --limit or use the API to page on.');
        }),
      ),
    );

  incident
    .command('progress <ref>')
    .description('How many people reset since containment, and how many notices were delivered, over time')
    .option('--bucket <size>', 'minute, 5m, hour or day', 'hour')
    .option('--json', 'print JSON')
    .action((ref: string, options: { bucket: string; json?: boolean }) =>
      runCommand(() =>
        withServices(async (services) => {
          const bucketMs = PROGRESS_BUCKETS[oneOf('--bucket', options.bucket, Object.keys(PROGRESS_BUCKETS) as ProgressBucket[])];
          const found = await findIncident(services, ref);
          const progress = await incidentProgress(services, found.id, bucketMs);
          const delivered = await noticesDeliveredOverTime(services, found.id, bucketMs);
          const mailings = await mailingStatus(services, found.id);
          if (options.json) {
            console.log(JSON.stringify({ ...progress, notices: { mailings, delivered } }));
            return;
          }
          const r = progress.resets;
          console.log(`Password resets: ${r.completed.toLocaleString('en-US')} of ${r.required.toLocaleString('en-US')} people (${r.required === 0 ? 0 : Math.round((r.completed / r.required) * 100)}%).`);
          for (const point of r.series) console.log(`  ${new Date(point.at).toISOString()}  ${point.completed.toLocaleString('en-US')}`);
          const totals = mailings.reduce((sum, m) => ({ sent: sum.sent + m.mails.sent, failed: sum.failed + m.mails.failed, queued: sum.queued + m.mails.queued + m.mails.sending }), { sent: 0, failed: 0, queued: 0 });
          console.log(`Notices: ${totals.sent.toLocaleString('en-US')} delivered, ${totals.queued.toLocaleString('en-US')} waiting, ${totals.failed.toLocaleString('en-US')} failed.`);
          for (const point of delivered) console.log(`  ${new Date(point.at).toISOString()}  ${point.delivered.toLocaleString('en-US')}`);
        }),
      ),
    );
};

const readStdin = async (): Promise<string> => {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
};

const printContainment = (c: ContainmentProgress): void => {
  console.log(`Containment ${c.id} (${c.target.replace('_', ' ')}: ${c.steps.join(', ')}): ${c.status}${c.step ? `, at ${c.step} ${c.done}/${c.total}` : ''}; epoch ${new Date(c.epoch).toISOString()}${c.finishedAt ? `; finished ${new Date(c.finishedAt).toISOString()}` : ''}.`);
};
