/** An editable table of parameters: name + wire type, add and remove rows, why a row was guessed. */
import * as React from 'react';

import { WIRE_TYPES, typeLabel } from '../common/wireTypes';
import { IParamRow } from '../publish/model';

export interface IParamTableProps {
  kind: 'inputs' | 'outputs';
  rows: IParamRow[];
  onChange: (rows: IParamRow[]) => void;
  /** field id -> message ("inputs.0") */
  errors: Record<string, string>;
  /** where the rows came from, shown under the table ("from the function's annotations") */
  origin?: string;
}

export function ParamTable(props: IParamTableProps): JSX.Element {
  const { kind, rows, errors } = props;
  const label = kind === 'inputs' ? 'Inputs' : 'Outputs';
  const update = (i: number, patch: Partial<IParamRow>) => props.onChange(rows.map((r, k) => (k === i ? { ...r, ...patch } : r)));
  const tableError = errors[kind];
  return (
    <fieldset className={`o16n-params${tableError ? ' o16n-mod-invalid' : ''}`} data-field={kind}>
      <legend>{label}</legend>
      {rows.length ? (
        <table className="o16n-table o16n-param-table" aria-label={label}>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Type</th>
              <th scope="col">
                <span className="o16n-visually-hidden">Remove</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {rows.map((row, i) => {
              const err = errors[`${kind}.${i}`];
              const id = `o16n-${kind}-${i}`;
              return (
                <tr key={i} className={err ? 'o16n-mod-invalid' : ''}>
                  <td>
                    <input
                      id={`${id}-name`}
                      className="jp-mod-styled o16n-input"
                      aria-label={`${label} ${i + 1} name`}
                      aria-invalid={!!err}
                      aria-describedby={err ? `${id}-error` : row.reason ? `${id}-reason` : undefined}
                      value={row.name}
                      onChange={e => update(i, { name: e.target.value })}
                    />
                    {err ? (
                      <div id={`${id}-error`} className="o16n-field-error">
                        {err}
                      </div>
                    ) : row.reason ? (
                      <div id={`${id}-reason`} className="o16n-hint o16n-row-reason">
                        {row.reason}
                      </div>
                    ) : null}
                  </td>
                  <td>
                    <select
                      className="jp-mod-styled o16n-select"
                      aria-label={`${label} ${i + 1} type`}
                      value={row.type}
                      onChange={e => update(i, { type: e.target.value })}
                    >
                      {WIRE_TYPES.map(t => (
                        <option key={t} value={t}>
                          {typeLabel(t)}
                        </option>
                      ))}
                    </select>
                  </td>
                  <td>
                    <button
                      type="button"
                      className="o16n-icon-button"
                      aria-label={`Remove ${kind === 'inputs' ? 'input' : 'output'} ${row.name || i + 1}`}
                      title="Remove"
                      onClick={() => props.onChange(rows.filter((_, k) => k !== i))}
                    >
                      ×
                    </button>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      ) : (
        <p className="o16n-muted">
          {kind === 'inputs'
            ? 'No inputs: the service takes no parameters. Add one if the code reads a value from the caller.'
            : 'No outputs: add the names the service code assigns and returns.'}
        </p>
      )}
      {props.origin ? <p className="o16n-hint">{props.origin}</p> : null}
      {tableError ? <div className="o16n-field-error">{tableError}</div> : null}
      <button
        type="button"
        className="jp-Button jp-mod-styled jp-mod-reject o16n-add"
        onClick={() => props.onChange([...rows, { name: '', type: 'numeric' }])}
      >
        + Add {kind === 'inputs' ? 'input' : 'output'}
      </button>
    </fieldset>
  );
}
