import { renderPostmortem } from './postmortem.markdown.ts';
import { formatUtc } from './postmortem.template.ts';
import type { PublicIncident } from './status.actions.ts';
import { escapeHtml, incidentPath, STATUS_FEED_PATH } from './status.html.ts';

/** Characters XML 1.0 cannot carry at all (other control characters, lone surrogates, U+FFFE, U+FFFF) are dropped. */
const NOT_XML = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;
const XML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };
export const escapeXml = (text: string): string => text.replace(NOT_XML, '').replace(/[&<>"']/g, (c) => XML_ESCAPES[c] ?? c);

const iso = (ms: number): string => new Date(ms).toISOString();

/** The entry's content: its public updates (newest first) and its published postmortem, as HTML. */
const entryHtml = (incident: PublicIncident): string =>
  [
    `<p>${escapeHtml(incident.severity)} · ${escapeHtml(incident.status)} · declared ${escapeHtml(formatUtc(incident.declaredAt))}${
      incident.resolvedAt === null ? '' : ` · resolved ${escapeHtml(formatUtc(incident.resolvedAt))}`
    }</p>`,
    incident.updates.length === 0
      ? ''
      : `<ul>${[...incident.updates]
          .reverse()
          .map((update) => `<li><strong>${escapeHtml(formatUtc(update.at))}${update.status ? ` (${escapeHtml(update.status)})` : ''}</strong>: ${escapeHtml(update.body)}</li>`)
          .join('')}</ul>`,
    incident.postmortem ? `<h2>Postmortem</h2>${renderPostmortem(incident.postmortem.markdown)}` : '',
  ].join('');

/**
 * GET /status/feed.atom: Atom 1.0 (RFC 4287), one entry per published incident, updated with its newest
 * public update. The content is HTML, escaped once more as XML text.
 */
export const renderStatusFeed = (name: string, origin: string, incidents: PublicIncident[], now: number): string => {
  const updated = incidents.length === 0 ? now : Math.max(...incidents.map((incident) => incident.lastUpdateAt));
  const entries = incidents.map((incident) => {
    const url = `${origin}${incidentPath(incident)}`;
    return `<entry>
<id>${escapeXml(url)}</id>
<title type="text">${escapeXml(`${incident.ref}: ${incident.title}`)}</title>
<link rel="alternate" type="text/html" href="${escapeXml(url)}"/>
<published>${iso(incident.publishedAt)}</published>
<updated>${iso(incident.lastUpdateAt)}</updated>
<content type="html">${escapeXml(entryHtml(incident))}</content>
</entry>`;
  });
  return `<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:base="${escapeXml(`${origin}/`)}">
<id>${escapeXml(`${origin}/status`)}</id>
<title type="text">${escapeXml(`${name} status`)}</title>
<updated>${iso(updated)}</updated>
<link rel="self" type="application/atom+xml" href="${escapeXml(`${origin}${STATUS_FEED_PATH}`)}"/>
<link rel="alternate" type="text/html" href="${escapeXml(`${origin}/status`)}"/>
<author><name>${escapeXml(name)}</name></author>
${entries.join('\n')}
</feed>
`;
};
