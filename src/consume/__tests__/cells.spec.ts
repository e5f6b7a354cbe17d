/** #13 item 4: every inserted consume cell loads the magics itself, so it runs first in a fresh kernel. */
import { insertConsumeCell } from '../cells';

interface IFakeCell {
  model: { type: string; sharedModel: { source: string; getSource: () => string; setSource: (s: string) => void } };
}

function fakeCell(source: string): IFakeCell {
  const sharedModel = {
    source,
    getSource: () => sharedModel.source,
    setSource: (s: string) => void (sharedModel.source = s)
  };
  return { model: { type: 'code', sharedModel } };
}

jest.mock('@jupyterlab/notebook', () => ({
  NotebookActions: {
    insertBelow: (notebook: { widgets: IFakeCell[]; activeCell: IFakeCell | null; activeCellIndex: number }) => {
      const cell = fakeCell('');
      notebook.widgets.splice(notebook.activeCellIndex + 1, 0, cell);
      notebook.activeCellIndex += 1;
      notebook.activeCell = cell;
    },
    changeCellType: jest.fn()
  }
}));

describe('insertConsumeCell', () => {
  it('puts %load_ext o16n in every inserted cell', () => {
    const first = fakeCell('x = 1');
    const notebook = { widgets: [first], activeCell: first, activeCellIndex: 0 };
    const tracker = { currentWidget: { content: notebook } } as any;
    const iris = { name: 'Iris', version: 'v1', inputParameterDefinitions: [{ name: 'flower_data', type: 'vector' }] };
    const double = { name: 'Double', version: '1.0', inputParameterDefinitions: [{ name: 'x', type: 'integer' }] };
    expect(insertConsumeCell(tracker, iris)).toBe(true);
    expect(insertConsumeCell(tracker, double)).toBe(true);
    const sources = notebook.widgets.map(c => c.model.sharedModel.getSource());
    expect(sources).toEqual([
      'x = 1',
      "%load_ext o16n\n%o16n consume Iris v1 --flower_data '[1, 2, 3]'",
      '%load_ext o16n\n%o16n consume Double 1.0 --x 1'
    ]);
  });

  it('says when no notebook is open', () => {
    expect(insertConsumeCell({ currentWidget: null } as any, { name: 'Iris', version: 'v1' })).toBe(false);
  });
});
