/** Lumino widgets around the React views. */
import { ReactWidget } from '@jupyterlab/apputils';
import * as React from 'react';

import { O16nApi } from './api/client';
import { INotebookSelection, IO16nHost } from './common/host';
import { IO16nSettings } from './common/settings';
import { CatalogPanel } from './catalog/CatalogPanel';
import { DetailTab, ServiceDetail } from './catalog/ServiceDetail';
import { catalogIcon, publishIcon } from './icons';
import { PublishPanel } from './publish/PublishPanel';

export class PublishWidget extends ReactWidget {
  constructor(
    private api: O16nApi,
    private host: IO16nHost,
    private settings: IO16nSettings
  ) {
    super();
    this.id = 'o16n-publish';
    this.addClass('o16n-publish-widget');
    this.title.icon = publishIcon;
    this.title.caption = 'Publish as web service';
    this.node.setAttribute('role', 'region');
    this.node.setAttribute('aria-label', 'Publish as web service');
  }

  /** Take the current notebook and its selected cells. */
  refreshSelection(): void {
    this.selection = this.host.currentNotebook();
    this.update();
  }

  setSettings(settings: IO16nSettings): void {
    this.settings = settings;
    this.update();
  }

  protected render(): JSX.Element {
    return (
      <PublishPanel
        api={this.api}
        host={this.host}
        settings={this.settings}
        selection={this.selection}
        onRefreshSelection={() => this.refreshSelection()}
      />
    );
  }

  private selection: INotebookSelection | null = null;
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
    private initialTab: DetailTab = 'overview'
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
        onDeleted={() => (this.parent ? this.parent.dispose() : this.dispose())}
      />
    );
  }
}
