import { InvocationContext, type Timer } from '@azure/functions';
import { describe, expect, it } from 'vitest';
import type { Runtime } from '../../src/app/runtime.js';
import { ConfigError } from '../../src/config/load.js';
import { makeTimerHandler } from '../../src/app/handlers.js';
import { profile } from '../helpers/profiles.js';

const timer = (isPastDue = false): Timer => ({
  isPastDue,
  schedule: { adjustForDST: false },
  scheduleStatus: { last: '', next: '', lastUpdated: '' },
});

describe('timer trigger', () => {
  it('requests one pass per configured pool through the coordinator', async () => {
    const calls: Array<[readonly string[], string]> = [];
    const runtime = {
      settings: {
        POOLS: [
          profile({ name: 'a', pool: 'p1' }),
          profile({ name: 'b', pool: 'p1' }),
          profile({ name: 'c', pool: 'p2' }),
        ],
      },
      coordinator: { requestAll: async (pools: readonly string[], reason: string) => void calls.push([pools, reason]) },
    } as unknown as Runtime;
    const handler = makeTimerHandler(async () => runtime);
    await handler(timer(), new InvocationContext({ invocationId: 't1', functionName: 'reconcileTimer' }));
    await handler(timer(true), new InvocationContext({ invocationId: 't2', functionName: 'reconcileTimer' }));
    expect(calls).toEqual([
      [['p1', 'p2'], 'timer'],
      [['p1', 'p2'], 'timer (past due)'],
    ]);
  });

  it('invalid settings: the invocation fails and the log names the settings', async () => {
    const errors: unknown[][] = [];
    const context = new InvocationContext({
      invocationId: 't3',
      functionName: 'reconcileTimer',
      logHandler: (level, ...args) => level === 'error' && errors.push(args),
    });
    const handler = makeTimerHandler(async () => {
      throw new ConfigError(['AZP_URL: must be an https URL']);
    });
    await expect(handler(timer(), context)).rejects.toBeInstanceOf(ConfigError);
    expect(String(errors[0]?.[0])).toContain('AZP_URL: must be an https URL');
  });
});
