import { IKernelVariable } from '../../api/types';
import { analyzeCode, inferFromCode, inferFromFunction, tokenize } from '../infer';

const v = (name: string, type: string, picklable = true): IKernelVariable => ({ name, type, size: 10, picklable });

describe('tokenize', () => {
  it('skips strings and comments', () => {
    const names = tokenize('x = "a b" # c d\ny = f\'{z}\'').filter(t => t.kind === 'name').map(t => t.text);
    expect(names).toEqual(['x', 'y']);
  });

  it('keeps a bracketed expression on one logical line', () => {
    const toks = tokenize('y = f(a,\n      b)\nz = 1');
    expect(toks.filter(t => t.kind === 'nl')).toHaveLength(2);
  });
});

describe('analyzeCode', () => {
  it('finds reads and assignments of the Iris walkthrough code', () => {
    const r = analyzeCode('iris_type = [names[x] for x in clf.predict(flower_data)]');
    expect(r.reads).toEqual(['names', 'clf', 'flower_data']);
    expect(r.assigns).toEqual(['iris_type']);
  });

  it('ignores attributes, keyword arguments, builtins and names defined earlier', () => {
    const r = analyzeCode('import numpy as np\nscale = 2\nresult = np.round(len(values) * scale, decimals=digits)');
    expect(r.reads).toEqual(['values', 'digits']);
    expect(r.assigns).toEqual(['scale', 'result']);
    expect(r.readAfterAssign).toEqual(['scale']);
  });

  it('treats a name read before its assignment as free', () => {
    expect(analyzeCode('total = total + x').reads).toEqual(['total', 'x']);
    expect(analyzeCode('count += step').reads).toEqual(['count', 'step']);
  });

  it('knows for, with, except, lambda and def scopes', () => {
    const code = [
      'def score(row, k=3):',
      '    s = row * k + offset',
      '    return s',
      'for i, item in enumerate(items):',
      '    acc.append(score(item))',
      'with open(path) as fh:',
      '    text = fh.read()',
      'try:',
      '    pass',
      'except ValueError as err:',
      '    print(err)',
      'f = lambda a: a + bias'
    ].join('\n');
    const r = analyzeCode(code);
    expect(r.reads.sort()).toEqual(['acc', 'bias', 'items', 'offset', 'path'].sort());
    expect(r.assigns).toEqual(['text', 'f']);
  });

  it('handles tuple targets, subscripts and annotations', () => {
    const r = analyzeCode('a, b = pair\nd[key] = 1\nn: int = 4');
    expect(r.reads).toEqual(['pair', 'd', 'key']);
    expect(r.assigns).toEqual(['a', 'b', 'n']);
  });

  it('guesses assigned types from the right-hand side', () => {
    const r = analyzeCode('s = "x"\ni = 3\nf = 2.5\nb = True\nv = [1, 2]\nm = [[1], [2]]\nt = str(z)');
    expect(r.assignedTypes).toEqual({ s: 'str', i: 'int', f: 'float', b: 'bool', v: 'vector', m: 'matrix', t: 'str' });
  });
});

describe('inferFromCode', () => {
  const kernel = [v('clf', 'SVC'), v('names', 'list'), v('flowers', 'DataFrame')];

  it('splits free names into inputs and kernel objects', () => {
    const r = inferFromCode('iris_type = [names[x] for x in clf.predict(flower_data)]', kernel);
    expect(r.usedVariables).toEqual(['names', 'clf']);
    expect(r.inputs).toEqual([{ name: 'flower_data', type: 'vector' }]);
    expect(r.outputs).toEqual([{ name: 'iris_type', type: 'vector' }]);
  });

  it('makes an unticked kernel variable an input, typed from the kernel', () => {
    const r = inferFromCode('y = clf.predict(flowers)', kernel, [], ['clf']);
    expect(r.inputs).toEqual([{ name: 'flowers', type: 'dataframe' }]);
  });

  it('prefers the final assignment as output and falls back to the last one', () => {
    expect(inferFromCode('tmp = x * 2\ny = tmp + 1', []).outputs.map(o => o.name)).toEqual(['y']);
    expect(inferFromCode('y = x\ny = y + 1', []).outputs.map(o => o.name)).toEqual(['y']);
  });

  it('treats kernel functions as objects, not inputs', () => {
    const r = inferFromCode('answer = helper(x)', [], [{ name: 'helper', signature: '(x)', parameters: [], returns: null, pythonReturns: null, doc: null }]);
    expect(r.inputs.map(i => i.name)).toEqual(['x']);
    expect(r.usedVariables).toEqual(['helper']);
  });

  it('defaults unknown inputs to float', () => {
    expect(inferFromCode('y = x * 2', []).inputs).toEqual([{ name: 'x', type: 'float' }]);
  });
});

describe('inferFromFunction', () => {
  it('reads annotations (wire or Python) and the return type', () => {
    const r = inferFromFunction({
      name: 'predict_iris',
      signature: '(flower_data: list, k: int = 3, label="a") -> str',
      parameters: [
        { name: 'flower_data', annotation: 'vector', default: null, kind: 'POSITIONAL_OR_KEYWORD', pythonType: 'list' },
        { name: 'k', annotation: 'integer', default: '3', kind: 'POSITIONAL_OR_KEYWORD', pythonType: 'int' },
        // `default` is the Python repr: strings come single-quoted
        { name: 'label', annotation: null, default: "'a'", kind: 'KEYWORD_ONLY', pythonType: null }
      ],
      returns: 'character',
      pythonReturns: 'str',
      doc: null
    });
    expect(r.inputs).toEqual([
      { name: 'flower_data', type: 'vector' },
      { name: 'k', type: 'int' },
      { name: 'label', type: 'str' }
    ]);
    expect(r.outputs).toEqual([{ name: 'result', type: 'str' }]);
  });
});
