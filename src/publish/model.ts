/**
 * The publish panel's model: the form, what the kernel's analysis proposed, validation errors and
 * the last test, as one plain object. The sections get `model` and `onChange` (as
 * jupyter-scheduler's create-job view does); every change goes through the pure functions below,
 * which the jest tests exercise without React.
 */
import {
  AnyPublishRequest,
  IAnalysis,
  IAnalyzeRequest,
  IKernelFunction,
  IKernelObject,
  IPublishRequest,
  IRealtimePublishRequest,
  ITestRequest,
  ITestResult
} from '../api/types';
import { parseTypedValue, sampleValue } from '../common/values';
import { VersionScheme, nextVersion } from '../common/versions';
import { WireType, canonicalType, checkName } from '../common/wireTypes';
import {
  IEnvironmentForm,
  applyCapturedEnvironment,
  emptyEnvironment,
  rememberEnvironment,
  restoreEnvironment,
  setServerBuilds,
  toEnvironmentSpec,
  validateEnvironment
} from './environment';
import { IPublishTarget, codeHash, schemeOf } from './target';

export type CodeSource = 'cells' | 'function';

/** What the panel publishes: code with kernel objects (`script`), or a model alone as a realtime service. */
export type PublishKind = 'script' | 'realtime';

export interface IParamRow {
  name: string;
  type: WireType;
  /** why the kernel's analysis proposed it ("read before assigned", "annotation float") */
  reason?: string | null;
}

/** The inputs and outputs of one source (cells or function): each source keeps its own. */
export interface IParameters {
  inputs: IParamRow[];
  outputs: IParamRow[];
  /** the user renamed, added or removed rows: a new analysis no longer replaces them */
  edited: boolean;
  /** types the user picked ("inputs:x" -> type): kept when the analysis proposes the rows again */
  chosenTypes: Record<string, WireType>;
  /** where the rows came from, shown under the inputs */
  origin: string;
  /** what the analysis noted about other names the code reads (modules to import, undefined globals) */
  notes?: { name: string; reason: string | null }[];
}

export interface IPublishForm {
  kind: PublishKind;
  name: string;
  /** empty: the o16n server generates a version (a UUID) */
  version: string;
  description: string;
  /** the swagger operationId; empty: the server's default (the function name in function mode) */
  operationId: string;
  source: CodeSource;
  /** the selected cells' code (source === 'cells') */
  code: string;
  /** a function defined in the kernel (source === 'function') */
  functionName: string;
  params: Record<CodeSource, IParameters>;
  initCode: string;
  /** comma separated names of the output files the service code writes and returns */
  outputFileNames: string;
  /** kernel objects to serialize into the service's snapshot */
  objects: string[];
  /** the user ticked or unticked objects: a new analysis no longer replaces them */
  objectsEdited: boolean;
  /** why an object was ticked ("used by predict") */
  objectReasons: Record<string, string>;
  /** files of the notebook's folder, relative to the Jupyter root */
  files: string[];
  /** sample input values (JSON text) for the test and the consume cell */
  samples: Record<string, string>;
  /** the environment the service runs in (script services) */
  environment: IEnvironmentForm;
  /** realtime: the kernel variable holding the fitted estimator (or ONNX model) */
  model: string;
  /** realtime: a kernel variable (frame or array) giving the input schema; empty: none */
  sample: string;
}

/** field id -> message. Field ids: name, version, description, operationId, code, functionName,
 * inputs, outputs, inputs.N, outputs.N, objects, files, initCode, outputFileNames, environment,
 * environment.python, environment.N, model, sample */
export type FormErrors = Record<string, string>;

export type RunState = 'idle' | 'running' | 'done' | 'failed';

export interface ITestState {
  state: RunState;
  /** testKey() of the form that was tested: a result for other code is not shown */
  key: string;
  result: ITestResult | null;
  error: string | null;
}

export interface IPublishModel {
  form: IPublishForm;
  versionEdited: boolean;
  versionScheme: VersionScheme;
  /** versions of form.name on the server; null while unknown (no name, an invalid one, lookup failed) */
  existingVersions: string[] | null;
  errors: FormErrors;
  analysis: { state: RunState; error: string | null };
  test: ITestState;
  /** the publish job last started from this notebook */
  jobId: string | null;
  /** the last publish target of this notebook (from its metadata) */
  remembered: IPublishTarget | null;
  /** the selection epoch whose code the form holds (the publish command bumps it) */
  selectionEpoch: number;
  /** the epoch of the last publish command whose kind (code or model) the form took */
  kindEpoch: number;
}

