/**
 * Parameter types: the names a data scientist picks in the UI (Python's) and the o16n wire types.
 */
import { WireType } from '../api/types';

export type UiType = 'float' | 'int' | 'str' | 'bool' | 'vector' | 'matrix' | 'dataframe';

export const UI_TYPES: UiType[] = ['float', 'int', 'str', 'bool', 'vector', 'matrix', 'dataframe'];

const TO_WIRE: Record<UiType, WireType> = {
  float: 'numeric',
  int: 'integer',
  str: 'character',
  bool: 'logical',
  vector: 'vector',
  matrix: 'matrix',
  dataframe: 'data.frame'
};

/** Wire names, Python names and a few common spellings -> the UI type. */
const FROM_ANY: Record<string, UiType> = {
  numeric: 'float',
  float: 'float',
  double: 'float',
  number: 'float',
  'numpy.float64': 'float',
  integer: 'int',
  int: 'int',
  'numpy.int64': 'int',
  character: 'str',
  string: 'str',
  str: 'str',
  logical: 'bool',
  boolean: 'bool',
  bool: 'bool',
  vector: 'vector',
  list: 'vector',
  tuple: 'vector',
  array: 'vector',
  ndarray: 'vector',
  'numpy.ndarray': 'vector',
  'list[float]': 'vector',
  'list[int]': 'vector',
  'list[str]': 'vector',
  matrix: 'matrix',
  'list[list[float]]': 'matrix',
  'data.frame': 'dataframe',
  dataframe: 'dataframe',
  'pandas.dataframe': 'dataframe',
  'pd.dataframe': 'dataframe'
};

export function toWireType(type: UiType): WireType {
  return TO_WIRE[type];
}

/** The UI type for a wire type, annotation or Python type name; null when unknown. */
export function toUiType(type: string | null | undefined): UiType | null {
  if (!type) {
    return null;
  }
  const key = type.trim().replace(/^typing\./, '').replace(/^builtins\./, '').toLowerCase();
  if (key in FROM_ANY) {
    return FROM_ANY[key];
  }
  if (/^(list|sequence|tuple)\[\s*(list|sequence|tuple)\[/.test(key)) {
    return 'matrix';
  }
  if (/^(list|sequence|tuple|iterable)\b/.test(key) || key.endsWith('ndarray') || key.endsWith('series')) {
    return 'vector';
  }
  if (key.endsWith('dataframe')) {
    return 'dataframe';
  }
  return null;
}

/** A sample value of a wire/UI type, as JSON text. */
export function sampleValue(type: string): string {
  switch (toUiType(type)) {
    case 'float':
      return '1.5';
    case 'int':
      return '1';
    case 'str':
      return '"text"';
    case 'bool':
      return 'true';
    case 'vector':
      return '[1, 2, 3]';
    case 'matrix':
      return '[[1, 2], [3, 4]]';
    case 'dataframe':
      return '{"x": [1, 2], "y": [3, 4]}';
    default:
      return '"value"';
  }
}

/** Parse what the user typed for a parameter into the value sent to the service. */
export function parseTypedValue(type: string, text: string): unknown {
  const ui = toUiType(type);
  const trimmed = text.trim();
  switch (ui) {
    case 'str':
      return text;
    case 'bool':
      if (/^(true|1|yes)$/i.test(trimmed)) {
        return true;
      }
      if (/^(false|0|no|)$/i.test(trimmed)) {
        return false;
      }
      throw new Error(`"${text}" is not true or false`);
    case 'int': {
      const n = Number(trimmed);
      if (trimmed === '' || !Number.isInteger(n)) {
        throw new Error(`"${text}" is not an integer`);
      }
      return n;
    }
    case 'float': {
      const n = Number(trimmed);
      if (trimmed === '' || Number.isNaN(n)) {
        throw new Error(`"${text}" is not a number`);
      }
      return n;
    }
    case 'vector': {
      const v = parseJson(trimmed);
      if (Array.isArray(v)) {
        return v;
      }
      // "7, 3.2, 4.7" without brackets is fine too
      const parts = trimmed.split(/[\s,;]+/).filter(Boolean);
      return parts.map(p => (Number.isNaN(Number(p)) ? p : Number(p)));
    }
    case 'matrix': {
      const v = parseJson(trimmed);
      if (!Array.isArray(v) || !v.every(Array.isArray)) {
        throw new Error('a matrix is a JSON list of rows, e.g. [[1, 2], [3, 4]]');
      }
      return v;
    }
    case 'dataframe': {
      const v = parseJson(trimmed);
      if (v === undefined || v === null || typeof v !== 'object') {
        throw new Error('a data frame is JSON: {"column": [values]} or [{"column": value}]');
      }
      return v;
    }
    default: {
      const v = parseJson(trimmed);
      return v === undefined ? text : v;
    }
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
