/** Settings the settings tests share: a minimal valid configuration, and the problems a load reports. */
import { expect } from 'vitest';
import { ConfigError, loadSettings } from '../../src/config/load.js';

export const pool = { name: 'linux', pool: 'aci', image: 'example.azurecr.io/agent:1' };
export const base = { AZP_URL: 'https://dev.azure.com/contoso', POOLS: JSON.stringify([pool]) };

/** The problems loadSettings reports for `env` (none: []); anything but a ConfigError fails the test. */
export function problems(env: Record<string, string | undefined>, opts = {}): string[] {
  try {
    loadSettings(env, opts);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  return [];
}
