/** What every section of the publish panel gets, and small pieces they share. */
import * as React from 'react';

import { IPublishModel } from '../model';

export interface ISectionProps {
  model: IPublishModel;
  onChange: (model: IPublishModel) => void;
}

/** The class of a field's wrapper: marked invalid when the model has an error for it. */
export function fieldClass(model: IPublishModel, field: string): string {
  return `o16n-field${model.errors[field] ? ' o16n-mod-invalid' : ''}`;
}

export function FieldError(props: { model: IPublishModel; field: string; id?: string }): JSX.Element | null {
  const message = props.model.errors[props.field];
  return message ? (
    <div id={props.id} className="o16n-field-error">
      {message}
    </div>
  ) : null;
}
