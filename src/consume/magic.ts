/** The `%o16n consume` line a consume cell runs, with sample values from the service's signature. */
import { IParameterDefinition } from '../api/types';
import { sampleValue } from '../common/values';

export const LOAD_EXT_LINE = '%load_ext o16n';

/** Quote a value for the magic's shlex split; IPython expands {...} in magic lines, so braces are doubled. */
export function quoteArg(value: string): string {
  const escaped = value.replace(/\{/g, '{{').replace(/\}/g, '}}');
  if (/^[A-Za-z0-9_.+\-@]+$/.test(escaped)) {
    return escaped;
  }
  return `'${escaped.replace(/'/g, "'\"'\"'")}'`;
}

export function quoteName(name: string): string {
  return /^[A-Za-z0-9_.-]+$/.test(name) ? name : `'${name.replace(/'/g, "'\"'\"'")}'`;
}

/**
 * The consume cell's source. `values` (JSON text per input) overrides the samples.
 * `withLoadExt` adds `%load_ext o16n` first: inserted cells always carry it (it is idempotent), so
 * each works when it is the first cell run in a fresh kernel.
 */
export function consumeCellSource(
  name: string,
  version: string,
  inputs: IParameterDefinition[],
  withLoadExt: boolean,
  values: Record<string, string> = {}
): string {
  const args = inputs.map(p => `--${p.name} ${quoteArg(values[p.name] ?? sampleValue(p.type))}`);
  const line = ['%o16n consume', quoteName(name), quoteName(version), ...args].join(' ');
  return withLoadExt ? `${LOAD_EXT_LINE}\n${line}` : line;
}

/** Whether some cell source already loads the o16n magics. */
export function loadsExtension(sources: string[]): boolean {
  return sources.some(s => /^\s*%load_ext\s+o16n\s*$/m.test(s));
}
