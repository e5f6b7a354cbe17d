/** A service result: outputs table, output files, console output, error and elapsed time. */
import * as React from 'react';

import { showValue } from './common';

export interface IResultData {
  name?: string;
  version?: string;
  success: boolean;
  errorMessage?: string | null;
  consoleOutput?: string | null;
  outputParameters?: Record<string, unknown> | null;
  /** names, or name -> Base64 content */
  outputFiles?: string[] | Record<string, string | null> | null;
  elapsed?: number | null;
}

export function formatElapsed(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || Number.isNaN(seconds)) {
    return '';
  }
  return seconds < 1 ? `${Math.round(seconds * 1000)} ms` : `${seconds.toFixed(2)} s`;
}

function isTable(value: unknown): value is Record<string, unknown[]> {
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    return false;
  }
  const cols = Object.values(value as Record<string, unknown>);
  return cols.length > 0 && cols.every(c => Array.isArray(c)) && new Set(cols.map(c => (c as unknown[]).length)).size === 1;
}

/** A column dict {"a": [..], "b": [..]} (a data frame on the wire) as a table. */
function ColumnTable(props: { value: Record<string, unknown[]> }): JSX.Element {
  const cols = Object.keys(props.value);
  const rows = props.value[cols[0]].length;
  const shown = Math.min(rows, 50);
  return (
    <table className="o16n-table o16n-frame">
      <thead>
        <tr>
          {cols.map(c => (
            <th key={c} scope="col">
              {c}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {Array.from({ length: shown }, (_, r) => (
          <tr key={r}>
            {cols.map(c => (
              <td key={c}>{showValue(props.value[c][r])}</td>
            ))}
          </tr>
        ))}
        {rows > shown ? (
          <tr>
            <td colSpan={cols.length}>… {rows - shown} more rows</td>
          </tr>
        ) : null}
      </tbody>
    </table>
  );
}

function fileHref(content: string, name: string): string {
  const ext = name.split('.').pop()?.toLowerCase() ?? '';
  const types: Record<string, string> = {
    png: 'image/png',
    jpg: 'image/jpeg',
    jpeg: 'image/jpeg',
    svg: 'image/svg+xml',
    csv: 'text/csv',
    txt: 'text/plain',
    json: 'application/json'
  };
  return `data:${types[ext] ?? 'application/octet-stream'};base64,${content}`;
}

export function ResultView(props: { result: IResultData; heading?: boolean }): JSX.Element {
  const r = props.result;
  const outputs = Object.entries(r.outputParameters ?? {});
  const files: [string, string | null][] = Array.isArray(r.outputFiles)
    ? r.outputFiles.map(n => [n, null])
    : Object.entries(r.outputFiles ?? {});
  const title = [r.name, r.version].filter(Boolean).join(' ');
  return (
    <div className={`o16n-result ${r.success ? 'o16n-mod-success' : 'o16n-mod-failed'}`}>
      {props.heading !== false ? (
        <div className="o16n-result-head">
          {title ? <strong className="o16n-result-title">{title}</strong> : null}
          <span className="o16n-badge" data-state={r.success ? 'success' : 'failed'}>
            {r.success ? 'success' : 'failed'}
          </span>
          {r.elapsed !== undefined && r.elapsed !== null ? (
            <span className="o16n-muted" aria-label="elapsed time">
              {formatElapsed(r.elapsed)}
            </span>
          ) : null}
        </div>
      ) : null}
      {outputs.length ? (
        <table className="o16n-table o16n-outputs" aria-label="Output parameters">
          <tbody>
            {outputs.map(([name, value]) => (
              <tr key={name}>
                <th scope="row">{name}</th>
                <td>{isTable(value) ? <ColumnTable value={value} /> : <pre className="o16n-value">{showValue(value)}</pre>}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : r.success ? (
        <p className="o16n-muted">No output parameters.</p>
      ) : null}
      {files.length ? (
        <div className="o16n-files">
          Output files:{' '}
          {files.map(([name, content], i) => (
            <React.Fragment key={name}>
              {i ? ', ' : ''}
              {content ? (
                <a href={fileHref(content, name)} download={name}>
                  {name}
                </a>
              ) : (
                <span>{name}</span>
              )}
            </React.Fragment>
          ))}
        </div>
      ) : null}
      {r.errorMessage ? (
        <pre className="o16n-error" role="alert">
          {r.errorMessage}
        </pre>
      ) : null}
      {r.consoleOutput && r.consoleOutput.trim() ? (
        <details className="o16n-console">
          <summary>Console output</summary>
          <pre>{r.consoleOutput}</pre>
        </details>
      ) : null}
    </div>
  );
}