export function emptyParameters(): IParameters {
  return { inputs: [], outputs: [], edited: false, chosenTypes: {}, origin: '' };
}

export function emptyForm(): IPublishForm {
  return {
    name: '',
    version: 'v1',
    description: '',
    operationId: '',
    source: 'cells',
    code: '',
    functionName: '',
    params: { cells: emptyParameters(), function: emptyParameters() },
    initCode: '',
    outputFileNames: '',
    objects: [],
    objectsEdited: false,
    objectReasons: {},
    files: [],
    samples: {},
    environment: emptyEnvironment(),
    kind: 'script',
    model: '',
    sample: ''
  };
}

const IDLE_TEST: ITestState = { state: 'idle', key: '', result: null, error: null };

function typesOf(target: IPublishTarget): Record<string, WireType> {
  const types: Record<string, WireType> = {};
  target.inputs.forEach(r => (types[`inputs:${r.name}`] = r.type));
  target.outputs.forEach(r => (types[`outputs:${r.name}`] = r.type));
  return types;
}

/**
 * The model for a notebook seen for the first time: its selected code, and what was published
 * from it last time (proposed again: name, version scheme, rows, objects, files).
 */
export function newModel(options: {
  selectedCode: string;
  target: IPublishTarget | null;
  versionScheme: VersionScheme;
  selectionEpoch?: number;
}): IPublishModel {
  const { target } = options;
  const form = { ...emptyForm(), code: options.selectedCode };
  let versionScheme = options.versionScheme;
  if (target) {
    versionScheme = target.versionScheme ?? schemeOf(target.version) ?? versionScheme;
    const sameCode = target.source === 'function' || codeHash(options.selectedCode) === target.codeHash;
    Object.assign(form, {
      name: target.name,
      source: target.source,
      functionName: target.functionName,
      files: [...target.files],
      outputFileNames: target.outputFileNames,
      initCode: target.initCode,
      environment: restoreEnvironment(target.environment)
    });
    form.params = {
      ...form.params,
      [target.source]: sameCode
        ? {
            inputs: target.inputs.map(r => ({ ...r })),
            outputs: target.outputs.map(r => ({ ...r })),
            edited: true,
            chosenTypes: typesOf(target),
            origin: `As published last time (${target.name} ${target.version}).`
          }
        : { ...emptyParameters(), chosenTypes: typesOf(target) }
    };
    if (sameCode) {
      form.objects = [...target.objects];
      form.objectsEdited = true;
    }
  }
  form.version = nextVersion([], versionScheme);
  return {
    form,
    versionEdited: false,
    versionScheme,
    existingVersions: null,
    errors: {},
    analysis: { state: 'idle', error: null },
    test: IDLE_TEST,
    jobId: null,
    remembered: target,
    selectionEpoch: options.selectionEpoch ?? 0,
    kindEpoch: 0
  };
}

/** The inputs and outputs of the source the form runs. */
export function currentParams(form: IPublishForm): IParameters {
  return form.params[form.source];
}

function withoutErrors(errors: FormErrors, fields: string[]): FormErrors {
  const next: FormErrors = {};
  for (const [k, v] of Object.entries(errors)) {
    if (!fields.some(f => k === f || k.startsWith(`${f}.`))) {
      next[k] = v;
    }
  }
  return next;
}

/** Change form fields; the errors shown on those fields go (they were about the old text). */
export function withForm(model: IPublishModel, patch: Partial<IPublishForm>): IPublishModel {
  return { ...model, form: { ...model.form, ...patch }, errors: withoutErrors(model.errors, Object.keys(patch)) };
}

/** A new name: the versions known for the old one no longer apply. */
export function setName(model: IPublishModel, name: string): IPublishModel {
  const next = withForm(model, { name });
  const proposed = model.versionEdited ? {} : { version: nextVersion([], model.versionScheme) };
  return { ...next, form: { ...next.form, ...proposed }, existingVersions: null, errors: withoutErrors(next.errors, ['version']) };
}

export function setVersion(model: IPublishModel, version: string): IPublishModel {
  return { ...withForm(model, { version }), versionEdited: true };
}

