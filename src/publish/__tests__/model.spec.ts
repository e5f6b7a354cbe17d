import { IAnalysis } from '../../api/types';
import { fieldOfError, firstErrorField } from '../fields';
import {
  IParamRow,
  IPublishForm,
  IPublishModel,
  applyAnalysis,
  applyNamespace,
  checkIdentifier,
  currentParams,
  emptyForm,
  emptyParameters,
  failedTestApplies,
  functionLabel,
  newModel,
  rememberTarget,
  setName,
  setRows,
  setSource,
  setVersion,
  testKey,
  toPublishRequest,
  toTestRequest,
  toggleObject,
  validateForm,
  versionsFound,
  withForm
} from '../model';
import { describeStep } from '../PublishProgress';
import { codeHash, readTarget, schemeOf } from '../target';

const form = (p: Partial<IPublishForm> & { inputs?: IParamRow[]; outputs?: IParamRow[] }): IPublishForm => {
  const { inputs = [], outputs = [], ...rest } = p;
  const f = { ...emptyForm(), name: 'Iris', code: 'y = x', ...rest };
  return { ...f, params: { ...f.params, [f.source]: { ...emptyParameters(), inputs, outputs } } };
};

const model = (selectedCode = 'iris_type = names[int(clf.predict([flower_data])[0])]'): IPublishModel =>
  newModel({ selectedCode, target: null, versionScheme: 'v1' });

const irisAnalysis: IAnalysis = {
  inputs: [{ name: 'flower_data', type: 'vector', reason: 'read before assigned' }],
  outputs: [{ name: 'iris_type', type: 'character', reason: 'assigned from a list of str' }],
  objects: [
    { name: 'clf', reason: 'read by the code' },
    { name: 'names', reason: 'read by the code' }
  ],
  function: null
};

const predict = {
  name: 'predict',
  signature: 'predict(sepal_length: float, petal_width: float) -> str',
  parameters: [],
  returns: 'character',
  pythonReturns: 'str',
  doc: null
};

