#!/usr/bin/env node
// CI's dependency check: fails on a known high or critical advisory in the production dependencies, skips
// (and says so) when the registry's audit endpoint cannot be reached. The 2017 breach came through a
// vulnerable third-party library; this makes a known one stop the build.
//
//   node scripts/advisories.mjs            runs `npm audit --omit=dev --audit-level=high --json` and decides
//   node scripts/advisories.mjs --from f   decides on a recorded output (stdout of the command above)
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Severities that fail the build. */
export const FAILING = new Set(['high', 'critical']);

/** Network error codes: the advisory service is unreachable, not clean. */
const NETWORK_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ESOCKETTIMEDOUT', 'ENETUNREACH', 'EHOSTUNREACH', 'ECONNABORTED', 'EPIPE', 'ERR_SOCKET_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_SOCKET']);

export const SKIPPED_MESSAGE = 'advisory check skipped: registry audit endpoint unreachable';

/**
 * Decides on one `npm audit --json` run: { outcome: 'clean' | 'skipped' | 'failed', lines: string[] }.
 * `run` is { status, stdout, stderr, error? } as spawnSync returns it.
 *  - a report (auditReportVersion 2) with a high or critical vulnerability: failed, listing each package,
 *    its severity and its advisories (a package flagged only through another one names it);
 *  - a report without: clean;
 *  - a network error (ENOTFOUND, ECONNREFUSED, …) or an HTTP error from the audit endpoint (a mirror or
 *    proxy without it answers 404, 405, 5xx), or a timeout: skipped;
 *  - anything else (npm missing, output that is not an audit report): failed, so nothing passes unseen.
 */
export const decide = (run) => {
  if (run.error) {
    if (run.error.code === 'ETIMEDOUT') return { outcome: 'skipped', lines: [`${SKIPPED_MESSAGE} (npm audit timed out)`] };
    return { outcome: 'failed', lines: [`advisory check failed: npm audit could not run (${run.error.code ?? run.error.message})`] };
  }
  let report;
  try {
    report = JSON.parse(run.stdout);
  } catch {
    const networkCode = [...NETWORK_CODES].find((code) => (run.stderr ?? '').includes(code));
    if (networkCode) return { outcome: 'skipped', lines: [`${SKIPPED_MESSAGE} (${networkCode})`] };
    return { outcome: 'failed', lines: [`advisory check failed: npm audit printed no report (exit ${run.status}): ${(run.stderr ?? '').trim().split('\n')[0] ?? ''}`] };
  }
  if (report && report.auditReportVersion === 2 && report.vulnerabilities && typeof report.vulnerabilities === 'object') {
    const found = Object.values(report.vulnerabilities).filter((v) => FAILING.has(v.severity));
    const counts = report.metadata?.vulnerabilities ?? {};
    const summary = `production dependencies: ${counts.critical ?? 0} critical, ${counts.high ?? 0} high, ${counts.moderate ?? 0} moderate, ${counts.low ?? 0} low`;
    if (found.length === 0) return { outcome: 'clean', lines: [`advisory check passed: no high or critical advisory (${summary})`] };
    const lines = [`advisory check FAILED: ${found.length} production package(s) with a high or critical advisory (${summary})`];
    for (const vulnerability of found.sort((a, b) => a.name.localeCompare(b.name))) {
      const advisories = vulnerability.via.filter((via) => typeof via === 'object');
      const through = vulnerability.via.filter((via) => typeof via === 'string');
      lines.push(`  ${vulnerability.name} (${vulnerability.severity}${vulnerability.isDirect ? ', direct' : ''}; affected ${vulnerability.range}${vulnerability.fixAvailable ? '; a fix is available' : '; no fix yet'})`);
      for (const advisory of advisories) lines.push(`    - ${advisory.severity}: ${advisory.title} ${advisory.url}`);
      if (through.length > 0) lines.push(`    - through ${through.join(', ')}`);
    }
    lines.push('Update them (npm update <name>, or a fixed version in package.json), or, if one cannot affect Conclave, write why in docs/decisions/ and pin the exception.');
    return { outcome: 'failed', lines };
  }
  const code = report?.error?.code;
  if (typeof code === 'string' && NETWORK_CODES.has(code)) return { outcome: 'skipped', lines: [`${SKIPPED_MESSAGE} (${code})`] };
  if (typeof report?.statusCode === 'number' && report.statusCode >= 400) return { outcome: 'skipped', lines: [`${SKIPPED_MESSAGE} (HTTP ${report.statusCode} from the audit endpoint)`] };
  return { outcome: 'failed', lines: [`advisory check failed: npm audit answered something that is not an audit report: ${JSON.stringify(report).slice(0, 200)}`] };
};

const main = () => {
  const fromIndex = process.argv.indexOf('--from');
  const run =
    fromIndex > 0
      ? { status: 1, stdout: readFileSync(process.argv[fromIndex + 1], 'utf8'), stderr: '' }
      : spawnSync('npm', ['audit', '--omit=dev', '--audit-level=high', '--json'], { encoding: 'utf8', timeout: 120_000, maxBuffer: 64 * 1024 * 1024 });
  const { outcome, lines } = decide(run);
  for (const line of lines) (outcome === 'failed' ? console.error : console.log)(line);
  process.exit(outcome === 'failed' ? 1 : 0);
};

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();