/** The server answered which versions `name` has (null: it could not tell). */
export function versionsFound(model: IPublishModel, name: string, versions: string[] | null): IPublishModel {
  if (model.form.name.trim() !== name) {
    return model; // an answer for a name typed before
  }
  const next = { ...model, existingVersions: versions };
  if (versions && !model.versionEdited) {
    next.form = { ...model.form, version: nextVersion(versions, model.versionScheme) };
  }
  return next;
}

/** Whether the name is one the server accepts (so its versions can be looked up). */
export function nameIsValid(name: string): boolean {
  return !!name.trim() && checkName(name.trim(), 'Name') === null;
}

/** Switch between the selected cells and a kernel function; each keeps its own rows. */
export function setSource(model: IPublishModel, source: CodeSource, functions: IKernelFunction[] = []): IPublishModel {
  const functionName = source === 'function' ? model.form.functionName || functions[0]?.name || '' : model.form.functionName;
  return withForm(model, { source, functionName });
}

/** Take new cell code (the selection, or typed): the rows follow the next analysis. */
export function setCode(model: IPublishModel, code: string): IPublishModel {
  const next = withForm(model, { code });
  const cells = next.form.params.cells;
  return {
    ...next,
    form: { ...next.form, params: { ...next.form.params, cells: { ...cells, edited: false } } }
  };
}

export function setFunction(model: IPublishModel, functionName: string): IPublishModel {
  const next = withForm(model, { functionName });
  const fn = next.form.params.function;
  return { ...next, form: { ...next.form, params: { ...next.form.params, function: { ...fn, edited: false } } } };
}

/**
 * The user changed the rows of a table. A changed type is remembered for that parameter name;
 * renaming, adding or removing rows keeps the rows from being replaced by the next analysis.
 */
export function setRows(model: IPublishModel, kind: 'inputs' | 'outputs', rows: IParamRow[]): IPublishModel {
  const params = currentParams(model.form);
  const before = params[kind];
  const sameNames = rows.length === before.length && rows.every((r, i) => r.name === before[i].name);
  const chosenTypes = { ...params.chosenTypes };
  rows.forEach((r, i) => {
    if (before[i] && before[i].name === r.name && before[i].type !== r.type) {
      chosenTypes[`${kind}:${r.name}`] = r.type;
    }
  });
  const updated: IParameters = { ...params, [kind]: rows, chosenTypes, edited: params.edited || !sameNames };
  return {
    ...model,
    form: { ...model.form, params: { ...model.form.params, [model.form.source]: updated } },
    errors: withoutErrors(model.errors, [kind])
  };
}

/** "Detect again": the next analysis replaces the rows (types the user picked stay). */
export function detectAgain(model: IPublishModel): IPublishModel {
  const params = currentParams(model.form);
  return {
    ...model,
    form: { ...model.form, params: { ...model.form.params, [model.form.source]: { ...params, edited: false } } }
  };
}

export function toggleObject(model: IPublishModel, name: string): IPublishModel {
  const objects = model.form.objects.includes(name) ? model.form.objects.filter(o => o !== name) : [...model.form.objects, name];
  return withForm(model, { objects, objectsEdited: true });
}

export function toggleFile(model: IPublishModel, path: string): IPublishModel {
  const files = model.form.files.includes(path) ? model.form.files.filter(f => f !== path) : [...model.form.files, path];
  return withForm(model, { files });
}

/** "def predict(x: float) -> str" shown once: the relay's signature may or may not start with the name. */
export function functionLabel(fn: IKernelFunction): string {
  return fn.signature.startsWith(`${fn.name}(`) ? fn.signature : `${fn.name}${fn.signature}`;
}

function unshippable(objects: IKernelObject[]): Set<string> {
  return new Set(objects.filter(o => o.picklable === false).map(o => o.name));
}

/**
 * What the kernel's analysis of `source` found: the rows (unless the user edited them; types the
 * user picked win), and the objects to tick (unless the user ticked some), each with its reason.
 */
