/** IO16nHost for a running JupyterLab: notebooks, contents, kernels and dialogs. */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { Dialog, showDialog } from '@jupyterlab/apputils';
import { ISessionContext } from '@jupyterlab/apputils';
import { INotebookTracker, NotebookActions, NotebookPanel } from '@jupyterlab/notebook';
import { KernelMessage } from '@jupyterlab/services';
import { Signal } from '@lumino/signaling';

import { IWebService } from './api/types';
import { IKernelRun, INotebookEvents, INotebookSelection, IO16nHost } from './common/host';
import { insertConsumeCell, selectedCode } from './consume/cells';
import { IPublishTarget, METADATA_KEY, readTarget } from './publish/target';

export const OPEN_SERVICE_COMMAND = 'o16n:open-service';

export class LabHost implements IO16nHost, INotebookEvents {
  constructor(
    private app: JupyterFrontEnd,
    private tracker: INotebookTracker
  ) {
    tracker.currentChanged.connect((_, panel) => this.follow(panel));
    this.follow(tracker.currentWidget);
    // a cell of the current notebook finished executing (whoever ran it from this page)
    NotebookActions.executed.connect((_, { notebook }) => {
      if (notebook === this.tracker.currentWidget?.content) {
        this.kernelActivity.emit();
      }
    });
  }

  /** emitted when services were published or deleted */
  readonly changed = new Signal<this, void>(this);
  readonly notebookChanged = new Signal<this, void>(this);
  readonly kernelActivity = new Signal<this, void>(this);

  /** Follow the current notebook: its path, its kernel, and the kernel's restarts. */
  private follow(panel: NotebookPanel | null): void {
    if (this.followed === panel) {
      return;
    }
    if (this.followed) {
      this.followed.context.pathChanged.disconnect(this.emitNotebookChanged, this);
      this.followed.sessionContext.kernelChanged.disconnect(this.emitNotebookChanged, this);
      this.followed.sessionContext.statusChanged.disconnect(this.onKernelStatus, this);
    }
    this.followed = panel;
    if (panel) {
      panel.context.pathChanged.connect(this.emitNotebookChanged, this);
      panel.sessionContext.kernelChanged.connect(this.emitNotebookChanged, this);
      panel.sessionContext.statusChanged.connect(this.onKernelStatus, this);
      // the file is loaded, then the kernel id is known (e.g. after a restore)
      void panel.context.ready.then(() => this.followed === panel && this.notebookChanged.emit());
      void panel.sessionContext.ready.then(() => this.followed === panel && this.notebookChanged.emit());
    }
    this.notebookChanged.emit();
  }

  private emitNotebookChanged(): void {
    this.notebookChanged.emit();
  }

  /** A kernel restarted: its namespace is new. */
  private onKernelStatus(_: ISessionContext, status: string): void {
    if (status === 'restarting' || status === 'autorestarting' || status === 'starting') {
      this.restarting = true;
    } else if (status === 'idle' && this.restarting) {
      this.restarting = false;
      this.kernelActivity.emit();
    }
  }

  private panelOf(path: string): NotebookPanel | null {
    return this.tracker.find(p => p.context.path === path) ?? null;
  }

  readPublishTarget(path: string): IPublishTarget | null {
    const meta = this.panelOf(path)?.model?.getMetadata(METADATA_KEY) as { publish?: unknown } | undefined;
    return readTarget(meta?.publish);
  }

  writePublishTarget(path: string, target: IPublishTarget): void {
    const panel = this.panelOf(path);
    const model = panel?.model;
    if (!panel || !model) {
      return;
    }
    const wasClean = !model.dirty;
    const meta = (model.getMetadata(METADATA_KEY) as Record<string, unknown> | undefined) ?? {};
    model.setMetadata(METADATA_KEY, { ...meta, publish: target });
    // a notebook that had no unsaved changes is saved, so that the target is there next time
    if (wasClean) {
      void panel.context.save();
    }
  }

  private followed: NotebookPanel | null = null;
  private restarting = false;

  /** The current notebook once its file is loaded (its metadata holds the remembered publish target). */
  currentNotebook(): INotebookSelection | null {
    const panel = this.tracker.currentWidget;
    if (!panel || !panel.context.isReady) {
      return null;
    }
    return {
      path: panel.context.path,
      kernelId: panel.sessionContext.session?.kernel?.id ?? null,
      selectedCode: selectedCode(panel)
    };
  }

  async listFiles(folder: string): Promise<string[]> {
    const files: string[] = [];
    const walk = async (path: string, depth: number) => {
      const model = await this.app.serviceManager.contents.get(path, { content: true });
      for (const item of (model.content ?? []) as { type: string; path: string; name: string }[]) {
        if (item.name.startsWith('.') || files.length >= 200) {
          continue;
        }
        if (item.type === 'directory') {
          if (depth < 2) {
            await walk(item.path, depth + 1);
          }
        } else {
          files.push(item.path);
        }
      }
    };
    await walk(folder, 0);
    return files.sort();
  }

  async runInKernel(code: string): Promise<IKernelRun> {
    const kernel = this.tracker.currentWidget?.sessionContext.session?.kernel;
    if (!kernel) {
      return { stdout: '', error: 'The notebook has no running kernel.' };
    }
    let stdout = '';
    let error: string | null = null;
    const future = kernel.requestExecute({ code, silent: false, store_history: false, stop_on_error: true });
    future.onIOPub = (msg: KernelMessage.IIOPubMessage) => {
      if (KernelMessage.isStreamMsg(msg) && msg.content.name === 'stdout') {
        stdout += msg.content.text;
      } else if (KernelMessage.isErrorMsg(msg)) {
        error = `${msg.content.ename}: ${msg.content.evalue}`;
      }
    };
    await future.done;
    return { stdout, error };
  }

  insertConsumeCell(service: IWebService, values?: Record<string, string>): boolean {
    const ok = insertConsumeCell(this.tracker, service, values);
    if (ok && this.tracker.currentWidget) {
      this.app.shell.activateById(this.tracker.currentWidget.id);
    } else if (!ok) {
      void showDialog({
        title: 'No notebook is open',
        body: 'Open a notebook to insert a consume cell into it.',
        buttons: [Dialog.okButton()]
      });
    }
    return ok;
  }

  openService(name: string, version: string): void {
    void this.app.commands.execute(OPEN_SERVICE_COMMAND, { name, version });
  }

  async confirm(title: string, message: string, acceptLabel: string): Promise<boolean> {
    const result = await showDialog({
      title,
      body: message,
      buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: acceptLabel })]
    });
    return result.button.accept;
  }

  servicesChanged(): void {
    this.changed.emit();
  }
}
