import { parseTypedValue, sampleValue } from '../values';
import { WIRE_TYPES, canonicalType, checkName, typeLabel } from '../wireTypes';
import { readSettings } from '../settings';
import { compareVersions, nextVersion } from '../versions';

describe('nextVersion', () => {
  it('suggests the next free version for each scheme', () => {
    expect(nextVersion([], 'v1')).toBe('v1');
    expect(nextVersion(['v1'], 'v1')).toBe('v2');
    expect(nextVersion(['V1.0', 'v3'], 'v1')).toBe('v4');
    expect(nextVersion(['1.0', '2.0'], '1.0')).toBe('3.0');
    expect(nextVersion(['v1'], '1.0')).toBe('2.0');
    const day = new Date(2024, 4, 7);
    expect(nextVersion([], 'date', day)).toBe('2024-05-07');
    expect(nextVersion(['2024-05-07'], 'date', day)).toBe('2024-05-07.2');
  });

  it('compares versions numerically', () => {
    expect(['v10', 'v2', 'v1'].sort(compareVersions)).toEqual(['v1', 'v2', 'v10']);
  });
});

describe('parameter types', () => {
  it('come from the generated wire vocabulary: wire names, aliases, labels', () => {
    expect(WIRE_TYPES).toEqual(['logical', 'numeric', 'integer', 'character', 'vector', 'matrix', 'data.frame']);
    expect(canonicalType('dataframe')).toBe('data.frame');
    expect(canonicalType('str')).toBe('character');
    expect(canonicalType('numeric')).toBe('numeric');
    expect(canonicalType('pandas.DataFrame')).toBe('data.frame');
    expect(canonicalType('SVC')).toBeNull();
    expect(typeLabel('numeric')).toBe('float (numeric)');
    expect(typeLabel('character')).toBe('str (character)');
  });

  it('follow the server\'s name rule: a leading digit is fine (defect 2 of #12)', () => {
    expect(checkName('2ndModel', 'Name')).toBeNull();
    expect(checkName('Iris_v2.1-beta', 'Name')).toBeNull();
    expect(checkName('9 lives', 'Name')).toMatch(/^Name must start with a letter or digit/);
    expect(checkName('-x', 'Version')).toMatch(/^Version must start/);
    expect(checkName('x'.repeat(201), 'Name')).not.toBeNull();
  });

  it('parses typed values', () => {
    expect(parseTypedValue('numeric', '3.5')).toBe(3.5);
    expect(parseTypedValue('integer', '4')).toBe(4);
    expect(() => parseTypedValue('integer', '4.5')).toThrow(/integer/);
    expect(parseTypedValue('logical', 'true')).toBe(true);
    expect(parseTypedValue('vector', '[7, 3.2, 4.7, 1.4]')).toEqual([7, 3.2, 4.7, 1.4]);
    expect(parseTypedValue('vector', '7, 3.2 4.7')).toEqual([7, 3.2, 4.7]);
    expect(parseTypedValue('vector', '["a", "b"]')).toEqual(['a', 'b']);
    expect(() => parseTypedValue('matrix', '[1, 2]')).toThrow(/rows/);
    expect(parseTypedValue('character', ' hi ')).toBe(' hi ');
    expect(JSON.parse(sampleValue('data.frame'))).toEqual({ x: [1, 2], y: [3, 4] });
  });
});

describe('typed values refused with the text quoted (#13 item 9)', () => {
  it('refuses a vector that is not a list', () => {
    expect(() => parseTypedValue('vector', 'abc')).toThrow('"abc" is not a list');
    expect(() => parseTypedValue('vector', '7, x')).toThrow('"7, x" is not a list');
    expect(() => parseTypedValue('vector', '[1, 2')).toThrow(/is not a list/);
  });

  it('quotes the text typed for a number', () => {
    expect(() => parseTypedValue('numeric', 'abc')).toThrow('"abc" is not a number');
  });
});

describe('readSettings', () => {
  it('falls back to defaults', () => {
    expect(readSettings({ versionScheme: 'weird', catalogRefreshInterval: -1 })).toEqual({
      askBeforeDelete: true,
      versionScheme: 'v1',
      catalogRefreshInterval: 30,
      showCodeSnippets: true
    });
    expect(readSettings({ askBeforeDelete: false, versionScheme: 'date', catalogRefreshInterval: 0 }).catalogRefreshInterval).toBe(0);
  });
});
