export { FileStore, type FileVariant } from './file.store.ts';
export { registerFileRoutes } from './file.routes.ts';
export { postWithFiles, storeFile, storeUpload, fileLimitOf, type FileTarget, type StoredUpload } from './file.actions.ts';
export { insertFile } from './file.queries.ts';
export { setInstanceFileLimit } from './file.queries.ts';
export { FILE_MAGIC, FileIntegrityError } from './file.cipher.ts';
