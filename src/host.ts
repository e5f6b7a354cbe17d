/** IO16nHost for a running JupyterLab: notebooks, contents, kernels and dialogs. */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { Dialog, showDialog } from '@jupyterlab/apputils';
import { INotebookTracker } from '@jupyterlab/notebook';
import { KernelMessage } from '@jupyterlab/services';
import { Signal } from '@lumino/signaling';

import { IWebService } from './api/types';
import { IKernelRun, INotebookSelection, IO16nHost } from './common/host';
import { insertConsumeCell, selectedCode } from './consume/cells';

export const OPEN_SERVICE_COMMAND = 'o16n:open-service';

export class LabHost implements IO16nHost {
  constructor(
    private app: JupyterFrontEnd,
    private tracker: INotebookTracker
  ) {}

  /** emitted when services were published or deleted */
  readonly changed = new Signal<this, void>(this);

  currentNotebook(): INotebookSelection | null {
    const panel = this.tracker.currentWidget;
    if (!panel) {
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
