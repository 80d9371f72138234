import { recordSecret } from '../../packages/server/src/testing/secret-ledger.ts';
import type { ReceivedMail, SmtpSink } from '../../packages/server/src/testing/smtp-sink.ts';

/** The reset link in a mail, whole: ${PUBLIC_URL}/reset-password#token=cnv_r_… (its token joins the ledger). */
export const resetLinkIn = (mail: ReceivedMail): string => {
  const link = /(http:\/\/127\.0\.0\.1:\d+\/reset-password#token=cnv_r_[A-Za-z0-9_-]{43})/.exec(mail.text)?.[1];
  if (!link) throw new Error(`no reset link in "${mail.subject}"`);
  recordSecret(new URL(link).hash.slice('#token='.length));
  return link;
};

/** The first mail to `to` with a reset link among those after the first `seen` (notices have none). */
export const waitForResetMail = async (sink: SmtpSink, to: string, seen: number): Promise<ReceivedMail> => {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const found = sink.to(to).slice(seen).find((mail) => mail.text.includes('/reset-password#token='));
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`no reset mail to ${to} after the first ${seen}; got ${sink.to(to).map((m) => m.subject).join(', ')}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
};
