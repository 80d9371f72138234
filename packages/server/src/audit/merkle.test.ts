import assert from 'node:assert/strict';
import { test } from 'node:test';
import { consistencyProof, EMPTY_ROOT, inclusionProof, leafHash, rootOf, TreeBuilder, verifyConsistency, verifyInclusion } from './merkle.ts';

const leaves = (n: number): Buffer[] => Array.from({ length: n }, (_, i) => leafHash(`entry ${i}`));

test('RFC 6962 test vectors: the empty tree and the 8-leaf tree of the CT reference data', () => {
  assert.equal(EMPTY_ROOT.toString('hex'), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  // Leaves of certificate-transparency-go's merkle test data ("", 0x00, 0x10, 0x2021, 0x3031, 0x40414243, …).
  const data = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map((hex) => leafHash(Buffer.from(hex, 'hex')));
  assert.equal(rootOf(data).toString('hex'), '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328');
  assert.equal(rootOf(data.slice(0, 1)).toString('hex'), '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d');
  assert.equal(rootOf(data.slice(0, 3)).toString('hex'), 'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77');
});

test('the incremental builder gives the recursive root at every size', () => {
  const all = leaves(70);
  const builder = new TreeBuilder();
  for (let n = 1; n <= all.length; n += 1) {
    builder.push(all[n - 1] as Buffer);
    assert.ok(builder.root().equals(rootOf(all.slice(0, n))), `size ${n}`);
  }
});

test('inclusion and consistency proofs verify, and fail for the wrong leaf, index or root', () => {
  const all = leaves(23);
  const root = rootOf(all);
  for (let i = 0; i < all.length; i += 1) {
    const proof = inclusionProof(i, all);
    assert.ok(verifyInclusion(i, all.length, all[i] as Buffer, proof, root), `leaf ${i}`);
    assert.ok(!verifyInclusion(i, all.length, leafHash('forged'), proof, root));
    assert.ok(!verifyInclusion((i + 1) % all.length, all.length, all[i] as Buffer, proof, root) || all.length === 1);
  }
  for (let m = 1; m <= all.length; m += 1) {
    const proof = consistencyProof(m, all);
    const older = rootOf(all.slice(0, m));
    assert.ok(verifyConsistency(m, all.length, older, root, proof), `size ${m}`);
    if (m < all.length) assert.ok(!verifyConsistency(m, all.length, leafHash('x'), root, proof), `forged old root at ${m}`);
  }
  const rewritten = [...all];
  rewritten[3] = leafHash('rewritten history');
  assert.ok(!verifyConsistency(10, all.length, rootOf(all.slice(0, 10)), rootOf(rewritten), consistencyProof(10, rewritten)), 'a rewritten past is not consistent');
});

test('checkpoints: a C2SP signed note that verifies with the key, and not with another key or altered text', async () => {
  const { randomBytes } = await import('node:crypto');
  const { openCheckpoint, signCheckpoint, signerFromSeed } = await import('./checkpoint.ts');
  const signer = signerFromSeed(randomBytes(32), 'chat.example.org/audit');
  const note = signCheckpoint(signer, { origin: 'chat.example.org/audit', size: 23, root: rootOf(leaves(23)) });
  assert.match(note, /^chat\.example\.org\/audit\n23\n[A-Za-z0-9+/]{43}=\n\n— chat\.example\.org\/audit [A-Za-z0-9+/]{91}=\n$/);
  const opened = openCheckpoint(note, signer.keyName, signer.publicKey);
  assert.ok(opened.ok && opened.checkpoint.size === 23 && opened.checkpoint.root.equals(rootOf(leaves(23))));
  const other = signerFromSeed(randomBytes(32), 'chat.example.org/audit');
  assert.deepEqual(openCheckpoint(note, other.keyName, other.publicKey), { ok: false, problem: 'its signature is not by the audit key' });
  assert.equal(openCheckpoint(note.replace('\n23\n', '\n24\n'), signer.keyName, signer.publicKey).ok, false, 'a changed size');
  assert.equal(openCheckpoint(signCheckpoint(other, { origin: 'x', size: 1, root: leafHash('a') }), signer.keyName, signer.publicKey).ok, false);
});

test('a tree resumed from its stored compact range grows to the same roots; a wrong range is refused', () => {
  const all = leaves(40);
  for (let n = 1; n < all.length; n += 1) {
    const built = new TreeBuilder();
    for (const leaf of all.slice(0, n)) built.push(leaf);
    const resumed = TreeBuilder.fromFrontier(n, built.frontier());
    assert.ok(resumed, `size ${n}`);
    for (const leaf of all.slice(n)) resumed.push(leaf);
    assert.ok(resumed.root().equals(rootOf(all)), `resumed at ${n}`);
  }
  assert.equal(TreeBuilder.fromFrontier(3, [leafHash('a').toString('hex')]), undefined, 'size 3 needs two subtree roots');
});

test('aligned ranges hashed apart and appended by their compact ranges give the same roots as leaf by leaf', () => {
  const all = leaves(45);
  for (const span of [1, 2, 4, 8, 16]) {
    const tree = new TreeBuilder();
    for (let start = 0; start < all.length; start += span) {
      const range = new TreeBuilder();
      for (const leaf of all.slice(start, start + span)) {
        range.pushHex(leaf.toString('hex'));
        const grown = tree.clone();
        grown.appendRange(range.size, range.frontier());
        assert.ok(grown.root().equals(rootOf(all.slice(0, start + range.size))), `span ${span}, size ${start + range.size}`);
      }
      tree.appendRange(range.size, range.frontier());
    }
    assert.ok(tree.root().equals(rootOf(all)), `span ${span}`);
  }
  const odd = new TreeBuilder();
  odd.push(all[0] as Buffer);
  assert.throws(() => odd.appendRange(2, [rootOf(all.slice(0, 2)).toString('hex')]), /not aligned/);
  assert.throws(() => odd.push(Buffer.from('zz', 'hex')), /a leaf hash is 32 bytes/);
});
