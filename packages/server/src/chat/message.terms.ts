import type { InstanceKeys } from '../crypto/index.ts';

/** At most this many distinct words of one message are indexed for search. */
export const MAX_TERMS_PER_MESSAGE = 512;
export const MAX_TERM_LENGTH = 64;

const WORD = /[\p{L}\p{N}]+/gu;

/**
 * The words of a text as search sees them: compatibility-normalized, lower case, without diacritics
 * ("Café" and "cafe" are one word), split on anything that is not a letter or digit; distinct, in order.
 */
export const searchWords = (text: string): string[] => {
  const folded = text.normalize('NFKD').replace(/\p{M}+/gu, '').toLowerCase();
  const words = new Set<string>();
  for (const match of folded.matchAll(WORD)) {
    const word = match[0].slice(0, MAX_TERM_LENGTH);
    words.add(word);
    if (words.size >= MAX_TERMS_PER_MESSAGE) break;
  }
  return [...words];
};

/** A body's search terms: each distinct word as the instance's keyed blind index (never the word). */
export const blindTerms = (keys: InstanceKeys, body: string): string[] => searchWords(body).map((word) => keys.term(word));
