import type { Command } from 'commander';
import { buildApp } from '../app.ts';
import { createServices } from '../services.ts';
import { issueSetupToken } from '../instances/index.ts';
import { incidentMailRenderers } from '../incidents/index.ts';
import { createConfiguredMailWorker } from '../mail/index.ts';
import { createDeliveryWorker } from '../integrations/index.ts';
import { startMetricsServer } from '../ops/index.ts';
import { configFromEnv, runCommand } from './run.ts';

export const registerServeCommand = (program: Command): void => {
  program
    .command('serve')
    .description('Run the server (migrates the database first; prints a one-time setup token on a fresh install)')
    .action(() =>
      runCommand(async () => {
        const config = configFromEnv();
        const services = await createServices(config);
        const app = await buildApp(services);
        const setupToken = await issueSetupToken(services);
        await app.listen({ port: config.port, host: config.host });
        await services.startAudit();
        services.startUpdateChecks();
        const metricsServer = config.metricsPort === undefined ? undefined : await startMetricsServer(services, { host: config.metricsHost, port: config.metricsPort });
        // Incident notices are rendered when sent; the incidents domain renders them.
        const mailWorker = createConfiguredMailWorker(services, { renderers: incidentMailRenderers() });
        mailWorker?.start();
        // Outgoing webhooks: every serving node delivers; leases keep two from sending one delivery at once.
        const deliveryWorker = createDeliveryWorker(services);
        deliveryWorker.start();
        if (!mailWorker) services.log.warn('SMTP_URL is not set: mail waits in the outbox; read it with conclave mail list and conclave mail show <id>');
        const address = app.server.address();
        const port = typeof address === 'object' && address ? address.port : config.port;
        const storage = services.database.engine === 'sqlite' ? `SQLite at ${services.database.location}` : `PostgreSQL at ${services.database.location}`;
        // Before the banner: whoever saw it may stop the server at once, and that must be a clean stop.
        let closing = false;
        const shutdown = async (signal: string) => {
          if (closing) return;
          closing = true;
          services.log.info({ signal }, 'shutting down');
          await app.close();
          await metricsServer?.close();
          // Mails in flight finish and are marked; nothing new is claimed.
          await mailWorker?.stop();
          await deliveryWorker.stop();
          await services.close();
        };
        process.once('SIGINT', () => void shutdown('SIGINT'));
        process.once('SIGTERM', () => void shutdown('SIGTERM'));
        // One write, so whoever reads the output sees the banner and the token together.
        const banner = [`\nConclave is serving ${config.publicUrl.origin} (listening on ${config.host}:${port}; ${storage}).`];
        if (config.port === 0) banner.push('PORT=0 chose the port above; set PUBLIC_URL to the address people use.');
        if (metricsServer) banner.push(`Metrics for Prometheus at ${metricsServer.url}${config.metricsToken ? ' (with the METRICS_TOKEN bearer)' : ''}.`);
        else if (config.metricsToken) banner.push('Metrics for Prometheus at /metrics on this port, with the METRICS_TOKEN bearer.');
        if (!mailWorker) banner.push('SMTP_URL is not set: mail waits in the outbox; read it with conclave mail list and conclave mail show <id>.');
        if (setupToken) {
          // Printed to the terminal for the operator, never written to the log.
          banner.push(
            '',
            'This server is not set up yet. Create the first instance and its owner with this one-time token:',
            '',
            `    ${setupToken}`,
            '',
            `  - in a browser: open ${config.publicUrl.origin}/setup and paste it`,
            `  - through the API: POST ${config.publicUrl.origin}/api/v1/setup`,
            '  - or from this machine, without the token: npx conclave setup',
            '',
            'A new token is printed at every start until setup is done; only the latest one works.',
            '',
          );
        }
        console.log(banner.join('\n'));
      }),
    );
};
