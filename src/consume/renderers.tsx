/** MIME renderers for what the %o16n magics display: a result, a list of services, a swagger document. */
import { IRenderMime } from '@jupyterlab/rendermime-interfaces';
import { Widget } from '@lumino/widgets';
import * as React from 'react';
import { createRoot, Root } from 'react-dom/client';

import { ISwaggerDocument, IWebService } from '../api/types';
import { IResultData, ResultView } from '../components/ResultView';
import { ServicesTable } from '../components/ServicesTable';
import { SwaggerView } from '../components/SwaggerView';

export const RESULT_MIME = 'application/vnd.o16n.result+json';
export const SERVICES_MIME = 'application/vnd.o16n.services+json';
export const SWAGGER_MIME = 'application/vnd.o16n.swagger+json';

/** A renderer that shows one React element built from the MIME data. */
export class ReactMimeRenderer extends Widget implements IRenderMime.IRenderer {
  constructor(
    private mimeType: string,
    private view: (data: unknown) => JSX.Element,
    className: string
  ) {
    super();
    this.addClass('o16n-mime');
    this.addClass(className);
  }

  renderModel(model: IRenderMime.IMimeModel): Promise<void> {
    const data = model.data[this.mimeType];
    if (!this.root) {
      this.root = createRoot(this.node);
    }
    this.root.render(this.view(data));
    // let React commit before the output area measures the node
    return new Promise(resolve => window.setTimeout(resolve, 0));
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this.root?.unmount();
    super.dispose();
  }

  private root: Root | null = null;
}

export function resultView(data: unknown): JSX.Element {
  if (!data || typeof data !== 'object') {
    return <pre className="o16n-error">Not an o16n result.</pre>;
  }
  return <ResultView result={data as IResultData} />;
}

export function servicesView(data: unknown): JSX.Element {
  return <ServicesTable services={Array.isArray(data) ? (data as IWebService[]) : []} />;
}

export function swaggerView(data: unknown): JSX.Element {
  const doc = (data ?? {}) as ISwaggerDocument;
  const name = [doc.info?.title, doc.info?.version].filter(Boolean).join('-') || 'service';
  return <SwaggerView doc={doc} fileName={`${name}-swagger.json`} />;
}

function factory(mimeType: string, view: (data: unknown) => JSX.Element, className: string): IRenderMime.IRendererFactory {
  return {
    safe: true,
    mimeTypes: [mimeType],
    defaultRank: 30,
    createRenderer: () => new ReactMimeRenderer(mimeType, view, className)
  };
}

export const rendererFactories: IRenderMime.IRendererFactory[] = [
  factory(RESULT_MIME, resultView, 'o16n-mime-result'),
  factory(SERVICES_MIME, servicesView, 'o16n-mime-services'),
  factory(SWAGGER_MIME, swaggerView, 'o16n-mime-swagger')
];
