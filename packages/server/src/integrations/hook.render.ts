import { LIMITS } from '@conclave/protocol';
import { convert, type HtmlToTextOptions } from 'html-to-text';
import { AppError } from '../errors.ts';

/**
 * Turns the payloads other chat systems' tools send into a Conclave message (decision 0020): plain text, the
 * only thing a message body is. HTML (HipChat's default format) is converted to text, not sanitized: no
 * markup survives, so no allow-list has to be right for a script not to run in a client.
 */

export interface RenderedPost {
  text: string;
  /** The name to show for this message (Slack's username, HipChat's from); the hook's name when absent. */
  name?: string | undefined;
  icon?: string | undefined;
}

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

const invalid = (why: string): AppError => new AppError('HOOK_INVALID_PAYLOAD', { message: `The payload is not a webhook message: ${why}.` });

/** An optional string field: absent, null or a string; anything else is a malformed payload. */
const optionalString = (object: Json, key: string): string | undefined => {
  const value = object[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw invalid(`"${key}" must be a string`);
  return value;
};

const optionalArray = (object: Json, key: string): unknown[] => {
  const value = object[key];
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw invalid(`"${key}" must be an array`);
  return value;
};

// eslint-disable-next-line no-control-regex -- exactly the control characters a message may not hold
const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F\u2028\u2029]/g;

/** What a message body may hold: well-formed Unicode, no control characters but tab and newline, trimmed. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

export const cleanText = (text: string): string => text.replace(LONE_SURROGATE, '\uFFFD').replace(/\r\n?/g, '\n').replace(CONTROL, '').trim();

const SHORT_NAME_MAX = 80;
const shortName = (value: string | undefined): string | undefined => {
  if (value === undefined) return undefined;
  const cleaned = cleanText(value).replace(/\s+/g, ' ').slice(0, SHORT_NAME_MAX);
  return cleaned === '' ? undefined : cleaned;
};

const finish = (parts: string[], name: string | undefined, icon: string | undefined): RenderedPost => {
  const text = cleanText(parts.filter((p) => p.trim() !== '').join('\n'));
  if (text === '') throw new AppError('HOOK_NO_TEXT');
  if (text.length > LIMITS.messageMaxLength) throw new AppError('HOOK_PAYLOAD_TOO_LARGE');
  return { text, name: shortName(name), icon: shortName(icon) };
};

/**
 * Slack's mrkdwn as text: `<url|label>` becomes `label (url)`, `<!here>` and `<!channel>` the mentions
 * Conclave knows, and the three escapes Slack requires (&amp; &lt; &gt;) are undone.
 */
export const slackMrkdwnToText = (text: string): string =>
  text
    .replace(/<!(here|channel|everyone)(?:\|[^>]*)?>/g, (_m, which: string) => (which === 'here' ? '@here' : '@all'))
    .replace(/<(https?:\/\/[^|>]+)\|([^>]+)>/g, (_m, url: string, label: string) => `${label} (${url})`)
    .replace(/<(https?:\/\/[^|>]+|mailto:[^|>]+)>/g, (_m, url: string) => url)
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');

/** The text of a Block Kit text object or element (mrkdwn or plain_text), or '' for what carries none. */
const blockText = (value: unknown): string => {
  if (typeof value === 'string') return slackMrkdwnToText(value);
  if (!isObject(value)) return '';
  if (typeof value['text'] === 'string') return slackMrkdwnToText(value['text']);
  if (isObject(value['text'])) return blockText(value['text']);
  // rich_text: sections of elements (text, link, emoji, user…)
  if (Array.isArray(value['elements'])) {
    const joiner = value['type'] === 'rich_text' || value['type'] === 'rich_text_list' ? '\n' : '';
    return value['elements'].map((element) => {
      if (isObject(element) && element['type'] === 'link' && typeof element['url'] === 'string') return typeof element['text'] === 'string' ? `${element['text']} (${element['url']})` : element['url'];
      if (isObject(element) && element['type'] === 'emoji' && typeof element['name'] === 'string') return `:${element['name']}:`;
      return blockText(element);
    }).join(joiner);
  }
  return '';
};

/** Block Kit blocks as lines of text: headers, sections (with fields), context, rich text; dividers as a rule. */
export const renderSlackBlocks = (blocks: unknown[]): string[] => {
  const lines: string[] = [];
  for (const block of blocks) {
    if (!isObject(block)) throw invalid('each of "blocks" must be an object');
    switch (block['type']) {
      case 'divider':
        lines.push('---');
        break;
      case 'section': {
        const text = blockText(block['text']);
        if (text !== '') lines.push(text);
        if (Array.isArray(block['fields'])) for (const field of block['fields']) lines.push(blockText(field));
        break;
      }
      case 'context':
        lines.push((Array.isArray(block['elements']) ? block['elements'] : []).map(blockText).filter((t) => t !== '').join(' · '));
        break;
      default:
        // header, rich_text, and kinds that carry no text (actions, image: their alt text if any)
        lines.push(blockText(block) || (typeof block['alt_text'] === 'string' ? block['alt_text'] : ''));
    }
  }
  return lines;
};

