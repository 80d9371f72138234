import { createHmac, randomBytes } from 'node:crypto';
import { hash, verify } from '@node-rs/argon2';

/** Algorithm.Argon2id (a const enum, which isolated modules cannot read). */
const ARGON2ID = 2;

export interface PasswordHasherOptions {
  pepper: Buffer;
  memoryKib: number;
  iterations: number;
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

export const createPasswordHasher = (options: PasswordHasherOptions): PasswordHasher => {
  const argonOptions = {
    algorithm: ARGON2ID,
    memoryCost: options.memoryKib,
    timeCost: options.iterations,
    parallelism: PARALLELISM,
  };
  let dummyHash: Promise<string> | undefined;

  const hashPassword = (password: string): Promise<string> => hash(peppered(options.pepper, password), argonOptions);

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
        ok = await verify(storedHash, peppered(options.pepper, password));
      } catch {
        ok = false;
      }
      return { ok, needsRehash: ok && needsRehash(storedHash) };
    },
    async verifyDummy(password) {
      dummyHash ??= hash(randomBytes(32), argonOptions);
      try {
        await verify(await dummyHash, peppered(options.pepper, password));
      } catch {
        // The outcome is irrelevant; only the time spent matters.
      }
    },
  };
};
