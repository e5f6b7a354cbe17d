import { consumeCellSource, loadsExtension, quoteArg } from '../magic';

describe('consume cell', () => {
  it('writes %load_ext once and the consume line with sample values', () => {
    const src = consumeCellSource('Iris', 'v1', [{ name: 'flower_data', type: 'vector' }], true);
    expect(src).toBe("%load_ext o16n\n%o16n consume Iris v1 --flower_data '[1, 2, 3]'");
    expect(consumeCellSource('Double', '1.0', [{ name: 'x', type: 'integer' }], false)).toBe('%o16n consume Double 1.0 --x 1');
  });

  it('uses given values', () => {
    expect(consumeCellSource('Iris', 'v1', [{ name: 'flower_data', type: 'vector' }], false, { flower_data: '[7, 3.2, 4.7, 1.4]' })).toBe(
      "%o16n consume Iris v1 --flower_data '[7, 3.2, 4.7, 1.4]'"
    );
  });

  it('quotes for shlex and escapes braces from IPython expansion', () => {
    expect(quoteArg('"text"')).toBe('\'"text"\'');
    expect(quoteArg("it's")).toBe("'it'\"'\"'s'");
    expect(quoteArg('{"x": [1]}')).toBe('\'{{"x": [1]}}\'');
  });

  it('detects %load_ext o16n', () => {
    expect(loadsExtension(['x = 1', '%load_ext o16n\n%o16n status'])).toBe(true);
    expect(loadsExtension(['%load_ext other'])).toBe(false);
  });
});
