import { incidentRef, type OpenedIncident, type OpenedIncidentUpdate } from './incident.seal.ts';

/** 2025-06-01 14:05 UTC */
export const formatUtc = (ms: number): string => `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;

/** One line (a heading or a table cell), pipes escaped. */
const cell = (text: string): string => text.replace(/\s*[\r\n]+\s*/g, ' ').replaceAll('|', '\\|');

/** A list item whose text may span lines: continuation lines indented under it. */
const listItem = (text: string): string => `- ${text.trim().split(/\r?\n/).join('\n  ')}`;

const TODO = (what: string): string => `_${what}_`;

/**
 * A postmortem skeleton for the operator to edit: the sections a blameless postmortem has, prefilled from
 * the incident (title, severity, times) and its public timeline only, so nothing internal slips into a
 * text meant for publication.
 */
export const postmortemTemplate = (incident: OpenedIncident, publicTimeline: OpenedIncidentUpdate[] = []): string => {
  const timeline = publicTimeline.filter((entry) => entry.public);
  return [
    `# Postmortem: ${incidentRef(incident)} — ${cell(incident.title)}`,
    '',
    `- **Severity:** ${incident.severity}`,
    `- **Status:** ${incident.status}`,
    `- **Declared:** ${formatUtc(incident.declaredAt)}`,
    `- **Resolved:** ${incident.resolvedAt === null ? 'not yet' : formatUtc(incident.resolvedAt)}`,
    '',
    '## Summary',
    '',
    TODO('In a few sentences: what happened, who was affected and for how long, and what we did about it.'),
    '',
    '## Lead-up',
    '',
    TODO('The changes and circumstances that led to the fault.'),
    '',
    '## Fault',
    '',
    TODO('What failed, and how: the technical cause.'),
    '',
    '## Impact',
    '',
    TODO('Who and what was affected: people, instances, data, for how long.'),
    '',
    '## Detection',
    '',
    TODO('How and when we learned of it; how we could have learned sooner.'),
    '',
    '## Response',
    '',
    TODO('Who did what, and what helped or slowed the response.'),
    '',
    '## Recovery',
    '',
    TODO('How service and data were restored, and how we know they are.'),
    '',
    '## Timeline',
    '',
    'All times UTC.',
    '',
    ...(timeline.length === 0
      ? [TODO('No public update yet: list what happened, when.')]
      : timeline.map((entry) => listItem(`**${formatUtc(entry.at).replace(' UTC', '')}**${entry.status ? ` (${entry.status})` : ''}: ${entry.body}`))),
    '',
    '## Lessons',
    '',
    '### What went well',
    '',
    TODO('…'),
    '',
    '### What went wrong',
    '',
    TODO('…'),
    '',
    '### Where we got lucky',
    '',
    TODO('…'),
    '',
    '## Actions',
    '',
    '| action | owner | due date | status |',
    '|---|---|---|---|',
    `| ${TODO('What will be done')} | ${TODO('who')} | ${TODO('YYYY-MM-DD')} | open |`,
    '',
  ].join('\n');
};
