/**
 * Azure DevOps pool names are case-insensitive (`pools?poolName=linux` finds "Linux"), so one pool
 * can reach us under several spellings: settings, tags of groups created under an earlier
 * spelling, `--pool`, `?pool=`. Every comparison, set and key of pool names goes through these.
 * The key is the NFC, lowercased name; it also derives the pool's blob names (lock, back-off), so
 * it must not change.
 */

/** The identity of a pool name: equal keys name the same Azure DevOps pool. */
export function poolKey(pool: string): string {
  return pool.normalize('NFC').toLowerCase();
}

export function samePool(a: string, b: string): boolean {
  return poolKey(a) === poolKey(b);
}

/** The distinct pools among `names`, each under the spelling it first appears with. */
export function distinctPools(names: Iterable<string>): string[] {
  const seen = new Map<string, string>();
  for (const n of names) if (!seen.has(poolKey(n))) seen.set(poolKey(n), n);
  return [...seen.values()];
}
