/**
 * A small heuristic that reads Python cell code and tells which names it reads before defining
 * them (candidate inputs, or kernel objects to ship) and which it assigns (candidate outputs).
 * It tokenizes Python (strings and comments skipped), splits logical statements, and knows
 * assignments, imports, def/class, for/with/except targets, comprehensions, lambdas, keyword
 * arguments and attribute access. It is a guess shown to the user, who edits the result.
 */
import { IFunctionParameter, IKernelFunction, IKernelVariable } from '../api/types';
import { UiType, toUiType } from '../common/paramTypes';

export interface IParamRow {
  name: string;
  type: UiType;
}

export interface ICodeNames {
  /** Names read at top level before the cell defines them, or read in function bodies and never defined. */
  reads: string[];
  /** Names assigned at top level (imports, def/class and loop variables excluded), in order. */
  assigns: string[];
  /** Names the cell defines in any way (assignments, imports, def, class, loop targets). */
  defined: string[];
  /** Assigned names that the cell reads again after assigning them (intermediates). */
  readAfterAssign: string[];
  /** Guessed type of the last value assigned to each name, from its right-hand side. */
  assignedTypes: Record<string, UiType | null>;
  /** Names used as sequences (subscripted or iterated). */
  sequences: string[];
}

const KEYWORDS = new Set(
  (
    'False None True and as assert async await break class continue def del elif else except finally ' +
    'for from global if import in is lambda nonlocal not or pass raise return try while with yield match case'
  ).split(' ')
);

export const BUILTINS = new Set(
  (
    'abs aiter all anext any ascii bin bool breakpoint bytearray bytes callable chr classmethod compile ' +
    'complex copyright credits delattr dict dir divmod enumerate eval exec exit filter float format ' +
    'frozenset getattr globals hasattr hash help hex id input int isinstance issubclass iter len license ' +
    'list locals map max memoryview min next object oct open ord pow print property quit range repr ' +
    'reversed round set setattr slice sorted staticmethod str sum super tuple type vars zip __import__ ' +
    '__name__ __file__ __doc__ __builtins__ self cls display get_ipython Exception ValueError TypeError ' +
    'KeyError IndexError RuntimeError StopIteration NotImplementedError AttributeError ArithmeticError ' +
    'ZeroDivisionError AssertionError ImportError OSError IOError FileNotFoundError NotImplemented Ellipsis'
  ).split(' ')
);

type TokKind = 'name' | 'op' | 'str' | 'num' | 'nl';
interface IToken {
  kind: TokKind;
  text: string;
  /** indentation (columns) of the logical line the token starts, for 'nl' of the next line */
  indent: number;
}

