import { execSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, totalmem, loadavg, release } from 'node:os';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

const versionOf = (pkg: string): string => {
  try {
    return (require(`${pkg}/package.json`) as { version: string }).version;
  } catch {
    try {
      const path = require.resolve(pkg, { paths: [process.cwd() + '/packages/server'] });
      const root = path.slice(0, path.lastIndexOf(`/node_modules/${pkg}/`) + `/node_modules/${pkg}/`.length);
      return (JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { version: string }).version;
    } catch {
      return 'unknown';
    }
  }
};

/** What a result needs to be read later: the machine, the versions and the commit. */
export const describeMachine = (packages: string[]) => {
  let commit = 'unknown';
  try {
    commit = execSync('git rev-parse --short HEAD', { encoding: 'utf8' }).trim();
  } catch {
    // not a checkout
  }
  return {
    date: new Date().toISOString(),
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    loadAverage: loadavg().map((n) => Number(n.toFixed(2))),
    kernel: release(),
    node: process.version,
    commit,
    packages: Object.fromEntries(packages.map((p) => [p, versionOf(p)])),
  };
};

export const percentile = (sorted: number[], p: number): number => {
  if (sorted.length === 0) return NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index] ?? NaN;
};

export const median = (values: number[]): number => percentile([...values].sort((a, b) => a - b), 50);