export function applyAnalysis(
  model: IPublishModel,
  source: CodeSource,
  analysis: IAnalysis,
  kernelObjects: IKernelObject[] = []
): IPublishModel {
  const params = model.form.params[source];
  const rows = (kind: 'inputs' | 'outputs') =>
    analysis[kind].map(g => ({
      name: g.name,
      type: params.chosenTypes[`${kind}:${g.name}`] ?? canonicalType(g.type) ?? 'numeric',
      reason: g.reason
    }));
  const origin =
    source === 'function' && analysis.function
      ? `From the signature ${functionLabel(analysis.function)}.`
      : 'Guessed in the kernel from the code: names it reads before assigning them are inputs, names it assigns are outputs. Edit as needed.';
  const notes = analysis.notes ?? [];
  const nextParams: IParameters = params.edited
    ? { ...params, notes }
    : { ...params, inputs: rows('inputs'), outputs: rows('outputs'), origin, notes };
  let form: IPublishForm = { ...model.form, params: { ...model.form.params, [source]: nextParams } };
  if (analysis.environment && source === form.source) {
    form = { ...form, environment: applyCapturedEnvironment(form.environment, analysis.environment) };
  }
  if (!form.objectsEdited && source === form.source) {
    const skip = unshippable(kernelObjects);
    const needed = analysis.objects.filter(o => !skip.has(o.name));
    form = {
      ...form,
      objects: needed.map(o => o.name),
      objectReasons: Object.fromEntries(needed.filter(o => o.reason).map(o => [o.name, o.reason as string]))
    };
  }
  return { ...model, form, analysis: { state: 'done', error: null } };
}

/** Whether the o16n server builds environments (null: not known). */
export function environmentSupport(model: IPublishModel, serverBuilds: boolean | null): IPublishModel {
  const environment = setServerBuilds(model.form.environment, serverBuilds);
  return environment === model.form.environment ? model : { ...model, form: { ...model.form, environment } };
}

/** Kernel variables that can be published as a realtime service (fitted estimators, ONNX models). */
export function modelVariables(kernelObjects: IKernelObject[]): IKernelObject[] {
  return kernelObjects.filter(o => o.estimator === true);
}

/** Kernel variables that can give a model's input schema: the others (frames and arrays first). */
export function sampleVariables(kernelObjects: IKernelObject[]): IKernelObject[] {
  const rest = kernelObjects.filter(o => o.estimator !== true);
  const tabular = (o: IKernelObject) => (Array.isArray(o.shape) && o.shape.length === 2 ? 0 : 1);
  return [...rest].sort((a, b) => tabular(a) - tabular(b));
}

/** The model variable to propose: the one chosen while it is still there, else the first estimator. */
function proposedModel(form: IPublishForm, kernelObjects: IKernelObject[]): string {
  const candidates = modelVariables(kernelObjects);
  if (form.model && (candidates.some(o => o.name === form.model) || !kernelObjects.length)) {
    return form.model;
  }
  return candidates[0]?.name ?? form.model;
}

/** Publish code (`script`) or a model alone (`realtime`); `variable`: the model variable to take. */
export function setKind(model: IPublishModel, kind: PublishKind, kernelObjects: IKernelObject[] = [], variable?: string): IPublishModel {
  const next = withForm(model, { kind });
  const chosen = variable ?? proposedModel(next.form, kernelObjects);
  return { ...next, form: { ...next.form, model: chosen } };
}

/** The kernel's objects were listed again: objects ticked by the analysis that cannot be serialized go. */
export function applyNamespace(model: IPublishModel, kernelObjects: IKernelObject[]): IPublishModel {
  if (model.form.kind === 'realtime') {
    const chosen = proposedModel(model.form, kernelObjects);
    model = chosen === model.form.model ? model : { ...model, form: { ...model.form, model: chosen } };
  }
  if (model.form.objectsEdited) {
    return model;
  }
  const skip = unshippable(kernelObjects);
  if (!model.form.objects.some(o => skip.has(o))) {
    return model;
  }
  return { ...model, form: { ...model.form, objects: model.form.objects.filter(o => !skip.has(o)) } };
}

// ------------------------------------------------------------------------------------ validation
const IDENTIFIER = /^[\p{ID_Start}_][\p{ID_Continue}]*$/u;
const PY_KEYWORDS = new Set(
  'False None True and as assert async await break class continue def del elif else except finally for from global if import in is lambda nonlocal not or pass raise return try while with yield'.split(
    ' '
  )
);

export function splitFileNames(text: string): string[] {
  return text
    .split(/[,\n]/)
    .map(s => s.trim())
    .filter(Boolean);
}

