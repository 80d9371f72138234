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
export { CIPHERTEXT_PREFIX, CiphertextError, isSealed } from './field-cipher.ts';
export { MasterKeyError, type MasterKeySource } from './master-key.ts';
export { Keyring, normalizeForIndex, type InstanceKeys, type KeyringOptions, type OwnerCipher, type PreparedKeys } from './keyring.ts';
export { rotateInstanceKeys, rotateMasterKey, shredInstanceKeys, type InstanceRotation, type MasterRotation } from './keyring.actions.ts';
export { LEGACY_HASH_PREFIX, STORED_COLUMNS, scanStorage, type ScanFinding } from './storage.scan.ts';
export { readMasterKey } from './master-key.ts';
