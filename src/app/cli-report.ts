/**
 * What the CLI tells its user after a one-off run: every failure in full, each with the hints
 * that apply (./hints.ts), and the pool names it was asked for checked against the settings.
 */
import { actionText } from '../core/action-text.js';
import { poolKey, samePool } from '../core/pools.js';
import type { PassCoordinator } from '../reconcile/coordinator.js';
import type { PassResult } from '../reconcile/pass.js';
import { hintsFor, type Hint } from './hints.js';
import type { StatusReport } from './status.js';

/** The asked-for pools no profile names (pool names ignore case, as everywhere). */
export function unknownPools(asked: readonly string[], configured: readonly string[]): string[] {
  const seen = new Set<string>();
  return asked.filter((p) => {
    if (configured.some((c) => samePool(c, p)) || seen.has(poolKey(p))) return false;
    seen.add(poolKey(p));
    return true;
  });
}

export interface RunProblem {
  pool?: string;
  text: string;
}

/** Every failure of the passes (and of the coordination around them), in full. */
export function passProblems(
  results: readonly PassResult[],
  views: ReturnType<PassCoordinator['views']> = [],
): RunProblem[] {
  const out: RunProblem[] = [];
  for (const r of results) {
    if (r.error) out.push({ text: `cannot list container groups: ${r.error}` });
    for (const p of r.pools) {
      if (!p.ok && p.error) out.push({ pool: p.pool, text: `cannot observe the pool: ${p.error}` });
      for (const o of p.outcomes)
        if (o.status === 'failed') out.push({ pool: p.pool, text: `${actionText(o.action)} failed: ${o.error}` });
    }
  }
  for (const v of views) {
    if (!v.lastError || out.some((p) => p.text.includes(v.lastError!))) continue;
    // No pass counted: the lease could not be taken (the coordinator's only other failure).
    const text =
      v.passes === 0
        ? `no pass ran: cannot coordinate the pool (lock storage): ${v.lastError}`
        : `the pass failed: ${v.lastError}`;
    out.push({ pool: v.pool, text });
  }
  return out;
}

export function statusProblems(report: StatusReport): RunProblem[] {
  const out: RunProblem[] = report.pools
    .filter((p) => !p.ok && p.error)
    .map((p) => ({ pool: p.pool, text: `cannot observe the pool: ${p.error}` }));
  if (report.error) out.push({ text: report.error });
  if (report.backoff?.available === false && report.backoff.note) out.push({ text: report.backoff.note });
  return out;
}

/** Hints for a set of problems, each once. */
export function hintsOf(problems: readonly RunProblem[]): Hint[] {
  const byId = new Map<string, Hint>();
  for (const p of problems) for (const h of hintsFor(p.text)) byId.set(h.id, h);
  return [...byId.values()];
}

/** Lines for a terminal: each problem, then each hint. */
export function problemLines(command: string, problems: readonly RunProblem[]): string[] {
  const lines = problems.map((p) => `${command}: ${p.pool ? `pool ${p.pool}: ` : ''}${p.text}`);
  for (const h of hintsOf(problems)) lines.push(`hint: ${h.text}`);
  return lines;
}

/** One line per pool of what a pass did. */
export function doneLines(results: readonly PassResult[]): string[] {
  return results.flatMap((r) =>
    r.pools.map((p) => {
      const count = (s: string) => p.outcomes.filter((o) => o.status === s).length;
      const verb = r.dryRun ? 'planned' : 'done';
      return `pool ${p.pool}: ${p.ok ? 'ok' : 'failed'}; ${r.dryRun ? (p.plan?.actions.length ?? 0) : count('done')} action(s) ${verb}${count('failed') ? `, ${count('failed')} failed` : ''}${count('skipped') ? `, ${count('skipped')} skipped` : ''}`;
    }),
  );
}
