/**
 * Reads the unfinished job-request list (`GET pools/{id}/jobrequests`) from the response body as
 * it arrives. Every unfinished request lists every agent able to run it in `matchedAgents`, so the
 * body grows with jobs × agents (≈ 1.3 GiB at 2,000 × 2,000: more than V8's longest string). Kept
 * per request: the fields `jobRequestSchema` names, parsed and validated exactly as before, and
 * only the integer `id` of each `matchedAgents` entry (as `matchedIds` in ./wire.ts: a non-array
 * gives none, an entry without a numeric integer id contributes nothing). Everything else is
 * checked to be JSON and dropped unread; neither the body nor an agent object is ever built.
 */
import {
  CAPTURE,
  ENTER,
  JsonScanError,
  JsonScanner,
  SKIP,
  type JsonKind,
  type JsonVisitor,
  type ScanAction,
} from './json-scan.js';
import { jobRequestSchema, listOf, shapeDetail, type WireJobRequest } from './wire.js';

export type JobRequestListRead = { ok: true; value: WireJobRequest[] } | { ok: false; detail: string };

/** The list schema without matchedAgents: its ids are collected by the scanner, item by item. */
const keptListSchema = listOf(jobRequestSchema.omit({ matchedAgents: true }));
/** Fields of a job request that are kept (a field added to jobRequestSchema is kept too). */
const KEPT = new Set(Object.keys(jobRequestSchema.shape).filter((k) => k !== 'matchedAgents'));

/** Reads the body (chunks of any size); network errors and aborts propagate, a bad body is a result. */
export async function readJobRequestList(
  body: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
): Promise<JobRequestListRead> {
  const v = new JobRequestListVisitor();
  const scanner = new JsonScanner(v);
  try {
    for await (const chunk of body) scanner.push(chunk);
    scanner.end();
  } catch (err) {
    // Leaving the loop early destroys the stream: the rest of a page that is not JSON is not read.
    if (err instanceof JsonScanError) return { ok: false, detail: `body is not JSON (${err.message})` };
    throw err;
  }
  return v.result();
}

// What the innermost entered container is.
const R_ROOT = 0; // nothing entered yet: the root value begins
const R_LIST = 1; // the root object {count, value}
const R_ITEMS = 2; // its `value` array
const R_JOB = 3; // one job request
const R_MATCHED = 4; // its `matchedAgents` array
const R_AGENT = 5; // one matched agent

/** For a value not kept: the same kind, so the schema reports the same shape error. */
function standIn(kind: JsonKind): unknown {
  switch (kind) {
    case 'object':
      return {};
    case 'array':
      return [];
    case 'string':
      return '';
    case 'number':
      return 0;
    case 'boolean':
      return false;
    default:
      return null;
  }
}

function decodeKey(bytes: Uint8Array, length: number, escaped: boolean): string {
  const raw = Buffer.from(bytes.buffer, bytes.byteOffset, length).toString('utf8');
  return escaped ? (JSON.parse(`"${raw}"`) as string) : raw;
}

/** A JSON number's text as a number: plain digits directly, anything else as JSON.parse reads it. */
function toNumber(json: Uint8Array): number {
  if (json.length <= 15) {
    let n = 0;
    for (const b of json) {
      if (b < 0x30 || b > 0x39) return Number(Buffer.from(json).toString('latin1'));
      n = n * 10 + (b - 0x30);
    }
    return n;
  }
  return Number(Buffer.from(json).toString('latin1'));
}

class JobRequestListVisitor implements JsonVisitor {
  private readonly roles: number[] = [R_ROOT];
  private name = '';
  private keyIsId = false;
  private root: unknown;
  private rootIsObject = false;
  private count: unknown;
  private hasCount = false;
  private list: unknown;
  private hasList = false;
  private items: unknown[] = [];
  private ids: (number[] | undefined)[] = [];
  private job: Record<string, unknown> = {};
  private jobIds: number[] | undefined;
  private agentId: number | undefined;

