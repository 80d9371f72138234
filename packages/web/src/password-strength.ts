import { ERROR_CATALOG, LIMITS, type ErrorCode } from '@conclave/protocol';

/**
 * The strength meter explains; it never demands. The server's policy (NIST SP 800-63B: at least 8
 * characters, no composition rules, not a common or breached password, not your email or name) is the
 * authority: what the meter cannot know here (the list of ~437,000 common passwords) it learns from the
 * server's answer code and shows in the same place.
 */
export interface PasswordAssessment {
  /** 0 nothing typed or refused, 1 too short, 2 accepted, 3 good (advised length), 4 long. */
  score: 0 | 1 | 2 | 3 | 4;
  verdict: string;
  /** Explanations, one sentence each; never "add a symbol". */
  notes: string[];
  /** Whether the server will refuse it for a rule the client can check (length, your email or name). */
  refused: boolean;
}

export interface PasswordContext {
  email?: string | undefined;
  displayName?: string | undefined;
}

/** Length as the server counts it: code points after NFKC. */
export const passwordLength = (password: string): number => [...password.normalize('NFKC')].length;

const SEQUENCES = ['0123456789', 'abcdefghijklmnopqrstuvwxyz', 'qwertyuiop', 'asdfghjkl', 'zxcvbnm'];

const isSequence = (value: string): boolean => {
  const lowered = value.toLowerCase();
  return SEQUENCES.some((run) => (run.includes(lowered) || [...run].reverse().join('').includes(lowered)) && lowered.length >= 4);
};

/** Patterns people reach for that lists of breached passwords are full of: worth a word, never a refusal. */
const patternNotes = (password: string): string[] => {
  const notes: string[] = [];
  if (password.length >= 4 && new Set(password.toLowerCase()).size <= 2) notes.push('It repeats one or two characters; a guesser tries that early.');
  else if (isSequence(password)) notes.push('It is a run of neighbouring keys or letters; a guesser tries that early.');
  if (/^\d+$/.test(password) && password.length < 12) notes.push('Digits alone are quick to guess unless there are many of them.');
  if (/^[A-Za-z]+\d{1,4}[^A-Za-z0-9]?$/.test(password) && password.length < LIMITS.passwordAdvisedLength) {
    notes.push('A word with a number or symbol at the end is a pattern guessers know well; length helps more.');
  }
  return notes;
};

export const assessPassword = (password: string, context: PasswordContext = {}, serverProblem?: ErrorCode): PasswordAssessment => {
  const length = passwordLength(password);
  if (length === 0) {
    return { score: 0, verdict: `At least ${LIMITS.passwordMinLength} characters. A few unrelated words make a strong, memorable password.`, notes: [], refused: true };
  }
  if (serverProblem) {
    return { score: 0, verdict: ERROR_CATALOG[serverProblem].message, notes: [], refused: true };
  }
  const lowered = password.normalize('NFKC').toLowerCase();
  const email = context.email?.trim().toLowerCase();
  const forbidden = [email, email?.split('@')[0], context.displayName?.normalize('NFKC').trim().toLowerCase()];
  if (forbidden.some((value) => value !== undefined && value.length > 0 && value === lowered)) {
    return { score: 0, verdict: ERROR_CATALOG.PASSWORD_MATCHES_CONTEXT.message, notes: [], refused: true };
  }
  if (length < LIMITS.passwordMinLength) {
    const missing = LIMITS.passwordMinLength - length;
    return { score: 1, verdict: `Too short: ${missing} more character${missing === 1 ? '' : 's'} needed (at least ${LIMITS.passwordMinLength}).`, notes: patternNotes(password), refused: true };
  }
  if (length > LIMITS.passwordMaxLength) {
    return { score: 0, verdict: ERROR_CATALOG.PASSWORD_TOO_LONG.message, notes: [], refused: true };
  }
  const notes = patternNotes(password);
  if (length < LIMITS.passwordAdvisedLength) {
    return {
      score: 2,
      verdict: `Long enough to be accepted. ${LIMITS.passwordAdvisedLength} or more characters would be stronger: try a few unrelated words.`,
      notes,
      refused: false,
    };
  }
  if (notes.length > 0) return { score: 2, verdict: 'Long enough, but built on a pattern guessers know.', notes, refused: false };
  if (length < 24) return { score: 3, verdict: 'Good: long passwords are the hardest to guess.', notes, refused: false };
  return { score: 4, verdict: 'Very strong: long and not a simple pattern.', notes, refused: false };
};

/** Codes of the server's password policy: shown at the password field rather than as a general error. */
export const PASSWORD_PROBLEMS: readonly ErrorCode[] = ['PASSWORD_TOO_SHORT', 'PASSWORD_TOO_LONG', 'PASSWORD_TOO_COMMON', 'PASSWORD_MATCHES_CONTEXT'];
