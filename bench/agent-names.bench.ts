/**
 * Agent-name collisions in create bursts: every create of one pass shares the millisecond, so a
 * burst's names differ only by their random part. Prints, for bursts of 500 creates, how many
 * bursts reused a name, with the production entropy (12 random base-36 characters) and, for
 * comparison, with the 4 random characters of earlier versions.
 * Run: npm run bench:names   [BURSTS=10000] [SIZE=500]   (prints figures; no assertion)
 */
import { randomInt } from 'node:crypto';
import { randomAgentEntropy } from '../src/app/deps.js';
import { AGENT_NAME_RANDOM_CHARS, agentName } from '../src/core/names.js';

const BURSTS = Number(process.env.BURSTS ?? 10_000);
const SIZE = Number(process.env.SIZE ?? 500);
const STAMP = Date.UTC(2026, 10, 30, 9, 0, 0, 0);

function run(label: string, entropy: () => string): void {
  const started = performance.now();
  let collided = 0;
  let duplicates = 0;
  for (let b = 0; b < BURSTS; b++) {
    const names = new Set<string>();
    for (let i = 0; i < SIZE; i++) names.add(agentName('azp', 'linux', STAMP, entropy()));
    if (names.size < SIZE) collided++;
    duplicates += SIZE - names.size;
  }
  const ms = performance.now() - started;
  console.log(
    `${label.padEnd(34)} bursts=${BURSTS} size=${SIZE} bursts reusing a name=${collided} (${((100 * collided) / BURSTS).toFixed(3)} %) duplicate names=${duplicates} (${ms.toFixed(0)} ms)`,
  );
}

run(`production (${AGENT_NAME_RANDOM_CHARS} random chars)`, randomAgentEntropy);
// Earlier versions: randomInt(0, 36 ** 4) → 4 base-36 characters, padded here to the new minimum.
run('earlier versions (4 random chars)', () =>
  randomInt(0, 36 ** 4)
    .toString(36)
    .padStart(12, '0'),
);
