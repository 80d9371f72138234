import assert from 'node:assert/strict';
import { test } from 'node:test';
import qrcode from 'qrcode-generator';
import { qrPath } from './qr-path.ts';

/** The modules a path draws, read back: each "M x y h n" run paints n modules of row y from column x. */
const paintedBy = (d: string, margin: number): Set<string> => {
  const painted = new Set<string>();
  for (const match of d.matchAll(/M(\d+) (\d+)h(\d+)v1h-\3z/g)) {
    const [x, y, n] = [Number(match[1]), Number(match[2]), Number(match[3])];
    for (let i = 0; i < n; i += 1) painted.add(`${y - margin},${x - margin + i}`);
  }
  return painted;
};

test('the path paints exactly the dark modules, runs merged, inside the quiet zone', () => {
  const grid = ['##.#', '....', '####', '#..#'];
  const { d, viewBox } = qrPath(4, (row, col) => grid[row]?.[col] === '#', 2);
  assert.equal(viewBox, '0 0 8 8');
  assert.equal(d, 'M2 2h2v1h-2zM5 2h1v1h-1zM2 4h4v1h-4zM2 5h1v1h-1zM5 5h1v1h-1z');
});

test('a real otpauth URI: every dark module of the code and nothing else', () => {
  const code = qrcode(0, 'M');
  code.addData('otpauth://totp/Conclave:ada%40example.org?secret=JBSWY3DPEHPK3PXP&issuer=Conclave&algorithm=SHA1&digits=6&period=30', 'Byte');
  code.make();
  const size = code.getModuleCount();
  const { d } = qrPath(size, (row, col) => code.isDark(row, col));
  const painted = paintedBy(d, 4);
  let dark = 0;
  for (let row = 0; row < size; row += 1) {
    for (let col = 0; col < size; col += 1) {
      if (code.isDark(row, col)) dark += 1;
      assert.equal(painted.has(`${row},${col}`), code.isDark(row, col), `module ${row},${col}`);
    }
  }
  assert.equal(painted.size, dark);
  assert.ok(size >= 21);
});
