/**
 * The simulator bills a Windows container group as ACI does: the Linux vCPU and memory prices plus
 * the Windows software charge per vCPU-second (src/sim/billing.ts). Before issue 25 a Windows
 * profile cost what a Linux one did, so every Windows figure the lab printed was too cheap.
 */
import { describe, expect, it } from 'vitest';
import { ACI_PRICES, ACI_WINDOWS_SOFTWARE_PER_VCPU_SECOND, aciPerSecond, bill } from '../../src/sim/billing.js';
import type { Machine } from '../../src/sim/compute.js';

const linux = { cpu: 2, memoryGb: 4, os: 'Linux' };
const windows = { cpu: 2, memoryGb: 4, os: 'Windows' };

describe('ACI billing by OS', () => {
  it('adds the Windows software charge per vCPU-second to a Windows group, nothing to a Linux one', () => {
    const base = 2 * ACI_PRICES.perVcpuSecond + 4 * ACI_PRICES.perGbSecond;
    expect(aciPerSecond(linux)).toBeCloseTo(base, 15);
    expect(aciPerSecond(windows)).toBeCloseTo(base + 2 * ACI_WINDOWS_SOFTWARE_PER_VCPU_SECOND, 15);
    // On live (Linux) prices too: the surcharge stays.
    const live = { perVcpuSecond: 0.00001, perGbSecond: 0.000001 };
    expect(aciPerSecond(windows, live) - aciPerSecond(linux, live)).toBeCloseTo(
      2 * ACI_WINDOWS_SOFTWARE_PER_VCPU_SECOND,
      15,
    );
  });

  it('bills an hour of a Windows machine at the Windows price', () => {
    const machine = (os: string) =>
      ({
        kind: 'aci',
        profile: { ...linux, os },
        billStartMs: 0,
        billEndMs: 3_600_000,
        busyMs: 0,
        idleMs: 0,
      }) as unknown as Machine;
    const l = bill([machine('Linux')], 3_600_000).costUsd;
    const w = bill([machine('Windows')], 3_600_000).costUsd;
    expect(w - l).toBeCloseTo(3600 * 2 * ACI_WINDOWS_SOFTWARE_PER_VCPU_SECOND, 9);
    expect(w / l).toBeGreaterThan(1.5);
  });
});