/** Why an optional operation id is not a Python identifier; null when it is fine (or empty). */
export function checkIdentifier(text: string): string | null {
  if (!text) {
    return null;
  }
  if (!IDENTIFIER.test(text)) {
    return `"${text}" is not a Python identifier: use letters, digits and "_", and do not start with a digit.`;
  }
  if (PY_KEYWORDS.has(text)) {
    return `"${text}" is a Python keyword.`;
  }
  return null;
}

function checkRows(rows: IParamRow[], kind: 'inputs' | 'outputs', errors: FormErrors): void {
  const seen = new Set<string>();
  rows.forEach((row, i) => {
    const key = `${kind}.${i}`;
    if (!row.name.trim()) {
      errors[key] = 'Name this parameter or remove the row.';
    } else if (!IDENTIFIER.test(row.name) || PY_KEYWORDS.has(row.name)) {
      errors[key] = `"${row.name}" is not a Python variable name.`;
    } else if (seen.has(row.name)) {
      errors[key] = `"${row.name}" appears twice.`;
    }
    seen.add(row.name);
  });
}

/** Check the form; an empty object means it can be published. */
export function validateForm(form: IPublishForm, existingVersions: string[] = []): FormErrors {
  const errors = validateService(form, existingVersions);
  if (form.kind === 'realtime') {
    if (!form.model) {
      errors.model = 'Choose the kernel variable holding the fitted model (a scikit-learn estimator or pipeline, or an ONNX model).';
    } else if (form.sample && form.sample === form.model) {
      errors.sample = 'The sample is the data the model takes, not the model itself.';
    }
    return errors;
  }
  return { ...errors, ...validateScript(form), ...validateEnvironment(form.environment) };
}

/** Name, version and operation id: the same rules for every kind of service. */
function validateService(form: IPublishForm, existingVersions: string[]): FormErrors {
  const errors: FormErrors = {};
  const name = form.name.trim();
  const version = form.version.trim();
  if (!name) {
    errors.name = 'Give the service a name.';
  } else {
    const bad = checkName(name, 'Name');
    if (bad) {
      errors.name = bad;
    }
  }
  // an empty version is fine: the server generates one
  const badVersion = version ? checkName(version, 'Version') : null;
  if (badVersion) {
    errors.version = badVersion;
  } else if (version && existingVersions.includes(version)) {
    errors.version = `${name} ${version} exists already: choose another version.`;
  }
  const operationError = checkIdentifier(form.operationId.trim());
  if (operationError) {
    errors.operationId = operationError;
  }
  return errors;
}

/** The code, its parameters and output files. */
function validateScript(form: IPublishForm): FormErrors {
  const errors: FormErrors = {};
  if (form.source === 'cells' && !form.code.trim()) {
    errors.code = 'Select the cell(s) whose code the service runs.';
  }
  if (form.source === 'function' && !form.functionName) {
    errors.functionName = 'Choose a function defined in the kernel.';
  }
  const { inputs, outputs } = currentParams(form);
  checkRows(inputs, 'inputs', errors);
  checkRows(outputs, 'outputs', errors);
  const inputNames = new Set(inputs.map(r => r.name));
  outputs.forEach((r, i) => {
    if (inputNames.has(r.name) && !errors[`outputs.${i}`]) {
      errors[`outputs.${i}`] = `"${r.name}" is an input already.`;
    }
  });
  const bad = splitFileNames(form.outputFileNames).find(f => f.includes('/') || f.includes('\\') || f === '..');
  if (bad) {
    errors.outputFileNames = `"${bad}": output files are names in the service's working folder, without a path.`;
  }
  return errors;
}

// ------------------------------------------------------------------------------------ requests
const definitions = (rows: IParamRow[]) => rows.map(r => ({ name: r.name, type: r.type }));

/** The publish body for the form's kind. */
export function toRequest(form: IPublishForm, kernelId: string, notebook?: string): AnyPublishRequest {
  return form.kind === 'realtime' ? toRealtimeRequest(form, kernelId, notebook) : toPublishRequest(form, kernelId, notebook);
}

/** `POST /o16n/publish` with `kind: "realtime"`: the model variable (and the sample) are read in the kernel. */
export function toRealtimeRequest(form: IPublishForm, kernelId: string, notebook?: string): IRealtimePublishRequest {
  const request: IRealtimePublishRequest = { kind: 'realtime', kernelId, name: form.name.trim(), model: form.model };
  const version = form.version.trim();
  if (version) {
    request.version = version;
  }
  if (form.description) {
    request.description = form.description;
  }
  const operationId = form.operationId.trim();
  if (operationId) {
    request.operationId = operationId;
  }
  if (form.sample) {
    request.sample = form.sample;
  }
  if (notebook) {
    request.notebook = notebook;
  }
  return request;
}

