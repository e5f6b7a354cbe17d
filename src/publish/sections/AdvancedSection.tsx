/** Init code (runs once when a worker starts) and the output files the service returns. */
import * as React from 'react';

import { withForm } from '../model';
import { FieldError, ISectionProps, fieldClass } from './common';

export function AdvancedSection(props: ISectionProps): JSX.Element {
  const { model, onChange } = props;
  const open = !!(model.errors.initCode || model.errors.outputFileNames || model.form.initCode || model.form.outputFileNames);
  return (
    <details className="o16n-section" open={open || undefined}>
      <summary>Init code and output files</summary>
      <div className={fieldClass(model, 'initCode')} data-field="initCode">
        <label htmlFor="o16n-publish-init">Init code (runs once when the service starts)</label>
        <textarea
          id="o16n-publish-init"
          className="jp-mod-styled o16n-textarea o16n-code"
          rows={3}
          spellCheck={false}
          value={model.form.initCode}
          placeholder="import numpy as np"
          onChange={e => onChange(withForm(model, { initCode: e.target.value }))}
        />
        <FieldError model={model} field="initCode" />
      </div>
      <div className={fieldClass(model, 'outputFileNames')} data-field="outputFileNames">
        <label htmlFor="o16n-publish-files-out">Output files (names, comma separated)</label>
        <input
          id="o16n-publish-files-out"
          className="jp-mod-styled o16n-input"
          value={model.form.outputFileNames}
          placeholder="plot.png, answer.csv"
          aria-invalid={!!model.errors.outputFileNames}
          onChange={e => onChange(withForm(model, { outputFileNames: e.target.value }))}
        />
        <FieldError model={model} field="outputFileNames" />
      </div>
    </details>
  );
}
