// Files at rest: what encrypting an upload (chunked AES-256-GCM through FileStore, temp file + fsync + rename)
// and decrypting a download cost against a plain copy of the same bytes (a read stream piped to a write
// stream, with the same fsync) — the baseline measured in the same run, rounds alternating so drift on this
// shared machine falls on both sides. Also: a PNG preview (decode, box downscale, encode; pure JS).
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { PNG } from 'pngjs';
import { FileStore } from '../packages/server/src/files/index.ts';
import { makePreview } from '../packages/server/src/files/file.preview.ts';
import { describeMachine, median } from './lib/machine.ts';
import { benchCommand, uncommittedTrackedFiles, writeResults } from './lib/in-process.ts';

const MIB = 1024 * 1024;
const SIZE_MIB = Number(process.env['FILES_BENCH_MIB'] ?? 64);
const ROUNDS = Number(process.env['FILES_BENCH_ROUNDS'] ?? 6);

const sink = () => new Writable({ write: (_chunk, _encoding, callback) => callback() });

const plainCopy = async (from: string, to: string): Promise<void> => {
  await pipeline(createReadStream(from), createWriteStream(to, { mode: 0o600 }));
  const handle = await open(to, 'r');
  await handle.sync();
  await handle.close();
};

export const run = async (): Promise<void> => {
  const started = Date.now();
  const machine = describeMachine(['pngjs', 'jpeg-js', '@fastify/multipart']);
  const dir = await mkdtemp(join(tmpdir(), 'conclave-files-bench-'));
  try {
    const source = join(dir, 'source.bin');
    await writeFile(source, randomBytes(SIZE_MIB * MIB));
    const store = new FileStore(join(dir, 'store'));
    const key = { version: 1, key: randomBytes(32) };
    const times: Record<'encrypt' | 'copy' | 'decrypt' | 'plainRead', number[]> = { encrypt: [], copy: [], decrypt: [], plainRead: [] };
    for (let round = 0; round < ROUNDS; round += 1) {
      const id = `01900000-0000-7000-8000-${String(round).padStart(12, '0')}`;
      const order = round % 2 === 0 ? (['encrypt', 'copy'] as const) : (['copy', 'encrypt'] as const);
      for (const what of order) {
        const t0 = performance.now();
        if (what === 'encrypt') await store.write(id, 'file', createReadStream(source), key, id);
        else await plainCopy(source, join(dir, `copy-${round}.bin`));
        times[what].push(performance.now() - t0);
      }
      const readOrder = round % 2 === 0 ? (['decrypt', 'plainRead'] as const) : (['plainRead', 'decrypt'] as const);
      for (const what of readOrder) {
        const t0 = performance.now();
        if (what === 'decrypt') await pipeline(store.read(id, 'file', key, id), sink());
        else await pipeline(createReadStream(join(dir, `copy-${round}.bin`)), sink());
        times[what].push(performance.now() - t0);
      }
      await rm(join(dir, `copy-${round}.bin`));
      await store.remove([id]);
    }
    const mbps = (ms: number) => Math.round((SIZE_MIB / (ms / 1000)) * 10) / 10;
    const med = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)])) as Record<keyof typeof times, number>;

    const png = new PNG({ width: 2000, height: 1500 });
    for (let i = 0; i < png.data.length; i += 1) png.data[i] = (i * 31) % 256;
    const pngBytes = PNG.sync.write(png);
    const previewMs: number[] = [];
    for (let i = 0; i < 5; i += 1) {
      const t0 = performance.now();
      makePreview('image/png', pngBytes);
      previewMs.push(performance.now() - t0);
    }

    const command = benchCommand('files', [], ['FILES_BENCH_MIB', 'FILES_BENCH_ROUNDS']);
    const lines = [
      `# Files at rest: encrypted upload and download against a plain copy`,
      '',
      `${SIZE_MIB} MiB of random bytes, ${ROUNDS} rounds, alternating order; medians. Writes include fsync and (encrypted) the rename into place.`,
      '',
      '| path | median ms | MiB/s | ratio to the plain baseline |',
      '|---|---|---|---|',
      `| write, encrypted (FileStore.write: 64 KiB AES-256-GCM chunks) | ${med.encrypt.toFixed(0)} | ${mbps(med.encrypt)} | ${(med.encrypt / med.copy).toFixed(2)}× |`,
      `| write, plain copy (baseline) | ${med.copy.toFixed(0)} | ${mbps(med.copy)} | 1.00× |`,
      `| read, decrypted (FileStore.read) | ${med.decrypt.toFixed(0)} | ${mbps(med.decrypt)} | ${(med.decrypt / med.plainRead).toFixed(2)}× |`,
      `| read, plain (baseline) | ${med.plainRead.toFixed(0)} | ${mbps(med.plainRead)} | 1.00× |`,
      '',
      `PNG preview of a 2000×1500 image (${(pngBytes.length / MIB).toFixed(1)} MiB): median ${median(previewMs).toFixed(0)} ms (decode, downscale to 320 px, encode; on the event loop).`,
      '',
      `Command: \`${command}\` (commit ${machine.commit}, ${uncommittedTrackedFiles()} tracked file(s) with uncommitted changes). Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, Node ${machine.node}, load average before ${machine.loadAverage.join(' / ')}, after ${loadavg().map((n) => n.toFixed(2)).join(' / ')}.`,
      `Packages: ${Object.entries(machine.packages).map(([k, v]) => `${k} ${v}`).join(', ')}.`,
      '',
    ];
    console.log(lines.join('\n'));
    await writeResults('files', machine, lines.join('\n'), { totalSeconds: Math.round((Date.now() - started) / 1000), sizeMiB: SIZE_MIB, rounds: ROUNDS, times, previewMs, machine } as { totalSeconds: number });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
};
