import { createHash, timingSafeEqual } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { AuditInput } from '../audit/index.ts';
import { findHeadSeq, findLatestCheckpoint } from '../audit/index.ts';
import type { Schema } from '../db/index.ts';
import { countMailByStatus, sumRunningContainments } from './metrics.queries.ts';

/**
 * This node's metrics, in Prometheus's text format (prom-client). The paths that run per request, per post
 * and per event only increment a counter (label children are cached); what lives in the database — mail in
 * the outbox, the audit log's size and newest checkpoint, containment progress — is read when scraped.
 * Every node keeps and exposes its own: scrape each node, not the load balancer.
 */
export interface Metrics {
  readonly registry: Registry;
  /** One answered HTTP request: the route pattern (never the raw URL), its status and duration. */
  observeRequest(method: string, route: string | undefined, status: number, seconds: number): void;
  messagePosted(): void;
  /** An event the gateway fanned out, and how many sockets it was sent to. */
  eventFannedOut(sockets: number): void;
  /** Entries the audit log committed (logins are counted from them). */
  auditAppended(entries: readonly AuditInput[]): void;
  /** Open sockets are counted at scrape time from each gateway's live count. */
  trackSockets(count: () => number): () => void;
  /** A release feed check finished (ops/update.check). */
  updateChecked(result: { at: number; ok: boolean; updateAvailable: boolean; security: boolean }): void;
}

export interface MetricsOptions {
  db: Kysely<Schema>;
  log: Logger;
  now?: () => number;
  /** Process metrics (CPU, memory, event loop lag, GC): only where metrics are exposed, since they start observers. */
  processMetrics?: boolean;
}

/** Seconds, from 1 ms to 10 s: chat requests are mostly a few ms; log-ins spend ~15 ms hashing. */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** A failed login: a wrong password, a refused one (reset required), or a wrong second factor at log-in. */
const isFailedLogin = (entry: AuditInput): boolean =>
  entry.action === 'auth.login_failed' ||
  entry.action === 'auth.login_refused' ||
  ((entry.action === 'two_factor.code_failed' || entry.action === 'two_factor.rate_limited') && (entry.detail as { purpose?: unknown } | undefined)?.purpose === 'login');

