/** Files of the notebook's folder that go into the service's working directory. */
import * as React from 'react';

import { toggleFile } from '../model';
import { FieldError, ISectionProps } from './common';

export function FilesSection(props: ISectionProps & { folderFiles: string[] }): JSX.Element {
  const { model, onChange, folderFiles } = props;
  return (
    <fieldset className={`o16n-folder-files${model.errors.files ? ' o16n-mod-invalid' : ''}`} data-field="files">
      <legend>Files from the notebook's folder</legend>
      {folderFiles.length ? (
        <ul className="o16n-checklist">
          {folderFiles.map(f => (
            <li key={f}>
              <label>
                <input type="checkbox" checked={model.form.files.includes(f)} onChange={() => onChange(toggleFile(model, f))} /> {f}
              </label>
            </li>
          ))}
        </ul>
      ) : (
        <p className="o16n-muted">No other files next to the notebook.</p>
      )}
      <FieldError model={model} field="files" />
    </fieldset>
  );
}
