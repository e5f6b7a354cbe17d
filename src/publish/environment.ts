/**
 * The environment part of the publish panel's model (#10 item 1): the Python version and the
 * packages the service needs, as the kernel's analysis captured them (each with why it is there and
 * the o16n server's version of it), edited by the user (add a package, remove one, change a pin),
 * or no environment at all (the server's own, what raw 9.1 clients get). Pure functions; the jest
 * tests exercise them without React.
 */
import { ICapturedEnvironment, IEnvironment, IEnvironmentSpec } from '../api/types';

/** `captured`: the service gets its own environment, built from the rows; `server`: the server's own. */
export type EnvironmentMode = 'captured' | 'server';

export interface IEnvRow {
  name: string;
  /** the pin: a version ("1.5.2" is sent as name==1.5.2), or a specifier (">=1.5"); empty: unpinned */
  version: string;
  /** the kernel's version (rows the analysis captured); null for rows the user added */
  kernelVersion: string | null;
  /** the o16n server's version; null: the server lacks it; undefined: not known (the server could not say) */
  serverVersion?: string | null;
  /** why the analysis captured it ("provides sklearn (clf is a sklearn.svm.SVC)") */
  reason: string | null;
  /** the user added the row (or kept a pin of a package the analysis no longer captures) */
  added: boolean;
}

export interface IEnvironmentForm {
  mode: EnvironmentMode;
  /** the environment's Python ("3.13.1" or "3.13"); empty until the analysis captured it */
  python: string;
  /** the kernel's Python as the analysis captured it */
  kernelPython: string;
  rows: IEnvRow[];
  /** normalized names of captured packages the user removed: a new analysis does not bring them back */
  removed: string[];
  /** the last environment the analysis captured; null before (or with a relay that does not capture) */
  captured: ICapturedEnvironment | null;
  /** the server's versions the analysis reported (normalized name -> version, null: lacking) */
  serverVersions: Record<string, string | null>;
  /** `serverVersions` lists every package the server has: a name that is not there, it lacks */
  serverListed?: boolean;
  /**
   * whether the o16n server builds environments (false: it has no `/environments`, an older or
   * plain 9.1 server: services run in its own environment whatever the mode); null: not known yet
   */
  serverBuilds?: boolean | null;
}

/** What a notebook remembers of the user's environment choices (in its publish target). */
export interface IRememberedEnvironment {
  mode: EnvironmentMode;
  removed: string[];
  /** packages the user added or pinned differently from the kernel: requirement parts */
  pins: { name: string; version: string; added: boolean }[];
  /** the Python, when the user changed it */
  python?: string;
}

export function emptyEnvironment(mode: EnvironmentMode = 'captured'): IEnvironmentForm {
  return { mode, python: '', kernelPython: '', rows: [], removed: [], captured: null, serverVersions: {} };
}

/** A distribution name as PyPI compares them (PEP 503): lower case, runs of `-_.` as one `-`. */
export function normalizeName(name: string): string {
  return name.trim().toLowerCase().replace(/[-_.]+/g, '-');
}

/** The user gave this row a pin other than the kernel's version. */
export function pinChanged(row: IEnvRow): boolean {
  return row.kernelVersion !== null && row.version.trim() !== row.kernelVersion;
}

function knownServerVersion(env: IEnvironmentForm, name: string): string | null | undefined {
  const key = normalizeName(name);
  if (key in env.serverVersions) {
    return env.serverVersions[key];
  }
  return env.serverListed ? null : undefined;
}

/** The server's versions after an analysis: its whole list when the relay sent it, else what we knew plus the captured rows'. */
function serverVersionsOf(env: IEnvironmentForm, captured: ICapturedEnvironment): Pick<IEnvironmentForm, 'serverVersions' | 'serverListed'> {
  const listed = captured.serverPackages ?? null;
  const serverVersions: Record<string, string | null> = {};
  if (listed) {
    Object.entries(listed).forEach(([name, version]) => (serverVersions[normalizeName(name)] = version));
  } else {
    Object.assign(serverVersions, env.serverVersions);
  }
  captured.packages.forEach(p => {
    if (p.serverVersion !== undefined) {
      serverVersions[normalizeName(p.name)] = p.serverVersion;
    }
  });
  return { serverVersions, serverListed: listed ? true : env.serverListed };
}

