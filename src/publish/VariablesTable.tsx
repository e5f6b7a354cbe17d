/** The kernel's variables in the publish panel: which ones ship with the service (serialized with dill). */
import * as React from 'react';

import { IKernelVariable } from '../api/types';

export function humanSize(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined) {
    return '';
  }
  if (bytes < 1024) {
    return `${bytes} B`;
  }
  if (bytes < 1024 * 1024) {
    return `${(bytes / 1024).toFixed(1)} KB`;
  }
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

/** `picklable` is null when the listing ran out of time before checking the variable. */
function picklableText(v: IKernelVariable): string {
  if (v.picklable === null) {
    return 'not checked';
  }
  return v.picklable ? 'yes' : `no${v.reason ? `: ${v.reason}` : ''}`;
}

export function VariablesTable(props: {
  variables: IKernelVariable[];
  chosen: string[];
  onToggle: (name: string) => void;
}): JSX.Element {
  return (
    <table className="o16n-table" aria-label="Kernel variables">
      <thead>
        <tr>
          <th scope="col">
            <span className="o16n-visually-hidden">Include</span>
          </th>
          <th scope="col">Name</th>
          <th scope="col">Type</th>
          <th scope="col">Size</th>
          <th scope="col">Picklable</th>
        </tr>
      </thead>
      <tbody>
        {props.variables.map(v => (
          <tr key={v.name} className={v.picklable === false ? 'o16n-mod-disabled' : ''}>
            <td>
              <input
                type="checkbox"
                aria-label={`Include ${v.name}`}
                checked={props.chosen.includes(v.name)}
                disabled={v.picklable === false}
                onChange={() => props.onToggle(v.name)}
              />
            </td>
            <td>
              <code>{v.name}</code>
            </td>
            <td>{v.type}</td>
            <td>{humanSize(v.size)}</td>
            <td title={v.reason ?? ''}>{picklableText(v)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
