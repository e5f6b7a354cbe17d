/**
 * The one mapping from an error's `field` to the publish form's field. The relay names the fields
 * of the request the panel sent (`inputs.0`, `objects`, ...); the o16n server's own names
 * (`inputParameterDefinitions[0]`) are mapped too, so that an error is highlighted whichever side
 * named it.
 */
import { FormErrors } from './model';

/** Form fields top to bottom: the first one in error gets the focus. */
export const FIELD_ORDER = [
  'name',
  'version',
  'description',
  'operationId',
  'model',
  'sample',
  'code',
  'functionName',
  'inputs',
  'outputs',
  'initCode',
  'outputFileNames',
  'objects',
  'files',
  'environment'
];

const FORM_FIELD: Record<string, string> = {
  name: 'name',
  version: 'version',
  description: 'description',
  operationId: 'operationId',
  code: 'code',
  functionName: 'functionName',
  inputs: 'inputs',
  outputs: 'outputs',
  objects: 'objects',
  files: 'files',
  initCode: 'initCode',
  outputFileNames: 'outputFileNames',
  environment: 'environment',
  model: 'model',
  sample: 'sample',
  // the o16n server's names for the same things
  inputParameterDefinitions: 'inputs',
  outputParameterDefinitions: 'outputs',
  variables: 'objects'
};

/** The form field an error names ("inputs[1].type" -> "inputs.1"); null when it names none. */
export function fieldOfError(field: string | null | undefined): string | null {
  if (!field) {
    return null;
  }
  const row = /^(inputs|outputs|inputParameterDefinitions|outputParameterDefinitions)(?:\[(\d+)\]|\.(\d+))/.exec(field);
  if (row) {
    return `${FORM_FIELD[row[1]]}.${row[2] ?? row[3]}`;
  }
  const pkg = /^environment\.(?:packages)?(?:\[(\d+)\]|\.?(\d+))$/.exec(field);
  if (pkg) {
    return `environment.${pkg[1] ?? pkg[2]}`;
  }
  if (field === 'environment.python') {
    return field;
  }
  return FORM_FIELD[field.split(/[.[]/)[0]] ?? null;
}

/** The first field in error, in the form's order (with its row: "inputs.1"). */
export function firstErrorField(errors: FormErrors): string | null {
  const keys = Object.keys(errors);
  for (const field of FIELD_ORDER) {
    const key = keys.find(k => k === field || k.startsWith(`${field}.`));
    if (key) {
      return key;
    }
  }
  return keys[0] ?? null;
}
