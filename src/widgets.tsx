/** Lumino widgets around the React views. */
import { ReactWidget } from '@jupyterlab/apputils';
import { Message } from '@lumino/messaging';
import { SplitPanel, Widget } from '@lumino/widgets';
import * as React from 'react';

import { O16nApi } from './api/client';
import { INotebookEvents, INotebookSelection, IO16nHost } from './common/host';
import { IO16nSettings } from './common/settings';
import { BatchRuns } from './catalog/batchRuns';
import { CatalogPanel } from './catalog/CatalogPanel';
import { DetailTab, ServiceDetail } from './catalog/ServiceDetail';
import { catalogIcon, publishIcon } from './icons';
import { PublishKind } from './publish/model';
import { IKindRequest, PublishPanel } from './publish/PublishPanel';

/**
 * The publish panel follows the current notebook and its kernel: it re-reads the kernel when a cell
 * finished executing there, when the panel is shown, and when the notebook or its kernel changes.
 */
export class PublishWidget extends ReactWidget {
  constructor(
    private api: O16nApi,
    private host: IO16nHost & INotebookEvents,
    private settings: IO16nSettings
  ) {
    super();
    this.id = 'o16n-publish';
    this.addClass('o16n-publish-widget');
    this.title.icon = publishIcon;
    this.title.caption = 'Publish as web service';
    this.node.setAttribute('role', 'region');
    this.node.setAttribute('aria-label', 'Publish as web service');
    this.selection = host.currentNotebook();
    host.notebookChanged.connect(this.onNotebookChanged, this);
    host.kernelActivity.connect(this.onKernelActivity, this);
  }

  /**
   * Take the current notebook and its selected cells (the publish commands); `kind`: show the form
   * for code (`script`) or for a model (`realtime`, taking `variable` when given).
   */
  refreshSelection(kind?: PublishKind, variable?: string): void {
    this.selection = this.host.currentNotebook();
    this.selectionEpoch++;
    if (kind && this.selection) {
      this.kindRequest = { kind, variable, path: this.selection.path, epoch: ++this.kindEpoch };
    }
    this.update();
  }

  setSettings(settings: IO16nSettings): void {
    this.settings = settings;
    this.update();
  }

  dispose(): void {
    this.host.notebookChanged.disconnect(this.onNotebookChanged, this);
    this.host.kernelActivity.disconnect(this.onKernelActivity, this);
    super.dispose();
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    this.readKernel();
    // once laid out: open wide enough for the fields (#13 item 7)
    window.requestAnimationFrame(() => widenSideArea(this, PUBLISH_PANEL_WIDTH, PUBLISH_PANEL_MIN_WIDTH));
  }

  protected render(): JSX.Element {
    return (
      <PublishPanel
        api={this.api}
        host={this.host}
        settings={this.settings}
        selection={this.selection}
        kernelEpoch={this.kernelEpoch}
        selectionEpoch={this.selectionEpoch}
        kindRequest={this.kindRequest}
        onRefreshSelection={() => this.refreshSelection()}
      />
    );
  }

  private onNotebookChanged(): void {
    const next = this.host.currentNotebook();
    const same = next?.path === this.selection?.path && next?.kernelId === this.selection?.kernelId;
    if (same) {
      return;
    }
    // another notebook (or kernel): its own form, its selection as it is now
    this.selection = next;
    this.readKernel();
  }

  /** While hidden, nothing is read: showing the panel reads the kernel anyway. */
  private onKernelActivity(): void {
    if (this.isVisible) {
      this.readKernel();
    }
  }

  private readKernel(): void {
    this.kernelEpoch++;
    this.update();
  }

  private selection: INotebookSelection | null;
  private kernelEpoch = 0;
  private selectionEpoch = 0;
  private kindRequest: IKindRequest | undefined;
  private kindEpoch = 0;
}

/** The width the publish panel opens with when it is narrower than the minimum (px). */
const PUBLISH_PANEL_WIDTH = 460;
const PUBLISH_PANEL_MIN_WIDTH = 400;

/**
 * Make the side area holding `widget` `width` px wide when it is narrower than `min`, taking the
 * room from the widest other part of the split panel it sits in (the main area); never more than
 * half of the window.
 */
export function widenSideArea(widget: Widget, width: number, min: number): void {
  let child: Widget = widget;
  let parent = widget.parent;
  while (parent && !(parent instanceof SplitPanel)) {
    child = parent;
    parent = parent.parent;
  }
  if (!parent || !widget.isVisible) {
    return;
  }
  const split = parent;
  const index = split.widgets.indexOf(child);
  const current = child.node.getBoundingClientRect().width;
  const total = split.node.getBoundingClientRect().width;
  if (index < 0 || current >= min || total <= 0) {
    return;
  }
  const sizes = split.relativeSizes();
  const target = Math.min(width, total / 2) / total;
  const grow = target - sizes[index];
  let donor = -1;
  sizes.forEach((size, i) => {
    if (i !== index && (donor < 0 || size > sizes[donor])) {
      donor = i;
    }
  });
  if (grow <= 0 || donor < 0 || sizes[donor] - grow <= 0) {
    return;
  }
  sizes[donor] -= grow;
  sizes[index] = target;
  split.setRelativeSizes(sizes);
}

export class CatalogWidget extends ReactWidget {
  constructor(
    private api: O16nApi,
    private host: IO16nHost,
    private settings: IO16nSettings
  ) {
    super();
    this.id = 'o16n-catalog';
    this.addClass('o16n-catalog-widget');
    this.title.icon = catalogIcon;
    this.title.caption = 'Web services';
    this.node.setAttribute('role', 'region');
    this.node.setAttribute('aria-label', 'Web services');
  }

  refresh(): void {
    this.token++;
    this.update();
  }

  setSettings(settings: IO16nSettings): void {
    this.settings = settings;
    this.update();
  }

  protected render(): JSX.Element {
    return <CatalogPanel api={this.api} host={this.host} settings={this.settings} refreshToken={this.token} />;
  }

  private token = 0;
}

export class ServiceDetailWidget extends ReactWidget {
  constructor(
    private api: O16nApi,
    private host: IO16nHost,
    private settings: IO16nSettings,
    readonly serviceName: string,
    readonly serviceVersion: string,
    private initialTab: DetailTab = 'overview',
    private batchRuns?: BatchRuns
  ) {
    super();
    this.addClass('o16n-detail-widget');
  }

  setSettings(settings: IO16nSettings): void {
    this.settings = settings;
    this.update();
  }

  protected render(): JSX.Element {
    return (
      <ServiceDetail
        api={this.api}
        host={this.host}
        settings={this.settings}
        name={this.serviceName}
        version={this.serviceVersion}
        initialTab={this.initialTab}
        batchRuns={this.batchRuns}
        onDeleted={() => (this.parent ? this.parent.dispose() : this.dispose())}
      />
    );
  }
}
