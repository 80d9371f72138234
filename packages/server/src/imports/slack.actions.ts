import type { Attachment } from '@conclave/protocol';
import { addImportedMembers, importMessage, importRoom, mentionKey } from '../chat/index.ts';
import type { AppContext } from '../context.ts';
import { AppError } from '../errors.ts';
import { fileLimitOf, insertFile, storeFile, type StoredUpload } from '../files/index.ts';
import { findOrCreateImportedAccount, openDisplayName } from '../identity/index.ts';
import { findInstanceOwner, insertMapping, listAccountNames, listMappings, type MappingKind } from './import.queries.ts';
import { DEFAULT_ARCHIVE_LIMITS, SlackArchive, type ArchiveLimits } from './slack.archive.ts';
import { convertMrkdwn } from './slack.mrkdwn.ts';

/** The parts of Slack's export format (users.json, channels.json, <channel>/<YYYY-MM-DD>.json) read here. */
interface SlackUser {
  id: string;
  name?: string;
  real_name?: string;
  deleted?: boolean;
  is_bot?: boolean;
  profile?: { email?: string; real_name?: string; display_name?: string };
}
interface SlackChannel {
  id: string;
  name: string;
  created?: number;
  creator?: string;
  topic?: { value?: string };
  purpose?: { value?: string };
  members?: string[];
}
interface SlackFile {
  id?: string;
  name?: string;
  mimetype?: string;
}
interface SlackMessage {
  type?: string;
  subtype?: string;
  user?: string;
  text?: string;
  ts?: string;
  thread_ts?: string;
  reactions?: Array<{ name?: string; users?: string[] }>;
  files?: SlackFile[];
}

export interface SlackImportSummary {
  people: { created: number; matched: number; earlier: number };
  channels: { created: number; earlier: number };
  messages: { created: number; earlier: number };
  files: { created: number };
  reactions: number;
  /** Why things were left out, and how many of each. */
  skipped: Record<string, number>;
}

export interface SlackImportOptions {
  file: string;
  instanceId: string;
  limits?: ArchiveLimits;
  onProgress?: (done: number, total: number) => void;
}

const SOURCE = 'slack';
/** Kinds of message kept: plain ones, thread replies also sent to the channel, file shares, /me. */
const KEPT_SUBTYPES = new Set([undefined, 'thread_broadcast', 'file_share', 'me_message']);
const DAY_FILE = /^(.+)\/(\d{4}-\d{2}-\d{2})\.json$/;
const UPLOAD = /^__uploads\/([^/]+)\/([^/]+)$/;

const refuse = (why: string): AppError => new AppError('IMPORT_ARCHIVE_INVALID', { message: `The export archive cannot be imported: ${why} Nothing was imported.` });
const tsToMs = (ts: string): number => Math.floor(Number(ts) * 1000);

/**
 * `conclave import slack` (decision 0021): people (matched by email, or created needing a password reset),
 * public channels as rooms (topic and purpose as the topic), messages in time order with thread replies
 * marked "↳", simple reactions, and files the archive carries under __uploads/<file id>/. Each thing
 * brought in is recorded in import_mappings in the transaction that writes it, so a second run (or a run
 * after an interruption) writes nothing twice.
 */
