/** Notebook helpers: the selected code, and adding a consume cell below the active cell. */
import { INotebookTracker, NotebookActions, NotebookPanel } from '@jupyterlab/notebook';

import { IWebService } from '../api/types';
import { consumeCellSource, serviceSamples } from './magic';

/** The source of the selected (or active) code cells, joined by a blank line. */
export function selectedCode(panel: NotebookPanel): string {
  const notebook = panel.content;
  const parts: string[] = [];
  notebook.widgets.forEach(cell => {
    if (cell.model.type === 'code' && notebook.isSelectedOrActive(cell)) {
      parts.push(cell.model.sharedModel.getSource());
    }
  });
  return parts.join('\n\n');
}

/**
 * Insert `%load_ext o16n` + `%o16n consume ...` below the active cell; false when no notebook is
 * open. Every inserted cell loads the magics itself, so it runs in any order, in a fresh kernel.
 */
export function insertConsumeCell(
  tracker: INotebookTracker,
  service: IWebService,
  values: Record<string, string> = {}
): boolean {
  const panel = tracker.currentWidget;
  if (!panel) {
    return false;
  }
  const notebook = panel.content;
  NotebookActions.insertBelow(notebook);
  const cell = notebook.activeCell;
  if (!cell) {
    return false;
  }
  if (cell.model.type !== 'code') {
    NotebookActions.changeCellType(notebook, 'code');
  }
  notebook.activeCell?.model.sharedModel.setSource(
    consumeCellSource(service.name, service.version, service.inputParameterDefinitions ?? [], true, { ...serviceSamples(service), ...values })
  );
  return true;
}
