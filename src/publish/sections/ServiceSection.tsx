/** Name, version, description and operation id of the service. */
import * as React from 'react';

import { checkName } from '../../common/wireTypes';
import { nameIsValid, setName, setVersion, withForm } from '../model';
import { FieldError, ISectionProps, fieldClass } from './common';

function versionHint(props: ISectionProps): string {
  const { form, existingVersions } = props.model;
  if (existingVersions && existingVersions.length) {
    return `Existing versions: ${existingVersions.join(', ')}`;
  }
  if (!form.version.trim()) {
    return 'Empty: the o16n server generates a version.';
  }
  if (existingVersions && nameIsValid(form.name)) {
    return 'First version of this service.';
  }
  return '';
}

export function ServiceSection(props: ISectionProps): JSX.Element {
  const { model, onChange } = props;
  const { form, errors } = model;
  const nameProblem = form.name.trim() && !errors.name ? checkName(form.name.trim(), 'Name') : null;
  return (
    <section className="o16n-section-service" aria-label="Service">
      <div className={fieldClass(model, 'name')} data-field="name">
        <label htmlFor="o16n-publish-name">Name</label>
        <input
          id="o16n-publish-name"
          className="jp-mod-styled o16n-input"
          value={form.name}
          placeholder="e.g. Iris"
          spellCheck={false}
          aria-invalid={!!errors.name}
          aria-describedby="o16n-publish-name-hint"
          onChange={e => onChange(setName(model, e.target.value))}
        />
        <div id="o16n-publish-name-hint">
          <FieldError model={model} field="name" />
          {nameProblem ? <div className="o16n-hint">{nameProblem}</div> : null}
        </div>
      </div>

      <div className={fieldClass(model, 'version')} data-field="version">
        <label htmlFor="o16n-publish-version">Version</label>
        <input
          id="o16n-publish-version"
          className="jp-mod-styled o16n-input"
          value={form.version}
          spellCheck={false}
          aria-invalid={!!errors.version}
          aria-describedby="o16n-publish-version-hint"
          onChange={e => onChange(setVersion(model, e.target.value))}
        />
        <div id="o16n-publish-version-hint" className="o16n-hint">
          {errors.version ? <span className="o16n-field-error">{errors.version}</span> : versionHint(props)}
        </div>
      </div>

      <div className={fieldClass(model, 'description')} data-field="description">
        <label htmlFor="o16n-publish-description">Description</label>
        <textarea
          id="o16n-publish-description"
          className="jp-mod-styled o16n-textarea"
          rows={2}
          value={form.description}
          placeholder="What the service does, for the people who call it"
          onChange={e => onChange(withForm(model, { description: e.target.value }))}
        />
      </div>

      <div className={fieldClass(model, 'operationId')} data-field="operationId">
        <label htmlFor="o16n-publish-operation">Operation id (optional)</label>
        <input
          id="o16n-publish-operation"
          className="jp-mod-styled o16n-input"
          value={form.operationId}
          placeholder={form.source === 'function' && form.functionName ? form.functionName : 'e.g. predict_iris'}
          spellCheck={false}
          aria-invalid={!!errors.operationId}
          aria-describedby="o16n-publish-operation-hint"
          onChange={e => onChange(withForm(model, { operationId: e.target.value }))}
        />
        <div id="o16n-publish-operation-hint" className="o16n-hint">
          {errors.operationId ? (
            <span className="o16n-field-error">{errors.operationId}</span>
          ) : (
            'The name of the call in the swagger document (a Python identifier); client code generators use it.'
          )}
        </div>
      </div>
    </section>
  );
}
