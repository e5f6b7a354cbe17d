/** The `%o16n consume` line a consume cell runs, with sample values from the service's signature. */
import { IParameterDefinition, IRealtimeModel, IWebService } from '../api/types';
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

function sampleCell(type: string): unknown {
  const t = type.toLowerCase();
  if (t.includes('string')) {
    return 'a';
  }
  if (t.includes('bool')) {
    return true;
  }
  return 1;
}

/**
 * A one-row `inputData` frame that fits a realtime service's model: one input `[?, N]` takes N
 * columns in order (named x1..xN here; the names are free), several inputs one column each, by name.
 */
export function realtimeSample(model: IRealtimeModel | null | undefined): string | null {
  if (!model || !model.inputs.length) {
    return null;
  }
  const frame: Record<string, unknown[]> = {};
  if (model.inputs.length === 1) {
    const [input] = model.inputs;
    const last = input.shape && input.shape.length >= 2 ? input.shape[input.shape.length - 1] : 1;
    const n = typeof last === 'number' && last > 0 && last <= 1000 ? last : 1;
    for (let i = 1; i <= n; i++) {
      frame[n === 1 ? input.name : `x${i}`] = [sampleCell(input.type)];
    }
  } else {
    model.inputs.forEach(input => (frame[input.name] = [sampleCell(input.type)]));
  }
  return JSON.stringify(frame);
}

/** Sample values for a service's inputs beyond those of its type: a realtime model's frame. */
export function serviceSamples(service: IWebService): Record<string, string> {
  const frame = realtimeSample(service.model);
  const takesFrame = (service.inputParameterDefinitions ?? []).some(p => p.name === 'inputData');
  return frame && takesFrame ? { inputData: frame } : {};
}

/** Whether some cell source already loads the o16n magics. */
export function loadsExtension(sources: string[]): boolean {
  return sources.some(s => /^\s*%load_ext\s+o16n\s*$/m.test(s));
}
