/**
 * A small evaluator of Bicep expressions on tree-sitter-bicep's syntax tree, for the expressions
 * whose value decides what the app gets (POOLS): literals, objects, arrays, strings with
 * interpolation, variables (from the file, evaluated on demand), parameters and module outputs
 * (given by the test), `.`/`.?`/`[]` access, `!`, `&&`, `||`, `==`, `!=` (case-sensitive, as ARM),
 * `??`, `?:`, lambdas and the functions below. Semantics from the Bicep docs ("Bicep functions":
 * union, contains, empty, map, filter, toLower, string; "Bicep operators"). Anything else throws,
 * so a test never passes on a value this evaluator only guessed.
 */
import type { Node } from 'web-tree-sitter';

export type Value = null | boolean | number | string | Value[] | { [k: string]: Value } | Lambda;
interface Lambda {
  lambda: Node;
  params: string[];
  scope: Scope;
}
export type Scope = Map<string, Value>;

const isObject = (v: Value): v is { [k: string]: Value } =>
  v !== null && typeof v === 'object' && !Array.isArray(v) && !('lambda' in v);

/** ARM's union of objects: later properties win; nested objects are merged (Bicep docs, union). */
function unionObjects(a: { [k: string]: Value }, b: { [k: string]: Value }): { [k: string]: Value } {
  const out = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const prev = out[k];
    out[k] = prev !== undefined && isObject(prev) && isObject(v) ? unionObjects(prev, v) : v;
  }
  return out;
}

/** Object keys in ARM are case-insensitive (contains, property access). */
function getKey(o: { [k: string]: Value }, key: string): Value | undefined {
  const k = Object.keys(o).find((x) => x.toLowerCase() === key.toLowerCase());
  return k === undefined ? undefined : o[k];
}

export class BicepEvaluator {
  constructor(
    private readonly variables: Map<string, Node>,
    private readonly globals: Scope,
  ) {}

  private readonly cache = new Map<string, Value>();

  lookup(name: string, scope: Scope): Value {
    if (scope.has(name)) return scope.get(name)!;
    if (this.globals.has(name)) return this.globals.get(name)!;
    if (this.cache.has(name)) return this.cache.get(name)!;
    const decl = this.variables.get(name);
    if (!decl) throw new Error(`bicep-eval: '${name}' is neither a variable nor given (parameter, module)`);
    const v = this.eval(decl, new Map());
    this.cache.set(name, v);
    return v;
  }

  private call(name: string, args: Value[]): Value {
    const apply = (v: Value, ...a: Value[]) => {
      if (!v || typeof v !== 'object' || Array.isArray(v) || !('lambda' in v)) throw new Error(`bicep-eval: ${name} needs a lambda`);
      const f = v as Lambda;
      const scope = new Map(f.scope);
      f.params.forEach((p, i) => scope.set(p, a[i] ?? null));
      return this.eval(f.lambda, scope);
    };
    switch (name) {
      case 'union':
        if (args.every(isObject)) return args.reduce((a, b) => unionObjects(a, b), {});
        if (args.every(Array.isArray)) return [...new Set(args.flat().map((x) => JSON.stringify(x)))].map((s) => JSON.parse(s) as Value);
        break;
      case 'contains': {
        const [c, x] = args;
        if (isObject(c!) && typeof x === 'string') return getKey(c, x) !== undefined;
        if (Array.isArray(c)) return c.some((e) => JSON.stringify(e) === JSON.stringify(x));
        if (typeof c === 'string' && typeof x === 'string') return c.toLowerCase().includes(x.toLowerCase());
        break;
      }
      case 'empty': {
        const [c] = args;
        if (c === null || c === '') return true;
        if (Array.isArray(c)) return c.length === 0;
        if (isObject(c!)) return Object.keys(c).length === 0;
        return false;
      }
      case 'map':
        if (Array.isArray(args[0])) return args[0].map((e, i) => apply(args[1]!, e, i));
        break;
      case 'filter':
        if (Array.isArray(args[0])) return args[0].filter((e, i) => apply(args[1]!, e, i) === true);
        break;
      case 'toLower':
        if (typeof args[0] === 'string') return args[0].toLowerCase();
        break;
      case 'string':
        return typeof args[0] === 'string' ? args[0] : JSON.stringify(args[0]);
    }
    throw new Error(`bicep-eval: ${name}(${args.map((a) => JSON.stringify(a)).join(', ')}) is not supported`);
  }

