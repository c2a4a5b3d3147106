export { AciComputeProvider, describe, type AciProviderOptions } from './provider.js';
export {
  ArmError,
  classifyArmError,
  retryAfterFromHeaders,
  type ArmErrorKind,
  type ClassifyOptions,
} from './errors.js';
export {
  AGENT_CONTAINER,
  buildContainerGroup,
  containerGroupWireBody,
  serializeContainerGroup,
  type SpecContext,
} from './spec.js';
