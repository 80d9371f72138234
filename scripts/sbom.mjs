#!/usr/bin/env node
// `npm run sbom [-- path]`: a CycloneDX SBOM of the production dependencies (npm's own `npm sbom`, from the
// lockfile and node_modules), written to sbom.cdx.json or the given path (git-ignored by default).
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';

const out = resolve(process.argv[2] ?? 'sbom.cdx.json');
const run = spawnSync('npm', ['sbom', '--sbom-format', 'cyclonedx', '--omit', 'dev', '--sbom-type', 'application'], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
if (run.error || run.status !== 0) {
  console.error(`npm sbom failed (${run.error?.message ?? `exit ${run.status}`}): ${run.stderr.trim()}`);
  process.exit(1);
}
const sbom = JSON.parse(run.stdout);
if (sbom.bomFormat !== 'CycloneDX') {
  console.error('npm sbom did not print a CycloneDX document');
  process.exit(1);
}
writeFileSync(out, `${JSON.stringify(sbom, null, 2)}\n`);
console.log(`Wrote ${out}: CycloneDX ${sbom.specVersion}, ${sbom.components?.length ?? 0} production components.`);
