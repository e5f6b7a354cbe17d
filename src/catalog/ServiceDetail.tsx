/** The detail view of one service version (main area). */
import * as React from 'react';

import { O16nApi } from '../api/client';
import { IBatchStatus, IServiceResult, IStatus, ISwaggerDocument, IWebService } from '../api/types';
import { parseTypedValue, sampleValue, toUiType } from '../common/paramTypes';
import { IO16nHost } from '../common/host';
import { IO16nSettings } from '../common/settings';
import { CopyButton, EmptyState, ErrorBox, Spinner, Tabs, showValue } from '../components/common';
import { ResultView } from '../components/ResultView';
import { SwaggerView } from '../components/SwaggerView';
import { parseRecords } from './batchInput';
import { formatDate } from './group';
import { SNIPPET_LABELS, SnippetLanguage, makeSnippet } from './snippets';

export interface IServiceDetailProps {
  api: O16nApi;
  host: IO16nHost;
  settings: IO16nSettings;
  name: string;
  version: string;
  /** called after the version was deleted (the widget closes itself) */
  onDeleted: () => void;
  initialTab?: DetailTab;
  batchPollInterval?: number;
}

export type DetailTab = 'overview' | 'swagger' | 'try' | 'batch' | 'snippets';

// ---------------------------------------------------------------------------- overview
function Overview(props: { service: IWebService; api: O16nApi; onChange: (s: IWebService) => void }): JSX.Element {
  const { service } = props;
  const canEdit = service.myPermissionOnService === 'read/write';
  const [editing, setEditing] = React.useState(false);
  const [text, setText] = React.useState(service.description ?? '');
  const [error, setError] = React.useState<string | null>(null);
  const save = async () => {
    try {
      const updated = await props.api.updateDescription(service.name, service.version, text);
      props.onChange({ ...service, ...updated, description: updated?.description ?? text });
      setEditing(false);
      setError(null);
    } catch (e) {
      setError((e as Error).message);
    }
  };
  const params = (title: string, list: IWebService['inputParameterDefinitions']) => (
    <section>
      <h3 className="o16n-h">{title}</h3>
      {list && list.length ? (
        <table className="o16n-table" aria-label={title}>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Type</th>
            </tr>
          </thead>
          <tbody>
            {list.map(p => (
              <tr key={p.name}>
                <td>
                  <code>{p.name}</code>
                </td>
                <td>{p.type}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <p className="o16n-muted">None.</p>
      )}
    </section>
  );
  return (
    <div className="o16n-overview">
      <dl className="o16n-meta">
        <dt>Runtime</dt>
        <dd>{service.runtimeType ?? '—'}</dd>
        <dt>Published by</dt>
        <dd>{service.versionPublishedBy ?? service.owner ?? '—'}</dd>
        <dt>Date</dt>
        <dd>{formatDate(service.creationTime) || '—'}</dd>
        <dt>Operation</dt>
        <dd>{service.operationId ?? '—'}</dd>
        <dt>Your permission</dt>
        <dd>{service.myPermissionOnService ?? '—'}</dd>
      </dl>
      <section>
        <h3 className="o16n-h">Description</h3>
        {editing ? (
          <div className="o16n-field">
            <textarea
              className="jp-mod-styled o16n-textarea"
              aria-label="Description"
              rows={3}
              value={text}
              onChange={e => setText(e.target.value)}
            />
            <div className="o16n-row">
              <button type="button" className="jp-Button jp-mod-styled jp-mod-accept" onClick={() => void save()}>
                Save
              </button>
              <button
                type="button"
                className="jp-Button jp-mod-styled jp-mod-reject"
                onClick={() => {
                  setEditing(false);
                  setText(service.description ?? '');
                }}
              >
                Cancel
              </button>
            </div>
          </div>
        ) : (
          <p className="o16n-description">
            <span className="o16n-description-text">{service.description || <span className="o16n-muted">No description.</span>}</span>{' '}
            {canEdit ? (
              <button type="button" className="o16n-link-button" onClick={() => setEditing(true)}>
                Edit description
              </button>
            ) : null}
          </p>
        )}
        <ErrorBox message={error} />
      </section>
      {params('Inputs', service.inputParameterDefinitions)}
      {params('Outputs', service.outputParameterDefinitions)}
      {service.outputFileNames && service.outputFileNames.length ? (
        <p>Output files: {service.outputFileNames.join(', ')}</p>
      ) : null}
      {service.initCode ? (
        <section>
          <h3 className="o16n-h">Init code</h3>
          <pre className="o16n-code-block">{service.initCode}</pre>
        </section>
      ) : null}
      {service.code ? (
        <section>
          <h3 className="o16n-h">Code</h3>
          <pre className="o16n-code-block">{service.code}</pre>
        </section>
      ) : null}
    </div>
  );
}

// ---------------------------------------------------------------------------- try it
function inputKind(type: string): 'number' | 'integer' | 'bool' | 'text' | 'json' {
  switch (toUiType(type)) {
    case 'float':
      return 'number';
    case 'int':
      return 'integer';
    case 'bool':
      return 'bool';
    case 'str':
      return 'text';
    default:
      return 'json';
  }
}

function TryIt(props: { service: IWebService; api: O16nApi; host: IO16nHost }): JSX.Element {
  const inputs = props.service.inputParameterDefinitions ?? [];
  const [values, setValues] = React.useState<Record<string, string>>(() =>
    Object.fromEntries(inputs.map(p => [p.name, inputKind(p.type) === 'text' ? '' : sampleValue(p.type)]))
  );
  const [errors, setErrors] = React.useState<Record<string, string>>({});
  const [result, setResult] = React.useState<IServiceResult | null>(null);
  const [error, setError] = React.useState<string | null>(null);
  const [busy, setBusy] = React.useState(false);
  const consume = async () => {
    const parsed: Record<string, unknown> = {};
    const errs: Record<string, string> = {};
    for (const p of inputs) {
      try {
        parsed[p.name] = parseTypedValue(p.type, values[p.name] ?? '');
      } catch (e) {
        errs[p.name] = (e as Error).message;
      }
    }
    setErrors(errs);
    if (Object.keys(errs).length) {
      return;
    }
    setBusy(true);
    setError(null);
    setResult(null);
    try {
      setResult(await props.api.consume(props.service.name, props.service.version, parsed));
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form
      className="o16n-try"
      aria-label="Try the service"
      onSubmit={e => {
        e.preventDefault();
        void consume();
      }}
    >
      {inputs.length ? null : <p className="o16n-muted">This service takes no inputs.</p>}
      {inputs.map(p => {
        const kind = inputKind(p.type);
        const id = `o16n-try-${p.name}`;
        return (
          <div key={p.name} className={`o16n-field${errors[p.name] ? ' o16n-mod-invalid' : ''}`}>
            <label htmlFor={id}>
              {p.name} <span className="o16n-muted">{p.type}</span>
            </label>
            {kind === 'bool' ? (
              <input
                id={id}
                type="checkbox"
                checked={/^(true|1)$/i.test(values[p.name] ?? '')}
                onChange={e => setValues({ ...values, [p.name]: String(e.target.checked) })}
              />
            ) : kind === 'json' ? (
              <textarea
                id={id}
                className="jp-mod-styled o16n-textarea o16n-code"
                rows={2}
                spellCheck={false}
                aria-invalid={!!errors[p.name]}
                value={values[p.name] ?? ''}
                onChange={e => setValues({ ...values, [p.name]: e.target.value })}
              />
            ) : (
              <input
                id={id}
                className="jp-mod-styled o16n-input"
                type={kind === 'text' ? 'text' : 'number'}
                step={kind === 'integer' ? 1 : 'any'}
                aria-invalid={!!errors[p.name]}
                value={values[p.name] ?? ''}
                onChange={e => setValues({ ...values, [p.name]: e.target.value })}
              />
            )}
            {errors[p.name] ? <div className="o16n-field-error">{errors[p.name]}</div> : null}
          </div>
        );
      })}
      <div className="o16n-row">
        <button type="submit" className="jp-Button jp-mod-styled jp-mod-accept" disabled={busy}>
          Consume
        </button>
        <button
          type="button"
          className="jp-Button jp-mod-styled jp-mod-reject"
          onClick={() => props.host.insertConsumeCell(props.service, values)}
        >
          Insert consume cell
        </button>
        {busy ? <Spinner label="Calling the service…" /> : null}
      </div>
      <ErrorBox message={error} />
      {result ? <ResultView result={{ ...result, name: props.service.name, version: props.service.version }} /> : null}
    </form>
  );
}

// ---------------------------------------------------------------------------- batch
const DF_MARKER = '__o16n_records__';

function Batch(props: { service: IWebService; api: O16nApi; host: IO16nHost; pollInterval: number }): JSX.Element {
  const inputNames = (props.service.inputParameterDefinitions ?? []).map(p => p.name);
  const [text, setText] = React.useState('');
  const [parallel, setParallel] = React.useState(10);
  const [frames, setFrames] = React.useState<string[] | null>(null);
  const [frame, setFrame] = React.useState('');
  const [status, setStatus] = React.useState<IBatchStatus | null>(null);
  const [records, setRecords] = React.useState<Record<string, unknown>[]>([]);
  const [error, setError] = React.useState<string | null>(null);
  const [busy, setBusy] = React.useState(false);
  const alive = React.useRef(true);
  React.useEffect(() => () => void (alive.current = false), []);

  React.useEffect(() => {
    const nb = props.host.currentNotebook();
    if (!nb?.kernelId) {
      setFrames([]);
      return;
    }
    props.api
      .kernelVariables(nb.kernelId)
      .then(v => alive.current && setFrames(v.variables.filter(x => /DataFrame/.test(x.type)).map(x => x.name)))
      .catch(() => alive.current && setFrames([]));
  }, []);

  const loadFrame = async (name: string) => {
    setFrame(name);
    if (!name) {
      return;
    }
    const run = await props.host.runInKernel(`print(${JSON.stringify(DF_MARKER)} + ${name}.to_json(orient="records"))`);
    const line = run.stdout.split('\n').find(l => l.startsWith(DF_MARKER));
    if (run.error || !line) {
      setError(run.error ?? `Could not read ${name} from the kernel.`);
      return;
    }
    setText(JSON.stringify(JSON.parse(line.slice(DF_MARKER.length)), null, 1));
  };

  const start = async () => {
    const parsed = parseRecords(text, inputNames);
    if (parsed.error) {
      setError(parsed.error);
      return;
    }
    setError(null);
    setBusy(true);
    setRecords(parsed.records);
    setStatus(null);
    try {
      const { executionId } = await props.api.startBatch(props.service.name, props.service.version, parsed.records, parallel);
      for (;;) {
        const s = await props.api.batchStatus(props.service.name, props.service.version, executionId);
        if (!alive.current) {
          return;
        }
        setStatus(s);
        if (/^(complete|failed)$/i.test(s.state)) {
          break;
        }
        await new Promise(r => window.setTimeout(r, props.pollInterval));
      }
    } catch (e) {
      setError((e as Error).message);
    } finally {
      if (alive.current) {
        setBusy(false);
      }
    }
  };

  const outputNames = (props.service.outputParameterDefinitions ?? []).map(p => p.name);
  return (
    <div className="o16n-batch">
      <label htmlFor="o16n-batch-records">Records (JSON array of objects, or CSV with a header line: {inputNames.join(', ') || 'no inputs'})</label>
      <textarea
        id="o16n-batch-records"
        className="jp-mod-styled o16n-textarea o16n-code"
        rows={6}
        spellCheck={false}
        value={text}
        placeholder={inputNames.length ? `[${JSON.stringify(Object.fromEntries(inputNames.map(n => [n, 1])))}]` : '[{}]'}
        onChange={e => setText(e.target.value)}
      />
      <div className="o16n-row">
        <label htmlFor="o16n-batch-frame">or a DataFrame of the notebook's kernel</label>
        <select id="o16n-batch-frame" className="jp-mod-styled o16n-select" value={frame} onChange={e => void loadFrame(e.target.value)}>
          <option value="">{frames === null ? 'loading…' : frames.length ? 'choose…' : 'none found'}</option>
          {(frames ?? []).map(f => (
            <option key={f} value={f}>
              {f}
            </option>
          ))}
        </select>
        <label htmlFor="o16n-batch-parallel">Parallel</label>
        <input
          id="o16n-batch-parallel"
          type="number"
          min={1}
          max={100}
          className="jp-mod-styled o16n-input o16n-narrow"
          value={parallel}
          onChange={e => setParallel(Math.max(1, Number(e.target.value) || 1))}
        />
        <button type="button" className="jp-Button jp-mod-styled jp-mod-accept" disabled={busy} onClick={() => void start()}>
          Run batch
        </button>
      </div>
      <ErrorBox message={error} />
      {status ? (
        <div className="o16n-batch-status">
          <progress max={status.totalItemCount || 1} value={status.completedItemCount} aria-label="Batch progress" />{' '}
          {status.completedItemCount} / {status.totalItemCount} · {status.state}
        </div>
      ) : null}
      {status && status.batchExecutionResults.length ? (
        <table className="o16n-table" aria-label="Batch results">
          <thead>
            <tr>
              <th scope="col">#</th>
              {inputNames.map(n => (
                <th key={`in-${n}`} scope="col">
                  {n}
                </th>
              ))}
              {outputNames.map(n => (
                <th key={`out-${n}`} scope="col">
                  → {n}
                </th>
              ))}
              <th scope="col">Status</th>
            </tr>
          </thead>
          <tbody>
            {status.batchExecutionResults.map((r, i) => (
              <tr key={i}>
                <td>{i}</td>
                {inputNames.map(n => (
                  <td key={`in-${n}`}>{showValue(records[i]?.[n])}</td>
                ))}
                {outputNames.map(n => (
                  <td key={`out-${n}`}>{showValue(r.outputParameters?.[n])}</td>
                ))}
                <td>{r.success ? 'ok' : r.errorMessage || 'failed'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </div>
  );
}

// ---------------------------------------------------------------------------- snippets
function Snippets(props: { service: IWebService; serverUrl: string }): JSX.Element {
  const [lang, setLang] = React.useState<SnippetLanguage>('python-client');
  const code = makeSnippet(lang, props.service, props.serverUrl);
  return (
    <div className="o16n-snippets">
      <Tabs
        label="Snippet language"
        tabs={(Object.keys(SNIPPET_LABELS) as SnippetLanguage[]).map(id => ({ id, label: SNIPPET_LABELS[id] }))}
        current={lang}
        onChange={setLang}
      />
      <div className="o16n-snippet">
        <CopyButton text={code} label={`Copy the ${SNIPPET_LABELS[lang]} snippet`} />
        <pre className="o16n-code-block" aria-label={`${SNIPPET_LABELS[lang]} snippet`}>
          {code}
        </pre>
      </div>
    </div>
  );
}

// ---------------------------------------------------------------------------- the view
export function ServiceDetail(props: IServiceDetailProps): JSX.Element {
  const { api, host, settings, name, version } = props;
  const [service, setService] = React.useState<IWebService | null>(null);
  const [swagger, setSwagger] = React.useState<ISwaggerDocument | null>(null);
  const [status, setStatus] = React.useState<IStatus | null>(null);
  const [error, setError] = React.useState<string | null>(null);
  const [swaggerError, setSwaggerError] = React.useState<string | null>(null);
  const [tab, setTab] = React.useState<DetailTab>(props.initialTab ?? 'overview');

  React.useEffect(() => {
    let alive = true;
    api
      .getService(name, version)
      .then(s => alive && setService(Array.isArray(s) ? (s as IWebService[])[0] : s))
      .catch(e => alive && setError((e as Error).message));
    api
      .status()
      .then(s => alive && setStatus(s))
      .catch(() => undefined);
    return () => void (alive = false);
  }, [api, name, version]);

  React.useEffect(() => {
    if (tab !== 'swagger' || swagger) {
      return;
    }
    api
      .swagger(name, version)
      .then(setSwagger)
      .catch(e => setSwaggerError((e as Error).message));
  }, [tab, swagger, api, name, version]);

  const remove = async () => {
    if (settings.askBeforeDelete) {
      const ok = await host.confirm(
        'Delete web service',
        `Delete ${name} ${version}? Applications that call it will get an error.`,
        'Delete'
      );
      if (!ok) {
        return;
      }
    }
    try {
      await api.deleteService(name, version);
      host.servicesChanged();
      props.onDeleted();
    } catch (e) {
      setError((e as Error).message);
    }
  };

  const tabs: { id: DetailTab; label: string }[] = [
    { id: 'overview', label: 'Overview' },
    { id: 'swagger', label: 'Swagger' },
    { id: 'try', label: 'Try it' },
    { id: 'batch', label: 'Batch' }
  ];
  if (settings.showCodeSnippets) {
    tabs.push({ id: 'snippets', label: 'Code snippets' });
  }
  const current = tabs.some(t => t.id === tab) ? tab : 'overview';

  return (
    <div className="o16n-detail">
      <div className="o16n-detail-head">
        <h2 className="o16n-panel-title">
          {name} <span className="o16n-version-tag">{version}</span>
        </h2>
        {service && service.myPermissionOnService !== 'read only' ? (
          <button type="button" className="jp-Button jp-mod-styled jp-mod-warn o16n-delete" onClick={() => void remove()}>
            Delete version
          </button>
        ) : null}
      </div>
      <ErrorBox message={error} />
      {!service && !error ? <Spinner label="Loading the service…" /> : null}
      {service ? (
        <>
          <Tabs label="Service views" tabs={tabs} current={current} onChange={setTab} />
          <div className="o16n-tab-panel" role="tabpanel" aria-labelledby={`o16n-tab-${current}`}>
            {current === 'overview' ? <Overview service={service} api={api} onChange={setService} /> : null}
            {current === 'swagger' ? (
              swagger ? (
                <SwaggerView doc={swagger} fileName={`${name}-${version}-swagger.json`} />
              ) : swaggerError ? (
                <ErrorBox message={swaggerError} />
              ) : (
                <Spinner label="Loading swagger…" />
              )
            ) : null}
            {current === 'try' ? <TryIt service={service} api={api} host={host} /> : null}
            {current === 'batch' ? (
              service.inputParameterDefinitions ? (
                <Batch service={service} api={api} host={host} pollInterval={props.batchPollInterval ?? 1000} />
              ) : (
                <EmptyState title="This service declares no inputs." />
              )
            ) : null}
            {current === 'snippets' ? <Snippets service={service} serverUrl={status?.url ?? ''} /> : null}
          </div>
        </>
      ) : null}
    </div>
  );
}
