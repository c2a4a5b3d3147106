import type { ColdModel } from './cold-path.js';

/** Latencies, boot times and fault rates of the simulated world (defaults: see src/sim/README.md). */
export interface WorldOptions {
  /** Latency of one Azure DevOps REST call, ms. */
  azdoLatencyMs: number;
  armListLatencyMs: number;
  armGetLatencyMs: number;
  /** Until ARM accepts a PUT (201 + Azure-AsyncOperation), ms. */
  armCreateLatencyMs: number;
  armDeleteLatencyMs: number;
  /** Azure DevOps takes this long to hand a queued job to an idle agent, s. */
  dispatchDelaySec: number;
  /** ACI: create accepted → container running (image pull included): lognormal median/sigma, s. */
  provisionMedianSec: number;
  provisionSigma: number;
  /** ACI: container running → agent registered: lognormal median/sigma, s. */
  bootMedianSec: number;
  bootSigma: number;
  /**
   * How the cold path depends on the profile (cold-path.ts): `published` (default) adds the image
   * pull by `imageSizeMB` and Windows' network delay to the draws above; `legacy` is the draws alone
   * for every profile (the model before issue 25).
   */
  coldModel: ColdModel;
  /** Registered (offline) → online, s. */
  onlineDelaySec: number;
  /** After its job: unregister + container exit, s. */
  cleanupSec: number;
  imagePullFailureRate: number;
  crashBeforeRegisterRate: number;
  /**
   * The image unregisters its own agent on exit (start.sh with AZP_UNREGISTER_ON_EXIT=1). Off by
   * default, as in the shipped image: the registration stays (offline) and the controller removes it.
   */
  imageUnregisters: boolean;
  /** With `imageUnregisters`: probability that the image's unregister fails. */
  cleanupFailureRate: number;
  /** Probability that an ARM create answers 429 (kind 'throttled'). */
  throttleRate: number;
  /** Container groups per region (quota): creates beyond it fail with kind 'quota'. */
  maxGroupsPerRegion: number;
  /** Optional per-profile group quota. */
  maxGroupsPerProfile?: number;
  /**
   * Offline blips of online idle agents (listener reconnect, agent self-update restart): expected
   * blips per idle agent-hour (exponential gaps); each lasts lognormal(offlineBlipMedianSec, 0.5) s.
   */
  offlineBlipsPerHour: number;
  offlineBlipMedianSec: number;
  /** Probability that an agent registers only after its profile's boot timeout (slow image pull). */
  lateRegistrationRate: number;
  /** Probability that an agent registers in time but comes online only after the boot timeout. */
  lateOnlineRate: number;
  /** A late agent registers (or comes online) uniformly within this many seconds past the boot timeout. */
  lateMaxSec: number;
  /**
   * Capacity that fails late: the probability that ARM accepts a create and then fails the group
   * (provisioningState Failed, event InsufficientCapacity) when it would be provisioned. Off by default.
   */
  lateCapacityFailureRate: number;
  /** Locations where every create fails late for capacity (a region out of capacity). */
  noCapacityIn: readonly string[];
  /** VMSS: VM provisioning + agent extension: lognormal median/sigma, s. */
  vmProvisionMedianSec: number;
  vmProvisionSigma: number;
  /** VMSS: reimage after each job (recycleAfterEachUse), s. */
  vmReimageMedianSec: number;
  /**
   * What each profile's image really reports (profile name → capabilities), replacing its declared
   * ones on every registration the image makes (placeholder included). Unset for a profile: the
   * image reports what the profile declares. A profile that declares a capability its image lacks
   * then shows as jobs that never start: the server matches nothing of that profile.
   */
  imageCapabilities?: Record<string, Record<string, string>>;
}

export const DEFAULT_WORLD_OPTIONS: WorldOptions = {
  azdoLatencyMs: 150,
  armListLatencyMs: 300,
  armGetLatencyMs: 150,
  armCreateLatencyMs: 500,
  armDeleteLatencyMs: 400,
  dispatchDelaySec: 2,
  provisionMedianSec: 35,
  provisionSigma: 0.35,
  bootMedianSec: 20,
  bootSigma: 0.3,
  coldModel: 'published',
  onlineDelaySec: 3,
  cleanupSec: 4,
  imagePullFailureRate: 0.01,
  crashBeforeRegisterRate: 0.01,
  imageUnregisters: false,
  cleanupFailureRate: 0.05,
  throttleRate: 0.005,
  maxGroupsPerRegion: 100,
  // Off by default (the published figures stay comparable); the property test turns them on.
  offlineBlipsPerHour: 0,
  offlineBlipMedianSec: 20,
  lateRegistrationRate: 0,
  lateOnlineRate: 0,
  lateMaxSec: 60,
  lateCapacityFailureRate: 0,
  noCapacityIn: [],
  vmProvisionMedianSec: 300,
  vmProvisionSigma: 0.25,
  vmReimageMedianSec: 240,
};
