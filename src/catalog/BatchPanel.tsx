/**
 * The "Batch" tab of the service view: run many records through a service version, follow the
 * progress, cancel a running batch (which also deletes its results on the o16n server).
 */
import * as React from 'react';

import { O16nApi } from '../api/client';
import { IBatchStatus, IWebService } from '../api/types';
import { IO16nHost } from '../common/host';
import { ErrorBox, Spinner, showValue } from '../components/common';
import { parseRecords } from './batchInput';
import { BatchRuns, runKey } from './batchRuns';

const DF_MARKER = '__o16n_records__';

export interface IBatchPanelProps {
  service: IWebService;
  api: O16nApi;
  host: IO16nHost;
  /** where the runs live: they outlive this view */
  runs: BatchRuns;
  /** ms between status polls */
  pollInterval: number;
}

export function BatchPanel(props: IBatchPanelProps): JSX.Element {
  const { service, api, host, runs } = props;
  const key = runKey(service.name, service.version);
  const run = React.useSyncExternalStore(
    React.useCallback(listener => runs.subscribe(key, listener), [runs, key]),
    () => runs.get(key)
  );
  const inputNames = (service.inputParameterDefinitions ?? []).map(p => p.name);
  const [text, setText] = React.useState(() => run?.text ?? '');
  const [parallel, setParallel] = React.useState(10);
  const [frames, setFrames] = React.useState<string[] | null>(null);
  const [frame, setFrame] = React.useState('');
  const [inputError, setInputError] = React.useState<string | null>(null);

  React.useEffect(() => {
    let current = true;
    const nb = host.currentNotebook();
    if (!nb?.kernelId) {
      setFrames([]);
      return;
    }
    api
      .kernelNamespace(nb.kernelId)
      .then(ns => current && setFrames(ns.objects.filter(x => /DataFrame/.test(x.type)).map(x => x.name)))
      .catch(() => current && setFrames([]));
    return () => void (current = false);
  }, [api, host]);

  const loadFrame = async (name: string) => {
    setFrame(name);
    if (!name) {
      return;
    }
    const result = await host.runInKernel(`print(${JSON.stringify(DF_MARKER)} + ${name}.to_json(orient="records"))`);
    const line = result.stdout.split('\n').find(l => l.startsWith(DF_MARKER));
    if (result.error || !line) {
      setInputError(result.error ?? `Could not read ${name} from the kernel.`);
      return;
    }
    setText(JSON.stringify(JSON.parse(line.slice(DF_MARKER.length)), null, 1));
  };

  const start = () => {
    const parsed = parseRecords(text, inputNames);
    if (parsed.error) {
      setInputError(parsed.error);
      return;
    }
    setInputError(null);
    void runs.start(api, service, parsed.records, text, parallel, props.pollInterval);
  };

  const busy = !!run?.busy;
  const status = run?.status ?? null;
  const outputNames = (service.outputParameterDefinitions ?? []).map(p => p.name);
  const canCancel = busy && !!run?.executionId;
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
        <button type="button" className="jp-Button jp-mod-styled jp-mod-accept" disabled={busy} onClick={start}>
          Run batch
        </button>
        {canCancel ? (
          <button
            type="button"
            className="jp-Button jp-mod-styled jp-mod-warn"
            aria-label="Cancel the batch"
            disabled={run?.cancelling}
            onClick={() => void runs.cancel(api, service)}
          >
            Cancel
          </button>
        ) : null}
        {busy && !status ? <Spinner label="Starting the batch…" /> : null}
      </div>
      <ErrorBox message={inputError ?? run?.error} />
      {run?.cancelled ? (
        <p className="o16n-notice" role="status">
          Batch cancelled: the o16n server stopped it and deleted its results. The results shown arrived before.
        </p>
      ) : null}
      {status ? <BatchProgress status={status} /> : null}
      {status && run && status.batchExecutionResults.length ? (
        <BatchResults status={status} records={run.records} inputNames={inputNames} outputNames={outputNames} />
      ) : null}
    </div>
  );
}

function BatchProgress(props: { status: IBatchStatus }): JSX.Element {
  const { status } = props;
  return (
    <div className="o16n-batch-status" data-state={status.state.toLowerCase()}>
      <progress max={status.totalItemCount || 1} value={status.completedItemCount} aria-label="Batch progress" />{' '}
      <span className="o16n-batch-state" role="status">
        {status.completedItemCount} / {status.totalItemCount} · {status.state}
      </span>
    </div>
  );
}

function BatchResults(props: {
  status: IBatchStatus;
  records: Record<string, unknown>[];
  inputNames: string[];
  outputNames: string[];
}): JSX.Element {
  const { status, records, inputNames, outputNames } = props;
  return (
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
          // partial results carry null for the items not finished yet
          <tr key={i} data-state={r ? (r.success ? 'ok' : 'failed') : 'pending'}>
            <td>{i}</td>
            {inputNames.map(n => (
              <td key={`in-${n}`}>{showValue(records[i]?.[n])}</td>
            ))}
            {outputNames.map(n => (
              <td key={`out-${n}`}>{r ? showValue(r.outputParameters?.[n]) : ''}</td>
            ))}
            <td>{r ? (r.success ? 'ok' : r.errorMessage || 'failed') : <span className="o16n-muted">pending</span>}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
