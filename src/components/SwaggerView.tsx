/** A swagger 2.0 document: its operations with parameters, schemas and responses, and a download. */
import * as React from 'react';

import { ISwaggerDocument } from '../api/types';
import { describeSchema, listOperations } from '../catalog/swagger';

export function downloadJson(doc: unknown, fileName: string): void {
  const blob = new Blob([JSON.stringify(doc, null, 2)], { type: 'application/json' });
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = fileName;
  document.body.appendChild(a);
  a.click();
  document.body.removeChild(a);
  window.setTimeout(() => URL.revokeObjectURL(url), 1000);
}

export function SwaggerView(props: { doc: ISwaggerDocument; fileName?: string }): JSX.Element {
  const { doc } = props;
  const ops = listOperations(doc);
  const title = doc.info?.title ?? 'Service';
  return (
    <div className="o16n-swagger">
      <div className="o16n-row">
        <h3 className="o16n-h">
          {title} {doc.info?.version ?? ''} <span className="o16n-muted">swagger {doc.swagger ?? '2.0'}</span>
        </h3>
        <button
          type="button"
          className="jp-Button jp-mod-styled jp-mod-reject"
          onClick={() => downloadJson(doc, props.fileName ?? 'swagger.json')}
        >
          Download swagger.json
        </button>
      </div>
      {doc.info?.description ? <p>{doc.info.description}</p> : null}
      {ops.length ? null : <p className="o16n-muted">This document defines no operations.</p>}
      {ops.map(op => (
        <details key={`${op.method} ${op.path}`} className="o16n-operation" open={op.method === 'POST' && !op.path.includes('batch') && !op.path.includes('login')}>
          <summary>
            <span className="o16n-method" data-method={op.method}>
              {op.method}
            </span>{' '}
            <code>{op.path}</code> {op.operationId ? <span className="o16n-muted">{op.operationId}</span> : null}
          </summary>
          {op.summary ? <p>{op.summary}</p> : null}
          {op.parameters.length ? (
            <table className="o16n-table" aria-label={`Parameters of ${op.operationId || op.path}`}>
              <thead>
                <tr>
                  <th scope="col">Parameter</th>
                  <th scope="col">In</th>
                  <th scope="col">Schema</th>
                </tr>
              </thead>
              <tbody>
                {op.parameters.map(p => (
                  <tr key={`${p.in}-${p.name}`}>
                    <td>
                      {p.name}
                      {p.required ? <span aria-label="required"> *</span> : null}
                    </td>
                    <td>{p.in}</td>
                    <td>
                      <code>{p.schema ? describeSchema(doc, p.schema) : p.type ?? ''}</code>
                      {p.description ? <div className="o16n-muted">{p.description}</div> : null}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : null}
          <table className="o16n-table" aria-label={`Responses of ${op.operationId || op.path}`}>
            <thead>
              <tr>
                <th scope="col">Status</th>
                <th scope="col">Description</th>
                <th scope="col">Schema</th>
              </tr>
            </thead>
            <tbody>
              {op.responses.map(r => (
                <tr key={r.status}>
                  <td>{r.status}</td>
                  <td>{r.description}</td>
                  <td>
                    <code>{describeSchema(doc, r.schema)}</code>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </details>
      ))}
    </div>
  );
}
