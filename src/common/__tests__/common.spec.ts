import { parseTypedValue, sampleValue, toUiType, toWireType } from '../paramTypes';
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
  it('maps UI types to wire types and back', () => {
    expect(toWireType('dataframe')).toBe('data.frame');
    expect(toWireType('str')).toBe('character');
    expect(toUiType('numeric')).toBe('float');
    expect(toUiType('pandas.DataFrame')).toBe('dataframe');
    expect(toUiType('list[list[float]]')).toBe('matrix');
    expect(toUiType('typing.List[int]')).toBe('vector');
    expect(toUiType('SVC')).toBeNull();
  });

  it('parses typed values', () => {
    expect(parseTypedValue('numeric', '3.5')).toBe(3.5);
    expect(parseTypedValue('integer', '4')).toBe(4);
    expect(() => parseTypedValue('integer', '4.5')).toThrow(/integer/);
    expect(parseTypedValue('logical', 'true')).toBe(true);
    expect(parseTypedValue('vector', '[7, 3.2, 4.7, 1.4]')).toEqual([7, 3.2, 4.7, 1.4]);
    expect(parseTypedValue('vector', '7, 3.2 4.7')).toEqual([7, 3.2, 4.7]);
    expect(() => parseTypedValue('matrix', '[1, 2]')).toThrow(/rows/);
    expect(parseTypedValue('character', ' hi ')).toBe(' hi ');
    expect(JSON.parse(sampleValue('data.frame'))).toEqual({ x: [1, 2], y: [3, 4] });
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
