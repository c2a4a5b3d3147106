/**
 * An incremental JSON scanner (push: bytes in any chunking, RFC 8259 grammar checked throughout)
 * that materialises nothing by itself. A visitor decides, for each value that begins in a
 * container it entered, whether to enter it (objects and arrays: their members are reported in
 * turn), capture it (the value's JSON text is handed over once complete, to be JSON.parse'd) or
 * skip it (walked and checked, never kept). Built for the job-request list, whose `matchedAgents`
 * makes the body quadratic (./jobrequests-stream.ts); purpose-built rather than a streaming-JSON
 * package because those build every value below the paths they emit (each agent object) before
 * dropping it, and this one has nothing to build.
 *
 * Bytes are not decoded: the structural bytes are ASCII and never occur inside a UTF-8 multi-byte
 * sequence, so a chunk may end anywhere, even inside a character; captured text is decoded whole.
 * A leading UTF-8 BOM is ignored (as the client's text path did).
 */

export type JsonKind = 'object' | 'array' | 'string' | 'number' | 'boolean' | 'null';

export const SKIP = 0;
export const ENTER = 1;
export const CAPTURE = 2;
export type ScanAction = typeof SKIP | typeof ENTER | typeof CAPTURE;

export interface JsonVisitor {
  /** A value begins at the root or in an entered container. ENTER applies to objects and arrays only. */
  value(kind: JsonKind): ScanAction;
  /**
   * A member name of an entered object, before its value: the bytes between the quotes (only the
   * first `length` are valid, and only during the call), escapes left as they are; `escaped` says
   * whether there is any.
   */
  key(bytes: Uint8Array, length: number, escaped: boolean): void;
  /** A captured value is complete: its JSON text as UTF-8 bytes (valid during the call only). */
  captured(json: Uint8Array): void;
  /** An entered object or array ends. */
  end(): void;
}

/** The body is not JSON: where (byte offset from the start of the body) and why. */
export class JsonScanError extends Error {
  constructor(
    readonly offset: number,
    reason: string,
  ) {
    super(`byte ${offset}: ${reason}`);
    this.name = 'JsonScanError';
  }
}

// States
const S_BOM = 0;
const S_VALUE = 1; // a value must begin
const S_ARR_FIRST = 2; // after '[': a value or ']'
const S_OBJ_FIRST = 3; // after '{': a member name or '}'
const S_OBJ_KEY = 4; // after ',' in an object: a member name
const S_COLON = 5;
const S_AFTER = 6; // after a member / element: ',' or the container's end
const S_END = 7; // after the root value: whitespace only
const S_STR = 8;
const S_ESC = 9; // after '\'
const S_HEX = 10; // inside \uXXXX
const S_NUM = 11;
const S_LIT = 12; // true / false / null

// Number phases: -, 0, int digits, '.', fraction digits, e, exponent sign, exponent digits
const N_MINUS = 0;
const N_ZERO = 1;
const N_INT = 2;
const N_DOT = 3;
const N_FRAC = 4;
const N_E = 5;
const N_ESIGN = 6;
const N_EXP = 7;
const NUM_CAN_END = [false, true, true, false, true, false, false, true];

const OBJ = 1;
const ARR = 2;
const NONE = Number.MAX_SAFE_INTEGER;

const QUOTE = 0x22;
const BSLASH = 0x5c;
/** Bytes that end the plain run of a string: '"', '\\' and the control characters JSON forbids there. */
const STRING_STOP = new Uint8Array(256).map((_, b) => (b === QUOTE || b === BSLASH || b < 0x20 ? 1 : 0));
const LITERALS: Record<number, Uint8Array> = { 0x74: bytes('true'), 0x66: bytes('false'), 0x6e: bytes('null') };

function bytes(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}

function isWs(b: number): boolean {
  return b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;
}

function isDigit(b: number): boolean {
  return b >= 0x30 && b <= 0x39;
}

function isHex(b: number): boolean {
  return isDigit(b) || (b >= 0x41 && b <= 0x46) || (b >= 0x61 && b <= 0x66);
}

function describe(b: number): string {
  return b >= 0x21 && b <= 0x7e
    ? `unexpected '${String.fromCharCode(b)}'`
    : `unexpected byte 0x${b.toString(16).padStart(2, '0')}`;
}

export class JsonScanner {
  private state = S_BOM;
  private bomPos = 0;
  /** Bytes of the body before the current chunk. */
  private offset = 0;
  /** Open containers (OBJ / ARR), innermost last. */
  private readonly stack: number[] = [];
  /** Containers at this depth and deeper are skipped (no events); NONE when every open one was entered. */
  private skipFrom = NONE;
  // strings
  private strIsKey = false;
  private keyCollect = false;
  private keyBuf = new Uint8Array(64);
  private keyLen = 0;
  private keyEscaped = false;
  private hexLeft = 0;
  // numbers and literals
  private numPhase = N_MINUS;
  private lit: Uint8Array = LITERALS[0x74]!;
  private litPos = 0;
  // capture
  private capturing = false;
  private capDepth = 0;
  private capStart = 0;
  private readonly capParts: Uint8Array[] = [];