/**
 * What the kernel's analysis captured: the rows follow it, keeping the user's edits (pins they
 * changed, packages they added or removed, the Python they chose).
 */
export function applyCapturedEnvironment(env: IEnvironmentForm, captured: ICapturedEnvironment): IEnvironmentForm {
  const next = { ...env, ...serverVersionsOf(env, captured) };
  const removed = new Set(env.removed);
  const addedNames = new Set(env.rows.filter(r => r.added).map(r => normalizeName(r.name)));
  const previous = new Map(env.rows.filter(r => !r.added).map(r => [normalizeName(r.name), r]));
  const capturedNames = new Set<string>();
  const rows: IEnvRow[] = [];
  for (const p of captured.packages) {
    const key = normalizeName(p.name);
    capturedNames.add(key);
    if (removed.has(key) || addedNames.has(key)) {
      continue; // removed by the user, or the user's own row for it wins
    }
    const before = previous.get(key);
    const keepPin = before && (before.kernelVersion === null || pinChanged(before));
    rows.push({
      name: p.name,
      version: keepPin ? before.version : p.version,
      kernelVersion: p.version,
      serverVersion: knownServerVersion(next, p.name),
      reason: p.reason,
      added: false
    });
  }
  // a pin the user changed survives when the analysis no longer needs the package: it is theirs now
  previous.forEach((row, key) => {
    if (!capturedNames.has(key) && (row.kernelVersion === null || pinChanged(row))) {
      rows.push({ ...row, added: true });
    }
  });
  env.rows
    .filter(r => r.added)
    .forEach(r => {
      const known = knownServerVersion(next, r.name);
      const capturedAs = captured.packages.find(p => normalizeName(p.name) === normalizeName(r.name));
      rows.push({
        ...r,
        serverVersion: known === undefined ? r.serverVersion : known,
        kernelVersion: capturedAs ? capturedAs.version : r.kernelVersion,
        reason: capturedAs ? capturedAs.reason : r.reason
      });
    });
  const pythonEdited = env.python !== '' && env.python !== env.kernelPython;
  const kernelPython = captured.python ?? '';
  return {
    ...next,
    rows,
    python: pythonEdited ? env.python : kernelPython,
    kernelPython,
    captured
  };
}

/** The server said whether it builds environments (its `GET /environments` answered, or 404). */
export function setServerBuilds(env: IEnvironmentForm, serverBuilds: boolean | null): IEnvironmentForm {
  return env.serverBuilds === serverBuilds ? env : { ...env, serverBuilds };
}

/** The mode publishing uses: the server's own when the server cannot build environments. */
export function effectiveMode(env: IEnvironmentForm): EnvironmentMode {
  return env.serverBuilds === false ? 'server' : env.mode;
}

export function setEnvironmentMode(env: IEnvironmentForm, mode: EnvironmentMode): IEnvironmentForm {
  return { ...env, mode };
}

export function setPython(env: IEnvironmentForm, python: string): IEnvironmentForm {
  return { ...env, python };
}

/** Change the pin of row `index` ("1.5.2", ">=1.5", or empty for unpinned). */
export function setPin(env: IEnvironmentForm, index: number, version: string): IEnvironmentForm {
  return { ...env, rows: env.rows.map((r, i) => (i === index ? { ...r, version } : r)) };
}

/** Rename a row the user added (the analysis' own rows keep their names: remove them instead). */
export function setPackageName(env: IEnvironmentForm, index: number, name: string): IEnvironmentForm {
  return {
    ...env,
    rows: env.rows.map((r, i) => {
      if (i !== index || !r.added) {
        return r;
      }
      const known = knownServerVersion(env, name);
      return { ...r, name, serverVersion: known, kernelVersion: null, reason: null };
    })
  };
}

export function addPackage(env: IEnvironmentForm, name = '', version = ''): IEnvironmentForm {
  const row: IEnvRow = { name, version, kernelVersion: null, serverVersion: name ? knownServerVersion(env, name) : undefined, reason: null, added: true };
  return { ...env, rows: [...env.rows, row] };
}

