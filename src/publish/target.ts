/**
 * The last publish target of a notebook, remembered in its metadata (`metadata.o16n.publish`) and
 * proposed the next time the panel opens on that notebook.
 */
import { WireType } from '../common/wireTypes';
import { IRememberedEnvironment, readRememberedEnvironment } from './environment';
import { VersionScheme } from '../common/versions';

export const METADATA_KEY = 'o16n';

export interface IPublishTarget {
  name: string;
  /** the version published last time, and the scheme the next one follows (null: the server generated it) */
  version: string;
  versionScheme: VersionScheme | null;
  source: 'cells' | 'function';
  functionName: string;
  /** a short hash of the cell code published (cells mode): the rows below belong to that code */
  codeHash: string;
  inputs: { name: string; type: WireType }[];
  outputs: { name: string; type: WireType }[];
  objects: string[];
  files: string[];
  outputFileNames: string;
  initCode: string;
  /** the environment choice and the user's edits of it (absent: captured, unedited) */
  environment?: IRememberedEnvironment | null;
}

/** The scheme a version follows: v3 -> v1, 2.0 -> 1.0, 2024-05-01 -> date; null for anything else. */
export function schemeOf(version: string): VersionScheme | null {
  if (/^v\d+$/i.test(version)) {
    return 'v1';
  }
  if (/^\d+\.0$/.test(version)) {
    return '1.0';
  }
  if (/^\d{4}-\d{2}-\d{2}(\.\d+)?$/.test(version)) {
    return 'date';
  }
  return null;
}

/** A short, stable hash of code (FNV-1a, hex): enough to tell whether the same code is selected again. */
export function codeHash(code: string): string {
  let h = 0x811c9dc5;
  const text = code.trim();
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

/** A target read back from notebook metadata, or null when it is not one. */
export function readTarget(value: unknown): IPublishTarget | null {
  if (!value || typeof value !== 'object') {
    return null;
  }
  const t = value as Partial<IPublishTarget>;
  if (typeof t.name !== 'string' || !t.name) {
    return null;
  }
  const rows = (r: unknown) =>
    Array.isArray(r) ? r.filter(x => x && typeof x.name === 'string' && typeof x.type === 'string').map(x => ({ name: x.name, type: x.type })) : [];
  const strings = (r: unknown) => (Array.isArray(r) ? r.filter((x): x is string => typeof x === 'string') : []);
  return {
    name: t.name,
    version: typeof t.version === 'string' ? t.version : '',
    versionScheme: t.versionScheme === 'v1' || t.versionScheme === '1.0' || t.versionScheme === 'date' ? t.versionScheme : null,
    source: t.source === 'function' ? 'function' : 'cells',
    functionName: typeof t.functionName === 'string' ? t.functionName : '',
    codeHash: typeof t.codeHash === 'string' ? t.codeHash : '',
    inputs: rows(t.inputs),
    outputs: rows(t.outputs),
    objects: strings(t.objects),
    files: strings(t.files),
    outputFileNames: typeof t.outputFileNames === 'string' ? t.outputFileNames : '',
    initCode: typeof t.initCode === 'string' ? t.initCode : '',
    environment: readRememberedEnvironment(t.environment)
  };
}