  eval(node: Node, scope: Scope): Value {
    const kids = node.namedChildren.filter((c): c is Node => !!c && c.type !== 'comment');
    switch (node.type) {
      case 'variable_declaration':
        return this.eval(kids[kids.length - 1]!, scope);
      case 'parenthesized_expression':
        return this.eval(kids[0]!, scope);
      case 'boolean':
        return node.text === 'true';
      case 'null':
        return null;
      case 'number':
        return Number(node.text);
      case 'identifier':
        return this.lookup(node.text, scope);
      case 'string': {
        let out = '';
        for (const c of node.namedChildren) {
          if (!c) continue;
          if (c.type === 'string_content') out += c.text;
          else if (c.type === 'escape_sequence') out += JSON.parse(`"${c.text.replace(/^\\'/, "'")}"`) as string;
          else if (c.type === 'interpolation') {
            const v = this.eval(c.namedChildren.find((x) => !!x)!, scope);
            out += typeof v === 'string' ? v : JSON.stringify(v);
          } else throw new Error(`bicep-eval: string part ${c.type}`);
        }
        return out;
      }
      case 'object': {
        const o: { [k: string]: Value } = {};
        for (const p of kids) {
          if (p.type !== 'object_property') throw new Error(`bicep-eval: object member ${p.type}`);
          const [k, v] = p.namedChildren.filter((c): c is Node => !!c && c.type !== 'comment');
          o[k!.type === 'string' ? (this.eval(k!, scope) as string) : k!.text] = this.eval(v!, scope);
        }
        return o;
      }
      case 'array':
        return kids.map((k) => this.eval(k.type === 'array_item' ? k.namedChildren[0]! : k, scope));
      case 'member_expression': {
        const target = this.eval(kids[0]!, scope);
        const safe = node.children.some((c) => c?.text === '.?');
        const key = kids[1]!.text;
        if (target === null && safe) return null;
        if (!isObject(target)) throw new Error(`bicep-eval: .${key} of a non-object`);
        const v = getKey(target, key);
        if (v === undefined) {
          if (safe) return null;
          throw new Error(`bicep-eval: no property ${key}`);
        }
        return v;
      }
      case 'unary_expression': {
        const op = node.children[0]!.text;
        const v = this.eval(kids[0]!, scope);
        if (op === '!' && typeof v === 'boolean') return !v;
        if (op === '-' && typeof v === 'number') return -v;
        throw new Error(`bicep-eval: ${op} on ${JSON.stringify(v)}`);
      }
      case 'binary_expression': {
        const op = node.children.find((c) => !!c && !c.isNamed)!.text;
        const left = this.eval(kids[0]!, scope);
        if (op === '&&') return left === true && this.eval(kids[1]!, scope) === true;
        if (op === '||') return left === true || this.eval(kids[1]!, scope) === true;
        if (op === '??') return left ?? this.eval(kids[1]!, scope);
        const right = this.eval(kids[1]!, scope);
        if (op === '==') return JSON.stringify(left) === JSON.stringify(right);
        if (op === '!=') return JSON.stringify(left) !== JSON.stringify(right);
        throw new Error(`bicep-eval: operator ${op}`);
      }
      case 'ternary_expression': {
        const cond = this.eval(kids[0]!, scope);
        if (typeof cond !== 'boolean') throw new Error('bicep-eval: a condition that is not a boolean');
        return this.eval(cond ? kids[1]! : kids[2]!, scope);
      }
      case 'lambda_expression': {
        const params = kids.slice(0, -1).flatMap((k) => (k.type === 'identifier' ? [k.text] : k.namedChildren.map((c) => c!.text)));
        return { lambda: kids[kids.length - 1]!, params, scope };
      }
      case 'call_expression': {
        const name = kids[0]!.text;
        const args = kids[1]!.namedChildren.filter((c): c is Node => !!c && c.type !== 'comment').map((a) => this.eval(a, scope));
        return this.call(name, args);
      }
    }
    throw new Error(`bicep-eval: ${node.type} is not supported: ${node.text.slice(0, 60)}`);
  }
}