/** Remove row `index`; a captured package stays removed when the analysis runs again. */
export function removePackage(env: IEnvironmentForm, index: number): IEnvironmentForm {
  const row = env.rows[index];
  if (!row) {
    return env;
  }
  const key = normalizeName(row.name);
  const wasCaptured = !!env.captured?.packages.some(p => normalizeName(p.name) === key);
  const removed = wasCaptured && !env.removed.includes(key) ? [...env.removed, key] : env.removed;
  return { ...env, rows: env.rows.filter((_, i) => i !== index), removed };
}

/** Back to what the kernel's analysis captured: no edits. */
export function resetEnvironment(env: IEnvironmentForm): IEnvironmentForm {
  const base: IEnvironmentForm = { ...emptyEnvironment(env.mode), serverVersions: env.serverVersions, serverListed: env.serverListed };
  return env.captured ? applyCapturedEnvironment(base, env.captured) : base;
}

/** The user changed something the analysis proposed. */
export function environmentEdited(env: IEnvironmentForm): boolean {
  return env.removed.length > 0 || env.rows.some(r => r.added || pinChanged(r)) || (env.python !== '' && env.python !== env.kernelPython);
}

const SPECIFIER = /^(===|==|!=|~=|>=|<=|>|<)/;

/** A row as a requirement string: `name==1.5.2`, `name>=1.5`, or `name` (unpinned). */
export function requirementOf(row: IEnvRow): string {
  const name = row.name.trim();
  const version = row.version.trim();
  if (!version) {
    return name;
  }
  return SPECIFIER.test(version) ? `${name}${version}` : `${name}==${version}`;
}

/** The exact version a row pins ("1.5.2" for "1.5.2" or "==1.5.2"); null for a range or none. */
export function exactPin(row: IEnvRow): string | null {
  const version = row.version.trim();
  if (!version) {
    return null;
  }
  if (version.startsWith('==') && !version.startsWith('===')) {
    return version.slice(2).trim() || null;
  }
  return SPECIFIER.test(version) ? null : version;
}

/**
 * Why a row deserves a warning: its pin differs from the o16n server's version (or the server does
 * not have it at all); null when they agree or the server's version is not known.
 */
export function pinWarning(row: IEnvRow): string | null {
  if (row.serverVersion === undefined || !row.name.trim()) {
    return null;
  }
  if (row.serverVersion === null) {
    return 'not on the server';
  }
  const pin = exactPin(row);
  if (pin !== null && pin !== row.serverVersion) {
    return `the server has ${row.serverVersion}`;
  }
  return null;
}

/** The rows whose pin differs from the server's (what the section's summary counts). */
export function warningCount(env: IEnvironmentForm): number {
  return env.rows.filter(r => pinWarning(r) !== null).length;
}

const DIST_NAME = /^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$/;
const VERSION = /^[A-Za-z0-9][A-Za-z0-9.+!_*-]*$/;
const PYTHON = /^\d+\.\d+(\.\d+)?$/;

/** Field ids: `environment` (the whole list), `environment.python`, `environment.N` (row N). */
export function validateEnvironment(env: IEnvironmentForm): Record<string, string> {
  const errors: Record<string, string> = {};
  if (effectiveMode(env) === 'server') {
    return errors;
  }
  const python = env.python.trim();
  if (python && !PYTHON.test(python)) {
    errors['environment.python'] = `"${python}" is not a Python version: write it as 3.13 or 3.13.1.`;
  } else if (!python && env.rows.length) {
    errors['environment.python'] = 'Give the Python version of the environment (e.g. 3.13).';
  }
  const seen = new Set<string>();
  env.rows.forEach((row, i) => {
    const key = `environment.${i}`;
    const name = row.name.trim();
    const version = row.version.trim();
    const spec = version.replace(SPECIFIER, '').trim();
    if (!name) {
      errors[key] = 'Name the package or remove the row.';
    } else if (!DIST_NAME.test(name)) {
      errors[key] = `"${name}" is not a package name (letters, digits, "-", "_" and ".").`;
    } else if (seen.has(normalizeName(name))) {
      errors[key] = `${name} appears twice.`;
    } else if (version && (!spec || !spec.split(/\s*,\s*/).every(part => VERSION.test(part.replace(SPECIFIER, '').trim())))) {
      errors[key] = `"${version}" is not a version: write 1.5.2 (an exact pin) or a specifier such as >=1.5.`;
    }
    seen.add(normalizeName(name));
  });
  return errors;
}

