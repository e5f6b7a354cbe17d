/** The publish form: its state, validation and the request it becomes. */
import { IPublishRequest } from '../api/types';
import { toWireType } from '../common/paramTypes';
import { IParamRow } from './infer';

export type CodeSource = 'cells' | 'function';

export interface IPublishForm {
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
  inputs: IParamRow[];
  outputs: IParamRow[];
  initCode: string;
  /** comma separated file names the service code writes and returns */
  outputFileNames: string;
  /** kernel variables to serialize into the service's snapshot */
  variables: string[];
  /** files of the notebook's folder, relative to the Jupyter root */
  files: string[];
}

/** field id -> message. Field ids: name, version, operationId, code, functionName, inputs, outputs, inputs.N, outputs.N, outputFileNames */
export type FormErrors = Record<string, string>;

export function emptyForm(): IPublishForm {
  return {
    name: '',
    version: 'v1',
    description: '',
    operationId: '',
    source: 'cells',
    code: '',
    functionName: '',
    inputs: [],
    outputs: [],
    initCode: '',
    outputFileNames: '',
    variables: [],
    files: []
  };
}

const SERVICE_NAME = /^[A-Za-z][A-Za-z0-9_.-]*$/;
const VERSION = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Python's `str.isidentifier()` (Unicode letters allowed), for the operation id */
const PY_IDENTIFIER = /^[\p{ID_Start}_][\p{ID_Continue}]*$/u;
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

/** Check the form; an empty object means it can be published. */
export function validateForm(form: IPublishForm, existingVersions: string[] = []): FormErrors {
  const errors: FormErrors = {};
  if (!form.name.trim()) {
    errors.name = 'Give the service a name.';
  } else if (!SERVICE_NAME.test(form.name)) {
    errors.name = 'Use letters, digits, "_", "-" or "." and start with a letter.';
  }
  // an empty version is fine: the server generates one
  if (form.version.trim() && !VERSION.test(form.version.trim())) {
    errors.version = 'Use letters, digits, "_", "-" or ".".';
  } else if (existingVersions.includes(form.version.trim())) {
    errors.version = `${form.name} ${form.version} exists already: choose another version.`;
  }
  const operationError = checkIdentifier(form.operationId.trim());
  if (operationError) {
    errors.operationId = operationError;
  }
  if (form.source === 'cells' && !form.code.trim()) {
    errors.code = 'Select the cell(s) whose code the service runs.';
  }
  if (form.source === 'function' && !form.functionName) {
    errors.functionName = 'Choose a function defined in the kernel.';
  }
  checkRows(form.inputs, 'inputs', errors);
  checkRows(form.outputs, 'outputs', errors);
  const inputNames = new Set(form.inputs.map(r => r.name));
  form.outputs.forEach((r, i) => {
    if (inputNames.has(r.name) && !errors[`outputs.${i}`]) {
      errors[`outputs.${i}`] = `"${r.name}" is an input already.`;
    }
  });
  const files = splitFileNames(form.outputFileNames);
  const bad = files.find(f => f.includes('/') || f.includes('\\') || f === '..');
  if (bad) {
    errors.outputFileNames = `"${bad}": output files are names in the service's working folder, without a path.`;
  }
  return errors;
}

/** Why an optional operation id is not a Python identifier; null when it is fine (or empty). */
export function checkIdentifier(text: string): string | null {
  if (!text) {
    return null;
  }
  if (!PY_IDENTIFIER.test(text)) {
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

/** The form field a server-side error names ("inputs[0].type" -> "inputs.0"). */
export function fieldOfServerError(field: string | null): string | null {
  if (!field) {
    return null;
  }
  const m = /^(inputs|outputs)(?:\[(\d+)\]|\.(\d+))/.exec(field);
  if (m) {
    return `${m[1]}.${m[2] ?? m[3]}`;
  }
  const known: Record<string, string> = {
    name: 'name',
    version: 'version',
    description: 'description',
    operationId: 'operationId',
    code: 'code',
    functionName: 'functionName',
    inputs: 'inputs',
    outputs: 'outputs',
    variables: 'variables',
    files: 'files',
    initCode: 'initCode',
    outputFileNames: 'outputFileNames'
  };
  const head = field.split(/[.[]/)[0];
  return known[head] ?? head;
}

export function toPublishRequest(form: IPublishForm, kernelId: string): IPublishRequest {
  const request: IPublishRequest = {
    kernelId,
    name: form.name.trim(),
    description: form.description,
    inputs: form.inputs.map(r => ({ name: r.name, type: toWireType(r.type) })),
    outputs: form.outputs.map(r => ({ name: r.name, type: toWireType(r.type) })),
    variables: [...form.variables],
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
  return request;
}

/** Words for a publish step, with its progress ("uploading 3.2 MB of 10.0 MB"). */
export function describeStep(name: string, bytesUploaded = 0, totalBytes = 0): string {
  const mb = (b: number) =>
    totalBytes >= 1024 * 1024 ? `${(b / (1024 * 1024)).toFixed(1)} MB` : `${Math.round(b / 1024)} KB`;
  switch (name) {
    case 'capture':
      return 'Capturing the kernel state';
    case 'upload':
      return totalBytes > 0 ? `Uploading ${mb(bytesUploaded)} of ${mb(totalBytes)}` : 'Uploading';
    case 'files':
      return 'Uploading files';
    case 'snapshot':
      return 'Creating the snapshot';
    case 'publish':
      return 'Publishing';
    case 'cleanup':
      return 'Cleaning up';
    default:
      return name;
  }
}
