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

/**
 * VM price for the VMSS baseline (USD per hour). ASSUMPTION: Standard_D2s_v3 (2 vCPU, 8 GiB) Linux
 * pay-as-you-go, East US, ~$0.096/h; OS disk and bandwidth ignored. Billed per started minute.
 */
export const VM_PRICE = { size: 'Standard_D2s_v3', perHour: 0.096 } as const;

/** Billing stops now unless it already has (a terminated restartPolicy=Never group, a deleted one). */
export function stopBilling(m: Machine, nowMs: number): void {
  if (m.billEndMs === undefined) m.billEndMs = nowMs;
}

export interface Bill {
  billedSec: number;
  busySec: number;
  idleSec: number;
  costUsd: number;
}

/** What every machine ever created cost up to `endMs` (those still running are billed to then). */
export function bill(machines: readonly Machine[], endMs: number): Bill {
  const out: Bill = { billedSec: 0, busySec: 0, idleSec: 0, costUsd: 0 };
  for (const m of machines) {
    const sec = ((m.billEndMs ?? endMs) - m.billStartMs) / 1000;
    out.billedSec += sec;
    out.busySec += m.busyMs / 1000;
    out.idleSec += (m.idleMs + (m.idleSinceMs !== undefined ? endMs - m.idleSinceMs : 0)) / 1000;
    out.costUsd +=
      m.kind === 'vm'
        ? (Math.ceil(sec / 60) * VM_PRICE.perHour) / 60
        : sec * (m.profile.cpu * ACI_PRICES.perVcpuSecond + m.profile.memoryGb * ACI_PRICES.perGbSecond);
  }
  return out;
}
