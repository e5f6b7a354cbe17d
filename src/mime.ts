/** The MIME extension: renderers for the %o16n magics' output types. */
import { IRenderMime } from '@jupyterlab/rendermime-interfaces';

import { RESULT_MIME, SERVICES_MIME, SWAGGER_MIME, rendererFactories } from './consume/renderers';

const extensions: IRenderMime.IExtension[] = [
  {
    id: 'jupyterlab-o16n:result-renderer',
    description: 'o16n service result',
    rendererFactory: rendererFactories[0],
    rank: 30,
    dataType: 'json'
  },
  {
    id: 'jupyterlab-o16n:services-renderer',
    description: 'o16n services',
    rendererFactory: rendererFactories[1],
    rank: 30,
    dataType: 'json'
  },
  {
    id: 'jupyterlab-o16n:swagger-renderer',
    description: 'o16n swagger',
    rendererFactory: rendererFactories[2],
    rank: 30,
    dataType: 'json'
  }
];

export { RESULT_MIME, SERVICES_MIME, SWAGGER_MIME };
export default extensions;
