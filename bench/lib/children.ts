import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** A bench helper process speaking one JSON object per stdout line, started by a `start` line on stdin. */
export interface JsonChild {
  child: ChildProcess;
  next<T = Record<string, unknown>>(type: string, timeoutMs?: number): Promise<T>;
  send(line: string): void;
  stop(): void;
}

/** Starts `script` with its job (JSON) in a temporary file: large jobs exceed the argument size limit. */
export const spawnJsonChild = (script: string, job: unknown): JsonChild => {
  const jobFile = join(mkdtempSync(join(tmpdir(), 'conclave-job-')), 'job.json');
  writeFileSync(jobFile, JSON.stringify(job));
  const child = spawn(process.execPath, [fileURLToPath(new URL(script, import.meta.url)), `@${jobFile}`], { stdio: ['pipe', 'pipe', 'inherit'] });
  child.once('close', () => rmSync(dirname(jobFile), { recursive: true, force: true }));
  const messages: Array<Record<string, unknown>> = [];
  const waiters: Array<{ type: string; resolve: (value: Record<string, unknown>) => void }> = [];
  createInterface({ input: child.stdout! }).on('line', (line) => {
    let message: Record<string, unknown>;
    try {
      message = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return;
    }
    const waiter = waiters.find((w) => w.type === message['type']);
    if (waiter) {
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.resolve(message);
    } else messages.push(message);
  });
  return {
    child,
    next: <T>(type: string, timeoutMs = 180_000) =>
      new Promise<T>((resolve, reject) => {
        const index = messages.findIndex((m) => m['type'] === type);
        if (index >= 0) {
          resolve(messages.splice(index, 1)[0] as T);
          return;
        }
        const timer = setTimeout(() => reject(new Error(`${script}: no ${type} within ${timeoutMs} ms`)), timeoutMs);
        waiters.push({
          type,
          resolve: (value) => {
            clearTimeout(timer);
            resolve(value as T);
          },
        });
      }),
    send: (line) => child.stdin?.write(`${line}\n`),
    stop: () => {
      if (child.exitCode === null) child.kill('SIGTERM');
    },
  };
};
