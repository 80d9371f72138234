import { startSmtpSink, type SmtpSink } from '../../packages/server/src/testing/smtp-sink.ts';
import { launch, type Browser } from './browser.ts';
import { setUpInstance, startE2eServer, type E2eServer, type Person } from './server.ts';

/** What most journeys start from: a server whose mail a test SMTP server catches, a browser, and Acme owned by Ada. */
export interface World {
  sink: SmtpSink;
  server: E2eServer;
  browser: Browser;
  instanceId: string;
  ada: Person;
  close(): Promise<void>;
}

export const ADA = { email: 'ada@example.org', displayName: 'Ada', password: 'a long pass phrase for ada' } as const;

export const startWorld = async (label: string, chromiumPath: string, env: Record<string, string> = {}): Promise<World> => {
  const sink = await startSmtpSink();
  const server = await startE2eServer(label, { SMTP_URL: sink.url, ...env });
  const browser = await launch(chromiumPath);
  const { instanceId, owner: ada } = await setUpInstance(server, ADA);
  return {
    sink,
    server,
    browser,
    instanceId,
    ada,
    close: async () => {
      await browser.close();
      await server.stop();
      await sink.close();
    },
  };
};
