// The release manager's tool for the signed release feed (docs/decisions/0022, docs/runbooks/updates.md).
//
//   npm run sign-release-feed -- keygen --private ~/conclave-release.key --public packages/server/release-key.pub
//   npm run sign-release-feed -- sign --key ~/conclave-release.key --in feed.json --out feed.signed.json
//   npm run sign-release-feed -- verify --in feed.signed.json [--public packages/server/release-key.pub]
//
// `sign` checks the feed (format, versions, dates, https links) before signing the file's exact bytes; the
// private key never leaves the file it is read from and is never printed.
import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { CONCLAVE_VERSION, FeedError, SHIPPED_RELEASE_KEY_PATH, judgeFeed, openFeedEnvelope, readReleaseKey, sealFeedEnvelope } from '../packages/server/src/ops/index.ts';

const usage = `Usage:
  sign-release-feed keygen --private <file> --public <file>
  sign-release-feed sign --key <private key file> --in <feed.json> --out <signed feed>
  sign-release-feed verify --in <signed feed> [--public <public key file>]`;

const fail = (message: string, code = 1): never => {
  console.error(message);
  process.exit(code);
};

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { private: { type: 'string' }, public: { type: 'string' }, key: { type: 'string' }, in: { type: 'string' }, out: { type: 'string' }, force: { type: 'boolean', default: false } },
});

const command = positionals[0];
if (command === 'keygen') {
  if (!values.private || !values.public) fail(usage, 2);
  const privatePath = values.private as string;
  const publicPath = values.public as string;
  if (existsSync(privatePath) && !values.force) fail(`${privatePath} exists; a new key would orphan every feed signed with it. Pass --force to replace it.`);
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  writeFileSync(privatePath, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600, flag: values.force ? 'w' : 'wx' });
  writeFileSync(publicPath, publicKey.export({ type: 'spki', format: 'pem' }));
  console.log(`Private key written to ${privatePath} (mode 600): keep it offline, never in the repository.\nPublic key written to ${publicPath}: commit it; releases ship it.`);
} else if (command === 'sign') {
  if (!values.key || !values.in || !values.out) fail(usage, 2);
  const privateKey = createPrivateKey(readFileSync(values.key as string));
  let envelope: string;
  try {
    envelope = sealFeedEnvelope(readFileSync(values.in as string), privateKey);
  } catch (error) {
    fail(`${values.in} cannot be signed: ${(error as Error).message}`);
    throw error;
  }
  writeFileSync(values.out as string, envelope);
  console.log(`Signed ${values.in} into ${values.out}.`);
} else if (command === 'verify') {
  if (!values.in) fail(usage, 2);
  const keyPath = values.public ?? SHIPPED_RELEASE_KEY_PATH;
  try {
    const feed = openFeedEnvelope(readFileSync(values.in as string), readReleaseKey(keyPath));
    const verdict = judgeFeed(feed, CONCLAVE_VERSION);
    console.log(`${values.in}: the signature verifies against ${keyPath}; signed ${feed.generatedAt}; ${feed.releases.length} release(s); newest ${verdict.latest?.version ?? '(none)'}.`);
  } catch (error) {
    fail(`${values.in} does not verify: ${error instanceof FeedError ? `${error.reason}: ` : ''}${(error as Error).message}`);
  }
} else {
  fail(usage, 2);
}
