import nodemailer from 'nodemailer';
import { composeMail } from './mail.mime.ts';

/** One mail as it goes to the SMTP server. */
export interface OutgoingMessage {
  from: string;
  to: string;
  subject: string;
  text: string;
  html: string;
  /** `<id@host>`: the same on every attempt of one mail. */
  messageId: string;
}

export interface MailTransport {
  /** Resolves once the SMTP server accepted the message (250 after DATA); rejects with its answer otherwise. */
  send(message: OutgoingMessage): Promise<{ response: string }>;
  close(): void;
}

/** An SMTP failure as the worker classifies it: permanent (5xx) or worth another try. */
export interface SendFailure {
  permanent: boolean;
  /** For the outbox (sealed there): the server's reply or the network error. May name the recipient. */
  reason: string;
  /** For the log: the reply code or the error code only. */
  code: string;
}

export const describeSendFailure = (error: unknown): SendFailure => {
  const e = error as { responseCode?: number; response?: string; code?: string; message?: string };
  if (typeof e.responseCode === 'number') {
    return { permanent: e.responseCode >= 500 && e.responseCode < 600, reason: `${e.responseCode} ${e.response ?? e.message ?? ''}`.trim(), code: String(e.responseCode) };
  }
  return { permanent: false, reason: `${e.code ?? 'error'}: ${e.message ?? String(error)}`, code: e.code ?? 'error' };
};

/**
 * Pooled SMTP from SMTP_URL: smtp:// upgrades with STARTTLS when the server offers it, smtps:// is TLS from
 * the start. Timeouts are short so a hung server cannot hold a claim past its lease (docs/decisions/0014).
 */
export const createSmtpTransport = (url: URL, options: { maxConnections: number }): MailTransport => {
  const secure = url.protocol === 'smtps:';
  const transporter = nodemailer.createTransport({
    pool: true,
    host: url.hostname.replace(/^\[|\]$/g, ''),
    port: url.port ? Number(url.port) : secure ? 465 : 587,
    secure,
    ...(url.username ? { auth: { user: decodeURIComponent(url.username), pass: decodeURIComponent(url.password) } } : {}),
    maxConnections: options.maxConnections,
    maxMessages: 100,
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 30_000,
    logger: false,
    debug: false,
  });
  return {
    async send(message) {
      const info = await transporter.sendMail(composeMail(message));
      return { response: String(info.response ?? '') };
    },
    close() {
      transporter.close();
    },
  };
};
