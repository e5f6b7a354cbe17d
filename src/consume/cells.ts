/** Notebook helpers: the selected code, and adding a consume cell below the active cell. */
import { INotebookTracker, NotebookActions, NotebookPanel } from '@jupyterlab/notebook';

import { IWebService } from '../api/types';
import { consumeCellSource, loadsExtension } from './magic';

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

/** Insert `%o16n consume ...` below the active cell; false when no notebook is open. */
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
  const sources: string[] = [];
  notebook.widgets.forEach(cell => sources.push(cell.model.sharedModel.getSource()));
  NotebookActions.insertBelow(notebook);
  const cell = notebook.activeCell;
  if (!cell) {
    return false;
  }
  if (cell.model.type !== 'code') {
    NotebookActions.changeCellType(notebook, 'code');
  }
  notebook.activeCell?.model.sharedModel.setSource(
    consumeCellSource(service.name, service.version, service.inputParameterDefinitions ?? [], !loadsExtension(sources), values)
  );
  return true;
}