/** Slack's legacy attachments as lines: pretext, author, title (and link), text, fields; fallback when nothing else. */
const renderSlackAttachment = (attachment: unknown): string[] => {
  if (!isObject(attachment)) throw invalid('each of "attachments" must be an object');
  const lines: string[] = [];
  const pretext = optionalString(attachment, 'pretext');
  const author = optionalString(attachment, 'author_name');
  const title = optionalString(attachment, 'title');
  const titleLink = optionalString(attachment, 'title_link');
  const text = optionalString(attachment, 'text');
  if (pretext) lines.push(slackMrkdwnToText(pretext));
  if (author) lines.push(author);
  if (title) lines.push(titleLink ? `${slackMrkdwnToText(title)} (${titleLink})` : slackMrkdwnToText(title));
  if (text) lines.push(slackMrkdwnToText(text));
  for (const field of optionalArray(attachment, 'fields')) {
    if (!isObject(field)) throw invalid('each of an attachment\'s "fields" must be an object');
    const fieldTitle = optionalString(field, 'title');
    const value = field['value'] === undefined || field['value'] === null ? undefined : String(field['value'] as string | number | boolean);
    if (fieldTitle || value) lines.push(`${fieldTitle ? `${fieldTitle}: ` : ''}${slackMrkdwnToText(value ?? '')}`);
  }
  lines.push(...renderSlackBlocks(optionalArray(attachment, 'blocks')));
  if (lines.every((line) => line.trim() === '')) {
    const fallback = optionalString(attachment, 'fallback');
    if (fallback) lines.push(slackMrkdwnToText(fallback));
  }
  return lines;
};

const MAX_ATTACHMENTS = 100;

/**
 * A Slack incoming-webhook payload (https://api.slack.com/messaging/webhooks): `text`, `blocks` (shown
 * instead of text when present, as Slack does), `attachments`, `username`, `icon_emoji` / `icon_url`.
 * `channel` is ignored: a hook posts to its own room, as Slack's app webhooks do.
 */
export const renderSlackPayload = (payload: unknown): RenderedPost => {
  if (!isObject(payload)) throw invalid('send a JSON object');
  const text = optionalString(payload, 'text');
  const blocks = optionalArray(payload, 'blocks');
  const attachments = optionalArray(payload, 'attachments');
  if (attachments.length > MAX_ATTACHMENTS) throw invalid(`at most ${MAX_ATTACHMENTS} attachments`);
  const blockLines = renderSlackBlocks(blocks);
  const main = blockLines.some((line) => line.trim() !== '') ? blockLines : [slackMrkdwnToText(text ?? '')];
  const parts = [...main, ...attachments.flatMap(renderSlackAttachment)];
  return finish(parts, optionalString(payload, 'username'), optionalString(payload, 'icon_emoji') ?? optionalString(payload, 'icon_url'));
};

export const HTML_TO_TEXT_OPTIONS: HtmlToTextOptions = {
  wordwrap: false,
  selectors: [
    { selector: 'img', format: 'skip' },
    { selector: 'a', options: { hideLinkHrefIfSameAsText: true, linkBrackets: ['(', ')'] } },
  ],
};

/** HTML as the text a person would read: script and style dropped, links as "label (url)", lists as lines. */
export const htmlToText = (html: string): string => convert(html, HTML_TO_TEXT_OPTIONS);

/**
 * HipChat's room notification (POST /v2/room/{room}/notification): `message` (required, 1 to 10,000
 * characters), `message_format` html (HipChat's default) or text, `from` (a label beside the sender's name),
 * `color` and `notify` (accepted and ignored: Conclave has no colours, and every message notifies).
 */
export const renderHipChatPayload = (payload: unknown): RenderedPost => {
  if (!isObject(payload)) throw invalid('send a JSON object');
  const message = optionalString(payload, 'message');
  const format = optionalString(payload, 'message_format') ?? 'html';
  if (format !== 'html' && format !== 'text') throw invalid('"message_format" is html or text');
  const color = optionalString(payload, 'color');
  if (color !== undefined && !['yellow', 'green', 'red', 'purple', 'gray', 'random'].includes(color)) throw invalid('"color" is yellow, green, red, purple, gray or random');
  if (payload['notify'] !== undefined && typeof payload['notify'] !== 'boolean') throw invalid('"notify" is true or false');
  if (message === undefined || message.trim() === '') throw new AppError('HOOK_NO_TEXT');
  return finish([format === 'html' ? htmlToText(message) : message], optionalString(payload, 'from'), undefined);
};
