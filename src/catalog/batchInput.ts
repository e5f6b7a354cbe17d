/** Batch records from pasted text: a JSON array of objects, or CSV with a header row of input names. */

export interface IParsedRecords {
  records: Record<string, unknown>[];
  error: string | null;
}

function cellValue(text: string): unknown {
  const t = text.trim();
  if (t === '') {
    return null;
  }
  try {
    return JSON.parse(t);
  } catch {
    return t;
  }
}

/** Split one CSV line, honouring double quotes ("" inside quotes is a quote). */
export function splitCsvLine(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (c === '"') {
        quoted = false;
      } else {
        cur += c;
      }
    } else if (c === '"') {
      quoted = true;
    } else if (c === ',') {
      out.push(cur);
      cur = '';
    } else {
      cur += c;
    }
  }
  out.push(cur);
  return out;
}

export function parseRecords(text: string, inputNames: string[]): IParsedRecords {
  const trimmed = text.trim();
  if (!trimmed) {
    return { records: [], error: 'Paste a JSON array of records or CSV rows with a header line.' };
  }
  if (trimmed.startsWith('[') || trimmed.startsWith('{')) {
    let data: unknown;
    try {
      data = JSON.parse(trimmed);
    } catch (e) {
      return { records: [], error: `Not valid JSON: ${(e as Error).message}` };
    }
    if (!Array.isArray(data)) {
      // a dict of columns {"x": [..], "y": [..]}
      if (data && typeof data === 'object') {
        const cols = Object.entries(data as Record<string, unknown>);
        if (cols.every(([, v]) => Array.isArray(v))) {
          const n = Math.max(0, ...cols.map(([, v]) => (v as unknown[]).length));
          data = Array.from({ length: n }, (_, i) => Object.fromEntries(cols.map(([k, v]) => [k, (v as unknown[])[i]])));
        } else {
          data = [data];
        }
      }
    }
    const rows = data as unknown[];
    if (!rows.every(r => r && typeof r === 'object' && !Array.isArray(r))) {
      // a list of bare values works for a single-input service
      if (inputNames.length === 1) {
        return { records: rows.map(r => ({ [inputNames[0]]: r })), error: null };
      }
      return { records: [], error: 'Each record must be an object keyed by input name.' };
    }
    return checkNames(rows as Record<string, unknown>[], inputNames);
  }
  const lines = trimmed.split(/\r?\n/).filter(l => l.trim());
  const header = splitCsvLine(lines[0]).map(h => h.trim());
  const records = lines.slice(1).map(line => {
    const cells = splitCsvLine(line);
    return Object.fromEntries(header.map((h, i) => [h, cellValue(cells[i] ?? '')]));
  });
  return checkNames(records, inputNames);
}

function checkNames(records: Record<string, unknown>[], inputNames: string[]): IParsedRecords {
  if (!records.length) {
    return { records, error: 'No records found.' };
  }
  const missing = inputNames.filter(n => !(n in records[0]));
  if (missing.length) {
    return { records, error: `Missing input${missing.length > 1 ? 's' : ''}: ${missing.join(', ')}.` };
  }
  return { records, error: null };
}
