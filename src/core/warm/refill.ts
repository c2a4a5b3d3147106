/**
 * B, the refill time, from our own creates: create accepted → agent online, each create counted
 * once, B a high percentile of the recent durations. Pure.
 */
import type { RefillState } from './state.js';
import { DEFAULT_WARM_TUNING, type WarmTuning } from './tuning.js';

/** One of our creates: when ARM accepted it and when its agent came online (if it did). */
export interface CreateObservation {
  acceptedAt: string;
  onlineAt?: string;
}

/** Adds the creates whose agent came online since the last call (each counts once). */
export function observeRefills(
  state: RefillState,
  creates: readonly CreateObservation[],
  tuning: Readonly<WarmTuning> = DEFAULT_WARM_TUNING,
): RefillState {
  const lastMs = state.lastOnline ? Date.parse(state.lastOnline) : -Infinity;
  const fresh = creates
    .flatMap((c) => {
      if (!c.onlineAt) return [];
      const on = Date.parse(c.onlineAt);
      const acc = Date.parse(c.acceptedAt);
      if (!Number.isFinite(on) || !Number.isFinite(acc) || on <= lastMs || on < acc) return [];
      return [{ on, sec: (on - acc) / 1000 }];
    })
    .sort((a, b) => a.on - b.on);
  if (fresh.length === 0) return state;
  const samples = [...state.samples, ...fresh.map((f) => f.sec)].slice(-tuning.refillSamples);
  return { samples, lastOnline: new Date(fresh[fresh.length - 1]!.on).toISOString() };
}

export interface RefillEstimate {
  refillSec: number;
  samples: number;
  source: 'measured' | 'default';
}

/** B = the configured percentile (nearest rank) of the recent samples; the default before any. */
export function estimateRefill(state: RefillState, tuning: Readonly<WarmTuning> = DEFAULT_WARM_TUNING): RefillEstimate {
  if (state.samples.length === 0) return { refillSec: tuning.defaultRefillSec, samples: 0, source: 'default' };
  return {
    refillSec: percentile(state.samples, tuning.refillPercentile),
    samples: state.samples.length,
    source: 'measured',
  };
}

/** E[(S − t)+] over the samples: the mean time a refill is still in flight after t seconds. */
export function meanExcess(samples: readonly number[], t: number): number {
  if (samples.length === 0) return 0;
  return samples.reduce((a, s) => a + Math.max(0, s - t), 0) / samples.length;
}

/** Nearest-rank percentile (p in (0, 1]). */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(p * sorted.length)));
  return sorted[rank - 1] ?? 0;
}
