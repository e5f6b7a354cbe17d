/** The detail view of one service version (main area). */
import * as React from 'react';

import { O16nApi } from '../api/client';
import { IRealtimeModel, IServiceResult, IStatus, ISwaggerDocument, IWebService } from '../api/types';
import { IO16nHost } from '../common/host';
import { parseTypedValue, sampleValue } from '../common/values';
import { canonicalType } from '../common/wireTypes';
import { IO16nSettings } from '../common/settings';
import { CopyButton, EmptyState, ErrorBox, Spinner, Tabs } from '../components/common';
import { ResultView } from '../components/ResultView';
import { SwaggerView } from '../components/SwaggerView';
import { serviceSamples } from '../consume/magic';
import { endpointOf } from '../publish/PublishFooter';
import { BatchPanel } from './BatchPanel';
import { BatchRuns } from './batchRuns';
import { formatDate } from './group';
import { RuntimeBadge, isRealtime } from './ServiceTree';
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
  /** batch runs shared by the service views (a view reopened shows its last run); one of its own by default */
  batchRuns?: BatchRuns;
}

export type DetailTab = 'overview' | 'swagger' | 'try' | 'batch' | 'snippets';

// ---------------------------------------------------------------------------- overview
/** A realtime service's ONNX model: the tensors it takes and gives. */
function ModelTensors(props: { model: IRealtimeModel }): JSX.Element {
  const { model } = props;
  const shape = (s: (number | string | null)[] | null) => (s ? `[${s.map(d => (d === null ? '?' : String(d))).join(', ')}]` : '');
  const rows = [...model.inputs.map(t => ({ ...t, side: 'input' })), ...model.outputs.map(t => ({ ...t, side: 'output' }))];
  return (
    <section>
      <h3 className="o16n-h">
        Model (ONNX{model.sizeBytes ? `, ${model.sizeBytes < 1024 ? `${model.sizeBytes} B` : `${(model.sizeBytes / 1024).toFixed(1)} kB`}` : ''})
      </h3>
      <table className="o16n-table" aria-label="Model tensors">
        <thead>
          <tr>
            <th scope="col">Tensor</th>
            <th scope="col">Side</th>
            <th scope="col">Type</th>
          </tr>
        </thead>
        <tbody>
          {rows.map(t => (
            <tr key={`${t.side}-${t.name}`}>
              <td>
                <code>{t.name}</code>
              </td>
              <td>{t.side}</td>
              <td>
                {t.type}
                {shape(t.shape)}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function Overview(props: {
  service: IWebService;
  api: O16nApi;
  serverUrl: string;
  onChange: (s: IWebService) => void;
}): JSX.Element {
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
  const endpoint = props.serverUrl ? endpointOf(props.serverUrl, service) : '';
  return (
    <div className="o16n-overview">
      {endpoint ? (
        <p className="o16n-endpoint-line">
          Endpoint: <code className="o16n-endpoint">POST {endpoint}</code> <CopyButton text={endpoint} label="Copy the endpoint" />
        </p>
      ) : null}
      <dl className="o16n-meta">
        <dt>Runtime</dt>
        <dd>{service.runtimeType ? <RuntimeBadge service={service} /> : '—'}</dd>
        {isRealtime(service) ? null : (
          <>
            <dt>Environment</dt>
            <dd className="o16n-service-env">
              {service.environment
                ? `Python ${service.environment.python}, ${service.environment.packages.length} package${service.environment.packages.length === 1 ? '' : 's'} (${service.environment.key.slice(0, 16)})`
                : "the server's own"}
            </dd>
          </>
        )}
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
      {service.model ? <ModelTensors model={service.model} /> : null}
      {service.environment && service.environment.packages.length ? (
        <details className="o16n-section">
          <summary>Packages of its environment</summary>
          <ul className="o16n-env-packages" aria-label="Packages of the environment">
            {service.environment.packages.map(p => (
              <li key={p}>
                <code>{p}</code>
              </li>
            ))}
          </ul>
        </details>
      ) : null}
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
  switch (canonicalType(type)) {
    case 'numeric':
      return 'number';
    case 'integer':
      return 'integer';
    case 'logical':
      return 'bool';
    case 'character':
      return 'text';
    default:
      return 'json';
  }
}

function TryIt(props: { service: IWebService; api: O16nApi; host: IO16nHost }): JSX.Element {
  const inputs = props.service.inputParameterDefinitions ?? [];
  const [values, setValues] = React.useState<Record<string, string>>(() =>
    ({
      ...Object.fromEntries(inputs.map(p => [p.name, inputKind(p.type) === 'text' ? '' : sampleValue(p.type)])),
      // a realtime service: a row that fits its model
      ...serviceSamples(props.service)
    })
  );
  const [errors, setErrors] = React.useState<Record<string, string>>({});
  const [result, setResult] = React.useState<IServiceResult | null>(null);
  const [error, setError] = React.useState<string | null>(null);
  const [busy, setBusy] = React.useState(false);
  // ids unique per view: two open services may have inputs of the same name
  const idPrefix = `o16n-try${React.useId().replace(/:/g, '')}`;
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
        const id = `${idPrefix}-${p.name}`;
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
                aria-describedby={errors[p.name] ? `${id}-error` : undefined}
                onChange={e => setValues({ ...values, [p.name]: String(e.target.checked) })}
              />
            ) : kind === 'json' ? (
              <textarea
                id={id}
                className="jp-mod-styled o16n-textarea o16n-code"
                rows={2}
                spellCheck={false}
                aria-invalid={!!errors[p.name]}
                aria-describedby={errors[p.name] ? `${id}-error` : undefined}
                value={values[p.name] ?? ''}
                onChange={e => setValues({ ...values, [p.name]: e.target.value })}
              />
            ) : (
              <input
                id={id}
                className="jp-mod-styled o16n-input"
                // text, not type=number: the browser would hand over "" for "abc", and the error could not quote it
                type="text"
                inputMode={kind === 'integer' ? 'numeric' : kind === 'number' ? 'decimal' : undefined}
                spellCheck={false}
                aria-invalid={!!errors[p.name]}
                aria-describedby={errors[p.name] ? `${id}-error` : undefined}
                value={values[p.name] ?? ''}
                onChange={e => setValues({ ...values, [p.name]: e.target.value })}
              />
            )}
            {errors[p.name] ? (
              <div id={`${id}-error`} className="o16n-field-error">
                {errors[p.name]}
              </div>
            ) : null}
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

// ---------------------------------------------------------------------------- snippets
function Snippets(props: { service: IWebService; status: IStatus | null }): JSX.Element {
  const [lang, setLang] = React.useState<SnippetLanguage>('python-client');
  const code = makeSnippet(lang, props.service, props.status?.url ?? '', props.status?.embedded?.passwordFile ?? null);
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
  const ownRuns = React.useRef<BatchRuns | null>(null);
  const batchRuns = props.batchRuns ?? (ownRuns.current ??= new BatchRuns());
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
            {current === 'overview' ? (
              <Overview
                service={service}
                api={api}
                serverUrl={status?.url ?? ''}
                onChange={s => {
                  setService(s);
                  host.servicesChanged(); // the catalog shows the new description
                }}
              />
            ) : null}
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
                <BatchPanel service={service} api={api} host={host} runs={batchRuns} pollInterval={props.batchPollInterval ?? 1000} />
              ) : (
                <EmptyState title="This service declares no inputs." />
              )
            ) : null}
            {current === 'snippets' ? <Snippets service={service} status={status} /> : null}
          </div>
        </>
      ) : null}
    </div>
  );
}
