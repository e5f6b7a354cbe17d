/** The kernel objects shipped with the service: ticked by the analysis ("used by predict"), or by the user. */
import * as React from 'react';

import { ErrorBox, Spinner } from '../../components/common';
import { toggleObject } from '../model';
import { ObjectsTable } from '../ObjectsTable';
import { INamespaceState } from '../useKernel';
import { FieldError, ISectionProps } from './common';

export function ObjectsSection(props: ISectionProps & { kernel: INamespaceState; hasKernel: boolean }): JSX.Element {
  const { model, onChange, kernel } = props;
  const objects = kernel.namespace?.objects ?? [];
  return (
    <fieldset className={`o16n-objects${model.errors.objects ? ' o16n-mod-invalid' : ''}`} data-field="objects">
      <legend>Kernel objects to ship with the service</legend>
      {kernel.loading && !kernel.namespace ? <Spinner label="Reading the kernel's objects…" /> : null}
      <ErrorBox message={kernel.error} title="Could not read the kernel's objects" />
      {!props.hasKernel ? (
        <p className="o16n-muted">Start the notebook's kernel and run your cells to list its objects.</p>
      ) : kernel.namespace && !objects.length ? (
        <p className="o16n-muted">The kernel has no objects yet: run the cells that build your model.</p>
      ) : null}
      {objects.length ? (
        <ObjectsTable
          objects={objects}
          chosen={model.form.objects}
          reasons={model.form.objectReasons}
          onToggle={name => onChange(toggleObject(model, name))}
        />
      ) : null}
      <FieldError model={model} field="objects" />
    </fieldset>
  );
}
