export { escapeHtml, renderPasswordChanged, renderPasswordReset, resetLink, type RenderedMail } from './mail.templates.ts';
export { createSmtpTransport, describeSendFailure, type MailTransport, type OutgoingMessage } from './mail.transport.ts';
export { createConfiguredMailWorker, createMailWorker, retryDelayMs, type MailWorker, type MailWorkerOptions } from './mail.worker.ts';
export {
  findOutboxMail,
  listOutbox,
  messageIdOf,
  notifyMailQueued,
  openMail,
  prepareMail,
  queueMail,
  type MailContent,
  type OpenedMail,
  type OutgoingMail,
} from './outbox.actions.ts';
export { countMailsByStatus, findMailById, type MailRow } from './outbox.queries.ts';
