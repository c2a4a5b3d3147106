export { AzureDevOpsClient, API_VERSION, type AzureDevOpsClientOptions, type RequestInfo } from './client.js';
export { retryAfterMs, retryDecision, type RetryDecision, type RetryPolicy } from './retry.js';
export { AZDO_SCOPE, entraAuth, patAuth, type AuthProvider, type EntraAuthOptions } from './auth.js';
export { AzdoError, AzdoPoolNotFoundError, type AzdoErrorInit, type AzdoErrorKind } from './errors.js';