/**
 * The publish body's `environment`: the spec, null for the server's own, or undefined (left out:
 * the server's own too) when nothing was captured and nothing added (a relay that does not capture).
 */
export function toEnvironmentSpec(env: IEnvironmentForm): IEnvironmentSpec | null | undefined {
  if (env.serverBuilds === false) {
    return undefined; // a server without environments: the body a 9.1 server takes
  }
  if (env.mode === 'server') {
    return null;
  }
  if (!env.python.trim() && !env.rows.length) {
    return undefined;
  }
  return { python: env.python.trim(), packages: env.rows.map(requirementOf) };
}

/** The spec's packages as the server keys them: normalized names, sorted. */
function keyParts(python: string, packages: string[]): string {
  const normalized = packages.map(p => {
    const m = /^([A-Za-z0-9._-]+)(.*)$/.exec(p.trim());
    return m ? `${normalizeName(m[1])}${m[2].replace(/\s+/g, '')}` : p.trim();
  });
  return [python.trim(), ...normalized.sort()].join('\n');
}

/** An environment the server has already built with exactly this spec (publishing reuses it), if any. */
export function matchingEnvironment(spec: IEnvironmentSpec | null | undefined, environments: IEnvironment[]): IEnvironment | null {
  if (!spec) {
    return null;
  }
  const wanted = keyParts(spec.python, spec.packages);
  return environments.find(e => e.state !== 'failed' && keyParts(e.python, e.packages) === wanted) ?? null;
}

/** What the notebook remembers after a publish: the mode and the user's edits, not what the analysis gives again. */
export function rememberEnvironment(env: IEnvironmentForm): IRememberedEnvironment {
  const remembered: IRememberedEnvironment = {
    mode: env.mode,
    removed: [...env.removed],
    pins: env.rows.filter(r => r.added || pinChanged(r)).map(r => ({ name: r.name.trim(), version: r.version.trim(), added: r.added }))
  };
  if (env.python && env.python !== env.kernelPython) {
    remembered.python = env.python;
  }
  return remembered;
}

/** The environment a notebook starts with: its remembered choices, applied when the analysis captures. */
export function restoreEnvironment(remembered: IRememberedEnvironment | null | undefined): IEnvironmentForm {
  if (!remembered) {
    return emptyEnvironment();
  }
  const env = emptyEnvironment(remembered.mode);
  env.removed = [...remembered.removed];
  env.python = remembered.python ?? '';
  // a pin of a captured package waits for the analysis (kernelVersion '' differs from any real one)
  env.rows = remembered.pins.map(p => ({
    name: p.name,
    version: p.version,
    kernelVersion: p.added ? null : '',
    reason: null,
    added: p.added
  }));
  return env;
}

/** A remembered environment read back from notebook metadata, or null when it is not one. */
export function readRememberedEnvironment(value: unknown): IRememberedEnvironment | null {
  if (!value || typeof value !== 'object') {
    return null;
  }
  const v = value as Partial<IRememberedEnvironment>;
  const strings = (r: unknown) => (Array.isArray(r) ? r.filter((x): x is string => typeof x === 'string') : []);
  const pins = Array.isArray(v.pins)
    ? v.pins
        .filter(p => p && typeof p.name === 'string' && typeof p.version === 'string')
        .map(p => ({ name: p.name, version: p.version, added: p.added !== false }))
    : [];
  const remembered: IRememberedEnvironment = { mode: v.mode === 'server' ? 'server' : 'captured', removed: strings(v.removed), pins };
  if (typeof v.python === 'string' && v.python) {
    remembered.python = v.python;
  }
  return remembered;
}
