/**
 * jupyterlab-o16n: wires the o16n views into JupyterLab. Logic lives in api/, publish/, catalog/,
 * consume/ and components/; this file only registers commands, panels, toolbar items and settings.
 */
import { ILayoutRestorer, JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette, InputDialog, MainAreaWidget, WidgetTracker, showErrorMessage } from '@jupyterlab/apputils';
import { INotebookTracker } from '@jupyterlab/notebook';
import { ISettingRegistry } from '@jupyterlab/settingregistry';

import { O16nApi, isNotLoggedIn } from './api/client';
import { IO16nSettings, DEFAULT_SETTINGS, readSettings } from './common/settings';
import { LabHost, OPEN_SERVICE_COMMAND } from './host';
import { catalogIcon, consumeIcon, modelIcon, publishIcon } from './icons';
import { BatchRuns } from './catalog/batchRuns';
import { CatalogWidget, PublishWidget, ServiceDetailWidget } from './widgets';

const PLUGIN_ID = 'jupyterlab-o16n:plugin';

export const CommandIDs = {
  publish: 'o16n:publish',
  publishModel: 'o16n:publish-model',
  openCatalog: 'o16n:open-catalog',
  openService: OPEN_SERVICE_COMMAND,
  insertConsume: 'o16n:insert-consume-cell',
  refresh: 'o16n:refresh-catalog'
} as const;

const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description: 'Publish notebook code and models as versioned web services; browse, try and consume them.',
  autoStart: true,
  requires: [INotebookTracker],
  optional: [ICommandPalette, ISettingRegistry, ILayoutRestorer],
  activate: async (
    app: JupyterFrontEnd,
    tracker: INotebookTracker,
    palette: ICommandPalette | null,
    settingRegistry: ISettingRegistry | null,
    restorer: ILayoutRestorer | null
  ) => {
    const api = new O16nApi(app.serviceManager.serverSettings);
    const host = new LabHost(app, tracker);
    let settings: IO16nSettings = DEFAULT_SETTINGS;

    const publishPanel = new PublishWidget(api, host, settings);
    // batch runs outlive the service views: a view reopened shows its last run
    const batchRuns = new BatchRuns();
    const catalog = new CatalogWidget(api, host, settings);
    app.shell.add(catalog, 'left', { rank: 850 });
    app.shell.add(publishPanel, 'right', { rank: 850 });
    host.changed.connect(() => catalog.refresh());

    const details = new WidgetTracker<MainAreaWidget<ServiceDetailWidget>>({ namespace: 'o16n-service' });
    if (restorer) {
      restorer.add(catalog, catalog.id);
      restorer.add(publishPanel, publishPanel.id);
      void restorer.restore(details, {
        command: CommandIDs.openService,
        args: w => ({ name: w.content.serviceName, version: w.content.serviceVersion }),
        name: w => `${w.content.serviceName}/${w.content.serviceVersion}`
      });
    }

    const { commands } = app;
    const hasNotebook = () => tracker.currentWidget !== null;
    commands.addCommand(CommandIDs.publish, {
      label: 'Publish as web service',
      caption: 'Publish the selected cells or a kernel function as a versioned web service',
      icon: args => (args.toolbar ? publishIcon : undefined),
      isEnabled: hasNotebook,
      execute: () => {
        publishPanel.refreshSelection('script');
        app.shell.activateById(publishPanel.id);
      }
    });
    commands.addCommand(CommandIDs.publishModel, {
      label: 'Publish a model (realtime)',
      caption: 'Publish a fitted model of the kernel (a scikit-learn estimator or pipeline, or an ONNX model) as a realtime service',
      icon: args => (args.toolbar ? modelIcon : undefined),
      isEnabled: hasNotebook,
      execute: args => {
        // `variable`: the kernel variable to publish (optional; the panel proposes the first fitted model)
        publishPanel.refreshSelection('realtime', typeof args.variable === 'string' ? args.variable : undefined);
        app.shell.activateById(publishPanel.id);
      }
    });
    commands.addCommand(CommandIDs.openCatalog, {
      label: 'Show web services',
      icon: args => (args.toolbar ? catalogIcon : undefined),
      execute: () => app.shell.activateById(catalog.id)
    });
    commands.addCommand(CommandIDs.refresh, {
      label: 'Refresh web services',
      execute: () => catalog.refresh()
    });
    commands.addCommand(CommandIDs.openService, {
      label: args => (args.name ? `Open web service ${args.name} ${args.version}` : 'Open web service'),
      execute: args => {
        const name = String(args.name ?? '');
        const version = String(args.version ?? '');
        const tab = (args.tab as 'overview' | 'swagger' | 'try' | undefined) ?? 'overview';
        const open = details.find(w => w.content.serviceName === name && w.content.serviceVersion === version);
        if (open) {
          app.shell.activateById(open.id);
          return open;
        }
        const content = new ServiceDetailWidget(api, host, settings, name, version, tab, batchRuns);
        const widget = new MainAreaWidget({ content });
        widget.id = `o16n-service-${encodeURIComponent(name)}-${encodeURIComponent(version)}`;
        widget.title.label = `${name} ${version}`;
        widget.title.icon = catalogIcon;
        widget.title.closable = true;
        void details.add(widget);
        app.shell.add(widget, 'main');
        app.shell.activateById(widget.id);
        return widget;
      }
    });
    commands.addCommand(CommandIDs.insertConsume, {
      label: 'Insert consume cell',
      caption: 'Insert a cell that calls a published web service',
      icon: args => (args.toolbar ? consumeIcon : undefined),
      isEnabled: hasNotebook,
      execute: async args => {
        let name = args.name as string | undefined;
        let version = args.version as string | undefined;
        let services;
        try {
          services = await api.listServices(name);
        } catch (e) {
          // 401: nobody is logged in to o16n; the catalog shows how to log in
          const hint = isNotLoggedIn(e) ? ' Log in from the Web services panel.' : '';
          await showErrorMessage('Could not list the web services', `${(e as Error).message}.${hint}`);
          if (isNotLoggedIn(e)) {
            app.shell.activateById(catalog.id);
            catalog.refresh();
          }
          return;
        }
        if (!name || !version) {
          if (!services.length) {
            await InputDialog.getItem({ title: 'No web services yet', items: ['Publish one first'] });
            return;
          }
          const labels = services.map(s => `${s.name} ${s.version}`);
          const choice = await InputDialog.getItem({ title: 'Insert a consume cell for', items: labels });
          if (!choice.button.accept || !choice.value) {
            return;
          }
          const picked = services[labels.indexOf(choice.value)];
          name = picked.name;
          version = picked.version;
        }
        const service = services.find(s => s.name === name && s.version === version) ?? (await api.getService(name, version));
        host.insertConsumeCell(service);
      }
    });

    if (palette) {
      const category = 'Web services (o16n)';
      [CommandIDs.publish, CommandIDs.publishModel, CommandIDs.openCatalog, CommandIDs.refresh, CommandIDs.insertConsume].forEach(command =>
        palette.addItem({ command, category })
      );
    }

    if (settingRegistry) {
      try {
        const loaded = await settingRegistry.load(PLUGIN_ID);
        const apply = () => {
          settings = readSettings(loaded.composite as Record<string, unknown>);
          publishPanel.setSettings(settings);
          catalog.setSettings(settings);
          details.forEach(w => w.content.setSettings(settings));
        };
        apply();
        loaded.changed.connect(apply);
      } catch (reason) {
        console.error('o16n: could not load settings', reason);
      }
    }
  }
};

export default plugin;
