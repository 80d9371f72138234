export { durationWords, escapeHtml, greetingName, htmlPage, renderPasswordChanged, renderPasswordReset, resetLink, utc, type RenderedMail } from './mail.templates.ts';
export { createSmtpTransport, describeSendFailure, type MailTransport, type OutgoingMessage } from './mail.transport.ts';
export {
  MailNotRenderable,
  createConfiguredMailWorker,
  createMailWorker,
  retryDelayMs,
  type MailRenderer,
  type MailRenderers,
  type MailWorker,
  type MailWorkerOptions,
  type RenderedDelivery,
} from './mail.worker.ts';
export {
  findOutboxMail,
  listOutbox,
  messageIdOf,
  notifyMailQueued,
  openMail,
  openMailError,
  openMailRecipient,
  prepareMail,
  queueMail,
  type MailContent,
  type OpenedMail,
  type OutgoingMail,
} from './outbox.actions.ts';
export { countMailsByStatus, findMailById, type MailRow } from './outbox.queries.ts';
