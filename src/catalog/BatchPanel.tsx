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

const DF_MARKER = '__o16n_records__';

/** Batch states after which polling stops (o16n: Pending Ready InProgress Complete Failed). */
const FINAL_STATE = /^(complete|failed|cancell?ed)$/i;

export interface IBatchPanelProps {
  service: IWebService;
  api: O16nApi;
  host: IO16nHost;
  /** ms between status polls */
  pollInterval: number;
}

/** One run: its id, whether the user cancelled it. */
interface IRun {
  executionId: string | null;
  cancelled: boolean;
}

export function BatchPanel(props: IBatchPanelProps): JSX.Element {
  const { service, api } = props;
  const inputNames = (service.inputParameterDefinitions ?? []).map(p => p.name);
  const [text, setText] = React.useState('');
  const [parallel, setParallel] = React.useState(10);
  const [frames, setFrames] = React.useState<string[] | null>(null);
  const [frame, setFrame] = React.useState('');
  const [status, setStatus] = React.useState<IBatchStatus | null>(null);
  const [records, setRecords] = React.useState<Record<string, unknown>[]>([]);
  const [error, setError] = React.useState<string | null>(null);
  const [busy, setBusy] = React.useState(false);
  const [cancelling, setCancelling] = React.useState(false);
  const [notice, setNotice] = React.useState<string | null>(null);
  const [executionId, setExecutionId] = React.useState<string | null>(null);
  // the run being polled; a ref so the polling loop sees a cancel at once
  const run = React.useRef<IRun | null>(null);
  const alive = React.useRef(true);
  React.useEffect(() => () => void (alive.current = false), []);

  React.useEffect(() => {
    const nb = props.host.currentNotebook();
    if (!nb?.kernelId) {
      setFrames([]);
      return;
    }
    api
      .kernelVariables(nb.kernelId)
      .then(v => alive.current && setFrames(v.variables.filter(x => /DataFrame/.test(x.type)).map(x => x.name)))
      .catch(() => alive.current && setFrames([]));
  }, []);

  const loadFrame = async (name: string) => {
    setFrame(name);
    if (!name) {
      return;
    }
    const result = await props.host.runInKernel(`print(${JSON.stringify(DF_MARKER)} + ${name}.to_json(orient="records"))`);
    const line = result.stdout.split('\n').find(l => l.startsWith(DF_MARKER));
    if (result.error || !line) {
      setError(result.error ?? `Could not read ${name} from the kernel.`);
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
    setNotice(null);
    setBusy(true);
    setRecords(parsed.records);
    setStatus(null);
    setExecutionId(null);
    const current: IRun = { executionId: null, cancelled: false };
    run.current = current;
    try {
      const { executionId } = await api.startBatch(service.name, service.version, parsed.records, parallel);
      current.executionId = executionId;
      setExecutionId(executionId);
      while (!current.cancelled) {
        const s = await api.batchStatus(service.name, service.version, executionId);
        if (!alive.current || current.cancelled) {
          return;
        }
        setStatus(s);
        if (FINAL_STATE.test(s.state)) {
          break;
        }
        await new Promise(r => window.setTimeout(r, props.pollInterval));
      }
    } catch (e) {
      if (alive.current && !current.cancelled) {
        setError((e as Error).message);
      }
    } finally {
      if (alive.current && run.current === current) {
        setBusy(false);
      }
    }
  };

  const cancel = async () => {
    const current = run.current;
    if (!current?.executionId) {
      return;
    }
    setCancelling(true);
    try {
      await api.cancelBatch(service.name, service.version, current.executionId);
      current.cancelled = true;
      if (!alive.current) {
        return;
      }
      // the server deleted the execution: keep what we saw last, marked as cancelled
      setStatus(s => (s ? { ...s, state: 'Cancelled' } : s));
      setNotice('Batch cancelled: the o16n server stopped it and deleted its results. The results shown arrived before.');
      setBusy(false);
    } catch (e) {
      if (alive.current) {
        setError(`Could not cancel the batch: ${(e as Error).message}`);
      }
    } finally {
      if (alive.current) {
        setCancelling(false);
      }
    }
  };

  const outputNames = (service.outputParameterDefinitions ?? []).map(p => p.name);
  const canCancel = busy && !!executionId;
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
        {canCancel ? (
          <button
            type="button"
            className="jp-Button jp-mod-styled jp-mod-warn"
            aria-label="Cancel the batch"
            disabled={cancelling}
            onClick={() => void cancel()}
          >
            Cancel
          </button>
        ) : null}
        {busy && !status ? <Spinner label="Starting the batch…" /> : null}
      </div>
      <ErrorBox message={error} />
      {notice ? (
        <p className="o16n-notice" role="status">
          {notice}
        </p>
      ) : null}
      {status ? <BatchProgress status={status} /> : null}
      {status && status.batchExecutionResults.length ? (
        <BatchResults status={status} records={records} inputNames={inputNames} outputNames={outputNames} />
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
  );
}
