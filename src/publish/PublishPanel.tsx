/**
 * The publish panel (right area): describe a service from the current notebook, test it in the
 * kernel, publish it. The panel holds one model per notebook (see model.ts) and passes it down to
 * its sections with `onChange`; the kernel is read through the relay (useKernel.ts) and the publish
 * job is followed by usePublishJob.ts.
 */
import * as React from 'react';

import { O16nApi, O16nApiError } from '../api/client';
import { IAnalysis, IAnalyzeRequest, IEnvironment, IStatus, IWebService } from '../api/types';
import { INotebookSelection, IO16nHost } from '../common/host';
import { IO16nSettings } from '../common/settings';
import { EmptyState } from '../components/common';
import { firstErrorField } from './fields';
import {
  IPublishForm,
  IPublishModel,
  PublishKind,
  applyAnalysis,
  applyNamespace,
  currentParams,
  environmentSupport,
  failedTestApplies,
  nameIsValid,
  newModel,
  published,
  rememberTarget,
  setCode,
  setKind,
  testKey,
  toAnalyzeRequest,
  toRequest,
  toTestRequest,
  validateForm,
  versionsFound
} from './model';
import { PublishFooter } from './PublishFooter';
import { AdvancedSection } from './sections/AdvancedSection';
import { EnvironmentSection } from './sections/EnvironmentSection';
import { FilesSection } from './sections/FilesSection';
import { ModelSection } from './sections/ModelSection';
import { ObjectsSection } from './sections/ObjectsSection';
import { ParametersSection } from './sections/ParametersSection';
import { ServiceSection } from './sections/ServiceSection';
import { SourceSection } from './sections/SourceSection';
import { TestSection } from './sections/TestSection';
import { useAnalysis, useKernelNamespace } from './useKernel';
import { usePublishJob } from './usePublishJob';

/** A publish command for one notebook: code (`script`) or a model (`realtime`), applied once per epoch. */
export interface IKindRequest {
  kind: PublishKind;
  /** the model variable to take (realtime) */
  variable?: string;
  /** the notebook the command ran for */
  path: string;
  epoch: number;
}

export interface IPublishPanelProps {
  api: O16nApi;
  host: IO16nHost;
  settings: IO16nSettings;
  /** the notebook and selection the panel publishes from; null when no notebook is open */
  selection: INotebookSelection | null;
  /** re-read the notebook's selection */
  onRefreshSelection: () => void;
  /** changes whenever the kernel should be read again: a cell finished executing, the panel was shown, the kernel changed */
  kernelEpoch?: number;
  /** changes when the publish command took the notebook's selection: the form takes its code */
  selectionEpoch?: number;
  /**
   * what the last publish command asked for: code (`script`) or a model (`realtime`, with the
   * variable to take when it named one); applied once per `epoch`
   */
  kindRequest?: IKindRequest;
  /** ms between publish job polls */
  pollInterval?: number;
  /** ms after the code last changed before it is analyzed in the kernel */
  analysisDelay?: number;
}

export function PublishPanel(props: IPublishPanelProps): JSX.Element {
  // one model per notebook: switching notebooks shows each its own form
  const models = React.useRef(new Map<string, IPublishModel>());
  if (!props.selection) {
    return (
      <div className="o16n-panel o16n-publish">
        <h2 className="o16n-panel-title">Publish as web service</h2>
        <EmptyState title="No notebook is open.">
          Open a notebook, run the cells that build your model, select the cell with the code to publish and click{' '}
          <em>Publish as web service</em> in its toolbar, or <em>Publish a model (realtime)</em> for a fitted model alone.
        </EmptyState>
      </div>
    );
  }
  return <NotebookPublishPanel key={props.selection.path} {...props} selection={props.selection} models={models.current} />;
}

function dirname(path: string): string {
  const i = path.lastIndexOf('/');
  return i < 0 ? '' : path.slice(0, i);
}

function analysisSource(request: IAnalyzeRequest): { source: 'cells' | 'function'; matches: (form: IPublishForm) => boolean } {
  if ('functionName' in request) {
    return { source: 'function', matches: form => form.functionName === request.functionName };
  }
  return { source: 'cells', matches: form => form.code === request.code };
}

