import { IAnalysis, ICapturedEnvironment, IEnvironment } from '../../api/types';
import {
  addPackage,
  applyCapturedEnvironment,
  emptyEnvironment,
  environmentEdited,
  exactPin,
  matchingEnvironment,
  normalizeName,
  pinWarning,
  readRememberedEnvironment,
  removePackage,
  requirementOf,
  resetEnvironment,
  restoreEnvironment,
  setEnvironmentMode,
  setPackageName,
  setPin,
  setPython,
  setServerBuilds,
  toEnvironmentSpec,
  validateEnvironment,
  warningCount
} from '../environment';
import { fieldOfError } from '../fields';
import { applyAnalysis, newModel, rememberTarget, toPublishRequest, validateForm, withForm } from '../model';

const captured: ICapturedEnvironment = {
  python: '3.13.1',
  packages: [
    { name: 'scikit-learn', version: '1.5.2', serverVersion: '1.5.2', reason: 'provides sklearn (clf is a sklearn.svm.SVC)' },
    { name: 'numpy', version: '2.1.3', serverVersion: '2.0.0', reason: 'needed by scikit-learn' },
    { name: 'xgboost', version: '2.1.1', serverVersion: null, reason: 'provides xgboost (booster is a xgboost.Booster)' }
  ]
};

const fresh = () => applyCapturedEnvironment(emptyEnvironment(), captured);

describe('the captured environment', () => {
  it('lists the packages with their pins, reasons and the server versions', () => {
    const env = fresh();
    expect(env.python).toBe('3.13.1');
    expect(env.rows.map(requirementOf)).toEqual(['scikit-learn==1.5.2', 'numpy==2.1.3', 'xgboost==2.1.1']);
    expect(env.rows[0].reason).toBe('provides sklearn (clf is a sklearn.svm.SVC)');
    expect(environmentEdited(env)).toBe(false);
  });

  it('warns on each row whose pin differs from the server, or that the server lacks', () => {
    const env = fresh();
    expect(env.rows.map(pinWarning)).toEqual([null, 'the server has 2.0.0', 'not on the server']);
    expect(warningCount(env)).toBe(2);
    // pinning numpy to the server's version clears its warning; a range is not an exact pin
    expect(pinWarning(setPin(env, 1, '2.0.0').rows[1])).toBeNull();
    expect(pinWarning(setPin(env, 1, '==2.0.0').rows[1])).toBeNull();
    expect(pinWarning(setPin(env, 1, '>=2.0').rows[1])).toBeNull();
    expect(pinWarning(setPin(env, 0, '1.4.0').rows[0])).toBe('the server has 1.5.2');
  });

  it('a package the user adds: no warning until the server version is known', () => {
    let env = addPackage(fresh(), 'attrs', '24.2.0');
    expect(env.rows[3]).toMatchObject({ name: 'attrs', added: true, kernelVersion: null });
    expect(pinWarning(env.rows[3])).toBeNull();
    // renamed to a package the analysis reported: its server version is known
    env = setPackageName(env, 3, 'NumPy');
    expect(pinWarning(env.rows[3])).toBe('the server has 2.0.0');
  });

  it('a package the user adds is checked against every package of the server, when the relay lists them', () => {
    const listed = applyCapturedEnvironment(emptyEnvironment(), {
      ...captured,
      serverPackages: { 'scikit-learn': '1.5.2', numpy: '2.0.0', Attrs: '23.1.0' }
    });
    let env = addPackage(listed, 'attrs', '24.2.0');
    expect(pinWarning(env.rows[3])).toBe('the server has 23.1.0');
    env = addPackage(env, 'polars', '1.9.0');
    expect(pinWarning(env.rows[4])).toBe('not on the server');
    env = setPackageName(env, 4, 'Attrs');
    expect(pinWarning(env.rows[4])).toBe('the server has 23.1.0');
    // the listing survives a reset and an analysis that could not reach the server
    const again = applyCapturedEnvironment(resetEnvironment(env), { python: '3.13.1', packages: [] });
    expect(pinWarning(addPackage(again, 'polars', '1.9.0').rows[0])).toBe('not on the server');
  });

  it('when the server cannot say, no package is called lacking', () => {
    const unknown = applyCapturedEnvironment(emptyEnvironment(), {
      python: '3.13.1',
      packages: captured.packages.map(({ serverVersion: _unknown, ...p }) => p),
      serverPackages: null
    });
    expect(unknown.rows.map(pinWarning)).toEqual([null, null, null]);
    expect(warningCount(unknown)).toBe(0);
    expect(pinWarning(addPackage(unknown, 'polars', '1.9.0').rows[3])).toBeNull();
  });

  it('keeps the user edits when the analysis runs again', () => {
    let env = fresh();
    env = setPin(env, 0, '1.4.2'); // change a pin
    env = removePackage(env, 2); // remove xgboost
    env = addPackage(env, 'attrs', '24.2.0');
    expect(env.removed).toEqual(['xgboost']);
    expect(environmentEdited(env)).toBe(true);
    const again = applyCapturedEnvironment(env, {
      ...captured,
      packages: [...captured.packages, { name: 'pandas', version: '2.2.3', serverVersion: '2.2.3', reason: 'provides pandas (df)' }]
    });
    expect(again.rows.map(requirementOf)).toEqual(['scikit-learn==1.4.2', 'numpy==2.1.3', 'pandas==2.2.3', 'attrs==24.2.0']);
    expect(again.rows[0].kernelVersion).toBe('1.5.2');
  });

  it('drops an unchanged package the analysis no longer captures, keeps one the user pinned', () => {
    const env = setPin(fresh(), 1, '2.0.0');
    const again = applyCapturedEnvironment(env, { python: '3.13.1', packages: [captured.packages[2]] });
    expect(again.rows.map(requirementOf)).toEqual(['xgboost==2.1.1', 'numpy==2.0.0']);
    expect(again.rows[1].added).toBe(true);
  });

  it('a row the user added for a package the analysis then captures: the user row wins, once', () => {
    const env = addPackage(emptyEnvironment(), 'scikit_learn', '1.4.0');
    const again = applyCapturedEnvironment(env, captured);
    expect(again.rows.filter(r => normalizeName(r.name) === 'scikit-learn').map(requirementOf)).toEqual(['scikit_learn==1.4.0']);
    expect(again.rows.find(r => r.added)?.serverVersion).toBe('1.5.2');
  });

  it('a Python the user typed survives a new analysis; resetting goes back to the kernel', () => {
    const env = setPython(setPin(fresh(), 0, '1.4.2'), '3.12');
    const again = applyCapturedEnvironment(removePackage(env, 2), captured);
    expect(again.python).toBe('3.12');
    const reset = resetEnvironment(again);
    expect(reset.python).toBe('3.13.1');
    expect(reset.rows.map(requirementOf)).toEqual(['scikit-learn==1.5.2', 'numpy==2.1.3', 'xgboost==2.1.1']);
    expect(reset.removed).toEqual([]);
    expect(environmentEdited(reset)).toBe(false);
  });
});