  constructor(private readonly visitor: JsonVisitor) {}

  /** Scans the next bytes of the body. Throws JsonScanError at the first byte that is not JSON. */
  push(chunk: Uint8Array): void {
    if (this.capturing) this.capStart = 0;
    const n = chunk.length;
    let i = 0;
    while (i < n) {
      const b = chunk[i]!;
      switch (this.state) {
        case S_STR:
          i = this.string(chunk, i);
          continue;
        case S_NUM:
          i = this.number(chunk, i);
          continue;
        case S_AFTER:
          if (b === 0x2c) this.state = this.stack[this.stack.length - 1] === OBJ ? S_OBJ_KEY : S_VALUE;
          else if (b === 0x7d || b === 0x5d) this.close(b === 0x7d ? OBJ : ARR, chunk, i);
          else if (!isWs(b)) this.fail(i, describe(b));
          break;
        case S_VALUE:
          if (!isWs(b)) this.begin(b, chunk, i);
          break;
        case S_OBJ_FIRST:
        case S_OBJ_KEY:
          if (b === QUOTE) this.beginKey();
          else if (b === 0x7d && this.state === S_OBJ_FIRST) this.close(OBJ, chunk, i);
          else if (!isWs(b)) this.fail(i, describe(b));
          break;
        case S_COLON:
          if (b === 0x3a) this.state = S_VALUE;
          else if (!isWs(b)) this.fail(i, describe(b));
          break;
        case S_ARR_FIRST:
          if (b === 0x5d) this.close(ARR, chunk, i);
          else if (!isWs(b)) this.begin(b, chunk, i);
          break;
        case S_ESC:
          this.escape(b, i);
          break;
        case S_HEX:
          if (!isHex(b)) this.fail(i, `${describe(b)} in a \\u escape`);
          if (this.keyCollect) this.keyPush(b);
          if (--this.hexLeft === 0) this.state = S_STR;
          break;
        case S_LIT:
          if (b !== this.lit[this.litPos]) this.fail(i, describe(b));
          if (++this.litPos === this.lit.length) this.done(chunk, i + 1);
          break;
        case S_END:
          if (!isWs(b)) this.fail(i, `${describe(b)} after the end of the JSON value`);
          break;
        case S_BOM:
          if (this.bomPos === 0 && b !== 0xef) {
            this.state = S_VALUE;
            continue; // no BOM: this byte begins the value
          }
          if (b !== [0xef, 0xbb, 0xbf][this.bomPos]) this.fail(i, describe(b));
          if (++this.bomPos === 3) this.state = S_VALUE;
          break;
      }
      i++;
    }
    if (this.capturing) this.capParts.push(chunk.subarray(this.capStart));
    this.offset += n;
  }

  /** The body ended: throws JsonScanError unless it was exactly one JSON value. */
  end(): void {
    if (this.state === S_NUM && NUM_CAN_END[this.numPhase]) this.done(null, 0);
    if (this.state !== S_END) {
      throw new JsonScanError(
        this.offset,
        this.offset === 0 || this.state === S_BOM ? 'the body is empty' : 'the body ends inside a value',
      );
    }
  }

  private fail(i: number, reason: string): never {
    throw new JsonScanError(this.offset + i, reason);
  }

  /** A value begins with byte b at chunk[i]. */
  private begin(b: number, chunk: Uint8Array, i: number): void {
    const kind: JsonKind | undefined =
      b === 0x7b
        ? 'object'
        : b === 0x5b
          ? 'array'
          : b === QUOTE
            ? 'string'
            : b === 0x2d || isDigit(b)
              ? 'number'
              : b === 0x74 || b === 0x66
                ? 'boolean'
                : b === 0x6e
                  ? 'null'
                  : undefined;
    if (!kind) this.fail(i, describe(b));
    const reported = this.stack.length < this.skipFrom;
    const action = reported ? this.visitor.value(kind) : SKIP;
    if (action === CAPTURE) {
      this.capturing = true;
      this.capDepth = this.stack.length;
      this.capStart = i;
      this.capParts.length = 0;
    }
    switch (kind) {
      case 'object':
      case 'array':
        this.stack.push(kind === 'object' ? OBJ : ARR);
        if (reported && action !== ENTER) this.skipFrom = this.stack.length;
        this.state = kind === 'object' ? S_OBJ_FIRST : S_ARR_FIRST;
        return;
      case 'string':
        this.strIsKey = false;
        this.keyCollect = false;
        this.state = S_STR;
        return;
      case 'number':
        this.numPhase = b === 0x2d ? N_MINUS : b === 0x30 ? N_ZERO : N_INT;
        this.state = S_NUM;
        return;
      default:
        this.lit = LITERALS[b]!;
        this.litPos = 1;
        this.state = S_LIT;
    }
  }

