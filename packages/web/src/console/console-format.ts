import type { ContainmentStep, ContainmentTarget, IncidentSegment, NoticeTemplate } from '@conclave/protocol';

/** Words the console shows for the API's values. */
export const SEGMENT_LABELS: Record<IncidentSegment | 'everyone', string> = {
  affected: 'Affected',
  possibly_affected: 'Possibly affected',
  not_affected: 'Not affected',
  everyone: 'Everyone',
};

export const SEGMENTS: readonly IncidentSegment[] = ['affected', 'possibly_affected', 'not_affected'];

export const TARGET_LABELS: Record<ContainmentTarget | 'admins', string> = { ...SEGMENT_LABELS, admins: 'Instance admins' };

export const TEMPLATE_LABELS: Record<NoticeTemplate | 'none', string> = {
  'action-required': 'Action required (with a reset link)',
  precautionary: 'Precautionary notice',
  reassurance: 'Reassurance (not affected)',
  'follow-up': 'Follow-up',
  'admin-report': 'Report to instance admins',
  none: 'No mail',
};

export const STEP_LABELS: Record<ContainmentStep, string> = {
  'reset-passwords': 'Require a new password',
  'end-sessions': 'End sessions and API tokens',
  'rotate-keys': 'Rotate the instances\' keys',
};

export const count = (n: number, one: string, many = `${one}s`): string => `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;

/** A moment as the operator reads it: their locale and time zone, with the zone named. */
export const formatTime = (iso: string | number): string =>
  new Date(iso).toLocaleString(undefined, { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', timeZoneName: 'short' });

/** "41 h 12 min", "12 min", "under a minute". */
export const formatDuration = (ms: number): string => {
  const minutes = Math.floor(Math.abs(ms) / 60_000);
  if (minutes < 1) return 'under a minute';
  const hours = Math.floor(minutes / 60);
  const rest = minutes % 60;
  if (hours === 0) return `${rest} min`;
  return rest === 0 ? `${hours} h` : `${hours} h ${rest} min`;
};

/** The GDPR's 72 hours, counted from awareness: what is left, or how long ago it passed. */
export const deadlineWords = (deadlineAt: string, now: number, resolved: boolean): string => {
  const left = Date.parse(deadlineAt) - now;
  if (resolved) return `72-hour notification deadline: ${formatTime(deadlineAt)}`;
  return left >= 0 ? `${formatDuration(left)} left until the 72-hour notification deadline` : `The 72-hour notification deadline passed ${formatDuration(left)} ago`;
};

/** Lines of a textarea (or commas) as a list: blanks dropped, each trimmed. */
export const listOf = (text: string): string[] =>
  text
    .split(/[\n,]/)
    .map((line) => line.trim())
    .filter((line) => line.length > 0);

/** A datetime-local field's value (the operator's local time) as an ISO timestamp, or undefined when empty. */
export const isoFromLocal = (value: string): string | undefined => {
  if (!value) return undefined;
  const at = new Date(value);
  return Number.isNaN(at.getTime()) ? undefined : at.toISOString();
};
