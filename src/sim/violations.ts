/** What the simulator records when a controller breaks the scale-down contract (see invariants.ts). */

export type ViolationKind =
  /** A group was deleted while its agent held a job (recorded by the world as it happens). */
  | 'busyGroupDeleted'
  /** A registration was deleted while it held a job. */
  | 'busyRegistrationDeleted'
  /** A group was launched with a token other than the Key Vault PAT. */
  | 'wrongToken'
  /** The agent PAT appeared in a log line. */
  | 'secretLogged'
  | 'maxAgentsExceeded'
  | 'placeholderMissing'
  /** After the drain: a group other than an idle agent or a placeholder is left. */
  | 'groupLeft'
  | 'idleBeyondStandby'
  | 'orphanRegistration'
  | 'jobNotServedOnce'
  /** With several controller instances: a write made without holding the pool's lease. */
  | 'writeWithoutLease';

export interface Violation {
  atMs: number;
  kind: ViolationKind;
  /** The controller that acted (owner name), when one did. */
  by?: string;
  profile?: string;
  /** Container group / VM name. */
  group?: string;
  /** Agent registration name. */
  agent?: string;
  job?: number;
  /** What was counted (live groups, idle agents, orphans) and the limit it broke. */
  count?: number;
  limit?: number;
  /** The groups or registrations concerned, when several. */
  names?: string[];
  /** With several controller instances (instances.ts): which one, on which pool, which write and what it wrote to. */
  instance?: number;
  pool?: string;
  op?: string;
  target?: string;
  /** The same, as one line for people (stderr, logs). Tests read the fields above. */
  detail: string;
}