  private beginKey(): void {
    this.strIsKey = true;
    this.keyCollect = this.stack.length < this.skipFrom;
    this.keyLen = 0;
    this.keyEscaped = false;
    this.state = S_STR;
  }

  private keyPush(b: number): void {
    if (this.keyLen === this.keyBuf.length) {
      const bigger = new Uint8Array(this.keyBuf.length * 2);
      bigger.set(this.keyBuf);
      this.keyBuf = bigger;
    }
    this.keyBuf[this.keyLen++] = b;
  }

  /** Inside a string from chunk[i]: returns the index to go on from. */
  private string(chunk: Uint8Array, i: number): number {
    const n = chunk.length;
    let b = 0;
    const start = i;
    // Most of the body is plain string bytes: one table look-up each (as fast, at these string
    // lengths, as native searches for '"' and '\\').
    while (i < n && STRING_STOP[chunk[i]!] === 0) i++;
    if (this.keyCollect) for (let k = start; k < i; k++) this.keyPush(chunk[k]!);
    if (i < n) b = chunk[i]!;
    if (i === n) return i;
    if (b === QUOTE) {
      if (this.strIsKey) {
        if (this.keyCollect) this.visitor.key(this.keyBuf, this.keyLen, this.keyEscaped);
        this.state = S_COLON;
      } else {
        this.done(chunk, i + 1);
      }
    } else if (b === BSLASH) {
      if (this.keyCollect) {
        this.keyEscaped = true;
        this.keyPush(b);
      }
      this.state = S_ESC;
    } else {
      this.fail(i, `${describe(b)} (a control character) in a string`);
    }
    return i + 1;
  }

  private escape(b: number, i: number): void {
    if (b === 0x75) {
      this.hexLeft = 4;
      this.state = S_HEX;
    } else if (
      b === QUOTE ||
      b === BSLASH ||
      b === 0x2f ||
      b === 0x62 ||
      b === 0x66 ||
      b === 0x6e ||
      b === 0x72 ||
      b === 0x74
    ) {
      this.state = S_STR;
    } else {
      this.fail(i, `${describe(b)} after '\\' in a string`);
    }
    if (this.keyCollect) this.keyPush(b);
  }

  /** Inside a number from chunk[i]: returns the index to go on from (the byte after the number is not consumed). */
  private number(chunk: Uint8Array, i: number): number {
    const n = chunk.length;
    for (; i < n; i++) {
      const b = chunk[i]!;
      const digit = isDigit(b);
      switch (this.numPhase) {
        case N_MINUS:
          if (!digit) this.fail(i, `${describe(b)} in a number`);
          this.numPhase = b === 0x30 ? N_ZERO : N_INT;
          continue;
        case N_ZERO:
        case N_INT:
        case N_FRAC:
          if (digit && this.numPhase !== N_ZERO) continue;
          if (b === 0x2e && this.numPhase !== N_FRAC) this.numPhase = N_DOT;
          else if (b === 0x65 || b === 0x45) this.numPhase = N_E;
          else return this.numberEnds(chunk, i);
          continue;
        case N_DOT:
          if (!digit) this.fail(i, `${describe(b)} in a number`);
          this.numPhase = N_FRAC;
          continue;
        case N_E:
          if (b === 0x2b || b === 0x2d) this.numPhase = N_ESIGN;
          else if (digit) this.numPhase = N_EXP;
          else this.fail(i, `${describe(b)} in a number`);
          continue;
        case N_ESIGN:
          if (!digit) this.fail(i, `${describe(b)} in a number`);
          this.numPhase = N_EXP;
          continue;
        default: // N_EXP
          if (digit) continue;
          return this.numberEnds(chunk, i);
      }
    }
    return i;
  }

  private numberEnds(chunk: Uint8Array, i: number): number {
    this.done(chunk, i);
    return i;
  }

  /** The closing bracket of an OBJ or ARR at chunk[i]. */
  private close(type: number, chunk: Uint8Array, i: number): void {
    if (this.stack[this.stack.length - 1] !== type) this.fail(i, describe(chunk[i]!));
    const depth = this.stack.length;
    const entered = depth < this.skipFrom;
    if (depth === this.skipFrom) this.skipFrom = NONE;
    this.stack.pop();
    if (entered) this.visitor.end();
    this.done(chunk, i + 1);
  }

  /** A value ended just before chunk[end] (chunk null: at the end of the body). */
  private done(chunk: Uint8Array | null, end: number): void {
    if (this.capturing && this.stack.length === this.capDepth) {
      this.capturing = false;
      let json: Uint8Array;
      if (this.capParts.length === 0 && chunk) json = chunk.subarray(this.capStart, end);
      else {
        if (chunk) this.capParts.push(chunk.subarray(this.capStart, end));
        json = Buffer.concat(this.capParts);
        this.capParts.length = 0;
      }
      this.visitor.captured(json);
    }
    this.state = this.stack.length === 0 ? S_END : S_AFTER;
  }
}
