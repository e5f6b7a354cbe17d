import { checkIdentifier, describeStep, emptyForm, fieldOfServerError, IPublishForm, toPublishRequest, validateForm } from '../model';
import { buildTestCode, parseTestOutput, TEST_MARKER } from '../testRun';

const form = (p: Partial<IPublishForm>): IPublishForm => ({ ...emptyForm(), name: 'Iris', code: 'y = x', ...p });

describe('validateForm', () => {
  it('accepts a complete form', () => {
    expect(validateForm(form({ inputs: [{ name: 'x', type: 'float' }], outputs: [{ name: 'y', type: 'float' }] }))).toEqual({});
  });

  it('names the fields at fault', () => {
    const errors = validateForm(
      form({
        name: '9 lives',
        version: 'v 2',
        code: ' ',
        inputs: [
          { name: 'x', type: 'float' },
          { name: 'x', type: 'int' },
          { name: 'class', type: 'str' }
        ],
        outputs: [{ name: '', type: 'float' }, { name: 'x', type: 'float' }],
        outputFileNames: 'a.png, ../b.csv'
      })
    );
    expect(Object.keys(errors).sort()).toEqual(
      ['name', 'version', 'code', 'inputs.1', 'inputs.2', 'outputs.0', 'outputs.1', 'outputFileNames'].sort()
    );
    expect(errors['inputs.1']).toMatch(/twice/);
    expect(errors['outputs.1']).toMatch(/input already/);
  });

  it('leaves the version to the server when it is empty', () => {
    expect(validateForm(form({ version: '' }))).toEqual({});
    expect(toPublishRequest(form({ version: '  ' }), 'k')).not.toHaveProperty('version');
  });

  it('checks the optional operation id is a Python identifier', () => {
    expect(validateForm(form({ operationId: '' }))).toEqual({});
    expect(validateForm(form({ operationId: 'predict_iris' }))).toEqual({});
    expect(validateForm(form({ operationId: 'größe_2' }))).toEqual({}); // Python allows Unicode letters
    expect(validateForm(form({ operationId: '2fast' })).operationId).toMatch(/not a Python identifier/);
    expect(validateForm(form({ operationId: 'predict-iris' })).operationId).toMatch(/not a Python identifier/);
    expect(validateForm(form({ operationId: 'has space' })).operationId).toMatch(/not a Python identifier/);
    expect(checkIdentifier('lambda')).toMatch(/keyword/);
    expect(fieldOfServerError('operationId')).toBe('operationId');
  });

  it('sends the operation id only when given', () => {
    expect(toPublishRequest(form({ operationId: ' predict ' }), 'k').operationId).toBe('predict');
    expect(toPublishRequest(form({}), 'k')).not.toHaveProperty('operationId');
  });

  it('refuses a version that exists', () => {
    expect(validateForm(form({ version: 'v1' }), ['v1']).version).toMatch(/exists/);
  });

  it('needs a function in function mode', () => {
    expect(validateForm(form({ source: 'function', functionName: '' })).functionName).toBeTruthy();
  });
});

describe('toPublishRequest', () => {
  it('sends wire types and either code or functionName', () => {
    const req = toPublishRequest(
      form({
        inputs: [{ name: 'flower_data', type: 'vector' }],
        outputs: [{ name: 'iris_type', type: 'str' }],
        variables: ['clf'],
        outputFileNames: 'a.png,  b.csv '
      }),
      'kernel-1'
    );
    expect(req).toMatchObject({
      kernelId: 'kernel-1',
      name: 'Iris',
      version: 'v1',
      code: 'y = x',
      inputs: [{ name: 'flower_data', type: 'vector' }],
      outputs: [{ name: 'iris_type', type: 'character' }],
      variables: ['clf'],
      outputFileNames: ['a.png', 'b.csv']
    });
    expect(req.functionName).toBeUndefined();
    const fn = toPublishRequest(form({ source: 'function', functionName: 'predict' }), 'k');
    expect(fn.functionName).toBe('predict');
    expect(fn.code).toBeUndefined();
  });
});

describe('fieldOfServerError', () => {
  it('maps server field names to form fields', () => {
    expect(fieldOfServerError('inputs[1].type')).toBe('inputs.1');
    expect(fieldOfServerError('outputs.0')).toBe('outputs.0');
    expect(fieldOfServerError('version')).toBe('version');
    expect(fieldOfServerError(null)).toBeNull();
  });
});

describe('describeStep', () => {
  it('shows upload progress in MB', () => {
    expect(describeStep('upload', 1.5 * 1024 * 1024, 3 * 1024 * 1024)).toBe('Uploading 1.5 MB of 3.0 MB');
    expect(describeStep('upload', 4543, 4543)).toBe('Uploading 4 KB of 4 KB');
    expect(describeStep('capture')).toMatch(/Capturing/);
  });
});

describe('test code', () => {
  it('runs cell code on a copy of the namespace with the inputs bound', () => {
    const code = buildTestCode({ code: 'y = x * 2', inputs: [{ name: 'x', value: 21 }], outputs: [{ name: 'y', type: 'int' }] });
    expect(code).toContain('_ns = dict(globals())');
    expect(code).toContain('"{\\"x\\":21}"');
    expect(code).toContain('exec(compile("y = x * 2"');
    expect(code).toContain('del __o16n_test');
  });

  it('calls a function with keyword arguments', () => {
    const code = buildTestCode({ functionName: 'predict', inputs: [{ name: 'a', value: [1] }], outputs: [{ name: 'result', type: 'str' }] });
    expect(code).toContain('_ns["predict"](*_args, **_inputs)');
    expect(code).toContain('for _n in _json.loads("[]")');
  });

  it('passes positional-only parameters by position', () => {
    const code = buildTestCode({
      functionName: 'predict',
      positional: ['a'],
      inputs: [{ name: 'a', value: [1] }],
      outputs: [{ name: 'result', type: 'str' }]
    });
    expect(code).toContain('_args = [_inputs.pop(_n) for _n in _json.loads("[\\"a\\"]") if _n in _inputs]');
  });

  it('parses the marker line from stdout', () => {
    expect(parseTestOutput(`hello\n${TEST_MARKER}{"y": 42}\n`)).toEqual({ y: 42 });
    expect(parseTestOutput('nothing')).toBeNull();
  });
});
