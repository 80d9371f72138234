import { renderPostmortem } from './postmortem.markdown.ts';
import { formatUtc } from './postmortem.template.ts';
import type { PublicIncident, PublicIncidentUpdate } from './status.actions.ts';

/**
 * The public status pages, rendered on the server. Every value is escaped; the pages hold no script and no
 * inline style (one stylesheet, /status/status.css), so they work under the CSP helmet sets.
 */

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
export const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);

export const STATUS_CSS_PATH = '/status/status.css';
export const STATUS_FEED_PATH = '/status/feed.atom';
export const incidentPath = (incident: Pick<PublicIncident, 'ref'>): string => `/status/incidents/${encodeURIComponent(incident.ref)}`;

const STATUS_LABEL: Record<PublicIncident['status'], string> = {
  investigating: 'Investigating',
  identified: 'Identified',
  contained: 'Contained',
  monitoring: 'Monitoring',
  resolved: 'Resolved',
};

const time = (ms: number): string => `<time datetime="${new Date(ms).toISOString()}">${escapeHtml(formatUtc(ms))}</time>`;

const page = (options: { name: string; title: string; body: string }): string => `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(options.title)}</title>
<link rel="stylesheet" href="${STATUS_CSS_PATH}">
<link rel="alternate" type="application/atom+xml" title="${escapeHtml(options.name)} incidents" href="${STATUS_FEED_PATH}">
</head>
<body>
<header><p class="site"><a href="/status">${escapeHtml(options.name)} status</a></p></header>
<main>
${options.body}
</main>
<footer><a href="${STATUS_FEED_PATH}">Atom feed</a> · <a href="/api/v1/status">JSON</a></footer>
</body>
</html>
`;

const badges = (incident: PublicIncident): string =>
  `<span class="severity severity-${incident.severity.toLowerCase()}">${escapeHtml(incident.severity)}</span> <span class="status status-${incident.status}">${escapeHtml(STATUS_LABEL[incident.status])}</span>`;

const updateItem = (update: PublicIncidentUpdate): string =>
  `<li>${time(update.at)}${update.status ? ` <span class="status status-${update.status}">${escapeHtml(STATUS_LABEL[update.status])}</span>` : ''}<p class="body">${escapeHtml(update.body)}</p></li>`;

const openCard = (incident: PublicIncident): string => {
  const last = incident.updates.at(-1);
  return `<article class="incident">
<h3><a href="${incidentPath(incident)}">${escapeHtml(incident.ref)}: ${escapeHtml(incident.title)}</a></h3>
<p class="meta">${badges(incident)} · last update ${time(incident.lastUpdateAt)}</p>
${last ? `<p class="body">${escapeHtml(last.body)}</p>` : ''}
</article>`;
};

const pastItem = (incident: PublicIncident): string =>
  `<li><a href="${incidentPath(incident)}">${escapeHtml(incident.ref)}: ${escapeHtml(incident.title)}</a> <span class="meta">${badges(incident)} · ${
    incident.resolvedAt === null ? '' : `resolved ${time(incident.resolvedAt)}`
  }${incident.postmortem ? ' · postmortem' : ''}</span></li>`;

/** GET /status */
export const renderStatusPage = (name: string, status: { open: PublicIncident[]; past: PublicIncident[] }): string =>
  page({
    name,
    title: `${name} status`,
    body: [
      status.open.length === 0
        ? '<section class="summary normal"><h1>All systems normal</h1></section>'
        : `<section class="summary incident"><h1>${status.open.length === 1 ? 'An incident is open' : `${status.open.length} incidents are open`}</h1></section>
<section class="open"><h2>Open incidents</h2>
${status.open.map(openCard).join('\n')}
</section>`,
      `<section class="past"><h2>Past incidents (last 90 days)</h2>
${status.past.length === 0 ? '<p>No incidents in the last 90 days.</p>' : `<ul>\n${status.past.map(pastItem).join('\n')}\n</ul>`}
</section>`,
    ].join('\n'),
  });

/** GET /status/incidents/:ref */
export const renderIncidentPage = (name: string, incident: PublicIncident): string =>
  page({
    name,
    title: `${incident.ref}: ${incident.title} · ${name} status`,
    body: `<article class="incident">
<h1>${escapeHtml(incident.ref)}: ${escapeHtml(incident.title)}</h1>
<p class="meta">${badges(incident)} · declared ${time(incident.declaredAt)}${incident.resolvedAt === null ? '' : ` · resolved ${time(incident.resolvedAt)}`}</p>
<section class="timeline"><h2>Updates</h2>
${incident.updates.length === 0 ? '<p>No update yet.</p>' : `<ol reversed>\n${[...incident.updates].reverse().map(updateItem).join('\n')}\n</ol>`}
</section>
${incident.postmortem ? `<section class="postmortem" id="postmortem"><h2>Postmortem</h2>\n<p class="meta">published ${time(incident.postmortem.publishedAt)}</p>\n<div class="markdown">\n${renderPostmortem(incident.postmortem.markdown)}</div>\n</section>` : ''}
</article>`,
  });

/** The answer for a missing or unpublished incident: the same page for both. */
export const renderNotFoundPage = (name: string): string =>
  page({ name, title: `No such incident · ${name} status`, body: '<h1>No such incident</h1>\n<p class="code">INCIDENT_NOT_FOUND</p>\n<p><a href="/status">Back to the status page</a></p>' });

export const STATUS_CSS = `:root { color-scheme: light dark; --fg: #1d2330; --muted: #5b6475; --line: #d9dde5; --ok: #1a7f37; --bad: #b42318; --warn: #b54708; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6e9ef; --muted: #a3abbb; --line: #3a4150; --ok: #4ac26b; --bad: #ff7b72; --warn: #f0a957; } }
body { font: 16px/1.5 system-ui, sans-serif; color: var(--fg); max-width: 46rem; margin: 0 auto; padding: 1rem; }
a { color: inherit; }
header .site { font-weight: 600; }
header .site a { text-decoration: none; }
.summary { border: 1px solid var(--line); border-left: 6px solid var(--ok); padding: 0.25rem 1rem; margin: 1rem 0; }
.summary.incident { border-left-color: var(--bad); }
.summary h1 { font-size: 1.25rem; }
.incident h3 { margin-bottom: 0.25rem; }
.meta, footer, time { color: var(--muted); font-size: 0.9rem; }
.severity, .status { display: inline-block; border: 1px solid var(--line); border-radius: 3px; padding: 0 0.3rem; font-size: 0.8rem; }
.severity-sev1 { border-color: var(--bad); color: var(--bad); }
.severity-sev2 { border-color: var(--warn); color: var(--warn); }
.status-resolved { border-color: var(--ok); color: var(--ok); }
.body { white-space: pre-wrap; overflow-wrap: anywhere; margin: 0.25rem 0 0.75rem; }
.timeline ol { padding-left: 1.25rem; }
.markdown { overflow-wrap: anywhere; }
.markdown table { border-collapse: collapse; }
.markdown th, .markdown td { border: 1px solid var(--line); padding: 0.2rem 0.5rem; text-align: left; }
.markdown pre { overflow-x: auto; }
.code { font-family: ui-monospace, monospace; color: var(--muted); }
footer { border-top: 1px solid var(--line); margin-top: 2rem; padding-top: 0.5rem; }
`;
