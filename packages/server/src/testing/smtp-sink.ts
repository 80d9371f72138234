import type { AddressInfo } from 'node:net';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { recordSecret } from './secret-ledger.ts';

/** A mail as the sink received it, parsed. */
export interface ReceivedMail {
  messageId: string;
  from: string;
  to: string;
  subject: string;
  text: string;
  html: string;
  headers: Map<string, unknown>;
}

export interface SmtpSink {
  url: string;
  received: ReceivedMail[];
  /** Resolves once at least `count` mails arrived (or rejects after `timeoutMs`). */
  waitFor(count: number, timeoutMs?: number): Promise<ReceivedMail[]>;
  /** Mails to this address, in arrival order. */
  to(address: string): ReceivedMail[];
  close(): Promise<void>;
}

export interface SinkOptions {
  /** Refuse a recipient with an SMTP code (e.g. 550 permanent, 451 temporary); undefined accepts it. */
  rejectRecipient?: (address: string) => { code: number; message: string } | undefined;
  /** Delay before answering DATA (a slow server). */
  dataDelayMs?: number;
}

const RESET_TOKEN = /cnv_r_[A-Za-z0-9_-]{43}/g;

/** A real SMTP server (smtp-server) on 127.0.0.1 that keeps every mail it accepts, parsed with mailparser. */
export const startSmtpSink = async (options: SinkOptions = {}): Promise<SmtpSink> => {
  const received: ReceivedMail[] = [];
  const waiters: Array<() => void> = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['AUTH', 'STARTTLS'],
    logger: false,
    onRcptTo(address, _session, callback) {
      const refusal = options.rejectRecipient?.(address.address);
      if (!refusal) return callback();
      const error = new Error(refusal.message) as Error & { responseCode: number };
      error.responseCode = refusal.code;
      return callback(error);
    },
    onData(stream, _session, callback) {
      simpleParser(stream)
        .then(async (mail) => {
          if (options.dataDelayMs) await new Promise((resolve) => setTimeout(resolve, options.dataDelayMs));
          const text = mail.text ?? '';
          // Reset links are secrets: the log check after the suite looks for each one.
          for (const token of text.match(RESET_TOKEN) ?? []) recordSecret(token);
          const to = Array.isArray(mail.to) ? mail.to.map((a) => a.text).join(', ') : (mail.to?.value[0]?.address ?? '');
          received.push({
            messageId: mail.messageId ?? '',
            from: mail.from?.text ?? '',
            to,
            subject: mail.subject ?? '',
            text,
            html: typeof mail.html === 'string' ? mail.html : '',
            headers: mail.headers,
          });
          callback();
          for (const wake of waiters.splice(0)) wake();
        })
        .catch((error: Error) => callback(error));
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.server.address() as AddressInfo;
  return {
    url: `smtp://127.0.0.1:${port}`,
    received,
    to: (address) => received.filter((m) => m.to.toLowerCase() === address.toLowerCase()),
    waitFor: async (count, timeoutMs = 10_000) => {
      const deadline = Date.now() + timeoutMs;
      while (received.length < count) {
        if (Date.now() > deadline) throw new Error(`expected ${count} mail(s), the sink has ${received.length}`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 100);
          waiters.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
      return received;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
};

/** The reset token in a reset mail's text (its link carries it after #token=). */
export const resetTokenIn = (mail: ReceivedMail): string => {
  const match = /#token=(cnv_r_[A-Za-z0-9_-]{43})/.exec(mail.text);
  if (!match?.[1]) throw new Error(`no reset link in mail "${mail.subject}"`);
  return match[1];
};