/** Split Python source into tokens; strings become one 'str' token, comments vanish. */
export function tokenize(source: string): IToken[] {
  const tokens: IToken[] = [];
  let i = 0;
  let depth = 0;
  let lineIndent = 0;
  let atLineStart = true;
  const n = source.length;
  const push = (kind: TokKind, text: string) => tokens.push({ kind, text, indent: lineIndent });
  while (i < n) {
    const c = source[i];
    if (atLineStart) {
      // measure the indentation; blank and comment-only lines do not start a statement
      let col = 0;
      while (i < n && (source[i] === ' ' || source[i] === '\t')) {
        col += source[i] === '\t' ? 4 : 1;
        i++;
      }
      if (i >= n) {
        break;
      }
      if (source[i] === '#') {
        while (i < n && source[i] !== '\n') {
          i++;
        }
        continue;
      }
      if (source[i] === '\n' || source[i] === '\r') {
        i++;
        continue;
      }
      lineIndent = col;
      atLineStart = false;
      continue;
    }
    if (c === '#') {
      while (i < n && source[i] !== '\n') {
        i++;
      }
      continue;
    }
    if (c === '\\' && source[i + 1] === '\n') {
      i += 2;
      continue;
    }
    if (c === '\n' || c === '\r') {
      i++;
      if (depth === 0) {
        if (tokens.length && tokens[tokens.length - 1].kind !== 'nl') {
          push('nl', '\n');
        }
        atLineStart = true;
      }
      continue;
    }
    if (c === ' ' || c === '\t') {
      i++;
      continue;
    }
    // string literal, with optional prefix
    const strMatch = /^([rRbBuUfF]{0,2})('''|"""|'|")/.exec(source.slice(i, i + 5));
    if (strMatch && (strMatch[1] === '' || /[A-Za-z]/.test(c))) {
      const prefix = strMatch[1];
      const quote = strMatch[2];
      const raw = /r/i.test(prefix);
      let j = i + prefix.length + quote.length;
      while (j < n) {
        if (!raw && source[j] === '\\') {
          j += 2;
          continue;
        }
        if (source.startsWith(quote, j)) {
          j += quote.length;
          break;
        }
        if (quote.length === 1 && source[j] === '\n') {
          break;
        }
        j++;
      }
      push('str', source.slice(i, j));
      i = j;
      continue;
    }
    if (/[A-Za-z_\u00c0-\uffff]/.test(c)) {
      let j = i + 1;
      while (j < n && /[A-Za-z0-9_\u00c0-\uffff]/.test(source[j])) {
        j++;
      }
      push('name', source.slice(i, j));
      i = j;
      continue;
    }
    if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(source[i + 1] ?? ''))) {
      const m = /^(0[xXoObB][0-9a-fA-F_]+|(\d[\d_]*)?\.?\d*([eE][+-]?\d+)?[jJ]?)/.exec(source.slice(i));
      const len = m && m[0].length ? m[0].length : 1;
      push('num', source.slice(i, i + len));
      i += len;
      continue;
    }
    const ops3 = ['**=', '//=', '>>=', '<<=', '...'];
    const ops2 = ['==', '!=', '<=', '>=', '+=', '-=', '*=', '/=', '%=', '&=', '|=', '^=', '@=', '->', ':=', '**', '//', '<<', '>>'];
    const three = source.slice(i, i + 3);
    const two = source.slice(i, i + 2);
    if (ops3.includes(three)) {
      push('op', three);
      i += 3;
      continue;
    }
    if (ops2.includes(two)) {
      push('op', two);
      i += 2;
      continue;
    }
    if ('([{'.includes(c)) {
      depth++;
    } else if (')]}'.includes(c)) {
      depth = Math.max(0, depth - 1);
    }
    push('op', c);
    i++;
  }
  if (tokens.length && tokens[tokens.length - 1].kind !== 'nl') {
    push('nl', '\n');
  }
  return tokens;
}

interface IStatement {
  tokens: IToken[];
  indent: number;
}

function statements(tokens: IToken[]): IStatement[] {
  const out: IStatement[] = [];
  let cur: IToken[] = [];
  let curIndent = 0;
  let depth = 0;
  const flush = () => {
    if (cur.length) {
      out.push({ tokens: cur, indent: curIndent });
    }
    cur = [];
  };
  const COMPOUND = ['if', 'elif', 'else', 'for', 'while', 'with', 'try', 'except', 'finally', 'def', 'class'];
  for (const t of tokens) {
    if (t.kind === 'op' && '([{'.includes(t.text)) {
      depth++;
    } else if (t.kind === 'op' && ')]}'.includes(t.text)) {
      depth = Math.max(0, depth - 1);
    }
    if (t.kind === 'nl' || (t.kind === 'op' && t.text === ';' && depth === 0)) {
      const indent = curIndent;
      flush();
      curIndent = t.kind === 'nl' ? 0 : indent;
      continue;
    }
    if (!cur.length && curIndent === 0) {
      curIndent = t.indent;
    }
    cur.push(t);
    // "if x: y = 1" -> the header, then its one-line body one level deeper
    if (t.kind === 'op' && t.text === ':' && depth === 0 && cur[0].kind === 'name' && COMPOUND.includes(cur[0].text)) {
      if (cur[0].text === 'def' || cur[0].text === 'class' || !cur.some((x, k) => k > 0 && x.text === 'lambda')) {
        const indent = curIndent;
        flush();
        curIndent = indent + 1;
      }
    }
  }
  flush();
  return out;
}

/** Names bound by a target list such as `a, (b, c)` or `x: int` (plain names only). */
function targetNames(tokens: IToken[]): { bound: string[]; read: string[] } {
  const bound: string[] = [];
  const read: string[] = [];
  let depth = 0;
  for (let k = 0; k < tokens.length; k++) {
    const t = tokens[k];
    if (t.kind === 'op') {
      if ('([{'.includes(t.text)) {
        depth++;
      } else if (')]}'.includes(t.text)) {
        depth--;
      } else if (t.text === ':' && depth === 0) {
        // annotation: `x: int` -> the rest names a type, not a read of interest
        break;
      }
      continue;
    }
    if (t.kind !== 'name' || KEYWORDS.has(t.text)) {
      continue;
    }
    const prev = tokens[k - 1];
    const next = tokens[k + 1];
    if (prev && prev.kind === 'op' && prev.text === '.') {
      continue;
    }
    if (next && next.kind === 'op' && (next.text === '.' || next.text === '[' || next.text === '(')) {
      // x.attr = / x[0] = / f(x).y = : x is used, not rebound
      read.push(t.text);
      continue;
    }
    if (prev && prev.kind === 'op' && prev.text === '[') {
      read.push(t.text);
      continue;
    }
    bound.push(t.text);
  }
  return { bound, read };
}

interface IExprNames {
  reads: string[];
  locals: Set<string>;
  sequences: string[];
}

/** Names an expression reads (keyword args, attributes, comprehension and lambda variables excluded). */
function expressionReads(tokens: IToken[]): IExprNames {
  const locals = new Set<string>();
  const sequences: string[] = [];
  // comprehension targets: "for <targets> in" anywhere inside the expression; lambda parameters
  for (let k = 0; k < tokens.length; k++) {
    const t = tokens[k];
    if (t.kind === 'name' && t.text === 'for') {
      let j = k + 1;
      while (j < tokens.length && !(tokens[j].kind === 'name' && tokens[j].text === 'in')) {
        if (tokens[j].kind === 'name') {
          locals.add(tokens[j].text);
        }
        j++;
      }
    }
    if (t.kind === 'name' && t.text === 'lambda') {
      let j = k + 1;
      while (j < tokens.length && !(tokens[j].kind === 'op' && tokens[j].text === ':')) {
        if (tokens[j].kind === 'name' && !(tokens[j - 1]?.kind === 'op' && tokens[j - 1].text === '=')) {
          locals.add(tokens[j].text);
        }
        j++;
      }
    }
  }
  const reads: string[] = [];
  let depth = 0;
  for (let k = 0; k < tokens.length; k++) {
    const t = tokens[k];
    if (t.kind === 'op') {
      if ('([{'.includes(t.text)) {
        depth++;
      } else if (')]}'.includes(t.text)) {
        depth--;
      }
      continue;
    }
    if (t.kind !== 'name' || KEYWORDS.has(t.text) || locals.has(t.text)) {
      continue;
    }
    const prev = tokens[k - 1];
    const next = tokens[k + 1];
    if (prev && prev.kind === 'op' && prev.text === '.') {
      continue;
    }
    if (
      depth > 0 &&
      next &&
      next.kind === 'op' &&
      next.text === '=' &&
      prev &&
      prev.kind === 'op' &&
      (prev.text === '(' || prev.text === ',')
    ) {
      continue; // keyword argument
    }
    if (next && next.kind === 'op' && next.text === '[') {
      sequences.push(t.text);
    }
    if (prev && prev.kind === 'name' && prev.text === 'in') {
      sequences.push(t.text);
    }
    // model(x) / [x] as a row: predict([x]), clf.predict(x), np.array(x)
    const before = tokens[k - 2];
    if (
      prev &&
      prev.kind === 'op' &&
      prev.text === '(' &&
      before &&
      before.kind === 'name' &&
      /^(predict|predict_proba|predict_log_proba|decision_function|transform|array|asarray)$/.test(before.text)
    ) {
      sequences.push(t.text);
    }
    if (prev && prev.kind === 'op' && prev.text === '[' && next && next.kind === 'op' && next.text === ']' && !(before && (before.kind === 'name' || before.text === ')' || before.text === ']'))) {
      sequences.push(t.text);
    }
    reads.push(t.text);
  }
  return { reads, locals, sequences };
}

/** Guess the type of a value from the tokens of its expression. */
export function guessExpressionType(tokens: IToken[]): UiType | null {
  if (!tokens.length) {
    return null;
  }
  const first = tokens[0];
  const text = tokens.map(t => t.text).join(' ');
  if (tokens.length === 1) {
    if (first.kind === 'str') {
      return 'str';
    }
    if (first.kind === 'num') {
      return /^\d[\d_]*$/.test(first.text) ? 'int' : 'float';
    }
    if (first.text === 'True' || first.text === 'False') {
      return 'bool';
    }
  }
  if (first.kind === 'op' && first.text === '[') {
    // [[...], [...]] is a matrix, other list displays and comprehensions vectors
    const second = tokens[1];
    return second && second.kind === 'op' && second.text === '[' ? 'matrix' : 'vector';
  }
  if (/\bDataFrame \(|\. to_frame \(|\. read_csv \(|\. merge \(/.test(text)) {
    return 'dataframe';
  }
  if (/^(str|f?'|f?")/.test(text) || /\. (format|join|upper|lower|strip) \(/.test(text)) {
    if (first.kind === 'str' || first.text === 'str') {
      return 'str';
    }
  }
  if (first.text === 'str' && tokens[1]?.text === '(') {
    return 'str';
  }
  if ((first.text === 'int' || first.text === 'len' || first.text === 'round') && tokens[1]?.text === '(') {
    return 'int';
  }
  if (first.text === 'float' && tokens[1]?.text === '(') {
    return 'float';
  }
  if (first.text === 'bool' && tokens[1]?.text === '(') {
    return 'bool';
  }
  if (tokens.some(t => t.kind === 'op' && ['==', '!=', '<', '>', '<=', '>='].includes(t.text)) && !tokens.some(t => t.text === '[')) {
    return 'bool';
  }
  if (first.text === 'list' || first.text === 'sorted' || /\. (tolist|predict|predict_proba|transform) \( .*\)$/.test(text)) {
    if (!/\) \[/.test(text)) {
      return 'vector';
    }
  }
  return null;
}

function splitOnTopLevel(tokens: IToken[], op: string): IToken[][] {
  const parts: IToken[][] = [[]];
  let depth = 0;
  for (const t of tokens) {
    if (t.kind === 'op' && '([{'.includes(t.text)) {
      depth++;
    } else if (t.kind === 'op' && ')]}'.includes(t.text)) {
      depth--;
    }
    if (t.kind === 'op' && t.text === op && depth === 0) {
      parts.push([]);
    } else {
      parts[parts.length - 1].push(t);
    }
  }
  return parts;
}

const AUGMENTED = ['+=', '-=', '*=', '/=', '//=', '%=', '**=', '&=', '|=', '^=', '>>=', '<<=', '@='];

/** Analyze a cell: what it reads freely and what it assigns. */
export function analyzeCode(code: string): ICodeNames {
  const stmts = statements(tokenize(code));
  const definedAnywhere = new Set<string>();
  const definedSoFar = new Set<string>();
  const reads: string[] = [];
  const assigns: string[] = [];
  const assignedAt = new Map<string, number>();
  const readAfterAssign = new Set<string>();
  const assignedTypes: Record<string, UiType | null> = {};
  const sequences = new Set<string>();
  const deferredReads: { name: string; locals: Set<string> }[] = [];

  // function/class bodies: a stack of [indent, local names]
  const scopes: { indent: number; locals: Set<string> }[] = [];

  const noteRead = (name: string, index: number) => {
    if (BUILTINS.has(name) || KEYWORDS.has(name)) {
      return;
    }
    if (scopes.length) {
      const locals = new Set<string>();
      scopes.forEach(s => s.locals.forEach(l => locals.add(l)));
      if (!locals.has(name)) {
        deferredReads.push({ name, locals });
      }
      return;
    }
    if (!definedSoFar.has(name)) {
      if (!reads.includes(name)) {
        reads.push(name);
      }
    } else if (assignedAt.has(name) && (assignedAt.get(name) as number) < index) {
      readAfterAssign.add(name);
    }
  };
  const define = (name: string, isOutput: boolean, index: number, type: UiType | null = null) => {
    if (scopes.length) {
      scopes[scopes.length - 1].locals.add(name);
      return;
    }
    definedAnywhere.add(name);
    definedSoFar.add(name);
    if (isOutput) {
      if (!assigns.includes(name)) {
        assigns.push(name);
      }
      assignedAt.set(name, index);
      assignedTypes[name] = type;
    }
  };

  stmts.forEach((stmt, index) => {
    const toks = stmt.tokens;
    while (scopes.length && stmt.indent <= scopes[scopes.length - 1].indent) {
      scopes.pop();
    }
    const head = toks[0];
    const kw = head.kind === 'name' ? head.text : '';

    if (kw === 'import' || (kw === 'from' && toks.some(t => t.text === 'import'))) {
      const start = kw === 'import' ? 1 : toks.findIndex(t => t.text === 'import') + 1;
      const parts = splitOnTopLevel(toks.slice(start).filter(t => !(t.kind === 'op' && '()'.includes(t.text))), ',');
      for (const part of parts) {
        const asIdx = part.findIndex(t => t.text === 'as');
        const name = asIdx >= 0 ? part[asIdx + 1]?.text : part[0]?.text;
        if (name && name !== '*') {
          define(name, false, index);
        }
      }
      return;
    }
    if (kw === 'def' || kw === 'class' || (kw === 'async' && toks[1]?.text === 'def')) {
      const nameTok = kw === 'async' ? toks[2] : toks[1];
      const params = new Set<string>();
      const open = toks.findIndex(t => t.text === '(');
      if (kw !== 'class' && open >= 0) {
        // parameter names: a name right after "(", ",", "*" or "**" at depth 1
        let depth = 0;
        for (let k = open; k < toks.length; k++) {
          const t = toks[k];
          if (t.kind === 'op' && '([{'.includes(t.text)) {
            depth++;
          } else if (t.kind === 'op' && ')]}'.includes(t.text)) {
            depth--;
            if (depth === 0) {
              break;
            }
          } else if (t.kind === 'name' && depth === 1) {
            const prev = toks[k - 1];
            if (prev.kind === 'op' && ['(', ',', '*', '**'].includes(prev.text)) {
              params.add(t.text);
            } else if (!(prev.kind === 'op' && prev.text === '.')) {
              noteRead(t.text, index); // defaults and annotations
            }
          } else if (t.kind === 'name' && depth > 1) {
            noteRead(t.text, index);
          }
        }
      }
      if (nameTok) {
        define(nameTok.text, false, index);
      }
      scopes.push({ indent: stmt.indent, locals: params });
      return;
    }
    if (kw === 'global' || kw === 'nonlocal' || kw === 'pass' || kw === 'break' || kw === 'continue') {
      return;
    }
    if (kw === 'for' || (kw === 'async' && toks[1]?.text === 'for')) {
      const inIdx = toks.findIndex(t => t.kind === 'name' && t.text === 'in');
      const target = targetNames(toks.slice(kw === 'for' ? 1 : 2, inIdx));
      const body = toks.slice(inIdx + 1, toks.length - 1);
      const expr = expressionReads(body);
      expr.reads.forEach(r => noteRead(r, index));
      body.forEach(t => t.kind === 'name' && expr.reads.includes(t.text) && sequences.add(t.text));
      target.read.forEach(r => noteRead(r, index));
      target.bound.forEach(b => define(b, false, index));
      return;
    }
    if (kw === 'with' || kw === 'except') {
      const parts = splitOnTopLevel(toks.slice(1, toks.length - 1), ',');
      for (const part of parts) {
        const asIdx = part.findIndex(t => t.text === 'as');
        const expr = expressionReads(asIdx >= 0 ? part.slice(0, asIdx) : part);
        expr.reads.forEach(r => noteRead(r, index));
        if (asIdx >= 0) {
          targetNames(part.slice(asIdx + 1)).bound.forEach(b => define(b, false, index));
        }
      }
      return;
    }
    if (kw === 'del') {
      return;
    }

    // assignment statement? split on top-level "=" (augmented ops keep the target read too)
    const augIdx = toks.findIndex(t => t.kind === 'op' && AUGMENTED.includes(t.text));
    if (augIdx > 0 && !scopesHasDepth(toks, augIdx)) {
      const target = targetNames(toks.slice(0, augIdx));
      target.bound.forEach(b => noteRead(b, index));
      target.read.forEach(r => noteRead(r, index));
      const expr = expressionReads(toks.slice(augIdx + 1));
      expr.reads.forEach(r => noteRead(r, index));
      expr.sequences.forEach(s => sequences.add(s));
      target.bound.forEach(b => define(b, true, index, assignedTypes[b] ?? null));
      return;
    }
    const parts = splitOnTopLevel(toks, '=');
    const body = parts[parts.length - 1];
    // control-flow keywords lead an expression; the rest of the header is read
    const exprTokens = ['if', 'elif', 'while', 'return', 'assert', 'raise', 'yield', 'else', 'try', 'finally', 'await'].includes(kw)
      ? body.slice(1)
      : body;
    const expr = expressionReads(exprTokens);
    expr.reads.forEach(r => noteRead(r, index));
    expr.sequences.forEach(s => sequences.add(s));
    // walrus targets
    toks.forEach((t, k) => {
      if (t.kind === 'op' && t.text === ':=' && toks[k - 1]?.kind === 'name') {
        define(toks[k - 1].text, true, index);
      }
    });
    if (parts.length > 1) {
      const rhsType = guessExpressionType(body);
      for (const targetToks of parts.slice(0, -1)) {
        const target = targetNames(targetToks);
        target.read.forEach(r => noteRead(r, index));
        const single = target.bound.length === 1;
        target.bound.forEach(b => define(b, true, index, single ? rhsType : null));
      }
    }
  });

  // names read inside function bodies that the cell never defines are free too
  for (const { name } of deferredReads) {
    if (!definedAnywhere.has(name) && !reads.includes(name)) {
      reads.push(name);
    }
  }
  return {
    reads,
    assigns,
    defined: [...definedAnywhere],
    readAfterAssign: assigns.filter(a => readAfterAssign.has(a)),
    assignedTypes,
    sequences: [...sequences]
  };
}

function scopesHasDepth(toks: IToken[], index: number): boolean {
  let depth = 0;
  for (let k = 0; k < index; k++) {
    const t = toks[k];
    if (t.kind === 'op' && '([{'.includes(t.text)) {
      depth++;
    } else if (t.kind === 'op' && ')]}'.includes(t.text)) {
      depth--;
    }
  }
  return depth !== 0;
}

export interface IInference {
  inputs: IParamRow[];
  outputs: IParamRow[];
  /** Kernel variables the code reads (to tick as objects to ship with the service). */
  usedVariables: string[];
}

/**
 * Inputs and outputs of cell code: free names that are neither defined in the cell nor kernel
 * objects chosen to ship -> inputs; assigned names not read again afterwards -> outputs (the last
 * assigned name when every assignment is an intermediate).
 *
 * @param objects the kernel variables chosen as objects; by default every kernel variable the code reads
 */
export function inferFromCode(
  code: string,
  kernelVariables: IKernelVariable[],
  kernelFunctions: IKernelFunction[] = [],
  objects?: string[]
): IInference {
  const names = analyzeCode(code);
  const known = new Map<string, IKernelVariable>();
  kernelVariables.forEach(v => known.set(v.name, v));
  const functionNames = new Set(kernelFunctions.map(f => f.name));
  const usedVariables = names.reads.filter(r => known.has(r) || functionNames.has(r));
  const chosen = new Set(objects ?? usedVariables);
  const sequences = new Set(names.sequences);

  const inputs: IParamRow[] = names.reads
    .filter(r => !chosen.has(r) && !functionNames.has(r))
    .map(name => ({
      name,
      type: (known.has(name) ? toUiType(known.get(name)!.type) : null) ?? (sequences.has(name) ? 'vector' : 'float')
    }));
  const inputNames = new Set(inputs.map(i => i.name));
  let outputNames = names.assigns.filter(a => !names.readAfterAssign.includes(a) && !inputNames.has(a));
  if (!outputNames.length && names.assigns.length) {
    outputNames = [names.assigns[names.assigns.length - 1]];
  }
  const outputs: IParamRow[] = outputNames.map(name => ({
    name,
    type: names.assignedTypes[name] ?? (known.has(name) ? toUiType(known.get(name)!.type) : null) ?? 'float'
  }));
  return { inputs, outputs, usedVariables };
}

/** Inputs and outputs of a kernel function: parameters by annotation, output `result` by return type. */
export function inferFromFunction(fn: IKernelFunction): { inputs: IParamRow[]; outputs: IParamRow[] } {
  const inputs = fn.parameters
    .filter((p: IFunctionParameter) => !p.name.startsWith('*'))
    .map(p => ({
      name: p.name,
      type: toUiType(p.annotation) ?? toUiType(p.pythonType) ?? guessFromDefault(p.default) ?? 'float'
    }));
  const outputs: IParamRow[] =
    fn.returns === null || fn.returns === 'None' ? [{ name: 'result', type: 'float' }] : [{ name: 'result', type: toUiType(fn.returns) ?? toUiType(fn.pythonReturns) ?? 'float' }];
  return { inputs, outputs };
}

function guessFromDefault(value: string | null): UiType | null {
  if (value === null || value === undefined) {
    return null;
  }
  const toks = tokenize(value).filter(t => t.kind !== 'nl');
  return guessExpressionType(toks);
}