describe('requirements', () => {
  it('writes pins, specifiers and unpinned names', () => {
    const row = { name: 'attrs', version: '', kernelVersion: null, reason: null, added: true };
    expect(requirementOf(row)).toBe('attrs');
    expect(requirementOf({ ...row, version: '24.2.0' })).toBe('attrs==24.2.0');
    expect(requirementOf({ ...row, version: '>=23,<25' })).toBe('attrs>=23,<25');
    expect(requirementOf({ ...row, version: '~=24.2' })).toBe('attrs~=24.2');
    expect(exactPin({ ...row, version: '==24.2.0' })).toBe('24.2.0');
    expect(exactPin({ ...row, version: '!=24.2.0' })).toBeNull();
  });

  it('validates package names, versions, duplicates and the Python version', () => {
    let env = addPackage(fresh(), '', '1.0');
    env = addPackage(env, 'bad name', '');
    env = addPackage(env, 'Scikit_Learn', '1.0');
    env = addPackage(env, 'attrs', 'not a version');
    env = setPython(env, '3.x');
    expect(validateEnvironment(env)).toEqual({
      'environment.python': expect.stringMatching(/not a Python version/),
      'environment.3': expect.stringMatching(/Name the package/),
      'environment.4': expect.stringMatching(/not a package name/),
      'environment.5': expect.stringMatching(/appears twice/),
      'environment.6': expect.stringMatching(/not a version/)
    });
    expect(validateEnvironment(setEnvironmentMode(env, 'server'))).toEqual({});
    expect(validateEnvironment(setPin(fresh(), 0, '>=1.4,<2'))).toEqual({});
    expect(validateEnvironment(setPython(fresh(), ''))['environment.python']).toMatch(/Give the Python version/);
  });

  it('maps the relay and server fields to the section and its rows', () => {
    expect(fieldOfError('environment')).toBe('environment');
    expect(fieldOfError('environment.packages[2]')).toBe('environment.2');
    expect(fieldOfError('environment.packages.1')).toBe('environment.1');
    expect(fieldOfError('environment.python')).toBe('environment.python');
    expect(fieldOfError('model')).toBe('model');
  });
});