export const importSlack = async (ctx: AppContext, options: SlackImportOptions): Promise<SlackImportSummary> => {
  const archive = await SlackArchive.open(options.file, options.limits ?? DEFAULT_ARCHIVE_LIMITS);
  try {
    const users = await archive.json<unknown>('users.json');
    const channels = await archive.json<unknown>('channels.json');
    if (!Array.isArray(users) || !users.every((u) => typeof (u as SlackUser)?.id === 'string')) throw refuse('users.json is not a list of users.');
    if (!Array.isArray(channels) || !channels.every((c) => typeof (c as SlackChannel)?.id === 'string' && typeof (c as SlackChannel)?.name === 'string')) {
      throw refuse('channels.json is not a list of channels.');
    }
    const { instanceId } = options;
    const db = ctx.database.db;
    const summary: SlackImportSummary = { people: { created: 0, matched: 0, earlier: 0 }, channels: { created: 0, earlier: 0 }, messages: { created: 0, earlier: 0 }, files: { created: 0 }, reactions: 0, skipped: {} };
    const skip = (reason: string) => {
      summary.skipped[reason] = (summary.skipped[reason] ?? 0) + 1;
    };
    const map = (kind: MappingKind, sourceId: string, targetId: string) => ({ source: SOURCE, instance_id: instanceId, kind, source_id: sourceId, target_id: targetId, created_at: ctx.now() });

    const days = archive.names().filter((name) => DAY_FILE.test(name)).sort();
    const total = users.length + channels.length + days.length;
    let done = 0;
    const step = () => options.onProgress?.((done += 1), total);
    options.onProgress?.(0, total);

    // People.
    const userIds = await listMappings(db, SOURCE, instanceId, 'user');
    for (const user of users as SlackUser[]) {
      step();
      if (userIds.has(user.id)) {
        summary.people.earlier += 1;
        continue;
      }
      if (user.is_bot || user.id === 'USLACKBOT') {
        skip('bot');
        continue;
      }
      const email = user.profile?.email;
      if (!email) {
        skip('person without an email');
        continue;
      }
      const displayName = user.profile?.real_name || user.real_name || user.profile?.display_name || user.name || email;
      const found = await findOrCreateImportedAccount(ctx, { email, displayName, instanceId });
      if ('problem' in found) {
        skip(`person: ${found.problem}`);
        continue;
      }
      await insertMapping(db, map('user', user.id, found.accountId));
      userIds.set(user.id, found.accountId);
      if (found.created) summary.people.created += 1;
      else summary.people.matched += 1;
    }
    const names = new Map<string, string>();
    for (const row of await listAccountNames(db, [...new Set(userIds.values())])) names.set(row.id, openDisplayName(ctx.keyring, row.id, row.display_name));
    const userMention = (slackId: string) => {
      const accountId = userIds.get(slackId);
      const name = accountId ? names.get(accountId) : undefined;
      return name ? mentionKey(name) : undefined;
    };

    // Channels.
    const channelIds = await listMappings(db, SOURCE, instanceId, 'channel');
    const channelNames = new Map((channels as SlackChannel[]).map((c) => [c.id, c.name]));
    const fallbackOwner = await findInstanceOwner(db, instanceId);
    for (const channel of channels as SlackChannel[]) {
      step();
      let roomId = channelIds.get(channel.id);
      if (roomId) summary.channels.earlier += 1;
      else {
        const createdBy = (channel.creator ? userIds.get(channel.creator) : undefined) ?? fallbackOwner;
        if (!createdBy) throw refuse('the instance has no owner to create its rooms.');
        const topic = [channel.topic?.value, channel.purpose?.value].map((v) => convertMrkdwn(v ?? '', { userMention, channelName: (id) => channelNames.get(id) }).trim()).filter(Boolean);
        const room = await importRoom(ctx, {
          instanceId,
          name: channel.name,
          topic: [...new Set(topic)].join(' — '),
          createdBy,
          createdAt: channel.created ? channel.created * 1000 : ctx.now(),
          onWrite: (trx, id) => insertMapping(trx, map('channel', channel.id, id)),
        });
        roomId = room.id;
        channelIds.set(channel.id, roomId);
        summary.channels.created += 1;
      }
    }

    // Messages, channel by channel, oldest first.
    const messageIds = await listMappings(db, SOURCE, instanceId, 'message');
    const uploads = new Map<string, string>();
    for (const name of archive.names()) {
      const match = UPLOAD.exec(name);
      if (match?.[1]) uploads.set(match[1], name);
    }
    const fileLimit = await fileLimitOf(ctx, instanceId);
    for (const channel of channels as SlackChannel[]) {
      const roomId = channelIds.get(channel.id) as string;
      const room = { id: roomId, instance_id: instanceId };
      const channelDays = days.filter((day) => DAY_FILE.exec(day)?.[1] === channel.name);
      const messages: SlackMessage[] = [];
      for (const day of channelDays) {
        step();
        const list = await archive.json<unknown>(day);
        if (!Array.isArray(list)) throw refuse(`${day} is not a list of messages.`);
        for (const message of list as SlackMessage[]) {
          if (typeof message?.ts !== 'string' || !Number.isFinite(Number(message.ts))) skip('message without a time');
          else messages.push(message);
        }
      }
      messages.sort((a, b) => Number(a.ts) - Number(b.ts));
      const authors = new Set<string>();
      for (const id of [...(channel.members ?? []), ...messages.map((m) => m.user ?? '')]) {
        const accountId = userIds.get(id);
        if (accountId) authors.add(accountId);
      }
      await addImportedMembers(ctx, roomId, authors, channel.created ? channel.created * 1000 : ctx.now());
      const members = [...authors].map((id) => ({ account_id: id, display_name: names.get(id) ?? '' }));
      const keys = await ctx.keyring.owner(roomId);
      let lastIdAt = 0;
      for (const message of messages) {
        const ts = message.ts as string;
        const sourceId = `${channel.id}:${ts}`;
        if (messageIds.has(sourceId)) {
          summary.messages.earlier += 1;
          continue;
        }
        if (!KEPT_SUBTYPES.has(message.subtype)) {
          skip(`event, not a message (${message.subtype})`);
          continue;
        }
        const authorId = message.user ? userIds.get(message.user) : undefined;
        if (!authorId) {
          skip('author not imported (a bot, or a person without an email)');
          continue;
        }
        const createdAt = tsToMs(ts);
        const isReply = message.thread_ts !== undefined && message.thread_ts !== ts;
        const text = convertMrkdwn(message.text ?? '', { userMention, channelName: (id) => channelNames.get(id) }).trim();
        const stored: StoredUpload[] = [];
        for (const file of message.files ?? []) {
          const entry = file.id ? uploads.get(file.id) : undefined;
          if (!entry) {
            skip('file not in the export');
            continue;
          }
          if ((archive.sizeOf(entry) ?? 0) > fileLimit) {
            skip('file larger than the instance allows');
            continue;
          }
          stored.push(
            await storeFile(ctx, { roomId, instanceId, keys, uploaderId: authorId }, {
              stream: await archive.stream(entry),
              fileName: file.name ?? entry.split('/').pop(),
              claimedType: file.mimetype ?? '',
              truncated: () => false,
              limitBytes: fileLimit,
              createdAt,
            }),
          );
        }
        if (text === '' && stored.length === 0) {
          skip('empty message');
          continue;
        }
        const reactions = (message.reactions ?? [])
          .filter((r) => typeof r.name === 'string' && /^[a-z0-9_+'-]+(::[a-z0-9_-]+)?$/i.test(r.name) && r.name.length <= 60)
          .map((r) => ({ emoji: `:${r.name}:`, accountIds: [...new Set((r.users ?? []).map((u) => userIds.get(u)).filter((id): id is string => id !== undefined))] }))
          .filter((r) => r.accountIds.length > 0);
        lastIdAt = Math.max(createdAt, lastIdAt + 1);
        const attachments: Attachment[] = stored.map((s) => s.attachment);
        try {
          const id = await importMessage(ctx, {
            room,
            authorId,
            body: isReply ? `↳ ${text}` : text,
            createdAt,
            idAt: lastIdAt,
            reactions,
            members,
            ...(stored.length > 0
              ? {
                  files: {
                    attachments,
                    insert: async (trx, messageId) => {
                      for (const s of stored) {
                        await insertFile(trx, { ...s.row, message_id: messageId });
                        await insertMapping(trx, map('file', `${channel.id}:${ts}:${s.id}`, s.id));
                      }
                    },
                  },
                }
              : {}),
            onWrite: (trx, messageId) => insertMapping(trx, map('message', sourceId, messageId)),
          });
          messageIds.set(sourceId, id);
        } catch (error) {
          await ctx.fileStore.remove(stored.map((s) => s.id));
          throw error;
        }
        summary.messages.created += 1;
        summary.files.created += stored.length;
        summary.reactions += reactions.reduce((n, r) => n + r.accountIds.length, 0);
      }
    }
    await ctx.searchIndexer.flush();
    await ctx.audit.record({ action: 'import.slack', instanceId, detail: { ...summary } });
    return summary;
  } finally {
    archive.close();
  }
};