function NotebookPublishPanel(
  props: IPublishPanelProps & { selection: INotebookSelection; models: Map<string, IPublishModel> }
): JSX.Element {
  const { api, host, settings, selection, models } = props;
  const { path, kernelId } = selection;
  const selectionEpoch = props.selectionEpoch ?? 0;
  const [model, setModel] = React.useState<IPublishModel>(
    () =>
      models.get(path) ??
      newModel({
        selectedCode: selection.selectedCode,
        target: host.readPublishTarget(path),
        versionScheme: settings.versionScheme,
        selectionEpoch
      })
  );
  const { form } = model;
  const modelRef = React.useRef(model);
  modelRef.current = model;
  React.useEffect(() => void models.set(path, model), [models, path, model]);
  const rootRef = React.useRef<HTMLFormElement>(null);

  // the publish command ran again: take the selected code
  React.useEffect(() => {
    if (model.selectionEpoch !== selectionEpoch) {
      setModel(m => ({ ...setCode(m, selection.selectedCode), selectionEpoch }));
    }
  }, [model.selectionEpoch, selectionEpoch, selection.selectedCode]);

  // the kernel: its objects and functions, and the analysis of the code, read again on every epoch
  const [refreshes, setRefreshes] = React.useState(0);
  const epoch = (props.kernelEpoch ?? 0) + refreshes;
  const kernel = useKernelNamespace(api, kernelId, epoch);
  const kernelObjects = React.useMemo(() => kernel.namespace?.objects ?? [], [kernel.namespace]);
  React.useEffect(() => setModel(m => applyNamespace(m, kernelObjects)), [kernelObjects]);
  const objectsRef = React.useRef(kernelObjects);
  objectsRef.current = kernelObjects;

  // "Publish a model (realtime)" or "Publish as web service" ran: show that kind (once per command)
  const kindRequest = props.kindRequest;
  React.useEffect(() => {
    if (kindRequest && kindRequest.path === path && kindRequest.epoch !== model.kindEpoch) {
      setModel(m => ({ ...setKind(m, kindRequest.kind, objectsRef.current, kindRequest.variable), kindEpoch: kindRequest.epoch }));
    }
  }, [kindRequest, path, model.kindEpoch]);

  // the environments the server has built: "publishing reuses it"
  // (a 404: the server builds no environments, an older or plain 9.1 one: publish without)
  const [environments, setEnvironments] = React.useState<IEnvironment[] | null>(null);
  const [environmentsEpoch, setEnvironmentsEpoch] = React.useState(0);
  const wantEnvironments = form.kind === 'script';
  React.useEffect(() => {
    if (!wantEnvironments) {
      return;
    }
    let current = true;
    api
      .environments()
      .then(list => {
        if (current) {
          setEnvironments(Array.isArray(list) ? list : null);
          setModel(m => environmentSupport(m, true));
        }
      })
      .catch((e: unknown) => {
        if (current) {
          setEnvironments(null);
          // 404: no environments on this server; anything else (not logged in, unreachable): not known
          setModel(m => environmentSupport(m, e instanceof O16nApiError && e.status === 404 ? false : null));
        }
      });
    return () => void (current = false);
  }, [api, wantEnvironments, environmentsEpoch, epoch]);
  const analyzeRequest = form.kind === 'script' ? toAnalyzeRequest(form) : null;
  useAnalysis(
    api,
    kernelId,
    analyzeRequest,
    epoch,
    (request: IAnalyzeRequest, analysis: IAnalysis) =>
      setModel(m => {
        const { source, matches } = analysisSource(request);
        return matches(m.form) ? applyAnalysis(m, source, analysis, objectsRef.current) : m;
      }),
    (message: string) => setModel(m => ({ ...m, analysis: { state: 'failed', error: message } })),
    props.analysisDelay
  );

  // versions of this name -> the next free one
  const name = form.name.trim();
  const lookUpVersions = model.existingVersions === null && nameIsValid(name);
  React.useEffect(() => {
    if (!lookUpVersions) {
      return;
    }
    let current = true;
    const timer = window.setTimeout(() => {
      api
        .listServices(name)
        .then(list => current && setModel(m => versionsFound(m, name, list.filter(s => s.name === name).map(s => s.version))))
        .catch(() => current && setModel(m => versionsFound(m, name, null)));
    }, 300);
    return () => {
      current = false;
      window.clearTimeout(timer);
    };
  }, [api, name, lookUpVersions]);

  // files next to the notebook
  const [folderFiles, setFolderFiles] = React.useState<string[]>([]);
  React.useEffect(() => {
    let current = true;
    host
      .listFiles(dirname(path))
      .then(files => current && setFolderFiles(files.filter(f => f !== path)))
      .catch(() => current && setFolderFiles([]));
    return () => void (current = false);
  }, [host, path]);

  // the o16n server's URL (for the endpoint) and whether we are connected to it
  const [connection, setConnection] = React.useState<IStatus | null>(null);
  const checkConnection = React.useCallback(() => {
    api
      .status()
      .then(s => setConnection(s))
      .catch(() => undefined);
  }, [api]);
  React.useEffect(checkConnection, [checkConnection]);

  const focusField = React.useCallback((field: string | null) => {
    if (!field) {
      return;
    }
    const row = /^(inputs|outputs|environment)\.(\d+)$/.exec(field);
    const envRow = row?.[1] === 'environment';
    const selector = field === 'environment.python'
      ? '#o16n-env-python'
      : row
        ? envRow
          ? `#o16n-env-${row[2]}-name, [data-field="environment"] tbody tr:nth-child(${Number(row[2]) + 1}) input`
          : `#o16n-${row[1]}-${row[2]}-name`
        : `[data-field="${field}"] input, [data-field="${field}"] textarea, [data-field="${field}"] select`;
    rootRef.current?.querySelector<HTMLElement>(selector)?.focus();
  }, []);

  // the publish job; the form it was started from is what the notebook remembers
  const publishedForm = React.useRef<IPublishForm | null>(null);
  const job = usePublishJob(api, props.pollInterval ?? 500, {
    onStarted: jobId => setModel(m => ({ ...m, jobId })),
    onFinished: ended => {
      if (ended.state !== 'done') {
        return;
      }
      host.servicesChanged();
      const from = publishedForm.current ?? modelRef.current.form;
      if (from.kind === 'realtime' || ended.kind === 'realtime') {
        // a realtime service: the notebook's remembered target stays the code's; propose the next version
        setModel(m => ({ ...m, versionEdited: false, existingVersions: null }));
        return;
      }
      setEnvironmentsEpoch(n => n + 1);
      const target = rememberTarget(from, ended.service?.version ?? from.version, modelRef.current.versionScheme);
      host.writePublishTarget(path, target);
      setModel(m => published(m, target));
    },
    onFieldError: (field, message) => {
      setModel(m => ({ ...m, errors: { ...m.errors, [field]: message } }));
      window.setTimeout(() => focusField(field), 0);
    },
    onNotLoggedIn: checkConnection
  });

  // a job started earlier from this notebook: follow it, or show how it ended (also after a restart)
  const { resume, show } = job;
  const firstJobId = React.useRef(model.jobId);
  React.useEffect(() => {
    if (firstJobId.current) {
      void resume(firstJobId.current);
      return;
    }
    let current = true;
    api
      .publishJobs(path)
      .then(jobs => {
        const latest = jobs[0];
        if (!current || !latest) {
          return;
        }
        if (latest.state === 'running') {
          void resume(latest.jobId);
        } else {
          show(latest);
        }
      })
      .catch(() => undefined);
    return () => void (current = false);
  }, [api, path, resume, show]);

  const publish = async () => {
    if (!kernelId) {
      job.fail({
        step: null,
        message: 'The notebook has no running kernel: start it and run the cells that build your objects.',
        status: null
      });
      return;
    }
    const errors = validateForm(form, model.existingVersions ?? []);
    if (Object.keys(errors).length) {
      setModel(m => ({ ...m, errors }));
      focusField(firstErrorField(errors));
      return;
    }
    if (failedTestApplies(model)) {
      const go = await host.confirm(
        'The last test failed',
        `Testing this code in the kernel failed${model.test.error ? `: ${model.test.error}` : ''}. Publish it anyway?`,
        'Publish anyway'
      );
      if (!go) {
        return;
      }
    }
    setModel(m => ({ ...m, errors: {} }));
    publishedForm.current = form;
    await job.start(toRequest(form, kernelId, path));
  };

  const runTest = async () => {
    if (!kernelId) {
      return;
    }
    const key = testKey(form);
    let request;
    try {
      request = toTestRequest(form);
    } catch (e) {
      setModel(m => ({ ...m, test: { state: 'failed', key, result: null, error: `Sample input ${(e as Error).message}` } }));
      return;
    }
    setModel(m => ({ ...m, test: { state: 'running', key, result: null, error: null } }));
    try {
      const result = await api.testInKernel(kernelId, request);
      const error = result.success ? null : result.errorMessage || 'The test failed.';
      setModel(m => ({ ...m, test: { state: result.success ? 'done' : 'failed', key, result, error } }));
    } catch (e) {
      setModel(m => ({ ...m, test: { state: 'failed', key, result: null, error: (e as Error).message } }));
    }
  };

  const insertConsumeCell = (service: IWebService) => {
    const from = publishedForm.current ?? form;
    const { inputs } = from.kind === 'realtime' ? { inputs: [] } : currentParams(from);
    host.insertConsumeCell(
      {
        ...service,
        inputParameterDefinitions: service.inputParameterDefinitions ?? inputs.map(i => ({ name: i.name, type: i.type })),
        model: service.model ?? job.job?.model ?? null
      },
      from.kind === 'realtime' ? {} : form.samples
    );
  };

  return (
    <form
      ref={rootRef}
      className="o16n-panel o16n-publish"
      data-kind={form.kind}
      aria-label={form.kind === 'realtime' ? 'Publish a model (realtime)' : 'Publish as web service'}
      onSubmit={e => {
        e.preventDefault();
        void publish();
      }}
    >
      <div className="o16n-publish-body">
        <h2 className="o16n-panel-title">{form.kind === 'realtime' ? 'Publish a model (realtime)' : 'Publish as web service'}</h2>
        <KindChoice kind={form.kind} onChange={kind => setModel(m => setKind(m, kind, objectsRef.current))} />
        <p className="o16n-muted o16n-source-line">
          From <code>{path}</code>
          {kernelId ? null : ' (no kernel running)'}{' '}
          {form.kind === 'script' ? (
            <>
              <button type="button" className="o16n-link-button" onClick={props.onRefreshSelection}>
                Use current selection
              </button>{' '}
            </>
          ) : null}
          <button
            type="button"
            className="o16n-link-button"
            disabled={!kernelId}
            title="Read the kernel's objects and functions again"
            onClick={() => setRefreshes(n => n + 1)}
          >
            Refresh from the kernel
          </button>
          {kernel.loading && kernel.namespace ? <span className="o16n-muted"> (reading…)</span> : null}
        </p>
        {connection && !connection.connected ? (
          <div className="o16n-warning" role="status">
            <strong>Not connected to o16n:</strong> {connection.message || 'the server does not answer'}.{' '}
            {connection.user ? null : 'Log in from the Web services panel, then publish. '}
            <button type="button" className="o16n-link-button" onClick={checkConnection}>
              Check again
            </button>
          </div>
        ) : null}
        {form.kind === 'realtime' ? (
          <>
            <ModelSection model={model} onChange={setModel} kernel={kernel} hasKernel={!!kernelId} />
            <ServiceSection model={model} onChange={setModel} />
          </>
        ) : (
          <>
            <ServiceSection model={model} onChange={setModel} />
            <SourceSection
              model={model}
              onChange={setModel}
              functions={kernel.namespace ? kernel.namespace.functions : kernel.error ? [] : null}
            />
            <ParametersSection model={model} onChange={setModel} analysisError={model.analysis.error} />
            <AdvancedSection model={model} onChange={setModel} />
            <ObjectsSection model={model} onChange={setModel} kernel={kernel} hasKernel={!!kernelId} />
            <FilesSection model={model} onChange={setModel} folderFiles={folderFiles} />
            <EnvironmentSection model={model} onChange={setModel} environments={environments} />
            <TestSection model={model} onChange={setModel} canRun={!!kernelId} onRun={() => void runTest()} />
          </>
        )}
      </div>
      <PublishFooter
        job={job.job}
        failure={job.failure}
        publishing={job.publishing}
        serverUrl={connection?.url ?? ''}
        swaggerUrl={s => api.url(`services/${encodeURIComponent(s.name)}/${encodeURIComponent(s.version)}/swagger`)}
        onOpenService={s => host.openService(s.name, s.version)}
        onInsertConsumeCell={insertConsumeCell}
      />
    </form>
  );
}

/** What the panel publishes: code (cells or a function, with kernel objects), or a fitted model alone. */
function KindChoice(props: { kind: PublishKind; onChange: (kind: PublishKind) => void }): JSX.Element {
  const choices: [PublishKind, string][] = [
    ['script', 'Code and kernel objects'],
    ['realtime', 'A model (realtime)']
  ];
  return (
    <div className="o16n-kind" role="radiogroup" aria-label="What to publish">
      {choices.map(([kind, label]) => (
        <label key={kind} className="o16n-radio">
          <input type="radio" name="o16n-publish-kind" value={kind} checked={props.kind === kind} onChange={() => props.onChange(kind)} />{' '}
          {label}
        </label>
      ))}
    </div>
  );
}
