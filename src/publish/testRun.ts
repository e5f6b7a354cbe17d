/**
 * "Test" in the publish panel: Python code that runs the service code in the notebook's kernel on
 * a copy of its namespace, with sample inputs bound, and prints the outputs as one JSON line.
 */
import { IParamRow } from './infer';

export const TEST_MARKER = '__o16n_test_result__';

function pyString(text: string): string {
  return JSON.stringify(text); // a JSON string literal is a valid Python string literal
}

export interface ITestSpec {
  code?: string;
  functionName?: string;
  /** the function's POSITIONAL_ONLY parameters, in order: they cannot be passed by keyword */
  positional?: string[];
  initCode?: string;
  inputs: { name: string; value: unknown }[];
  outputs: IParamRow[];
}

/** The Python source to execute; nothing it binds leaks into the user's namespace. */
export function buildTestCode(spec: ITestSpec): string {
  const inputs = pyString(JSON.stringify(Object.fromEntries(spec.inputs.map(i => [i.name, i.value]))));
  const outputs = pyString(JSON.stringify(spec.outputs.map(o => o.name)));
  const lines = [
    'def __o16n_test():',
    '    import json as _json',
    '    _ns = dict(globals())',
    `    _inputs = _json.loads(${inputs})`,
    `    _outputs = _json.loads(${outputs})`
  ];
  if (spec.initCode && spec.initCode.trim()) {
    lines.push(`    exec(compile(${pyString(spec.initCode)}, "<init>", "exec"), _ns)`);
  }
  if (spec.functionName) {
    lines.push(
      `    _args = [_inputs.pop(_n) for _n in _json.loads(${pyString(JSON.stringify(spec.positional ?? []))}) if _n in _inputs]`,
      `    _r = _ns[${pyString(spec.functionName)}](*_args, **_inputs)`,
      '    if isinstance(_r, dict) and set(_outputs) <= set(_r):',
      '        _values = {k: _r[k] for k in _outputs}',
      '    elif isinstance(_r, tuple) and len(_outputs) > 1:',
      '        _values = dict(zip(_outputs, _r))',
      '    else:',
      '        _values = {(_outputs[0] if _outputs else "result"): _r}'
    );
  } else {
    lines.push(
      '    _ns.update(_inputs)',
      `    exec(compile(${pyString(spec.code ?? '')}, "<service>", "exec"), _ns)`,
      '    _values = {k: _ns.get(k) for k in _outputs}'
    );
  }
  lines.push(
    '    def _plain(v):',
    '        if hasattr(v, "to_dict") and hasattr(v, "columns"):',
    '            return v.to_dict(orient="list")',
    '        if hasattr(v, "tolist"):',
    '            return v.tolist()',
    '        return str(v)',
    `    print(${pyString(TEST_MARKER)} + _json.dumps(_values, default=_plain))`,
    'try:',
    '    __o16n_test()',
    'finally:',
    '    del __o16n_test'
  );
  return lines.join('\n');
}

/** Find the outputs printed by the test code in the kernel's stdout. */
export function parseTestOutput(stdout: string): Record<string, unknown> | null {
  const line = stdout.split('\n').find(l => l.startsWith(TEST_MARKER));
  if (!line) {
    return null;
  }
  try {
    return JSON.parse(line.slice(TEST_MARKER.length));
  } catch {
    return null;
  }
}
