/** Values typed by a person for a parameter of a wire type: samples, and parsing with clear messages. */
import { WireType, canonicalType } from './wireTypes';

const SAMPLES: Record<string, string> = {
  numeric: '1.5',
  integer: '1',
  character: '"text"',
  logical: 'true',
  vector: '[1, 2, 3]',
  matrix: '[[1, 2], [3, 4]]',
  'data.frame': '{"x": [1, 2], "y": [3, 4]}'
};

/** A sample value of a type, as JSON text. */
export function sampleValue(type: WireType): string {
  return SAMPLES[canonicalType(type) ?? ''] ?? '"value"';
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Parse what the user typed for a parameter into the value sent to the service; throws with a message quoting the text. */
export function parseTypedValue(type: WireType, text: string): unknown {
  const trimmed = text.trim();
  switch (canonicalType(type)) {
    case 'character':
      return text;
    case 'logical':
      if (/^(true|1|yes)$/i.test(trimmed)) {
        return true;
      }
      if (/^(false|0|no|)$/i.test(trimmed)) {
        return false;
      }
      throw new Error(`"${text}" is not true or false`);
    case 'integer': {
      const n = Number(trimmed);
      if (trimmed === '' || !Number.isInteger(n)) {
        throw new Error(`"${text}" is not an integer`);
      }
      return n;
    }
    case 'numeric': {
      const n = Number(trimmed);
      if (trimmed === '' || Number.isNaN(n)) {
        throw new Error(`"${text}" is not a number`);
      }
      return n;
    }
    case 'vector':
      return parseVector(text);
    case 'matrix': {
      const v = parseJson(trimmed);
      if (!Array.isArray(v) || !v.every(Array.isArray)) {
        throw new Error(`"${text}" is not a matrix: write a JSON list of rows, e.g. [[1, 2], [3, 4]]`);
      }
      return v;
    }
    case 'data.frame': {
      const v = parseJson(trimmed);
      if (v === undefined || v === null || typeof v !== 'object') {
        throw new Error(`"${text}" is not a data frame: write JSON, {"column": [values]} or [{"column": value}]`);
      }
      return v;
    }
    default: {
      const v = parseJson(trimmed);
      return v === undefined ? text : v;
    }
  }
}

/** A JSON list, or numbers separated by commas or spaces ("7, 3.2, 4.7"). */
function parseVector(text: string): unknown[] {
  const trimmed = text.trim();
  const message = `"${text}" is not a list: write JSON such as [1, 2, 3] or ["a", "b"], or numbers separated by commas`;
  if (trimmed.startsWith('[')) {
    const v = parseJson(trimmed);
    if (!Array.isArray(v)) {
      throw new Error(message);
    }
    return v;
  }
  const parts = trimmed.split(/[\s,;]+/).filter(Boolean);
  if (!parts.length || parts.some(p => Number.isNaN(Number(p)))) {
    throw new Error(message);
  }
  return parts.map(Number);
}
