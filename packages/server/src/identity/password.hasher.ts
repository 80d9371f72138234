import { createHmac, randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { hash, verify } from '@node-rs/argon2';

/** Algorithm.Argon2id (a const enum, which isolated modules cannot read). */
const ARGON2ID = 2;

export interface PasswordHasherOptions {
  pepper: Buffer;
  memoryKib: number;
  iterations: number;
  /** At most this many argon2 operations at once (default: the number of cores). */
  concurrency?: number;
}

export interface VerifyResult {
  ok: boolean;
  /** The stored hash uses weaker parameters than configured: store a fresh one. */
  needsRehash: boolean;
}

export interface PasswordHasher {
  hash(password: string): Promise<string>;
  verify(storedHash: string, password: string): Promise<VerifyResult>;
  /** Spends the time of one verification against a throwaway hash: unknown emails cost what known ones do. */
  verifyDummy(password: string): Promise<void>;
  readonly parameters: { memoryKib: number; iterations: number; parallelism: number };
}

const PARALLELISM = 1;

/**
 * NIST SP 800-63B asks for Unicode normalization before hashing; the keyed HMAC is the "pepper"
 * (a secret outside the database), so a stolen hash cannot be attacked offline without the keys directory.
 * Hex, not raw bytes: @node-rs/argon2's verify() rejects inputs that are not valid UTF-8.
 */
const peppered = (pepper: Buffer, password: string): string =>
  createHmac('sha256', pepper).update(password.normalize('NFKC'), 'utf8').digest('hex');

const PHC_PARAMS = /^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$/;

/**
 * A counting semaphore. argon2 runs on libuv's thread pool (4 threads); on a 2-core machine four hashes at
 * once leave the event loop waiting for a core: 50 concurrent log-ins showed loop stalls of 170 ms. Capped
 * at the core count, the loop's p99 delay halved at the same throughput (docs/decisions/0005).
 */
export const createLimiter = (max: number) => {
  let active = 0;
  const waiting: Array<() => void> = [];
  return {
    get active() {
      return active;
    },
    async run<T>(task: () => Promise<T>): Promise<T> {
      if (active < max) active += 1;
      else await new Promise<void>((resolve) => waiting.push(resolve)); // the slot is handed over, not re-counted
      try {
        return await task();
      } finally {
        const next = waiting.shift();
        if (next) next();
        else active -= 1;
      }
    },
  };
};

export const createPasswordHasher = (options: PasswordHasherOptions): PasswordHasher => {
  const argonOptions = {
    algorithm: ARGON2ID,
    memoryCost: options.memoryKib,
    timeCost: options.iterations,
    parallelism: PARALLELISM,
  };
  let dummyHash: Promise<string> | undefined;
  const limiter = createLimiter(Math.max(1, options.concurrency ?? availableParallelism()));
  const argonHash = (input: string | Buffer): Promise<string> => limiter.run(() => hash(input, argonOptions));
  const argonVerify = (stored: string, input: string): Promise<boolean> => limiter.run(() => verify(stored, input));

  const hashPassword = (password: string): Promise<string> => argonHash(peppered(options.pepper, password));

  const needsRehash = (storedHash: string): boolean => {
    const match = PHC_PARAMS.exec(storedHash);
    if (!match) return true;
    return Number(match[1]) < options.memoryKib || Number(match[2]) < options.iterations || Number(match[3]) !== PARALLELISM;
  };

  return {
    parameters: { memoryKib: options.memoryKib, iterations: options.iterations, parallelism: PARALLELISM },
    hash: hashPassword,
    async verify(storedHash, password) {
      if (!storedHash.startsWith('$argon2id$')) return { ok: false, needsRehash: false };
      let ok = false;
      try {
        ok = await argonVerify(storedHash, peppered(options.pepper, password));
      } catch {
        ok = false;
      }
      return { ok, needsRehash: ok && needsRehash(storedHash) };
    },
    async verifyDummy(password) {
      dummyHash ??= argonHash(randomBytes(32).toString('hex'));
      try {
        await argonVerify(await dummyHash, peppered(options.pepper, password));
      } catch {
        // The outcome is irrelevant; only the time spent matters.
      }
    },
  };
};
