/** What the service runs: the selected cells' code, or a function defined in the kernel. */
import * as React from 'react';

import { IKernelFunction } from '../../api/types';
import { functionLabel, setCode, setFunction, setSource } from '../model';
import { FieldError, ISectionProps, fieldClass } from './common';

export interface ISourceSectionProps extends ISectionProps {
  /** the functions defined in the notebook's kernel (null while not listed) */
  functions: IKernelFunction[] | null;
}

export function SourceSection(props: ISourceSectionProps): JSX.Element {
  const { model, onChange } = props;
  const { form, errors } = model;
  const functions = props.functions ?? [];
  const chosen = functions.find(f => f.name === form.functionName) ?? null;
  return (
    <fieldset className="o16n-source">
      <legend>What to run</legend>
      <label className="o16n-radio">
        <input
          type="radio"
          name="o16n-source"
          checked={form.source === 'cells'}
          onChange={() => onChange(setSource(model, 'cells'))}
        />
        The selected cell(s) as code
      </label>
      <label className="o16n-radio">
        <input
          type="radio"
          name="o16n-source"
          checked={form.source === 'function'}
          disabled={!functions.length}
          onChange={() => onChange(setSource(model, 'function', functions))}
        />
        A function defined in the kernel{props.functions === null ? '' : functions.length ? '' : ' (none found)'}
      </label>
      {form.source === 'cells' ? (
        <div className={fieldClass(model, 'code')} data-field="code">
          <label htmlFor="o16n-publish-code">Code</label>
          <textarea
            id="o16n-publish-code"
            className="jp-mod-styled o16n-textarea o16n-code"
            rows={Math.min(12, Math.max(3, form.code.split('\n').length))}
            value={form.code}
            spellCheck={false}
            aria-invalid={!!errors.code}
            onChange={e => onChange(setCode(model, e.target.value))}
          />
          <FieldError model={model} field="code" />
        </div>
      ) : (
        <div className={fieldClass(model, 'functionName')} data-field="functionName">
          <label htmlFor="o16n-publish-function">Function</label>
          <select
            id="o16n-publish-function"
            className="jp-mod-styled o16n-select"
            value={form.functionName}
            onChange={e => onChange(setFunction(model, e.target.value))}
          >
            {chosen || !form.functionName ? null : <option value={form.functionName}>{form.functionName} (not in the kernel)</option>}
            {functions.map(f => (
              <option key={f.name} value={f.name}>
                {functionLabel(f)}
              </option>
            ))}
          </select>
          {chosen ? (
            <div className="o16n-signature">
              <code>def {functionLabel(chosen)}</code>
              {chosen.doc ? <div className="o16n-muted">{chosen.doc}</div> : null}
            </div>
          ) : null}
          <FieldError model={model} field="functionName" />
        </div>
      )}
    </fieldset>
  );
}