  value(kind: JsonKind): ScanAction {
    switch (this.roles[this.roles.length - 1]) {
      case R_ROOT:
        // A number is kept (it is short): 1e999 is Infinity to JSON.parse, and the shape error says so.
        if (kind === 'number') return CAPTURE;
        if (kind !== 'object') {
          this.root = standIn(kind);
          return SKIP;
        }
        this.rootIsObject = true;
        return this.enter(R_LIST);
      case R_LIST:
        if (this.name === 'count') return CAPTURE;
        if (this.name !== 'value') return SKIP;
        this.hasList = true;
        this.items = [];
        this.ids = [];
        this.list = kind === 'array' ? this.items : standIn(kind);
        if (kind === 'number') return CAPTURE;
        return kind === 'array' ? this.enter(R_ITEMS) : SKIP;
      case R_ITEMS:
        if (kind === 'number') return CAPTURE;
        if (kind !== 'object') {
          this.items.push(standIn(kind));
          this.ids.push(undefined);
          return SKIP;
        }
        this.job = {};
        this.jobIds = undefined;
        return this.enter(R_JOB);
      case R_JOB:
        if (this.name === 'matchedAgents') {
          this.jobIds = kind === 'array' ? [] : undefined;
          return kind === 'array' ? this.enter(R_MATCHED) : SKIP;
        }
        return KEPT.has(this.name) ? CAPTURE : SKIP;
      case R_MATCHED:
        if (kind !== 'object') return SKIP;
        this.agentId = undefined;
        return this.enter(R_AGENT);
      default: // R_AGENT
        if (!this.keyIsId) return SKIP;
        this.agentId = undefined; // a later "id" replaces an earlier one, as in JSON.parse
        return kind === 'number' ? CAPTURE : SKIP;
    }
  }

  key(bytes: Uint8Array, length: number, escaped: boolean): void {
    if (this.roles[this.roles.length - 1] === R_AGENT) {
      // Seven names per agent and jobs × agents agents: compare bytes, decode only an escaped name.
      this.keyIsId = escaped
        ? decodeKey(bytes, length, true) === 'id'
        : length === 2 && bytes[0] === 0x69 && bytes[1] === 0x64;
    } else {
      this.name = decodeKey(bytes, length, escaped);
    }
  }

  captured(json: Uint8Array): void {
    switch (this.roles[this.roles.length - 1]) {
      case R_ROOT:
        this.root = JSON.parse(Buffer.from(json).toString('utf8'));
        return;
      case R_LIST:
        if (this.name === 'value') {
          this.list = JSON.parse(Buffer.from(json).toString('utf8'));
          return;
        }
        this.count = JSON.parse(Buffer.from(json).toString('utf8'));
        this.hasCount = true;
        return;
      case R_ITEMS:
        this.items.push(JSON.parse(Buffer.from(json).toString('utf8')));
        this.ids.push(undefined);
        return;
      case R_JOB:
        this.job[this.name] = JSON.parse(Buffer.from(json).toString('utf8'));
        return;
      case R_AGENT:
        this.agentId = toNumber(json);
    }
  }

  end(): void {
    switch (this.roles.pop()) {
      case R_AGENT:
        if (this.agentId !== undefined && Number.isInteger(this.agentId)) this.jobIds?.push(this.agentId);
        return;
      case R_JOB:
        this.items.push(this.job);
        this.ids.push(this.jobIds);
    }
  }

  private enter(role: number): ScanAction {
    this.roles.push(role);
    return ENTER;
  }

  result(): JobRequestListRead {
    const root = this.rootIsObject
      ? { ...(this.hasCount ? { count: this.count } : {}), ...(this.hasList ? { value: this.list } : {}) }
      : this.root;
    const parsed = keptListSchema.safeParse(root);
    if (!parsed.success) return { ok: false, detail: shapeDetail(parsed.error) };
    const value = parsed.data.value.map((w, i): WireJobRequest => {
      const ids = this.ids[i];
      return ids ? { ...w, matchedAgents: ids } : w;
    });
    return { ok: true, value };
  }
}
