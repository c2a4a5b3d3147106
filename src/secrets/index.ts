export {
  KeyVaultTokenProvider,
  SecretError,
  DEFAULT_SECRET_TTL_MS,
  type KeyVaultTokenProviderOptions,
} from './keyvault.js';