describe('validateForm', () => {
  it('accepts a complete form', () => {
    expect(validateForm(form({ inputs: [{ name: 'x', type: 'numeric' }], outputs: [{ name: 'y', type: 'numeric' }] }))).toEqual({});
  });

  it('names the fields at fault', () => {
    const errors = validateForm(
      form({
        name: '9 lives',
        version: 'v 2',
        code: ' ',
        inputs: [
          { name: 'x', type: 'numeric' },
          { name: 'x', type: 'integer' },
          { name: 'class', type: 'character' }
        ],
        outputs: [
          { name: '', type: 'numeric' },
          { name: 'x', type: 'numeric' }
        ],
        outputFileNames: 'a.png, ../b.csv'
      })
    );
    expect(Object.keys(errors).sort()).toEqual(
      ['name', 'version', 'code', 'inputs.1', 'inputs.2', 'outputs.0', 'outputs.1', 'outputFileNames'].sort()
    );
    expect(errors['inputs.1']).toMatch(/twice/);
    expect(errors['outputs.1']).toMatch(/input already/);
  });

  it('accepts a name with a leading digit, as the server does (defect 2 of #12)', () => {
    expect(validateForm(form({ name: '2ndModel', version: '1st' }))).toEqual({});
    expect(validateForm(form({ name: 'Iris', version: 'v1' })).name).toBeUndefined();
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
    expect(fieldOfError('operationId')).toBe('operationId');
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
  it('sends wire types, the objects, and either code or functionName', () => {
    const req = toPublishRequest(
      form({
        inputs: [{ name: 'flower_data', type: 'vector' }],
        outputs: [{ name: 'iris_type', type: 'character', reason: 'why' }],
        objects: ['clf'],
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
      objects: ['clf'],
      outputFileNames: ['a.png', 'b.csv']
    });
    expect(req).not.toHaveProperty('variables');
    expect(req.outputs[0]).not.toHaveProperty('reason');
    expect(req.functionName).toBeUndefined();
    const fn = toPublishRequest(form({ source: 'function', functionName: 'predict' }), 'k');
    expect(fn.functionName).toBe('predict');
    expect(fn.code).toBeUndefined();
  });
});

describe('fieldOfError: relay and server names map to the form field once (defect 3 of #12)', () => {
  it('maps relay fields and rows', () => {
    expect(fieldOfError('inputs[1].type')).toBe('inputs.1');
    expect(fieldOfError('outputs.0')).toBe('outputs.0');
    expect(fieldOfError('version')).toBe('version');
    expect(fieldOfError('objects')).toBe('objects');
    expect(fieldOfError(null)).toBeNull();
    expect(fieldOfError('kernelId')).toBeNull();
  });

  it('maps the o16n server\'s names too', () => {
    expect(fieldOfError('inputParameterDefinitions')).toBe('inputs');
    expect(fieldOfError('outputParameterDefinitions[2].type')).toBe('outputs.2');
  });

  it('finds the first field in error in the form\'s order', () => {
    expect(firstErrorField({ 'outputs.1': 'x', name: 'y' })).toBe('name');
    expect(firstErrorField({ 'inputs.2': 'x', objects: 'y' })).toBe('inputs.2');
  });
});

describe('describeStep', () => {
  it('shows upload progress in MB', () => {
    expect(describeStep('upload', 1.5 * 1024 * 1024, 3 * 1024 * 1024)).toBe('Uploading 1.5 MB of 3.0 MB');
    expect(describeStep('upload', 4543, 4543)).toBe('Uploading 4 KB of 4 KB');
    expect(describeStep('capture')).toMatch(/Capturing/);
  });
});

describe('the analysis from the kernel', () => {
  it('proposes rows with the kernel\'s types and ticks the objects the code needs, with their reason', () => {
    const m = applyAnalysis(model(), 'cells', irisAnalysis);
    expect(currentParams(m.form).inputs).toEqual([{ name: 'flower_data', type: 'vector', reason: 'read before assigned' }]);
    expect(currentParams(m.form).outputs[0].type).toBe('character'); // #13 item 8: a string, not float
    expect(m.form.objects).toEqual(['clf', 'names']);
    expect(m.form.objectReasons.clf).toBe('read by the code');
  });

  it('ticks what a function needs ("used by predict"), and nothing it does not use (#13 item 2)', () => {
    const m0 = setSource({ ...model(), form: { ...model().form, functionName: 'predict' } }, 'function');
    const m = applyAnalysis(m0, 'function', {
      inputs: [{ name: 'sepal_length', type: 'numeric', reason: 'annotation float' }],
      outputs: [{ name: 'result', type: 'character', reason: 'return annotation str' }],
      objects: [
        { name: 'clf', reason: 'used by predict' },
        { name: 'names', reason: 'used by predict' }
      ],
      function: predict
    });
    expect(m.form.objects).toEqual(['clf', 'names']);
    expect(m.form.objects).not.toContain('iris');
    expect(m.form.objectReasons).toEqual({ clf: 'used by predict', names: 'used by predict' });
    expect(currentParams(m.form).origin).toBe('From the signature predict(sepal_length: float, petal_width: float) -> str.');
  });

  it('does not tick objects the kernel cannot serialize', () => {
    const objects = [{ name: 'names', type: 'list', size: 1, picklable: false, reason: 'lock' }];
    expect(applyAnalysis(model(), 'cells', irisAnalysis, objects).form.objects).toEqual(['clf']);
    const later = applyNamespace(applyAnalysis(model(), 'cells', irisAnalysis), objects);
    expect(later.form.objects).toEqual(['clf']);
  });

  it('leaves the objects the user ticked alone', () => {
    const m = applyAnalysis(toggleObject(model(), 'iris'), 'cells', irisAnalysis);
    expect(m.form.objects).toEqual(['iris']);
  });

  it('keeps a type the user chose when the analysis comes again', () => {
    let m = applyAnalysis(model(), 'cells', irisAnalysis);
    m = setRows(m, 'inputs', [{ name: 'flower_data', type: 'matrix' }]);
    expect(currentParams(m.form).edited).toBe(false); // a type change does not freeze the rows
    m = applyAnalysis(m, 'cells', irisAnalysis);
    expect(currentParams(m.form).inputs[0].type).toBe('matrix');
  });

  it('keeps rows the user renamed', () => {
    let m = applyAnalysis(model(), 'cells', irisAnalysis);
    m = setRows(m, 'inputs', [{ name: 'flowers', type: 'vector' }]);
    m = applyAnalysis(m, 'cells', irisAnalysis);
    expect(currentParams(m.form).inputs.map(r => r.name)).toEqual(['flowers']);
  });
});

describe('switching what to run (#13 item 8)', () => {
  it('keeps a type the user chose when switching to a function and back', () => {
    let m = applyAnalysis(model(), 'cells', irisAnalysis);
    m = setRows(m, 'outputs', [{ name: 'iris_type', type: 'logical' }]);
    m = setSource(m, 'function', [predict]);
    expect(m.form.functionName).toBe('predict');
    m = applyAnalysis(m, 'function', { ...irisAnalysis, outputs: [{ name: 'result', type: 'character', reason: null }], function: predict });
    m = setSource(m, 'cells');
    expect(currentParams(m.form).outputs).toEqual([{ name: 'iris_type', type: 'logical' }]);
  });
});

describe('versions and stale text (#13 item 8)', () => {
  it('proposes the next version of the name, and forgets it when the name changes', () => {
    let m = setName(model(), 'Iris');
    m = versionsFound(m, 'Iris', ['v1']);
    expect(m.form.version).toBe('v2');
    m = setName(m, 'Iris x');
    expect(m.form.version).toBe('v1');
    expect(m.existingVersions).toBeNull();
    // a late answer for the old name changes nothing
    expect(versionsFound(m, 'Iris', ['v1', 'v2'])).toBe(m);
  });

  it('clears a field\'s error when the field is edited', () => {
    let m = { ...model(), errors: validateForm(form({ name: 'Iris x', version: 'v 1' })) };
    expect(m.errors.name).toBeTruthy();
    m = setName(m, 'Iris');
    expect(m.errors.name).toBeUndefined();
    expect(m.errors.version).toBeUndefined();
    m = { ...m, errors: { version: 'bad' } };
    expect(setVersion(m, 'v3').errors).toEqual({});
    expect(setVersion(m, 'v3').versionEdited).toBe(true);
  });
});

describe('test request and stale results', () => {
  it('binds the samples by input name and names a sample that does not parse', () => {
    let m = applyAnalysis(model(), 'cells', irisAnalysis);
    m = withForm(m, { samples: { flower_data: '[7, 3.2, 4.7, 1.4]' } });
    expect(toTestRequest(m.form)).toEqual({
      code: m.form.code,
      inputs: [{ name: 'flower_data', type: 'vector', value: [7, 3.2, 4.7, 1.4] }],
      outputs: [{ name: 'iris_type', type: 'character' }]
    });
    expect(() => toTestRequest(withForm(m, { samples: { flower_data: 'abc' } }).form)).toThrow('flower_data: "abc" is not a list');
  });

  it('knows when a failed test is about the code being published', () => {
    const m = applyAnalysis(model(), 'cells', irisAnalysis);
    const failed = { ...m, test: { state: 'failed' as const, key: testKey(m.form), result: null, error: 'NameError' } };
    expect(failedTestApplies(failed)).toBe(true);
    expect(failedTestApplies(withForm(failed, { code: 'iris_type = "x"' }))).toBe(false);
    expect(failedTestApplies(withForm(failed, { samples: { flower_data: '[1]' } }))).toBe(true);
  });
});

describe('remembered per notebook (#13 item 8)', () => {
  it('proposes the last target: name, version scheme, rows, objects, files', () => {
    const code = 'iris_type = names[int(clf.predict([flower_data])[0])]';
    const published = applyAnalysis(
      withForm(model(code), { name: 'Iris', version: '2.0', files: ['work/labels.csv'], outputFileNames: 'plot.png' }),
      'cells',
      irisAnalysis
    );
    const target = rememberTarget(setRows(published, 'outputs', [{ name: 'iris_type', type: 'logical' }]).form, '2.0', 'v1');
    expect(target).toMatchObject({ name: 'Iris', version: '2.0', versionScheme: '1.0', codeHash: codeHash(code), objects: ['clf', 'names'] });
    const next = newModel({ selectedCode: code, target: readTarget(JSON.parse(JSON.stringify(target))), versionScheme: 'v1' });
    expect(next.form.name).toBe('Iris');
    expect(next.versionScheme).toBe('1.0');
    expect(next.form.files).toEqual(['work/labels.csv']);
    expect(next.form.outputFileNames).toBe('plot.png');
    expect(next.form.objects).toEqual(['clf', 'names']);
    expect(currentParams(next.form).outputs).toEqual([{ name: 'iris_type', type: 'logical' }]);
    expect(currentParams(next.form).origin).toBe('As published last time (Iris 2.0).');
    expect(versionsFound(next, 'Iris', ['1.0', '2.0']).form.version).toBe('3.0');
  });

  it('for other code, proposes the name and keeps the chosen types for the analysis', () => {
    const target = rememberTarget(form({ outputs: [{ name: 'y', type: 'logical' }] }), 'v1', 'v1');
    const next = newModel({ selectedCode: 'y = x > 1 and z', target, versionScheme: 'v1' });
    expect(next.form.name).toBe('Iris');
    expect(next.form.objects).toEqual([]);
    const m = applyAnalysis(next, 'cells', { ...irisAnalysis, outputs: [{ name: 'y', type: 'numeric', reason: null }] });
    expect(currentParams(m.form).outputs[0].type).toBe('logical');
  });

  it('a new notebook starts from an empty form, not from another notebook\'s', () => {
    const m = newModel({ selectedCode: 'y = 1', target: null, versionScheme: 'v1' });
    expect(m.form.name).toBe('');
    expect(m.form.description).toBe('');
    expect(m.form.source).toBe('cells');
  });

  it('reads only well-formed targets from metadata', () => {
    expect(readTarget(null)).toBeNull();
    expect(readTarget({ name: '' })).toBeNull();
    expect(readTarget({ name: 'Iris', inputs: [{ name: 'x' }, { name: 'y', type: 'numeric' }] })?.inputs).toEqual([{ name: 'y', type: 'numeric' }]);
    expect(schemeOf('v3')).toBe('v1');
    expect(schemeOf('2024-05-01.2')).toBe('date');
    expect(schemeOf('beta')).toBeNull();
  });
});

describe('functionLabel (#13 item 2)', () => {
  it('shows the function once whether or not the signature carries its name', () => {
    expect(functionLabel(predict)).toBe('predict(sepal_length: float, petal_width: float) -> str');
    expect(functionLabel({ ...predict, signature: '(x) -> str' })).toBe('predict(x) -> str');
  });
});
