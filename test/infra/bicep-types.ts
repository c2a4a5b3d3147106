/**
 * A Bicep type check without the Bicep CLI: every resource declaration in a syntax tree
 * (tree-sitter-bicep) is checked against the resource type data the Bicep compiler itself uses
 * (Azure/bicep-types-az `types.json`, kept trimmed in infra/types/, see infra/types/SOURCES.md):
 * the type and API version exist, every property set exists with the right shape (object, array,
 * string, integer, boolean, allowed literal), required properties are set, read-only ones are not.
 * Values that are expressions (parameters, function calls, references) are not evaluated; their
 * property name is still checked. Ternaries are checked on both branches.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { Node } from 'web-tree-sitter';

interface Ref {
  $ref: string;
}
interface Property {
  type: Ref;
  flags: number;
}
type BicepType =
  | { $type: 'StringType' | 'IntegerType' | 'BooleanType' | 'AnyType' | 'NullType' }
  | { $type: 'StringLiteralType'; value: string }
  | { $type: 'UnionType'; elements: Ref[] }
  | { $type: 'ArrayType'; itemType: Ref }
  | { $type: 'ObjectType'; name: string; properties: Record<string, Property>; additionalProperties?: Ref }
  | { $type: 'DiscriminatedObjectType'; name: string; discriminator: string; baseProperties: Record<string, Property>; elements: Record<string, Ref> }
  | { $type: 'ResourceType'; name: string; body: Ref }
  | { $type: 'ResourceFunctionType' };

const REQUIRED = 1;
const READ_ONLY = 2;

/** Resource-level keywords Bicep accepts on any resource body; not part of the type data. */
const BICEP_KEYWORDS = new Set(['scope', 'parent', 'dependsOn']);

export interface TypeIndex {
  /** 'Microsoft.Web/sites@2024-04-01' → the resolver of its types.json and its body type. */
  resources: Map<string, { types: BicepType[]; body: BicepType; file: string }>;
}

export function loadTypeIndex(dir: string): TypeIndex {
  const resources = new Map<string, { types: BicepType[]; body: BicepType; file: string }>();
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name === 'types.json') {
        const types = JSON.parse(readFileSync(p, 'utf8')) as BicepType[];
        for (const t of types) {
          if (t.$type === 'ResourceType') resources.set(t.name.toLowerCase(), { types, body: deref(types, t.body), file: relative(dir, p) });
        }
      }
    }
  };
  walk(dir);
  return { resources };
}

function deref(types: BicepType[], r: Ref): BicepType {
  const t = types[Number(r.$ref.slice(2))];
  if (!t) throw new Error(`dangling ref ${r.$ref}`);
  return t;
}

// ---------------------------------------------------------------------------------------------
// Syntax-tree helpers

const named = (n: Node | null | undefined): Node[] => (n ? n.namedChildren.filter((c): c is Node => c !== null) : []);

