import type { Command } from 'commander';
import { CONCLAVE_VERSION, checkReleaseFeedOnce, describeFeedUrl } from '../ops/index.ts';
import { EXIT } from './exit-codes.ts';
import { configFromEnv, runCommand } from './run.ts';

/**
 * `conclave version [--check] [--json]`. With --check it fetches the signed release feed (UPDATE_FEED_URL)
 * once and exits 0 when this is the newest release, 3 when a newer one exists, 4 when a newer one fixes a
 * security problem, 1 when the feed could not be fetched or did not verify, 78 when no feed is configured.
 */
export const registerVersionCommand = (program: Command): void => {
  program
    .command('version')
    .description('Print this version; with --check, the latest release from the signed release feed and whether it is a security release (exit 0 current, 3 update, 4 security update, 1 check failed, 78 no feed)')
    .option('--check', 'fetch the release feed (UPDATE_FEED_URL) and compare', false)
    .option('--json', 'print one JSON object', false)
    .action((options: { check: boolean; json: boolean }) =>
      runCommand(async () => {
        if (!options.check) {
          console.log(options.json ? JSON.stringify({ currentVersion: CONCLAVE_VERSION }) : `conclave ${CONCLAVE_VERSION}`);
          return EXIT.ok;
        }
        const config = configFromEnv();
        const result = await checkReleaseFeedOnce(config);
        if (options.json) {
          const { outcome } = result;
          const detail = 'verdict' in result ? { latest: result.verdict.latest, updateAvailable: result.verdict.updateAvailable, security: result.verdict.security, severity: result.verdict.severity, newer: result.verdict.newer.map((r) => r.version), feedSignedAt: result.feed.generatedAt } : 'message' in result ? { reason: result.reason, message: result.message } : {};
          console.log(JSON.stringify({ currentVersion: CONCLAVE_VERSION, outcome, ...detail }));
        } else {
          console.log(`current version: ${CONCLAVE_VERSION}`);
          if (result.outcome === 'off') console.log('No release feed is configured: set UPDATE_FEED_URL (docs/runbooks/updates.md).');
          else if ('message' in result) {
            console.log(`The release feed at ${describeFeedUrl(config.updateFeedUrl as URL)} ${result.outcome === 'unreachable' ? 'could not be fetched' : 'was refused'}: ${result.message}.`);
          } else if ('verdict' in result) {
            const { latest, security, severity, newer } = result.verdict;
            console.log(`latest release:  ${latest ? `${latest.version} (${latest.date})` : '(none listed)'}`);
            if (result.outcome === 'current') console.log('This is the latest release.');
            else {
              console.log(`security release: ${security ? `yes (severity ${severity})` : 'no'}`);
              for (const release of newer) console.log(`  ${release.version}  ${release.date}  ${release.security ? `security, ${release.severity}` : 'no security fixes'}: ${release.summary}\n             ${release.url}`);
              console.log(security ? 'Upgrade now: a newer release fixes a security problem (docs/runbooks/updates.md).' : 'An update is available (docs/runbooks/updates.md).');
            }
          }
        }
        switch (result.outcome) {
          case 'off':
            return EXIT.config;
          case 'unreachable':
          case 'rejected':
            return EXIT.failure;
          case 'current':
            return EXIT.ok;
          case 'update':
            return EXIT.updateAvailable;
          case 'security':
            return EXIT.securityUpdate;
        }
      }),
    );
};
