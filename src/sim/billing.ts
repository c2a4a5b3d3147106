/**
 * Billing of the simulated compute: ACI per second from ARM accepting the create until the
 * container exits or the group is deleted; VMSS VMs per started minute until deleted.
 */
import type { Machine } from './compute.js';

/**
 * ACI Linux pay-as-you-go unit prices (USD). ASSUMPTION, not fetched live: the public price sheet
 * (azure.microsoft.com/pricing/details/container-instances, East US, standard Linux containers)
 * listed $0.0000135 per vCPU-second and $0.0000015 per GB-second when this was written
 * ($0.0486 per vCPU-hour, $0.0054 per GB-hour). Regions and dates differ: override with care.
 */
export const ACI_PRICES = { perVcpuSecond: 0.0000135, perGbSecond: 0.0000015 } as const;

/** ACI unit prices (USD per second): ACI_PRICES, or live ones (`simulate --live-prices`, opt-in). */
export interface AciPrices {
  perVcpuSecond: number;
  perGbSecond: number;
  /** The Windows software charge per vCPU-second (default ACI_WINDOWS_SOFTWARE_PER_VCPU_SECOND). */
  perWindowsVcpuSecond?: number;
}

/**
 * The Windows software charge ACI adds per vCPU-second of a Windows container group, on top of the
 * vCPU and memory prices (a separate per-second OS meter, which savings plans do not discount).
 * ASSUMPTION, not fetched live: $0.000012 per vCPU-second as the public price sheet gave it when
 * this was written (East US); `--live-prices` reads only the Linux meters, so Windows profiles keep
 * this surcharge on live prices too. Before issue 25 the simulator billed Windows as Linux.
 */
export const ACI_WINDOWS_SOFTWARE_PER_VCPU_SECOND = 0.000012;

/** What one second of a machine of this profile costs on ACI, USD. */
export function aciPerSecond(
  profile: { cpu: number; memoryGb: number; os?: string },
  prices: AciPrices = ACI_PRICES,
): number {
  const windows =
    profile.os === 'Windows' ? profile.cpu * (prices.perWindowsVcpuSecond ?? ACI_WINDOWS_SOFTWARE_PER_VCPU_SECOND) : 0;
  return profile.cpu * prices.perVcpuSecond + profile.memoryGb * prices.perGbSecond + windows;
}

/**
 * VM price for the VMSS baseline (USD per hour). ASSUMPTION: Standard_D2s_v3 (2 vCPU, 8 GiB) Linux
 * pay-as-you-go, East US, ~$0.096/h; OS disk and bandwidth ignored. Billed per started minute.
 */
export const VM_PRICE = { size: 'Standard_D2s_v3', perHour: 0.096 } as const;

export interface Bill {
  billedSec: number;
  busySec: number;
  idleSec: number;
  costUsd: number;
}

/** What every machine ever created cost up to `endMs` (those still running are billed to then). */
export function bill(machines: readonly Machine[], endMs: number, prices: AciPrices = ACI_PRICES): Bill {
  const out: Bill = { billedSec: 0, busySec: 0, idleSec: 0, costUsd: 0 };
  for (const m of machines) {
    const sec = ((m.billEndMs ?? endMs) - m.billStartMs) / 1000;
    out.billedSec += sec;
    out.busySec += m.busyMs / 1000;
    out.idleSec += (m.idleMs + (m.idleSinceMs !== undefined ? endMs - m.idleSinceMs : 0)) / 1000;
    out.costUsd +=
      m.kind === 'vm' ? (Math.ceil(sec / 60) * VM_PRICE.perHour) / 60 : sec * aciPerSecond(m.profile, prices);
  }
  return out;
}

/**
 * What the machines cost within [fromMs, toMs) (a day of a multi-day run): each machine's billed
 * time overlapping the window, at its price; a VM's per-started-minute charge is shared out in
 * proportion, so the windows of a run add up to its {@link bill}.
 */
export function billWindow(
  machines: readonly Machine[],
  fromMs: number,
  toMs: number,
  endMs: number,
  prices: AciPrices = ACI_PRICES,
): Pick<Bill, 'billedSec' | 'costUsd'> {
  const out = { billedSec: 0, costUsd: 0 };
  for (const m of machines) {
    const stop = m.billEndMs ?? endMs;
    const overlap = Math.max(0, Math.min(stop, toMs) - Math.max(m.billStartMs, fromMs)) / 1000;
    if (overlap === 0) continue;
    const sec = (stop - m.billStartMs) / 1000;
    out.billedSec += overlap;
    out.costUsd +=
      m.kind === 'vm'
        ? ((Math.ceil(sec / 60) * VM_PRICE.perHour) / 60) * (overlap / sec)
        : overlap * aciPerSecond(m.profile, prices);
  }
  return out;
}