function literal(n: Node | null | undefined): string | undefined {
  if (!n || n.type !== 'string') return undefined;
  if (named(n).some((c) => c.type === 'interpolation')) return undefined;
  return named(n).map((c) => c.text).join('').replace(/\\'/g, "'");
}

function key(p: Node): string {
  const k = named(p)[0]!;
  return k.type === 'string' ? (literal(k) ?? k.text) : k.text;
}

/** The object of a resource declaration, through `if (...)` and `[for ...]`. */
function bodyOf(decl: Node): Node | undefined {
  let v = named(decl).find((c) => ['object', 'if_statement', 'for_statement'].includes(c.type));
  while (v && (v.type === 'if_statement' || v.type === 'for_statement')) v = named(v).filter((c) => c.type === 'object').pop();
  return v;
}

export interface ResourceDecl {
  symbol: string;
  /** Full type with API version, e.g. Microsoft.Web/sites/config@2024-04-01. */
  type: string;
  existing: boolean;
  body: Node | undefined;
  line: number;
}

/** Every resource declaration, nested children resolved to their full type. */
export function resourceDecls(root: Node): ResourceDecl[] {
  const out: ResourceDecl[] = [];
  const visit = (n: Node, parentType?: string): void => {
    if (n.type === 'resource_declaration') {
      const kids = named(n);
      const raw = literal(kids[1]) ?? kids[1]!.text;
      let type = raw;
      if (!raw.includes('@') && parentType) {
        const [pt, version] = parentType.split('@');
        type = `${pt}/${raw}@${version}`;
      }
      const body = bodyOf(n);
      out.push({ symbol: kids[0]!.text, type, existing: n.children.some((c) => c?.type === 'existing'), body, line: n.startPosition.row + 1 });
      for (const c of named(body)) visit(c, type);
      return;
    }
    for (const c of named(n)) visit(c, parentType);
  };
  visit(root);
  return out;
}

// ---------------------------------------------------------------------------------------------
// The check

/** Problems of one resource against the type data; empty when it type-checks. */
export function checkResource(r: ResourceDecl, index: TypeIndex, where: string): string[] {
  const at = `${where}:${r.line} ${r.symbol}`;
  const entry = index.resources.get(r.type.toLowerCase());
  if (!entry) {
    const [t] = r.type.split('@');
    const versions = [...index.resources.keys()].filter((k) => k.startsWith(`${t!.toLowerCase()}@`)).map((k) => k.split('@')[1]);
    return [`${at}: no type ${r.type} in infra/types${versions.length ? ` (stored versions: ${versions.join(', ')})` : ''}`];
  }
  if (r.existing || !r.body) return [];
  const problems: string[] = [];
  checkValue(r.body, entry.body, entry.types, `${at}`, problems, true);
  return problems;
}

function describe(t: BicepType, types: BicepType[]): string {
  switch (t.$type) {
    case 'StringLiteralType':
      return `'${t.value}'`;
    case 'UnionType':
      return t.elements.map((e) => describe(deref(types, e), types)).join(' | ');
    case 'ArrayType':
      return 'array';
    case 'ObjectType':
    case 'DiscriminatedObjectType':
      return 'object';
    default:
      return t.$type.replace(/Type$/, '').toLowerCase();
  }
}

/** Literal kind of a value node, or undefined for an expression we do not evaluate. */
function kindOf(v: Node): 'object' | 'array' | 'string' | 'number' | 'boolean' | 'null' | undefined {
  switch (v.type) {
    case 'object':
      return 'object';
    case 'array':
      return 'array';
    case 'string':
      return 'string';
    case 'number':
      return 'number';
    case 'boolean':
      return 'boolean';
    case 'null':
      return 'null';
    default:
      return undefined;
  }
}

function accepts(t: BicepType, types: BicepType[], v: Node): boolean {
  const kind = kindOf(v);
  if (kind === undefined || kind === 'null') return true;
  switch (t.$type) {
    case 'AnyType':
      return true;
    case 'StringType':
      return kind === 'string';
    case 'StringLiteralType': {
      if (kind !== 'string') return false;
      const s = literal(v);
      return s === undefined || s === t.value;
    }
    case 'IntegerType':
      return kind === 'number';
    case 'BooleanType':
      return kind === 'boolean';
    case 'ArrayType':
      return kind === 'array';
    case 'ObjectType':
    case 'DiscriminatedObjectType':
      return kind === 'object';
    case 'UnionType':
      return t.elements.some((e) => accepts(deref(types, e), types, v));
    default:
      return false;
  }
}

function checkValue(v: Node, t: BicepType, types: BicepType[], path: string, problems: string[], top = false): void {
  if (v.type === 'ternary_expression') {
    const kids = named(v);
    for (const branch of kids.slice(1)) checkValue(branch, t, types, path, problems, top);
    return;
  }
  if (v.type === 'parenthesized_expression') {
    const inner = named(v)[0];
    if (inner) checkValue(inner, t, types, path, problems, top);
    return;
  }
  if (!accepts(t, types, v)) {
    problems.push(`${path}: ${JSON.stringify(v.text.slice(0, 40))} is not ${describe(t, types)}`);
    return;
  }
  if (t.$type === 'UnionType') {
    // Descend into the one object/array member that fits, if exactly one does.
    const fits = t.elements.map((e) => deref(types, e)).filter((e) => ['ObjectType', 'DiscriminatedObjectType', 'ArrayType'].includes(e.$type) && accepts(e, types, v));
    if (fits.length === 1) checkValue(v, fits[0]!, types, path, problems, top);
    return;
  }
  if (t.$type === 'ArrayType' && v.type === 'array') {
    const item = deref(types, t.itemType);
    named(v).forEach((x, i) => checkValue(x, item, types, `${path}[${i}]`, problems));
    return;
  }
  if ((t.$type === 'ObjectType' || t.$type === 'DiscriminatedObjectType') && v.type === 'object') {
    checkObject(v, t, types, path, problems, top);
  }
}

function checkObject(
  v: Node,
  t: Extract<BicepType, { $type: 'ObjectType' | 'DiscriminatedObjectType' }>,
  types: BicepType[],
  path: string,
  problems: string[],
  top: boolean,
): void {
  const set = new Map<string, Node>();
  for (const p of named(v)) {
    if (p.type !== 'object_property') continue;
    const kids = named(p);
    if (kids[0]?.type === 'resource_declaration') continue; // a nested child resource
    set.set(key(p), kids[kids.length - 1]!);
  }
  let properties: Record<string, Property>;
  let additional: Ref | undefined;
  if (t.$type === 'DiscriminatedObjectType') {
    const d = set.get(t.discriminator);
    const value = literal(d);
    const element = value === undefined ? undefined : t.elements[value];
    if (value !== undefined && !element) {
      problems.push(`${path}.${t.discriminator}: '${value}' is not one of ${Object.keys(t.elements).join(', ')}`);
      return;
    }
    if (!element) return; // discriminator is an expression: nothing more to check
    const et = deref(types, element);
    if (et.$type !== 'ObjectType') return;
    properties = { ...t.baseProperties, ...et.properties };
    additional = et.additionalProperties;
  } else {
    properties = t.properties;
    additional = t.additionalProperties;
  }
  const lower = new Map(Object.keys(properties).map((k) => [k.toLowerCase(), k]));
  for (const [k, value] of set) {
    if (top && BICEP_KEYWORDS.has(k)) continue;
    const name = properties[k] ? k : lower.get(k.toLowerCase()); // ARM property names are case-insensitive
    if (!name) {
      if (additional) checkValue(value, deref(types, additional), types, `${path}.${k}`, problems);
      else problems.push(`${path}.${k}: no such property (${Object.keys(properties).sort().join(', ')})`);
      continue;
    }
    const prop = properties[name]!;
    if (prop.flags & READ_ONLY) {
      problems.push(`${path}.${k}: read-only, cannot be set`);
      continue;
    }
    checkValue(value, deref(types, prop.type), types, `${path}.${k}`, problems);
  }
  for (const [name, prop] of Object.entries(properties)) {
    if (prop.flags & REQUIRED && !(prop.flags & READ_ONLY) && ![...set.keys()].some((k) => k.toLowerCase() === name.toLowerCase())) {
      problems.push(`${path}.${name}: required, not set`);
    }
  }
}
