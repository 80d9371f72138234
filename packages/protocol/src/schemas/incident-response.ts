import { Type, type Static } from 'typebox';
import { Id, MULTI_LINE_PATTERN, SingleLine, Timestamp } from './common.ts';
import { IncidentRef, IncidentSeveritySchema as IncidentSeverity, IncidentStatusSchema as IncidentStatus } from './incidents.ts';

/** Incident response for operators: the record, scope, containment and progress (the status page is in incidents.ts). */

export const IncidentSegment = Type.Union([Type.Literal('affected'), Type.Literal('possibly_affected'), Type.Literal('not_affected')]);
export const ContainmentTarget = Type.Union([Type.Literal('everyone'), IncidentSegment]);
export const ContainmentStep = Type.Union([Type.Literal('reset-passwords'), Type.Literal('end-sessions'), Type.Literal('rotate-keys')]);

const LongText = Type.String({ pattern: MULTI_LINE_PATTERN, maxLength: 20_000 });
const ShortLine = SingleLine({ minLength: 1, maxLength: 200 });

export const ContainmentParams = Type.Object({ ref: IncidentRef, containmentId: Id }, { additionalProperties: false });

export const BreachNoticeInput = Type.Object(
  {
    whatHappened: Type.Optional(LongText),
    categories: Type.Optional(Type.Array(ShortLine, { maxItems: 50 })),
    approxPeople: Type.Optional(Type.Union([Type.Integer({ minimum: 0 }), Type.Null()])),
    approxRecords: Type.Optional(Type.Union([Type.Integer({ minimum: 0 }), Type.Null()])),
    consequences: Type.Optional(LongText),
    measures: Type.Optional(LongText),
    contact: Type.Optional(SingleLine({ maxLength: 500 })),
  },
  { additionalProperties: false },
);

export const BreachNotice = Type.Object({
  whatHappened: Type.String(),
  categories: Type.Array(Type.String()),
  approxPeople: Type.Union([Type.Integer(), Type.Null()]),
  approxRecords: Type.Union([Type.Integer(), Type.Null()]),
  consequences: Type.String(),
  measures: Type.String(),
  contact: Type.String(),
});

export const DeclareIncidentRequest = Type.Object(
  {
    title: ShortLine,
    severity: IncidentSeverity,
    awareAt: Type.Optional(Timestamp),
    components: Type.Optional(Type.Array(ShortLine, { maxItems: 50 })),
    notice: Type.Optional(BreachNoticeInput),
    summary: Type.Optional(LongText),
  },
  { additionalProperties: false },
);
export type DeclareIncidentRequest = Static<typeof DeclareIncidentRequest>;

export const UpdateIncidentRequest = Type.Object(
  {
    status: Type.Optional(IncidentStatus),
    severity: Type.Optional(IncidentSeverity),
    title: Type.Optional(ShortLine),
    components: Type.Optional(Type.Array(ShortLine, { maxItems: 50 })),
    notice: Type.Optional(BreachNoticeInput),
    note: Type.Optional(LongText),
    public: Type.Optional(Type.Boolean({ description: 'Show the entry on the status page once the incident is published.' })),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type UpdateIncidentRequest = Static<typeof UpdateIncidentRequest>;

export const Incident = Type.Object({
  id: Id,
  ref: Type.String({ description: 'INC-<number>' }),
  number: Type.Integer(),
  title: Type.String(),
  severity: IncidentSeverity,
  status: IncidentStatus,
  awareAt: Timestamp,
  declaredAt: Timestamp,
  resolvedAt: Type.Union([Timestamp, Type.Null()]),
  deadlineAt: Timestamp,
  deadlineMsLeft: Type.Integer({ description: 'Milliseconds until the 72-hour notification deadline (negative: passed).' }),
  components: Type.Array(Type.String()),
  notice: BreachNotice,
  publishedAt: Type.Union([Timestamp, Type.Null()]),
  postmortemPublishedAt: Type.Union([Timestamp, Type.Null()]),
});

export const IncidentList = Type.Object({ incidents: Type.Array(Incident) });

export const TimelineEntry = Type.Object({
  id: Id,
  at: Timestamp,
  kind: Type.String(),
  status: Type.Union([IncidentStatus, Type.Null()]),
  body: Type.String(),
  public: Type.Boolean(),
  actorId: Type.Union([Id, Type.Null()]),
});

export const SegmentCounts = Type.Object({ affected: Type.Integer(), possibly_affected: Type.Integer(), not_affected: Type.Integer() });

export const ScopeRequest = Type.Object(
  {
    sessions: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 200 }), { maxItems: 1_000, description: 'Session or API-token ids the attacker used.' })),
    accounts: Type.Optional(Type.Array(Id, { maxItems: 1_000 })),
    ips: Type.Optional(Type.Array(Type.String({ minLength: 2, maxLength: 45 }), { maxItems: 1_000 })),
    instances: Type.Optional(Type.Array(Id, { maxItems: 1_000 })),
    since: Type.Optional(Timestamp),
    until: Type.Optional(Timestamp),
    everyone: Type.Optional(Type.Boolean()),
    allowUnverified: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type ScopeRequest = Static<typeof ScopeRequest>;

