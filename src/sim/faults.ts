/**
 * Fault injection: what goes wrong, drawn from seeded streams of its own so that latencies stay
 * the same whatever the fault rates. Failures (image pull, crash, cleanup, throttling) share one
 * stream; blips and late boots another, so with their rates at 0 nothing else changes.
 */
import { PortError, type PortErrorKind } from '../ports/errors.js';
import { Rng, deriveSeed } from './rng.js';
import type { WorldOptions } from './world-options.js';

/** The simulated services' errors: the port error type (src/ports/errors.ts), named like the real adapter's error they stand for. */
export class SimPortError extends PortError {
  constructor(
    readonly kind: PortErrorKind,
    readonly status: number | undefined,
    message: string,
    name: 'ArmError' | 'Error' = 'ArmError',
    override readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = name;
  }
}

/** What will go wrong with one new ACI group, decided when ARM accepts it. */
export interface GroupFate {
  pullFails: boolean;
  crashes: boolean;
  /** A late boot: the agent registers (or comes online) no earlier than this. */
  lateRegisterAtMs?: number;
  lateOnlineAtMs?: number;
}

export class Faults {
  private readonly failRng: Rng;
  private readonly flakyRng: Rng;
  private readonly capacityRng: Rng;

  constructor(
    seed: number,
    private readonly opts: WorldOptions,
  ) {
    this.failRng = new Rng(deriveSeed(seed, 'world:failures'));
    this.flakyRng = new Rng(deriveSeed(seed, 'world:flaky'));
    this.capacityRng = new Rng(deriveSeed(seed, 'world:capacity'));
  }

  /** A placeholder only registers: it neither crashes nor boots late. */
  groupFate(placeholder: boolean, bootTimeoutSec: number, nowMs: number): GroupFate {
    const o = this.opts;
    const fate: GroupFate = {
      pullFails: this.failRng.chance(o.imagePullFailureRate),
      crashes: !placeholder && this.failRng.chance(o.crashBeforeRegisterRate),
    };
    const late = () => nowMs + (bootTimeoutSec + this.flakyRng.uniform(0, o.lateMaxSec)) * 1000;
    if (!placeholder && o.lateRegistrationRate > 0 && this.flakyRng.chance(o.lateRegistrationRate))
      fate.lateRegisterAtMs = late();
    else if (!placeholder && o.lateOnlineRate > 0 && this.flakyRng.chance(o.lateOnlineRate))
      fate.lateOnlineAtMs = late();
    return fate;
  }

  /** ARM accepts the create and fails it later for capacity; drawn only when the rate is above 0 (own stream). */
  capacityFailsLate(location: string): boolean {
    if (this.opts.noCapacityIn.includes(location)) return true;
    return this.opts.lateCapacityFailureRate > 0 && this.capacityRng.chance(this.opts.lateCapacityFailureRate);
  }

  /** With `imageUnregisters`: the image's own unregister fails (drawn for every --once exit). */
  cleanupFails(): boolean {
    return this.failRng.chance(this.opts.cleanupFailureRate);
  }

  /** ARM answers a create with 429. */
  throttled(): boolean {
    return this.failRng.chance(this.opts.throttleRate);
  }

  /** The next offline blip of an idle agent: after `gapMs`, for `lengthMs`; none when blips are off. */
  nextBlip(): { gapMs: number; lengthMs: number } | undefined {
    if (this.opts.offlineBlipsPerHour <= 0) return undefined;
    const gapMs = this.flakyRng.exponential(3600 / this.opts.offlineBlipsPerHour) * 1000;
    const lengthMs = this.flakyRng.lognormal(this.opts.offlineBlipMedianSec, 0.5) * 1000;
    return { gapMs, lengthMs };
  }
}