export const createMetrics = (options: MetricsOptions): Metrics => {
  const { db, log } = options;
  const now = options.now ?? Date.now;
  const registry = new Registry();
  const registers = [registry];
  if (options.processMetrics) collectDefaultMetrics({ register: registry });

  const requests = new Counter({ name: 'conclave_http_requests_total', help: 'HTTP requests answered, by method, route pattern and status.', labelNames: ['method', 'route', 'status'] as const, registers });
  const latency = new Histogram({
    name: 'conclave_http_request_duration_seconds',
    help: 'Time to answer an HTTP request, by method and route pattern.',
    labelNames: ['method', 'route'] as const,
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const sockets = new Set<() => number>();
  new Gauge({
    name: 'conclave_stream_sockets_open',
    help: 'WebSocket streams open on this node.',
    registers,
    collect() {
      let total = 0;
      for (const count of sockets) total += count();
      this.set(total);
    },
  });
  const eventsFannedOut = new Counter({ name: 'conclave_events_fanned_out_total', help: 'Committed events this node delivered to its sockets.', registers });
  const eventDeliveries = new Counter({ name: 'conclave_event_deliveries_total', help: 'Socket sends of those events (one event to n sockets counts n).', registers });
  const messagesPosted = new Counter({ name: 'conclave_messages_posted_total', help: 'Messages posted through this node.', registers });
  const logins = new Counter({ name: 'conclave_logins_total', help: 'Log-ins through this node, by result (succeeded, failed), as the audit log recorded them.', labelNames: ['result'] as const, registers });
  const loginsSucceeded = logins.labels('succeeded');
  const loginsFailed = logins.labels('failed');
  const auditAppendedTotal = new Counter({ name: 'conclave_audit_entries_appended_total', help: 'Audit entries this node committed.', registers });

  /** Scrape-time reads: a failure is logged and leaves the value as it was; the scrape still answers. */
  const guarded = async (what: string, read: () => Promise<void>): Promise<void> => {
    try {
      await read();
    } catch (error) {
      log.warn({ err: error, metric: what }, 'a metric could not be read');
    }
  };
  new Gauge({
    name: 'conclave_mail_outbox',
    help: 'Mail in the outbox (all nodes), by status: queued, sending, sent, failed.',
    labelNames: ['status'] as const,
    registers,
    async collect() {
      await guarded('conclave_mail_outbox', async () => {
        const counts = await countMailByStatus(db);
        for (const status of ['queued', 'sending', 'sent', 'failed'] as const) this.labels(status).set(counts[status] ?? 0);
      });
    },
  });
  new Gauge({
    name: 'conclave_audit_entries',
    help: 'Entries in the audit log (all nodes).',
    registers,
    async collect() {
      await guarded('conclave_audit_entries', async () => this.set(await findHeadSeq(db)));
    },
  });
  new Gauge({
    name: 'conclave_audit_checkpoint_age_seconds',
    help: 'Seconds since the newest signed audit checkpoint (serving nodes sign one every 5 s while the log grows); -1 when there is none.',
    registers,
    async collect() {
      await guarded('conclave_audit_checkpoint_age_seconds', async () => {
        const latest = await findLatestCheckpoint(db);
        this.set(latest ? Math.max(0, (now() - Number(latest.created_at)) / 1000) : -1);
      });
    },
  });
  // One query per scrape for the three containment gauges: the registry collects them concurrently.
  let containments: Promise<{ running: number; done: number; total: number }> | undefined;
  const readContainments = () =>
    (containments ??= sumRunningContainments(db).finally(() => {
      containments = undefined;
    }));
  const containmentGauge = (name: string, help: string, pick: (sums: { running: number; done: number; total: number }) => number) =>
    new Gauge({
      name,
      help,
      registers,
      async collect() {
        await guarded(name, async () => this.set(pick(await readContainments())));
      },
    });
  containmentGauge('conclave_containments_running', 'Incident containments still running.', (sums) => sums.running);
  containmentGauge('conclave_containment_accounts_total', 'Work in the current step of each running containment (accounts, sessions or instances, as the step counts them).', (sums) => sums.total);
  containmentGauge('conclave_containment_accounts_done', 'Of that work, what is done (progress of the running containments: done / total).', (sums) => sums.done);

  const updateCheckTime = new Gauge({ name: 'conclave_update_check_timestamp_seconds', help: 'When this node last checked the release feed (Unix seconds); 0 before the first check or without UPDATE_FEED_URL.', registers });
  const updateCheckOk = new Gauge({ name: 'conclave_update_check_success', help: '1 when the last release feed check fetched a feed whose signature verified, else 0.', registers });
  const updateAvailable = new Gauge({ name: 'conclave_update_available', help: '1 when the newest verified release feed lists a version newer than this one.', registers });
  const securityUpdate = new Gauge({ name: 'conclave_update_security_available', help: '1 when a newer release in the verified feed is a security release: upgrade.', registers });

  const requestChildren = new Map<string, Counter.Internal>();
  const latencyChildren = new Map<string, Histogram.Internal<'method' | 'route'>>();
  return {
    registry,
    observeRequest(method, route, status, seconds) {
      const pattern = route ?? 'unmatched';
      const key = `${method} ${pattern}`;
      const statusKey = `${key} ${status}`;
      let counter = requestChildren.get(statusKey);
      if (!counter) requestChildren.set(statusKey, (counter = requests.labels(method, pattern, String(status))));
      counter.inc();
      let histogram = latencyChildren.get(key);
      if (!histogram) latencyChildren.set(key, (histogram = latency.labels(method, pattern)));
      histogram.observe(seconds);
    },
    messagePosted() {
      messagesPosted.inc();
    },
    eventFannedOut(count) {
      eventsFannedOut.inc();
      if (count > 0) eventDeliveries.inc(count);
    },
    auditAppended(entries) {
      auditAppendedTotal.inc(entries.length);
      for (const entry of entries) {
        if (entry.action === 'auth.login') loginsSucceeded.inc();
        else if (isFailedLogin(entry)) loginsFailed.inc();
      }
    },
    trackSockets(count) {
      sockets.add(count);
      return () => sockets.delete(count);
    },
    updateChecked(result) {
      updateCheckTime.set(Math.floor(result.at / 1000));
      updateCheckOk.set(result.ok ? 1 : 0);
      updateAvailable.set(result.updateAvailable ? 1 : 0);
      securityUpdate.set(result.security ? 1 : 0);
    },
  };
};

/** Whether an Authorization header carries the metrics token (compared in constant time, as hashes). */
export const isMetricsTokenValid = (header: string | undefined, token: string): boolean => {
  if (header === undefined || !header.startsWith('Bearer ')) return false;
  const given = createHash('sha256').update(header.slice('Bearer '.length)).digest();
  return timingSafeEqual(given, createHash('sha256').update(token).digest());
};