export const IncidentScope = Type.Object({
  id: Id,
  createdAt: Timestamp,
  checkpointSize: Type.Integer(),
  checkpointRoot: Type.String(),
  verified: Type.Boolean(),
  defaultSegment: IncidentSegment,
  counts: Type.Object({ accounts: SegmentCounts, instances: SegmentCounts, roomsRead: Type.Integer(), entriesMatched: Type.Integer() }),
  instances: Type.Array(
    Type.Object({
      instanceId: Id,
      slug: Type.Union([Type.String(), Type.Null()]),
      segment: IncidentSegment,
      roomsRead: Type.Integer(),
      affected: Type.Integer(),
      possiblyAffected: Type.Integer(),
    }),
  ),
});

export const ContainRequest = Type.Object(
  {
    target: ContainmentTarget,
    steps: Type.Optional(Type.Array(ContainmentStep, { minItems: 1, maxItems: 3, uniqueItems: true })),
    scopeId: Type.Optional(Id),
  },
  { additionalProperties: false },
);
export type ContainRequest = Static<typeof ContainRequest>;

export const Containment = Type.Object({
  id: Id,
  scopeId: Type.Union([Id, Type.Null()]),
  target: ContainmentTarget,
  steps: Type.Array(ContainmentStep),
  status: Type.Union([Type.Literal('running'), Type.Literal('done')]),
  step: Type.Union([ContainmentStep, Type.Null()]),
  done: Type.Integer(),
  total: Type.Integer(),
  epoch: Timestamp,
  startedAt: Timestamp,
  updatedAt: Timestamp,
  finishedAt: Type.Union([Timestamp, Type.Null()]),
});

export const IncidentDetail = Type.Object({
  incident: Incident,
  timeline: Type.Array(TimelineEntry),
  scope: Type.Union([IncidentScope, Type.Null()]),
  containments: Type.Array(Containment),
});

export const ProgressQuery = Type.Object(
  { bucket: Type.Optional(Type.Union([Type.Literal('minute'), Type.Literal('5m'), Type.Literal('hour'), Type.Literal('day')])) },
  { additionalProperties: false },
);

export const IncidentProgress = Type.Object({
  bucketMs: Type.Integer(),
  containments: Type.Array(Containment),
  resets: Type.Object({
    required: Type.Integer({ description: 'People in the targets of containments that invalidated passwords.' }),
    completed: Type.Integer({ description: 'Of them, people who have set a new password since.' }),
    series: Type.Array(Type.Object({ at: Type.String({ format: 'date-time', description: 'The end of the bucket.' }), completed: Type.Integer({ description: 'Cumulative: people who had reset by `at`.' }) })),
  }),
  notices: Type.Object({
    queued: Type.Integer(),
    sent: Type.Integer(),
    failed: Type.Integer(),
    series: Type.Array(Type.Object({ at: Type.String({ format: 'date-time', description: 'The end of the bucket.' }), delivered: Type.Integer({ description: 'Cumulative: notices delivered by `at`.' }) })),
  }),
});

// ---- Notices ----

const AffectedTemplate = Type.Union([Type.Literal('action-required'), Type.Literal('precautionary'), Type.Literal('none')]);
export const NoticeTemplate = Type.Union([Type.Literal('action-required'), Type.Literal('precautionary'), Type.Literal('reassurance'), Type.Literal('follow-up'), Type.Literal('admin-report')]);
export const MailingTarget = Type.Union([Type.Literal('everyone'), IncidentSegment, Type.Literal('admins')]);

export const NotifyRequest = Type.Object(
  {
    scopeId: Type.Optional(Type.Union([Id, Type.Null()], { description: 'Omitted: the latest scope. Null: no scope, everyone gets the affected template.' })),
    plan: Type.Optional(
      Type.Object(
        {
          affected: Type.Optional(AffectedTemplate),
          possibly_affected: Type.Optional(AffectedTemplate),
          not_affected: Type.Optional(Type.Union([Type.Literal('reassurance'), Type.Literal('none')], { description: 'Default none: a notice to people who were not affected alarms them.' })),
        },
        { additionalProperties: false },
      ),
    ),
    adminReports: Type.Optional(Type.Boolean({ description: 'Default true (with a scope).' })),
    ratePerSecond: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000, description: 'Default 200.' })),
    dryRun: Type.Optional(Type.Boolean({ description: 'Counts per segment and a rendered sample of each mail; nothing is written.' })),
  },
  { additionalProperties: false },
);
export type NotifyRequest = Static<typeof NotifyRequest>;

