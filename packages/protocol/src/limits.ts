/** Limits shared by the server's validation and the client's forms. */
export const LIMITS = {
  passwordMinLength: 8,
  passwordAdvisedLength: 15,
  passwordMaxLength: 1024,
  emailMaxLength: 254,
  displayNameMaxLength: 100,
  instanceNameMaxLength: 100,
  instanceSlugMinLength: 2,
  instanceSlugMaxLength: 40,
  setupTokenMaxLength: 128,
  tokenMaxLength: 256,
  jsonBodyMaxBytes: 1024 * 1024,
} as const;
