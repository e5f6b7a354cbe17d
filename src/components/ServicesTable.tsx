/** A list of services (the `application/vnd.o16n.services+json` MIME type and similar). */
import * as React from 'react';

import { IWebService } from '../api/types';
import { formatDate, groupServices } from '../catalog/group';

export function ServicesTable(props: { services: IWebService[] }): JSX.Element {
  if (!props.services.length) {
    return <p className="o16n-muted">No web services are published yet.</p>;
  }
  const groups = groupServices(props.services);
  return (
    <table className="o16n-table o16n-services-table" aria-label="Web services">
      <thead>
        <tr>
          <th scope="col">Name</th>
          <th scope="col">Version</th>
          <th scope="col">Runtime</th>
          <th scope="col">Inputs</th>
          <th scope="col">Outputs</th>
          <th scope="col">Published by</th>
          <th scope="col">Date</th>
          <th scope="col">Description</th>
        </tr>
      </thead>
      <tbody>
        {groups.flatMap(g =>
          g.versions.map((s, i) => (
            <tr key={`${s.name}/${s.version}`}>
              <td>{i === 0 ? <strong>{s.name}</strong> : null}</td>
              <td>{s.version}</td>
              <td>{s.runtimeType ?? ''}</td>
              <td>{(s.inputParameterDefinitions ?? []).map(p => `${p.name}: ${p.type}`).join(', ')}</td>
              <td>{(s.outputParameterDefinitions ?? []).map(p => `${p.name}: ${p.type}`).join(', ')}</td>
              <td>{s.versionPublishedBy ?? s.owner ?? ''}</td>
              <td>{formatDate(s.creationTime)}</td>
              <td>{s.description ?? ''}</td>
            </tr>
          ))
        )}
      </tbody>
    </table>
  );
}