export const FollowUpRequest = Type.Object(
  {
    scopeId: Type.Optional(Type.Union([Id, Type.Null()])),
    segment: Type.Union([Type.Literal('everyone'), IncidentSegment]),
    subject: SingleLine({ minLength: 1, maxLength: 150 }),
    body: Type.String({ pattern: MULTI_LINE_PATTERN, minLength: 1, maxLength: 20_000 }),
    ratePerSecond: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000 })),
    dryRun: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type FollowUpRequest = Static<typeof FollowUpRequest>;

const RenderedSample = Type.Object({ subject: Type.String(), text: Type.Optional(Type.String()), html: Type.Optional(Type.String()) });

export const NoticePlan = Type.Object({
  scopeId: Type.Union([Id, Type.Null()]),
  segments: Type.Array(Type.Object({ segment: Type.Union([Type.Literal('everyone'), IncidentSegment]), people: Type.Integer(), template: Type.Union([NoticeTemplate, Type.Literal('none')]), alreadyQueued: Type.Integer() })),
  adminReports: Type.Union([Type.Object({ instances: Type.Integer(), recipients: Type.Integer(), alreadyQueued: Type.Integer() }), Type.Null()]),
  samples: Type.Array(Type.Object({ template: NoticeTemplate, rendered: RenderedSample })),
});

export const QueuedMailing = Type.Object({ id: Id, target: MailingTarget, template: NoticeTemplate, queued: Type.Integer(), added: Type.Integer() });
export const QueuedMailings = Type.Object({ mailings: Type.Array(QueuedMailing) });
export const FollowUpPlan = Type.Object({ people: Type.Integer(), sample: RenderedSample });

export const MailCounts = Type.Object({ queued: Type.Integer(), sending: Type.Integer(), sent: Type.Integer(), failed: Type.Integer() });
export const MailingStatusList = Type.Object({
  mailings: Type.Array(
    Type.Object({
      id: Id,
      target: MailingTarget,
      template: NoticeTemplate,
      subject: Type.Union([Type.String(), Type.Null()]),
      status: Type.Union([Type.Literal('queuing'), Type.Literal('queued')]),
      ratePerSecond: Type.Integer(),
      queued: Type.Integer(),
      mails: MailCounts,
      createdAt: Timestamp,
    }),
  ),
});

export const MailingParams = Type.Object({ ref: IncidentRef, mailingId: Id }, { additionalProperties: false });
export const RecipientsQuery = Type.Object(
  {
    status: Type.Optional(Type.Union([Type.Literal('queued'), Type.Literal('sending'), Type.Literal('sent'), Type.Literal('failed')])),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000 })),
    after: Type.Optional(Id),
  },
  { additionalProperties: false },
);
export const RecipientPage = Type.Object({
  recipients: Type.Array(
    Type.Object({
      mailId: Id,
      accountId: Type.Union([Type.String(), Type.Null()]),
      email: Type.Union([Type.String(), Type.Null()]),
      status: Type.Union([Type.Literal('queued'), Type.Literal('sending'), Type.Literal('sent'), Type.Literal('failed')]),
      attempts: Type.Integer(),
      sentAt: Type.Union([Timestamp, Type.Null()]),
      lastError: Type.Union([Type.String(), Type.Null()]),
    }),
  ),
  next: Type.Union([Id, Type.Null()]),
});

// Types of the answers, for clients (the web client's incident console).
export type Incident = Static<typeof Incident>;
export type IncidentList = Static<typeof IncidentList>;
export type TimelineEntry = Static<typeof TimelineEntry>;
export type IncidentScope = Static<typeof IncidentScope>;
export type Containment = Static<typeof Containment>;
export type IncidentDetail = Static<typeof IncidentDetail>;
export type IncidentProgress = Static<typeof IncidentProgress>;
export type NoticePlan = Static<typeof NoticePlan>;
export type QueuedMailings = Static<typeof QueuedMailings>;
export type MailingStatusList = Static<typeof MailingStatusList>;
export type IncidentSegment = Static<typeof IncidentSegment>;
export type ContainmentTarget = Static<typeof ContainmentTarget>;
export type ContainmentStep = Static<typeof ContainmentStep>;
export type NoticeTemplate = Static<typeof NoticeTemplate>;
