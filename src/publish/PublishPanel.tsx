/** The publish panel (right area): describe a service from the notebook, test it, publish it. */
import * as React from 'react';

import { O16nApi, O16nApiError, isNotLoggedIn } from '../api/client';
import { IKernelFunction, IKernelVariables, IPublishJob, IStatus, IWebService } from '../api/types';
import { parseTypedValue, sampleValue, toWireType } from '../common/paramTypes';
import { IO16nHost, INotebookSelection } from '../common/host';
import { IO16nSettings } from '../common/settings';
import { nextVersion } from '../common/versions';
import { EmptyState, ErrorBox, Spinner, showValue } from '../components/common';
import { ParamTable } from '../components/ParamTable';
import { IParamRow, inferFromCode, inferFromFunction } from './infer';
import {
  FormErrors,
  IPublishForm,
  emptyForm,
  fieldOfServerError,
  toPublishRequest,
  validateForm
} from './model';
import { IPublishFailure, NotCapturedWarning, PublishFailure, PublishSteps, formatSeconds } from './PublishProgress';
import { buildTestCode, parseTestOutput } from './testRun';
import { VariablesTable } from './VariablesTable';

export interface IPublishPanelProps {
  api: O16nApi;
  host: IO16nHost;
  settings: IO16nSettings;
  /** the notebook and selection the panel publishes from; null when no notebook is open */
  selection: INotebookSelection | null;
  /** re-read the notebook's selection */
  onRefreshSelection: () => void;
  /** ms between publish job polls */
  pollInterval?: number;
}

type TestState = { running: boolean; outputs: Record<string, unknown> | null; error: string | null; stdout: string };

function dirname(path: string): string {
  const i = path.lastIndexOf('/');
  return i < 0 ? '' : path.slice(0, i);
}

const FIELD_ORDER = ['name', 'version', 'description', 'operationId', 'code', 'functionName', 'inputs', 'outputs', 'initCode', 'outputFileNames', 'variables', 'files'];

