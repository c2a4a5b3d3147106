export * from './types.js';
export * from './demands.js';
export * from './names.js';
export * from './standby.js';
export * from './plan.js';
export * from './pools.js';
export * from './ownership.js';
