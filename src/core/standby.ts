/** Standby target for a moment in a profile's time zone. Pure: `now` is an argument. */
import type { StandbyWindow } from './types.js';

const DAYS: Record<string, number> = { Sun: 0, Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6 };
const formatters = new Map<string, Intl.DateTimeFormat>();

/** Day of week (0 = Sunday) and minutes since local midnight in `timeZone`. */
export function localTime(now: Date, timeZone: string): { day: number; minutes: number } {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      weekday: 'short',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    });
    formatters.set(timeZone, f);
  }
  let day = 0;
  let hour = 0;
  let minute = 0;
  for (const p of f.formatToParts(now)) {
    if (p.type === 'weekday') day = DAYS[p.value] ?? 0;
    else if (p.type === 'hour') hour = Number(p.value);
    else if (p.type === 'minute') minute = Number(p.value);
  }
  return { day, minutes: hour * 60 + minute };
}

const toMinutes = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

export function windowActive(w: StandbyWindow, day: number, minutes: number): boolean {
  const start = toMinutes(w.start);
  const end = toMinutes(w.end);
  const days = w.days && w.days.length > 0 ? w.days : undefined;
  if (start === end) return !days || days.includes(day); // all day
  if (start < end) return (!days || days.includes(day)) && minutes >= start && minutes < end;
  // Crosses midnight: the part after midnight belongs to the previous day's window.
  if (minutes >= start) return !days || days.includes(day);
  if (minutes < end) return !days || days.includes((day + 6) % 7);
  return false;
}

/** max(minAgents, counts of the windows active now). */
export function standbyTarget(
  minAgents: number,
  windows: readonly StandbyWindow[],
  timeZone: string,
  now: Date,
): number {
  if (windows.length === 0) return minAgents;
  const { day, minutes } = localTime(now, timeZone);
  let target = minAgents;
  for (const w of windows) if (windowActive(w, day, minutes)) target = Math.max(target, w.count);
  return target;
}

/**
 * The profile keeps idle agents waiting (minAgents, standby windows or a wait target): a job that
 * starts running on one of them calls for a replacement, so `running` events matter to its pool.
 */
export function keepsIdleAgents(p: {
  minAgents: number;
  standby: readonly unknown[];
  targetWaitSec?: number;
}): boolean {
  return p.minAgents > 0 || p.standby.length > 0 || p.targetWaitSec !== undefined;
}
