/**
 * What the React views need from JupyterLab, as plain functions. index.ts implements it with the
 * notebook tracker, the document manager and dialogs; tests implement it with jest mocks.
 */
import { ISignal } from '@lumino/signaling';

import { IWebService } from '../api/types';
import { IPublishTarget } from '../publish/target';

export interface INotebookSelection {
  /** the notebook's path relative to the Jupyter root */
  path: string;
  kernelId: string | null;
  /** source of the selected code cells, joined by blank lines */
  selectedCode: string;
}

export interface IKernelRun {
  stdout: string;
  /** "ename: evalue" when the code raised */
  error: string | null;
}

export interface IO16nHost {
  /** the current notebook and its selection; null when no notebook is open */
  currentNotebook(): INotebookSelection | null;
  /** files of a folder (relative to the Jupyter root), recursively up to a small limit */
  listFiles(folder: string): Promise<string[]>;
  /** run code in the current notebook's kernel without touching its history */
  runInKernel(code: string): Promise<IKernelRun>;
  /** add a consume cell below the active cell of the current notebook */
  insertConsumeCell(service: IWebService, values?: Record<string, string>): boolean;
  /** open the detail view of a service version */
  openService(name: string, version: string): void;
  /** ask the user; resolves true when they accept */
  confirm(title: string, message: string, acceptLabel: string): Promise<boolean>;
  /** tell the catalog (and others) that services changed */
  servicesChanged(): void;
  /** the last publish target remembered in an open notebook's metadata */
  readPublishTarget(path: string): IPublishTarget | null;
  /** remember the publish target in the notebook's metadata */
  writePublishTarget(path: string, target: IPublishTarget): void;
}

/** What the publish panel follows: the current notebook and its kernel. */
export interface INotebookEvents {
  /** the current notebook, its path or its kernel changed */
  readonly notebookChanged: ISignal<unknown, void>;
  /** the current notebook's kernel ran something (a cell finished executing, the kernel restarted) */
  readonly kernelActivity: ISignal<unknown, void>;
}
