/**
 * Queued jobs onto profile slots: a maximum matching, oldest jobs first. Pure.
 *
 * Each job lists the profiles that can serve it (in preference order: configuration order) and
 * each profile has a number of slots (jobs it can still absorb). Jobs are taken in the order given
 * (oldest first). A job takes its first candidate with a free slot; when all its candidates are
 * full, an augmenting path moves earlier jobs to other profiles they can also run on (a demand-less
 * job leaves a docker slot for a docker-only job and takes a java slot instead). A job that gets a
 * slot never loses it later, and when no path exists from a job none appears later (Berge), so one
 * pass gives a matching of maximum size, and among those the one that serves the oldest jobs.
 *
 * Cost: O(P) for a job that finds a free slot at once, plus O(P²) (a breadth-first search over
 * profiles) for one that has to move others; the search is skipped for candidate sets already
 * known to have no path. n jobs, P profiles: O(n·P²) at worst, with P a handful per pool.
 */

/** `candidates[j]`: profile indices job j can run on, preferred first. `slots[p]`: free slots of profile p. */
export function matchJobsToSlots(
  candidates: readonly (readonly number[])[],
  slots: readonly number[],
): Array<number | undefined> {
  const P = slots.length;
  const load = new Array<number>(P).fill(0);
  const assigned = new Array<number | undefined>(candidates.length).fill(undefined);
  // movable[x][y]: jobs now on profile x that could run on profile y instead.
  const movable = Array.from({ length: P }, () => Array.from({ length: P }, () => new Set<number>()));
  const place = (j: number, p: number) => {
    assigned[j] = p;
    load[p]!++;
    for (const y of candidates[j]!) if (y !== p) movable[p]![y]!.add(j);
  };
  const unplace = (j: number, p: number) => {
    load[p]!--;
    for (const y of candidates[j]!) if (y !== p) movable[p]![y]!.delete(j);
  };
  const hopeless = new Set<string>();

  for (let j = 0; j < candidates.length; j++) {
    const cands = candidates[j]!;
    const free = cands.find((p) => load[p]! < slots[p]!);
    if (free !== undefined) {
      place(j, free);
      continue;
    }
    const key = cands.join(',');
    if (cands.length === 0 || hopeless.has(key)) continue;
    // Breadth-first over profiles: from a full profile x, reach y through a job on x that y can take.
    const via = new Map<number, { from: number; job: number } | undefined>(cands.map((p) => [p, undefined]));
    const queue = [...cands];
    let end: number | undefined;
    for (let i = 0; i < queue.length && end === undefined; i++) {
      const x = queue[i]!;
      for (let y = 0; y < P; y++) {
        if (via.has(y) || movable[x]![y]!.size === 0) continue;
        via.set(y, { from: x, job: movable[x]![y]!.values().next().value! });
        if (load[y]! < slots[y]!) {
          end = y;
          break;
        }
        queue.push(y);
      }
    }
    if (end === undefined) {
      hopeless.add(key);
      continue;
    }
    // Move each job on the path one step along, from the free end back to where job j lands.
    let y = end;
    for (let step = via.get(y); step !== undefined; step = via.get(y)) {
      unplace(step.job, step.from);
      place(step.job, y);
      y = step.from;
    }
    place(j, y);
  }
  return assigned;
}
