/**
 * "Publish a model (realtime)" (#14 item 3): the kernel variable holding a fitted estimator (or an
 * ONNX model), converted to ONNX in the kernel, and a sample of its input data whose columns and
 * dtypes give the model's input schema.
 */
import * as React from 'react';

import { Spinner } from '../../components/common';
import { modelVariables, sampleVariables, withForm } from '../model';
import { humanSize } from '../ObjectsTable';
import { INamespaceState } from '../useKernel';
import { FieldError, ISectionProps, fieldClass } from './common';

function shapeText(shape: number[] | string | null | undefined): string {
  if (Array.isArray(shape)) {
    return shape.join(' × ');
  }
  return shape ?? '';
}

export function ModelSection(props: ISectionProps & { kernel: INamespaceState; hasKernel: boolean }): JSX.Element {
  const { model, onChange, kernel } = props;
  const { form, errors } = model;
  const objects = kernel.namespace?.objects ?? [];
  const models = modelVariables(objects);
  const samples = sampleVariables(objects);
  const chosen = objects.find(o => o.name === form.model);
  const missing = !!form.model && !!kernel.namespace && !models.some(o => o.name === form.model);
  return (
    <section className="o16n-section-model" aria-label="Model">
      <div className={fieldClass(model, 'model')} data-field="model">
        <label htmlFor="o16n-publish-model">Model variable</label>
        <select
          id="o16n-publish-model"
          className="jp-mod-styled o16n-select"
          value={form.model}
          aria-invalid={!!errors.model}
          aria-describedby="o16n-publish-model-hint"
          disabled={!models.length && !form.model}
          onChange={e => onChange(withForm(model, { model: e.target.value }))}
        >
          {!form.model ? <option value="">{models.length ? '(choose)' : '(no fitted model in the kernel)'}</option> : null}
          {missing ? <option value={form.model}>{form.model} (not in the kernel now)</option> : null}
          {models.map(o => (
            <option key={o.name} value={o.name}>
              {o.name} ({o.type})
            </option>
          ))}
        </select>
        <div id="o16n-publish-model-hint">
          <FieldError model={model} field="model" />
          {kernel.loading && !kernel.namespace ? <Spinner label="Reading the kernel's variables…" /> : null}
          {!props.hasKernel ? (
            <div className="o16n-hint">Start the notebook&apos;s kernel and fit your model to publish it.</div>
          ) : kernel.namespace && !models.length ? (
            <div className="o16n-hint">
              No fitted scikit-learn estimator or pipeline (or ONNX model) in the kernel yet: run the cell that fits it.
            </div>
          ) : chosen ? (
            <div className="o16n-hint">
              {chosen.type}
              {chosen.size ? `, ${humanSize(chosen.size)} in the kernel` : ''}. Converted to ONNX in the kernel and scored natively by the
              server: no Python code runs per request.
            </div>
          ) : null}
        </div>
      </div>

      <div className={fieldClass(model, 'sample')} data-field="sample">
        <label htmlFor="o16n-publish-sample">Sample input (optional)</label>
        <select
          id="o16n-publish-sample"
          className="jp-mod-styled o16n-select"
          value={form.sample}
          aria-invalid={!!errors.sample}
          aria-describedby="o16n-publish-sample-hint"
          onChange={e => onChange(withForm(model, { sample: e.target.value }))}
        >
          <option value="">(none: the schema comes from the model)</option>
          {form.sample && !samples.some(o => o.name === form.sample) ? <option value={form.sample}>{form.sample} (not in the kernel now)</option> : null}
          {samples.map(o => (
            <option key={o.name} value={o.name}>
              {o.name} ({o.type}
              {shapeText(o.shape) ? `, ${shapeText(o.shape)}` : ''})
            </option>
          ))}
        </select>
        <div id="o16n-publish-sample-hint" className="o16n-hint">
          {errors.sample ? (
            <span className="o16n-field-error">{errors.sample}</span>
          ) : (
            'A data frame or array like the data the model takes: its columns and dtypes give the service\u2019s input schema.'
          )}
        </div>
      </div>
      <p className="o16n-hint">
        The service takes <code>inputData</code> (a data frame: columns of values, or rows) and answers <code>outputData</code>, the
        model&apos;s outputs column by column.
      </p>
    </section>
  );
}
