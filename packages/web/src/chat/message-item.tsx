import type { Message } from '@conclave/protocol';
import { memo, useState, type KeyboardEvent } from 'react';
import { describeError } from '../api.ts';
import { useChatStore } from './chat-context.tsx';
import type { MemberInfo } from './chat-store.ts';
import { MessageBody } from './message-body.tsx';
import { displayName, formatFull, formatTime } from './names.ts';

export const QUICK_REACTIONS = ['👍', '❤️', '😄', '🎉', '👀', '✅'] as const;

interface MessageItemProps {
  message: Message;
  me: string;
  members: Record<string, MemberInfo> | undefined;
  /** Room owner or instance admin: may delete anyone's message. */
  canModerate: boolean;
  canPost: boolean;
  highlighted: boolean;
}

export const MessageItem = memo(function MessageItem({ message, me, members, canModerate, canPost, highlighted }: MessageItemProps) {
  const store = useChatStore();
  const [editing, setEditing] = useState(false);
  const [draft, setDraft] = useState(message.body);
  const [picking, setPicking] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const mine = message.authorId === me;
  const author = displayName(members, message.authorId);
  const mentionsMe = message.mentions.accountIds.includes(me);

  const run = (work: Promise<void>) => {
    setError(null);
    work.catch((caught: unknown) => setError(describeError(caught)));
  };

  const save = () => {
    const body = draft.trim();
    if (!body || body === message.body) {
      setEditing(false);
      return;
    }
    run(store.edit(message.roomId, message.id, body).then(() => setEditing(false)));
  };

  const onEditKey = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault();
      save();
    } else if (event.key === 'Escape') {
      event.preventDefault();
      setEditing(false);
      setDraft(message.body);
    }
  };

  const toggle = (emoji: string) => {
    const present = !message.reactions.find((r) => r.emoji === emoji)?.accountIds.includes(me);
    setPicking(false);
    run(store.react(message.roomId, message.id, emoji, present));
  };

  const classes = ['message', mine ? 'mine' : '', mentionsMe ? 'mentions-me' : '', highlighted ? 'highlighted' : '', message.deleted ? 'deleted' : ''].filter(Boolean).join(' ');
  return (
    <li className={classes} id={`message-${message.id}`} data-message-id={message.id}>
      <div className="message-meta">
        <span className="author">{author}</span>
        <time dateTime={message.createdAt} title={formatFull(message.createdAt)}>
          {formatTime(message.createdAt)}
        </time>
        {message.editedAt && !message.deleted ? (
          <span className="edited" title={`Edited ${formatFull(message.editedAt)}`}>
            (edited)
          </span>
        ) : null}
        {mentionsMe ? <span className="visually-hidden">Mentions you.</span> : null}
      </div>
      {message.deleted ? (
        <div className="message-body tombstone">This message was deleted.</div>
      ) : editing ? (
        <div className="message-edit">
          <label className="visually-hidden" htmlFor={`edit-${message.id}`}>
            Edit your message
          </label>
          <textarea id={`edit-${message.id}`} value={draft} onChange={(event) => setDraft(event.target.value)} onKeyDown={onEditKey} autoFocus rows={2} />
          <div className="row">
            <button type="button" className="primary small" onClick={save}>
              Save
            </button>
            <button type="button" className="small" onClick={() => { setEditing(false); setDraft(message.body); }}>
              Cancel
            </button>
            <span className="hint">Enter saves, Escape cancels.</span>
          </div>
        </div>
      ) : (
        <MessageBody body={message.body} members={members} me={me} />
      )}
      {message.attachments.length > 0 ? (
        <ul className="attachments" aria-label="Files">
          {message.attachments.map((file) => {
            const href = `/api/v1/rooms/${message.roomId}/files/${file.id}`;
            return (
              <li key={file.id}>
                {file.hasPreview ? <img src={`${href}/preview`} alt={file.name} className="attachment-preview" loading="lazy" /> : null}
                <a href={href} download={file.name}>
                  {file.name}
                </a>{' '}
                <span className="hint">{file.sizeBytes < 1024 * 1024 ? `${Math.max(1, Math.round(file.sizeBytes / 1024))} KB` : `${(file.sizeBytes / (1024 * 1024)).toFixed(1)} MB`}</span>
              </li>
            );
          })}
        </ul>
      ) : null}
      {message.reactions.length > 0 ? (
        <ul className="reactions" aria-label="Reactions">
          {message.reactions.map((reaction) => {
            const reacted = reaction.accountIds.includes(me);
            const who = reaction.accountIds.map((id) => displayName(members, id)).join(', ');
            return (
              <li key={reaction.emoji}>
                <button
                  type="button"
                  className={reacted ? 'reaction reacted' : 'reaction'}
                  aria-pressed={reacted}
                  disabled={!canPost}
                  title={who}
                  aria-label={`${reaction.emoji} ${reaction.accountIds.length}: ${who}${reacted ? ' (you reacted; press to take it back)' : ''}`}
                  onClick={() => toggle(reaction.emoji)}
                >
                  <span aria-hidden="true">{reaction.emoji}</span> <span aria-hidden="true">{reaction.accountIds.length}</span>
                </button>
              </li>
            );
          })}
        </ul>
      ) : null}
      {!message.deleted && !editing ? (
        <div className="message-actions" role="group" aria-label={`Actions on ${author}'s message at ${formatTime(message.createdAt)}`}>
          {canPost ? (
            <button type="button" className="small ghost" aria-expanded={picking} onClick={() => setPicking((v) => !v)}>
              React
            </button>
          ) : null}
          {mine && canPost ? (
            <button type="button" className="small ghost" onClick={() => { setDraft(message.body); setEditing(true); }}>
              Edit
            </button>
          ) : null}
          {mine || canModerate ? (
            <button
              type="button"
              className="small ghost danger"
              onClick={() => {
                if (window.confirm('Delete this message for everyone? A note that it was deleted stays in its place.')) run(store.remove(message.roomId, message.id));
              }}
            >
              Delete
            </button>
          ) : null}
        </div>
      ) : null}
      {picking ? (
        <div className="reaction-picker" role="group" aria-label="Pick a reaction">
          {QUICK_REACTIONS.map((emoji) => (
            <button key={emoji} type="button" className="small ghost" onClick={() => toggle(emoji)} aria-label={`React with ${emoji}`}>
              {emoji}
            </button>
          ))}
        </div>
      ) : null}
      {error ? (
        <p className="field-error" role="alert">
          {error}
        </p>
      ) : null}
    </li>
  );
});