export function toPublishRequest(form: IPublishForm, kernelId: string, notebook?: string): IPublishRequest {
  const { inputs, outputs } = currentParams(form);
  const request: IPublishRequest = {
    kernelId,
    name: form.name.trim(),
    description: form.description,
    inputs: definitions(inputs),
    outputs: definitions(outputs),
    objects: [...form.objects],
    files: [...form.files],
    initCode: form.initCode,
    outputFileNames: splitFileNames(form.outputFileNames)
  };
  // optional fields are left out so that the server applies its defaults
  const version = form.version.trim();
  if (version) {
    request.version = version;
  }
  const operationId = form.operationId.trim();
  if (operationId) {
    request.operationId = operationId;
  }
  if (form.source === 'function') {
    request.functionName = form.functionName;
  } else {
    request.code = form.code;
  }
  if (notebook) {
    request.notebook = notebook;
  }
  const environment = toEnvironmentSpec(form.environment);
  if (environment !== undefined) {
    request.environment = environment;
  }
  return request;
}

/**
 * What to ask the kernel's analysis: the cell code (with the objects the user ticked, if they
 * did: the other values the code reads become inputs) or the function; null when there is none.
 */
export function toAnalyzeRequest(form: IPublishForm): IAnalyzeRequest | null {
  if (form.source === 'function') {
    return form.functionName ? { functionName: form.functionName } : null;
  }
  if (!form.code.trim()) {
    return null;
  }
  return form.objectsEdited ? { code: form.code, objects: [...form.objects] } : { code: form.code };
}

/** The sample text of an input: what the user typed, else a sample of its type. */
export function sampleText(form: IPublishForm, row: IParamRow): string {
  return form.samples[row.name] ?? sampleValue(row.type);
}

/** What a test result is about: the code, its parameters, objects and init code (not the sample values). */
export function testKey(form: IPublishForm): string {
  const { inputs, outputs } = currentParams(form);
  return JSON.stringify([
    form.source,
    form.source === 'function' ? form.functionName : form.code,
    definitions(inputs),
    definitions(outputs),
    [...form.objects].sort(),
    form.initCode
  ]);
}

/**
 * The relay's test request: the inputs as rows, which the relay checks and converts as the
 * service will. Throws an Error naming the input whose sample does not parse.
 */
export function toTestRequest(form: IPublishForm): ITestRequest {
  const { inputs, outputs } = currentParams(form);
  const rows = inputs.map(row => {
    try {
      return { name: row.name, type: row.type, value: parseTypedValue(row.type, sampleText(form, row)) };
    } catch (e) {
      throw new Error(`${row.name}: ${(e as Error).message}`);
    }
  });
  const request: ITestRequest = { inputs: rows, outputs: definitions(outputs) };
  if (form.source === 'function') {
    request.functionName = form.functionName;
  } else {
    request.code = form.code;
  }
  if (form.initCode.trim()) {
    request.initCode = form.initCode;
  }
  return request;
}

/** The last test failed, and for the code about to be published. */
export function failedTestApplies(model: IPublishModel): boolean {
  return model.form.kind === 'script' && model.test.state === 'failed' && model.test.key === testKey(model.form);
}

/** What to remember in the notebook's metadata after publishing `version`. */
export function rememberTarget(form: IPublishForm, version: string, versionScheme: VersionScheme): IPublishTarget {
  const { inputs, outputs } = currentParams(form);
  return {
    name: form.name.trim(),
    version,
    versionScheme: schemeOf(version) ?? versionScheme,
    source: form.source,
    functionName: form.source === 'function' ? form.functionName : '',
    codeHash: form.source === 'cells' ? codeHash(form.code) : '',
    inputs: definitions(inputs),
    outputs: definitions(outputs),
    objects: [...form.objects],
    files: [...form.files],
    outputFileNames: form.outputFileNames,
    initCode: form.initCode,
    environment: rememberEnvironment(form.environment)
  };
}

/** After a publish: remember the target, and propose the next version of the same name. */
export function published(model: IPublishModel, target: IPublishTarget): IPublishModel {
  return { ...model, remembered: target, versionEdited: false, existingVersions: null };
}