describe('the publish request body', () => {
  const analysis: IAnalysis = {
    inputs: [{ name: 'x', type: 'numeric', reason: null }],
    outputs: [{ name: 'y', type: 'numeric', reason: null }],
    objects: [{ name: 'clf', reason: 'read by the code' }],
    function: null,
    environment: captured
  };
  const analyzed = () =>
    applyAnalysis(
      withForm(newModel({ selectedCode: 'y = clf.predict([[x]])[0]', target: null, versionScheme: 'v1' }), { name: 'Iris' }),
      'cells',
      analysis
    );

  it('carries the edited environment', () => {
    const model = analyzed();
    const env = addPackage(removePackage(setPin(model.form.environment, 1, '2.0.0'), 2), 'attrs', '24.2.0');
    const request = toPublishRequest(withForm(model, { environment: env }).form, 'k1');
    expect(request.environment).toEqual({ python: '3.13.1', packages: ['scikit-learn==1.5.2', 'numpy==2.0.0', 'attrs==24.2.0'] });
  });

  it('null for the server environment; left out when nothing was captured', () => {
    const model = analyzed();
    const server = withForm(model, { environment: setEnvironmentMode(model.form.environment, 'server') });
    expect(toPublishRequest(server.form, 'k1').environment).toBeNull();
    const none = withForm(model, { name: 'Iris' });
    const blank = { ...none.form, environment: emptyEnvironment() };
    expect('environment' in toPublishRequest(blank, 'k1')).toBe(false);
    expect(toEnvironmentSpec(emptyEnvironment('server'))).toBeNull();
  });

  it('a bad row stops the publish with the field named', () => {
    const model = analyzed();
    const env = addPackage(model.form.environment, 'numpy', '1.0');
    expect(validateForm({ ...model.form, environment: env })).toEqual({ 'environment.3': 'numpy appears twice.' });
  });

  it('the notebook remembers the choice and the edits, and takes them back', () => {
    const model = analyzed();
    const env = setEnvironmentMode(addPackage(removePackage(setPin(model.form.environment, 0, '1.4.2'), 2), 'attrs', '24.2.0'), 'captured');
    const target = rememberTarget({ ...model.form, environment: env }, 'v1', 'v1');
    const stored = readRememberedEnvironment(JSON.parse(JSON.stringify(target.environment)));
    expect(stored).toEqual({
      mode: 'captured',
      removed: ['xgboost'],
      pins: [
        { name: 'scikit-learn', version: '1.4.2', added: false },
        { name: 'attrs', version: '24.2.0', added: true }
      ]
    });
    const restored = applyCapturedEnvironment(restoreEnvironment(stored), captured);
    expect(restored.rows.map(requirementOf)).toEqual(['scikit-learn==1.4.2', 'numpy==2.1.3', 'attrs==24.2.0']);
    expect(readRememberedEnvironment({ mode: 'server', pins: [{ name: 3 }] })).toEqual({ mode: 'server', removed: [], pins: [] });
  });
});

describe('an environment the server already has', () => {
  const built = (packages: string[], state: IEnvironment['state'] = 'ready'): IEnvironment => ({
    key: 'abc',
    python: '3.13.1',
    packages,
    state,
    progress: null,
    message: null,
    sizeBytes: 1,
    buildSeconds: 1,
    services: [{ name: 'Iris', version: 'v1' }]
  });

  it('matches by Python and the sorted, normalized pins', () => {
    const spec = { python: '3.13.1', packages: ['Scikit_Learn==1.5.2', 'numpy==2.1.3'] };
    expect(matchingEnvironment(spec, [built(['numpy==2.1.3', 'scikit-learn==1.5.2'])])).not.toBeNull();
    expect(matchingEnvironment(spec, [built(['numpy==2.1.3'])])).toBeNull();
    expect(matchingEnvironment(spec, [built(['numpy==2.1.3', 'scikit-learn==1.5.2'], 'failed')])).toBeNull();
    expect(matchingEnvironment(null, [built([])])).toBeNull();
  });
});

describe('what the relay sends', () => {
  it('a kernel that cannot tell its Python: empty, and nothing is sent without packages', () => {
    const env = applyCapturedEnvironment(emptyEnvironment(), { python: null, packages: [], notes: ['mymod (read by the code) is not from an installed distribution'] });
    expect(env.python).toBe('');
    expect(toEnvironmentSpec(env)).toBeUndefined();
    expect(validateEnvironment(addPackage(env, 'attrs', '1.0'))['environment.python']).toMatch(/Give the Python version/);
  });
});

describe('a server that builds no environments', () => {
  it('sends no environment (the body a 9.1 server takes) and checks no rows', () => {
    const env = setServerBuilds(addPackage(fresh(), '', ''), false);
    expect(toEnvironmentSpec(env)).toBeUndefined();
    expect(validateEnvironment(env)).toEqual({});
    // known again to build them: the rows are sent (and checked)
    expect(validateEnvironment(setServerBuilds(env, true))).toEqual({ 'environment.3': 'Name the package or remove the row.' });
    expect(toEnvironmentSpec(setServerBuilds(fresh(), null))?.packages).toHaveLength(3);
  });
});
