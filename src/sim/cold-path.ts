/**
 * The cold path of one ACI group: create accepted → container running (image pull included) →
 * agent registered. Two models (`WorldOptions.coldModel`):
 *
 * - `legacy`: one distribution for every profile — provisioning ~ lognormal(35 s, σ 0.35), agent
 *   boot ~ lognormal(20 s, σ 0.3) — whatever the OS and the image (the model before issue 25; kept
 *   so old figures stay reproducible).
 * - `published` (default): the same two draws, plus what the published sources say depends on the
 *   OS and the image size (each cited in src/sim/README.md, "Cold path"):
 *     - the pull: ACI pulls the image on demand, "the startup time you see is directly related to
 *       its size" (ACI troubleshooting, "Image size"); the slope is virtual-kubelet/azure-aci#151's
 *       pair (44 MB ≈ 60 s, 900 MB ≈ 110 s on one platform: 50 s per 856 MB ≈ 0.058 s/MB), taken
 *       as a difference, so that path's own overhead cancels; the intercept stays the 35 s a small
 *       Linux image takes to create (MicrosoftDocs/azure-docs#31689: ubuntu:18.04 and alpine:3.6
 *       both 35 s) — the legacy provisioning median. Each pull varies: × lognormal(1, σ 0.25).
 *     - Windows: an image without `imageSizeMB` is taken as Server Core based, "at least 5GB due
 *       to the size of the Server Core image" (microsoft/mssql-docker#44), pulled whole (ACI caches
 *       some Windows base images: a profile whose image builds on one sets `imageSizeMB` to what is
 *       left to pull); and a new Windows group "may have no inbound or outbound connectivity for up
 *       to 30 seconds" (ACI troubleshooting, "Windows containers slow network readiness"): the
 *       agent registers up to 30 s later, uniform.
 *     - the agent's own start stays lognormal(20 s, σ 0.3) (p5 ≈ 12 s, p95 ≈ 33 s), inside the
 *       "10 seconds to a minute" Managed DevOps Pools gives for startup, connection and beginning
 *       the job (MDP docs, "Lifecycle of agents and potential delays in allocation").
 *   A Linux profile without `imageSizeMB` pulls nothing extra: it is the legacy model draw for draw
 *   (the 35 s small-image figure), so the default profiles' figures are unchanged.
 * The extra draws come from a stream of their own, so the other draws (latencies, boots, faults)
 * are the same under both models.
 */
import type { ProfileConfig } from '../config/schema.js';
import type { Rng } from './rng.js';

export type ColdModel = 'legacy' | 'published';

export const COLD_MODELS: readonly ColdModel[] = ['legacy', 'published'];

/** Calibration of the `published` model (src/sim/README.md cites each figure). */
export const COLD_PATH = {
  /** Seconds per MB pulled: (110 − 60) s / (900 − 44) MB, virtual-kubelet/azure-aci#151. */
  pullSecPerMb: 50 / 856,
  /** Spread of one pull around its size's time (lognormal σ, median 1). */
  pullSigma: 0.25,
  /** A Windows image without `imageSizeMB`: Server Core based, ≥ 5 GB (microsoft/mssql-docker#44). */
  windowsImageMb: 5000,
  /** A new Windows group may have no network for up to this long (ACI troubleshooting). */
  windowsNetworkMaxSec: 30,
} as const;

/** The image size the model pulls for a profile, MB (0: nothing beyond the legacy draw). */
export function pulledMb(profile: Pick<ProfileConfig, 'os' | 'imageSizeMB'>): number {
  if (profile.imageSizeMB !== undefined) return profile.imageSizeMB;
  return profile.os === 'Windows' ? COLD_PATH.windowsImageMb : 0;
}

/** Seconds the published model adds to one group's provisioning (the pull) and to its agent's boot (Windows network). */
export interface ColdExtra {
  provisionSec: number;
  bootSec: number;
}

/**
 * The published model's extra seconds for one group (none under `legacy`, none for a Linux
 * profile without `imageSizeMB`). Draws from `rng` only when there is something to add.
 */
export function coldExtra(model: ColdModel, profile: Pick<ProfileConfig, 'os' | 'imageSizeMB'>, rng: Rng): ColdExtra {
  if (model === 'legacy') return { provisionSec: 0, bootSec: 0 };
  const mb = pulledMb(profile);
  const provisionSec = mb > 0 ? mb * COLD_PATH.pullSecPerMb * rng.lognormal(1, COLD_PATH.pullSigma) : 0;
  const bootSec = profile.os === 'Windows' ? rng.uniform(0, COLD_PATH.windowsNetworkMaxSec) : 0;
  return { provisionSec, bootSec };
}