export function PublishPanel(props: IPublishPanelProps): JSX.Element {
  const { api, host, settings, selection } = props;
  const [form, setForm] = React.useState<IPublishForm>(() => ({ ...emptyForm(), code: selection?.selectedCode ?? '' }));
  const [errors, setErrors] = React.useState<FormErrors>({});
  const [existing, setExisting] = React.useState<string[]>([]);
  const [versionTouched, setVersionTouched] = React.useState(false);
  const [paramsTouched, setParamsTouched] = React.useState(false);
  const [variablesTouched, setVariablesTouched] = React.useState(false);
  const [kernel, setKernel] = React.useState<IKernelVariables | null>(null);
  const [kernelError, setKernelError] = React.useState<string | null>(null);
  const [kernelLoading, setKernelLoading] = React.useState(false);
  const [folderFiles, setFolderFiles] = React.useState<string[]>([]);
  const [origin, setOrigin] = React.useState('');
  const [samples, setSamples] = React.useState<Record<string, string>>({});
  const [test, setTest] = React.useState<TestState>({ running: false, outputs: null, error: null, stdout: '' });
  const [job, setJob] = React.useState<IPublishJob | null>(null);
  const [publishing, setPublishing] = React.useState(false);
  const [publishError, setPublishError] = React.useState<IPublishFailure | null>(null);
  const [connection, setConnection] = React.useState<IStatus | null>(null);
  const rootRef = React.useRef<HTMLFormElement>(null);
  const alive = React.useRef(true);
  React.useEffect(() => () => void (alive.current = false), []);

  const patch = (p: Partial<IPublishForm>) => setForm(f => ({ ...f, ...p }));

  // the selection changed (the command was run again): take its code
  React.useEffect(() => {
    if (selection) {
      patch({ code: selection.selectedCode });
      setParamsTouched(false);
      setVariablesTouched(false);
      setJob(null);
      setPublishError(null);
    }
  }, [selection?.path, selection?.selectedCode, selection?.kernelId]);

  // kernel variables and functions
  const loadKernel = React.useCallback(async () => {
    setKernel(null);
    setKernelError(null);
    if (!selection?.kernelId) {
      return;
    }
    setKernelLoading(true);
    try {
      const data = await api.kernelVariables(selection.kernelId);
      if (alive.current) {
        setKernel(data);
      }
    } catch (e) {
      if (alive.current) {
        setKernelError((e as Error).message);
      }
    } finally {
      if (alive.current) {
        setKernelLoading(false);
      }
    }
  }, [api, selection?.kernelId]);
  React.useEffect(() => void loadKernel(), [loadKernel]);

  // files next to the notebook
  React.useEffect(() => {
    if (!selection) {
      return;
    }
    host
      .listFiles(dirname(selection.path))
      .then(files => alive.current && setFolderFiles(files.filter(f => f !== selection.path)))
      .catch(() => alive.current && setFolderFiles([]));
  }, [host, selection?.path]);

  // the o16n server's URL (for the endpoint) and whether we are connected to it
  const checkConnection = React.useCallback(() => {
    api
      .status()
      .then(s => alive.current && setConnection(s))
      .catch(() => undefined);
  }, [api]);
  React.useEffect(checkConnection, [checkConnection]);
  const serverUrl = connection?.url ?? '';

  // versions of this name -> the next free one
  React.useEffect(() => {
    const name = form.name.trim();
    if (!name) {
      setExisting([]);
      return;
    }
    const timer = window.setTimeout(async () => {
      try {
        const services = await api.listServices(name);
        const versions = services.filter(s => s.name === name).map(s => s.version);
        if (!alive.current) {
          return;
        }
        setExisting(versions);
        if (!versionTouched) {
          patch({ version: nextVersion(versions, settings.versionScheme) });
        }
      } catch {
        if (alive.current) {
          setExisting([]);
        }
      }
    }, 300);
    return () => window.clearTimeout(timer);
  }, [api, form.name, versionTouched, settings.versionScheme]);

  const functions: IKernelFunction[] = kernel?.functions ?? [];
  const chosenFunction = functions.find(f => f.name === form.functionName) ?? null;

  // infer inputs/outputs (and the objects the code uses) unless the user edited them
  React.useEffect(() => {
    if (paramsTouched) {
      return;
    }
    if (form.source === 'function') {
      if (chosenFunction) {
        const { inputs, outputs } = inferFromFunction(chosenFunction);
        patch({ inputs, outputs });
        setOrigin(`From the signature ${chosenFunction.name}${chosenFunction.signature}.`);
        if (!variablesTouched && kernel) {
          patch({
            variables: kernel.variables
              .filter(v => v.picklable !== false && !/function|module|type|class/i.test(v.type) && v.name !== chosenFunction.name)
              .map(v => v.name)
          });
        }
      }
      return;
    }
    const inference = inferFromCode(
      form.code,
      kernel?.variables ?? [],
      functions,
      variablesTouched ? form.variables : undefined
    );
    const picklable = new Set((kernel?.variables ?? []).filter(v => v.picklable !== false).map(v => v.name));
    functions.forEach(f => picklable.add(f.name));
    patch({
      inputs: inference.inputs,
      outputs: inference.outputs,
      ...(variablesTouched ? {} : { variables: inference.usedVariables.filter(v => picklable.has(v)) })
    });
    setOrigin(
      form.code.trim()
        ? 'Guessed from the code: names it reads that the cell and the chosen variables do not define are inputs; names it assigns are outputs. Edit as needed.'
        : ''
    );
  }, [form.source, form.code, form.functionName, kernel, paramsTouched, variablesTouched, variablesTouched ? form.variables.join(',') : '']);

  const focusField = (field: string) => {
    const el = rootRef.current?.querySelector<HTMLElement>(
      `[data-field="${field}"] input, [data-field="${field}"] textarea, [data-field="${field}"] select, #o16n-${field.replace('.', '-')}-name`
    );
    el?.focus();
  };

  const validate = (): boolean => {
    const errs = validateForm(form, existing);
    setErrors(errs);
    const first = FIELD_ORDER.find(f => Object.keys(errs).some(k => k === f || k.startsWith(`${f}.`)));
    if (first) {
      const key = Object.keys(errs).find(k => k === first || k.startsWith(`${first}.`)) as string;
      focusField(key);
      return false;
    }
    return true;
  };

  const runTest = async () => {
    setTest({ running: true, outputs: null, error: null, stdout: '' });
    let inputs: { name: string; value: unknown }[];
    try {
      inputs = form.inputs.map(i => ({
        name: i.name,
        value: parseTypedValue(toWireType(i.type), samples[i.name] ?? sampleValue(i.type))
      }));
    } catch (e) {
      setTest({ running: false, outputs: null, error: `Sample input: ${(e as Error).message}`, stdout: '' });
      return;
    }
    try {
      const run = await host.runInKernel(
        buildTestCode({
          code: form.source === 'cells' ? form.code : undefined,
          functionName: form.source === 'function' ? form.functionName : undefined,
          positional: chosenFunction?.parameters.filter(p => p.kind === 'POSITIONAL_ONLY').map(p => p.name),
          initCode: form.initCode,
          inputs,
          outputs: form.outputs
        })
      );
      const outputs = parseTestOutput(run.stdout);
      const stdout = run.stdout
        .split('\n')
        .filter(l => !l.startsWith('__o16n_test_result__'))
        .join('\n');
      setTest({ running: false, outputs, error: run.error ?? (outputs ? null : 'The test printed no outputs.'), stdout });
    } catch (e) {
      setTest({ running: false, outputs: null, error: (e as Error).message, stdout: '' });
    }
  };

  const publish = async () => {
    setPublishError(null);
    setJob(null);
    if (!selection?.kernelId) {
      setPublishError({
        step: null,
        message: 'The notebook has no running kernel: start it and run the cells that build your objects.',
        status: null
      });
      return;
    }
    if (!validate()) {
      return;
    }
    setPublishing(true);
    try {
      const { jobId } = await api.publish(toPublishRequest(form, selection.kernelId));
      for (;;) {
        const status = await api.publishJob(jobId);
        if (!alive.current) {
          return;
        }
        setJob(status);
        if (status.state === 'done') {
          host.servicesChanged();
          break;
        }
        if (status.state === 'failed') {
          const err = status.error ?? { step: status.step, message: 'Publishing failed.', field: null, status: null };
          setPublishError({ step: err.step, message: err.message, status: err.status ?? null });
          if (err.status === 401) {
            checkConnection();
          }
          const field = fieldOfServerError(err.field);
          if (field) {
            setErrors({ [field]: err.message });
            focusField(field);
          }
          break;
        }
        await new Promise(r => window.setTimeout(r, props.pollInterval ?? 500));
      }
    } catch (e) {
      const err = e as O16nApiError;
      setPublishError({ step: err.step ?? null, message: err.message, status: err.status ?? null });
      if (isNotLoggedIn(err)) {
        checkConnection();
      }
      const field = fieldOfServerError(err.field ?? null);
      if (field) {
        setErrors({ [field]: err.message });
        focusField(field);
      }
    } finally {
      if (alive.current) {
        setPublishing(false);
      }
    }
  };

  if (!selection) {
    return (
      <div className="o16n-panel o16n-publish">
        <h2 className="o16n-panel-title">Publish as web service</h2>
        <EmptyState title="No notebook is open.">
          Open a notebook, run the cells that build your model, select the cell with the code to publish and click{' '}
          <em>Publish as web service</em> in its toolbar.
        </EmptyState>
      </div>
    );
  }

  const setParams = (kind: 'inputs' | 'outputs') => (rows: IParamRow[]) => {
    setParamsTouched(true);
    patch({ [kind]: rows } as Partial<IPublishForm>);
  };
  const toggle = (list: string[], item: string) => (list.includes(item) ? list.filter(x => x !== item) : [...list, item]);
  const service: IWebService | null = job?.state === 'done' ? job.service ?? { name: form.name, version: form.version } : null;
  const endpoint = service ? `${(serverUrl || '').replace(/\/+$/, '')}/api/${service.name}/${service.version}` : '';
  const err = (f: string) => errors[f];
  const fieldClass = (f: string) => `o16n-field${err(f) ? ' o16n-mod-invalid' : ''}`;

  return (
    <form
      ref={rootRef}
      className="o16n-panel o16n-publish"
      aria-label="Publish as web service"
      onSubmit={e => {
        e.preventDefault();
        void publish();
      }}
    >
      <h2 className="o16n-panel-title">Publish as web service</h2>
      <p className="o16n-muted o16n-source-line">
        From <code>{selection.path}</code>
        {selection.kernelId ? null : ' (no kernel running)'}{' '}
        <button type="button" className="o16n-link-button" onClick={props.onRefreshSelection}>
          Use current selection
        </button>
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

      <div className={fieldClass('name')} data-field="name">
        <label htmlFor="o16n-publish-name">Name</label>
        <input
          id="o16n-publish-name"
          className="jp-mod-styled o16n-input"
          value={form.name}
          placeholder="e.g. Iris"
          aria-invalid={!!err('name')}
          aria-describedby={err('name') ? 'o16n-publish-name-error' : undefined}
          onChange={e => patch({ name: e.target.value })}
        />
        {err('name') ? <div id="o16n-publish-name-error" className="o16n-field-error">{err('name')}</div> : null}
      </div>

      <div className={fieldClass('version')} data-field="version">
        <label htmlFor="o16n-publish-version">Version</label>
        <input
          id="o16n-publish-version"
          className="jp-mod-styled o16n-input"
          value={form.version}
          aria-invalid={!!err('version')}
          aria-describedby="o16n-publish-version-hint"
          onChange={e => {
            setVersionTouched(true);
            patch({ version: e.target.value });
          }}
        />
        <div id="o16n-publish-version-hint" className="o16n-hint">
          {err('version') ? (
            <span className="o16n-field-error">{err('version')}</span>
          ) : existing.length ? (
            `Existing versions: ${existing.join(', ')}`
          ) : !form.version.trim() ? (
            'Empty: the o16n server generates a version.'
          ) : form.name ? (
            'First version of this service.'
          ) : (
            ''
          )}
        </div>
      </div>

      <div className={fieldClass('description')} data-field="description">
        <label htmlFor="o16n-publish-description">Description</label>
        <textarea
          id="o16n-publish-description"
          className="jp-mod-styled o16n-textarea"
          rows={2}
          value={form.description}
          placeholder="What the service does, for the people who call it"
          onChange={e => patch({ description: e.target.value })}
        />
      </div>

      <div className={fieldClass('operationId')} data-field="operationId">
        <label htmlFor="o16n-publish-operation">Operation id (optional)</label>
        <input
          id="o16n-publish-operation"
          className="jp-mod-styled o16n-input"
          value={form.operationId}
          placeholder={form.source === 'function' && form.functionName ? form.functionName : 'e.g. predict_iris'}
          spellCheck={false}
          aria-invalid={!!err('operationId')}
          aria-describedby="o16n-publish-operation-hint"
          onChange={e => patch({ operationId: e.target.value })}
        />
        <div id="o16n-publish-operation-hint" className="o16n-hint">
          {err('operationId') ? (
            <span className="o16n-field-error">{err('operationId')}</span>
          ) : (
            'The name of the call in the swagger document (a Python identifier); client code generators use it.'
          )}
        </div>
      </div>

      <fieldset className="o16n-source">
        <legend>What to run</legend>
        <label className="o16n-radio">
          <input
            type="radio"
            name="o16n-source"
            checked={form.source === 'cells'}
            onChange={() => {
              setParamsTouched(false);
              patch({ source: 'cells' });
            }}
          />
          The selected cell(s) as code
        </label>
        <label className="o16n-radio">
          <input
            type="radio"
            name="o16n-source"
            checked={form.source === 'function'}
            disabled={!functions.length}
            onChange={() => {
              setParamsTouched(false);
              patch({ source: 'function', functionName: form.functionName || functions[0]?.name || '' });
            }}
          />
          A function defined in the kernel{functions.length ? '' : ' (none found)'}
        </label>
        {form.source === 'cells' ? (
          <div className={fieldClass('code')} data-field="code">
            <label htmlFor="o16n-publish-code">Code</label>
            <textarea
              id="o16n-publish-code"
              className="jp-mod-styled o16n-textarea o16n-code"
              rows={Math.min(12, Math.max(3, form.code.split('\n').length))}
              value={form.code}
              spellCheck={false}
              aria-invalid={!!err('code')}
              onChange={e => {
                setParamsTouched(false);
                patch({ code: e.target.value });
              }}
            />
            {err('code') ? <div className="o16n-field-error">{err('code')}</div> : null}
          </div>
        ) : (
          <div className={fieldClass('functionName')} data-field="functionName">
            <label htmlFor="o16n-publish-function">Function</label>
            <select
              id="o16n-publish-function"
              className="jp-mod-styled o16n-select"
              value={form.functionName}
              onChange={e => {
                setParamsTouched(false);
                patch({ functionName: e.target.value });
              }}
            >
              {functions.map(f => (
                <option key={f.name} value={f.name}>
                  {f.name}
                  {f.signature}
                </option>
              ))}
            </select>
            {chosenFunction ? (
              <div className="o16n-signature">
                <code>
                  def {chosenFunction.name}
                  {chosenFunction.signature}
                </code>
                {chosenFunction.doc ? <div className="o16n-muted">{chosenFunction.doc}</div> : null}
              </div>
            ) : null}
            {err('functionName') ? <div className="o16n-field-error">{err('functionName')}</div> : null}
          </div>
        )}
      </fieldset>

      <ParamTable kind="inputs" rows={form.inputs} onChange={setParams('inputs')} errors={errors} origin={origin} />
      <ParamTable kind="outputs" rows={form.outputs} onChange={setParams('outputs')} errors={errors} />
      {paramsTouched ? (
        <button type="button" className="o16n-link-button" onClick={() => setParamsTouched(false)}>
          Detect inputs and outputs again
        </button>
      ) : null}

      <details className="o16n-section">
        <summary>Init code and output files</summary>
        <div className={fieldClass('initCode')} data-field="initCode">
          <label htmlFor="o16n-publish-init">Init code (runs once when the service starts)</label>
          <textarea
            id="o16n-publish-init"
            className="jp-mod-styled o16n-textarea o16n-code"
            rows={3}
            spellCheck={false}
            value={form.initCode}
            placeholder="import numpy as np"
            onChange={e => patch({ initCode: e.target.value })}
          />
        </div>
        <div className={fieldClass('outputFileNames')} data-field="outputFileNames">
          <label htmlFor="o16n-publish-files-out">Output files (names, comma separated)</label>
          <input
            id="o16n-publish-files-out"
            className="jp-mod-styled o16n-input"
            value={form.outputFileNames}
            placeholder="plot.png, answer.csv"
            aria-invalid={!!err('outputFileNames')}
            onChange={e => patch({ outputFileNames: e.target.value })}
          />
          {err('outputFileNames') ? <div className="o16n-field-error">{err('outputFileNames')}</div> : null}
        </div>
      </details>

      <fieldset className={`o16n-variables${err('variables') ? ' o16n-mod-invalid' : ''}`} data-field="variables">
        <legend>Kernel variables to ship with the service</legend>
        {kernelLoading ? <Spinner label="Reading the kernel's variables…" /> : null}
        <ErrorBox message={kernelError} title="Could not read the kernel's variables" />
        {!selection.kernelId ? (
          <p className="o16n-muted">Start the notebook's kernel and run your cells to list its variables.</p>
        ) : kernel && !kernel.variables.length ? (
          <p className="o16n-muted">The kernel has no variables yet: run the cells that build your model.</p>
        ) : null}
        {kernel && kernel.variables.length ? (
          <VariablesTable
            variables={kernel.variables}
            chosen={form.variables}
            onToggle={name => {
              setVariablesTouched(true);
              patch({ variables: toggle(form.variables, name) });
            }}
          />
        ) : null}
        {err('variables') ? <div className="o16n-field-error">{err('variables')}</div> : null}
      </fieldset>

      <fieldset className={`o16n-folder-files${err('files') ? ' o16n-mod-invalid' : ''}`} data-field="files">
        <legend>Files from the notebook's folder</legend>
        {folderFiles.length ? (
          <ul className="o16n-checklist">
            {folderFiles.map(f => (
              <li key={f}>
                <label>
                  <input type="checkbox" checked={form.files.includes(f)} onChange={() => patch({ files: toggle(form.files, f) })} /> {f}
                </label>
              </li>
            ))}
          </ul>
        ) : (
          <p className="o16n-muted">No other files next to the notebook.</p>
        )}
        {err('files') ? <div className="o16n-field-error">{err('files')}</div> : null}
      </fieldset>

      <details className="o16n-section o16n-test" open={!!test.outputs || !!test.error}>
        <summary>Test in the notebook's kernel</summary>
        {form.inputs.length ? (
          <table className="o16n-table" aria-label="Sample inputs">
            <tbody>
              {form.inputs.map(i => (
                <tr key={i.name}>
                  <th scope="row">
                    <label htmlFor={`o16n-sample-${i.name}`}>{i.name}</label>
                  </th>
                  <td>
                    <input
                      id={`o16n-sample-${i.name}`}
                      className="jp-mod-styled o16n-input"
                      value={samples[i.name] ?? sampleValue(i.type)}
                      onChange={e => setSamples({ ...samples, [i.name]: e.target.value })}
                    />
                  </td>
                  <td className="o16n-muted">{i.type}</td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : null}
        <button
          type="button"
          className="jp-Button jp-mod-styled jp-mod-reject"
          disabled={test.running || !selection.kernelId}
          onClick={() => void runTest()}
        >
          Test
        </button>
        {test.running ? <Spinner label="Running in the kernel…" /> : null}
        <ErrorBox message={test.error} title="Test failed" />
        {test.outputs ? (
          <table className="o16n-table o16n-test-outputs" aria-label="Test outputs">
            <tbody>
              {Object.entries(test.outputs).map(([k, v]) => (
                <tr key={k}>
                  <th scope="row">{k}</th>
                  <td>
                    <pre className="o16n-value">{showValue(v)}</pre>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : null}
        {test.stdout.trim() ? <pre className="o16n-console-inline">{test.stdout}</pre> : null}
      </details>

      <div className="o16n-actions">
        <button type="submit" className="jp-Button jp-mod-styled jp-mod-accept" disabled={publishing}>
          Publish
        </button>
      </div>

      {job ? <PublishSteps job={job} /> : publishing ? <Spinner label="Starting…" /> : null}
      <PublishFailure failure={publishError} />
      <NotCapturedWarning notCaptured={job?.notCaptured} />
      {service ? (
        <div className="o16n-published" role="status">
          <p>
            <strong>
              Published {service.name} {service.version}.
            </strong>
            {job?.elapsed ? <span className="o16n-muted"> ({formatSeconds(job.elapsed)})</span> : null}
          </p>
          <p>
            Endpoint: <code className="o16n-endpoint">POST {endpoint}</code>
          </p>
          <p>
            <a href={api.url(`services/${encodeURIComponent(service.name)}/${encodeURIComponent(service.version)}/swagger`)} target="_blank" rel="noreferrer">
              swagger.json
            </a>
            {' · '}
            <button type="button" className="o16n-link-button" onClick={() => host.openService(service.name, service.version)}>
              Open in the catalog
            </button>
          </p>
          <button
            type="button"
            className="jp-Button jp-mod-styled jp-mod-accept"
            onClick={() =>
              host.insertConsumeCell(
                {
                  ...service,
                  inputParameterDefinitions:
                    service.inputParameterDefinitions ?? form.inputs.map(i => ({ name: i.name, type: toWireType(i.type) }))
                },
                samples
              )
            }
          >
            Insert consume cell
          </button>
        </div>
      ) : null}
    </form>
  );
}
