/** The kernel's objects in the publish panel: which ones ship with the service (serialized with dill), and why. */
import * as React from 'react';

import { IKernelObject } from '../api/types';

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

/** `picklable` is null when the listing ran out of time before checking the object. */
function picklableText(o: IKernelObject): string {
  if (o.picklable === null) {
    return 'not checked';
  }
  return o.picklable ? 'yes' : `no${o.reason ? `: ${o.reason}` : ''}`;
}

export function ObjectsTable(props: {
  objects: IKernelObject[];
  chosen: string[];
  /** why an object is needed ("used by predict"), from the kernel's analysis */
  reasons: Record<string, string>;
  onToggle: (name: string) => void;
}): JSX.Element {
  return (
    <table className="o16n-table o16n-objects-table" aria-label="Kernel objects">
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
        {props.objects.map(o => (
          <tr key={o.name} className={o.picklable === false ? 'o16n-mod-disabled' : ''}>
            <td>
              <input
                type="checkbox"
                aria-label={`Include ${o.name}`}
                aria-describedby={props.reasons[o.name] ? `o16n-object-why-${o.name}` : undefined}
                checked={props.chosen.includes(o.name)}
                disabled={o.picklable === false}
                onChange={() => props.onToggle(o.name)}
              />
            </td>
            <td>
              <code>{o.name}</code>
              {props.reasons[o.name] ? (
                <div id={`o16n-object-why-${o.name}`} className="o16n-hint o16n-object-why">
                  {props.reasons[o.name]}
                </div>
              ) : null}
            </td>
            <td className="o16n-object-type" title={o.type}>
              {o.type}
            </td>
            <td>{humanSize(o.size)}</td>
            <td title={o.reason ?? ''}>{picklableText(o)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
