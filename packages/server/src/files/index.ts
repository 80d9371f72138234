export { FileStore, type FileVariant } from './file.store.ts';
export { registerFileRoutes } from './file.routes.ts';
export { postWithFiles, storeUpload, fileLimitOf, type StoredUpload } from './file.actions.ts';
export { setInstanceFileLimit } from './file.queries.ts';
export { FILE_MAGIC, FileIntegrityError } from './file.cipher.ts';
