// A mail worker in its own process, for crash tests: `node --import tsx mail-worker-process.ts --pass N --hang-at claim|accepted`.
// It delivers N mails normally; every later mail hangs right after its claim (or right after the SMTP
// server accepted it), and the process prints {"type":"hung","id":…} so the test can SIGKILL it there.
import { join } from 'node:path';
import pino from 'pino';
import { loadConfig } from '../config/config.ts';
import { createLogger } from '../http/logger.ts';
import { incidentMailRenderers } from '../incidents/index.ts';
import { createMailWorker, createSmtpTransport } from '../mail/index.ts';
import { createServices } from '../services.ts';
import { testLogDir } from './test-env.ts';

const argument = (name: string): string | undefined => {
  const index = process.argv.indexOf(name);
  return index >= 0 ? process.argv[index + 1] : undefined;
};
const pass = Number(argument('--pass') ?? '0');
const hangAt = argument('--hang-at') === 'accepted' ? 'accepted' : 'claim';
const concurrency = Number(argument('--concurrency') ?? '1');

const config = loadConfig(process.env);
const logger = createLogger('info', pino.destination({ dest: join(testLogDir(), `mail-worker-${process.pid}.log`), mkdir: true, sync: true }));
const services = await createServices(config, { logger, lazyBlocklist: true });
if (!config.smtpUrl) throw new Error('SMTP_URL is required');
let seen = 0;
const maybeHang = async (id: string): Promise<void> => {
  seen += 1;
  if (seen <= pass) return;
  process.stdout.write(`${JSON.stringify({ type: 'hung', id })}\n`);
  await new Promise(() => undefined);
};
const worker = createMailWorker(services, {
  transport: createSmtpTransport(config.smtpUrl, { maxConnections: concurrency }),
  concurrency,
  pollMs: 50,
  renderers: incidentMailRenderers(),
  hooks: hangAt === 'claim' ? { afterClaim: (mail) => maybeHang(mail.id) } : { afterAccepted: (mail) => maybeHang(mail.id) },
});
worker.start();
process.stdout.write(`${JSON.stringify({ type: 'started' })}\n`);
