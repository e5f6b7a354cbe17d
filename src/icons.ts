/** The extension's icons (colors follow the theme through jp-icon classes). */
import { LabIcon } from '@jupyterlab/ui-components';

const cloudUpload = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <path class="jp-icon3" fill="#616161" d="M19.35 10.04A7.49 7.49 0 0 0 12 4C9.11 4 6.6 5.64 5.35 8.04A5.994 5.994 0 0 0 0 14c0 3.31 2.69 6 6 6h13c2.76 0 5-2.24 5-5 0-2.64-2.05-4.78-4.65-4.96zM14 13v4h-4v-4H7l5-5 5 5h-3z"/>
</svg>`;

const services = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <path class="jp-icon3" fill="#616161" d="M4 4h16v4H4zm0 6h16v4H4zm0 6h16v4H4zm2-11v2h2V5zm0 6v2h2v-2zm0 6v2h2v-2z"/>
</svg>`;

const consume = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <path class="jp-icon3" fill="#616161" d="M3 3h18v2H3zm8 4h2v8.17l3.59-3.58L18 13l-6 6-6-6 1.41-1.41L11 15.17z"/>
</svg>`;

/** a model: a small network graph (realtime services) */
const model = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <path class="jp-icon3" fill="#616161" d="M5 3a2 2 0 1 0 0 4 2 2 0 0 0 0-4zm0 14a2 2 0 1 0 0 4 2 2 0 0 0 0-4zm14-7a2 2 0 1 0 0 4 2 2 0 0 0 0-4zM6.4 6.3l-1.1 1.6 11.3 3.6.4-1.9zm0 11.4 11-5.1-.8-1.8-11.1 5.1zM4 8v8h2V8z"/>
</svg>`;

export const publishIcon = new LabIcon({ name: 'o16n:publish', svgstr: cloudUpload });
export const catalogIcon = new LabIcon({ name: 'o16n:catalog', svgstr: services });
export const consumeIcon = new LabIcon({ name: 'o16n:consume', svgstr: consume });
export const modelIcon = new LabIcon({ name: 'o16n:model', svgstr: model });
