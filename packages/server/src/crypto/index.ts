export { newId } from './ids.ts';
export { TOKEN_PREFIX, csrfTokenFor, hashToken, newSecretToken, safeEqual } from './tokens.ts';
export {
  KEY_NAMES,
  KeyFileError,
  inspectKeyFile,
  isInside,
  keyFingerprint,
  keyPath,
  readKey,
  readOrCreateKey,
  type KeyName,
} from './key-files.ts';
