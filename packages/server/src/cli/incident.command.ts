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
  notificationDeadline,
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
import { accountByEmail, instanceBySlug } from './lookups.ts';
import { progressBar } from './progress.ts';
import { runCommand, withServices } from './run.ts';

const parseTime = (name: string, value: string | undefined): number | undefined => {
  if (value === undefined) return undefined;
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new AppError('VALIDATION_FAILED', { message: `${name} "${value}" is not a time; write it as 2026-11-23 or 2026-11-23T10:00:00Z.` });
  return ms;
};

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

  registerIncidentStatusCommands(incident);
  return incident;
};

const printContainment = (c: ContainmentProgress): void => {
  console.log(`Containment ${c.id} (${c.target.replace('_', ' ')}: ${c.steps.join(', ')}): ${c.status}${c.step ? `, at ${c.step} ${c.done}/${c.total}` : ''}; epoch ${new Date(c.epoch).toISOString()}${c.finishedAt ? `; finished ${new Date(c.finishedAt).toISOString()}` : ''}.`);
};
