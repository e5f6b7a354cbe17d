/** Read a swagger 2.0 document into a list of operations with their parameters and schemas. */
import { ISchema, ISwaggerDocument, ISwaggerParameter } from '../api/types';

export interface IOperationView {
  method: string;
  path: string;
  operationId: string;
  summary: string;
  parameters: ISwaggerParameter[];
  responses: { status: string; description: string; schema?: ISchema }[];
}

export function listOperations(doc: ISwaggerDocument): IOperationView[] {
  const out: IOperationView[] = [];
  const paths = doc.paths ?? {};
  for (const path of Object.keys(paths)) {
    const item = paths[path];
    for (const method of ['get', 'post', 'put', 'patch', 'delete']) {
      const op = item[method];
      if (!op) {
        continue;
      }
      out.push({
        method: method.toUpperCase(),
        path: `${doc.basePath && doc.basePath !== '/' ? doc.basePath : ''}${path}`,
        operationId: op.operationId ?? '',
        summary: op.summary ?? op.description ?? '',
        parameters: op.parameters ?? [],
        responses: Object.entries(op.responses ?? {}).map(([status, r]) => ({
          status,
          description: r.description ?? '',
          schema: r.schema
        }))
      });
    }
  }
  return out;
}

/** Follow a local `#/definitions/X` reference. */
export function resolveSchema(doc: ISwaggerDocument, schema: ISchema | undefined): ISchema | undefined {
  let s = schema;
  const seen = new Set<string>();
  while (s && s.$ref && !seen.has(s.$ref)) {
    seen.add(s.$ref);
    const name = s.$ref.replace(/^#\/definitions\//, '');
    s = doc.definitions?.[name];
  }
  return s;
}

/** A one-line description of a schema: "object {flower_data: array<number>}". */
export function describeSchema(doc: ISwaggerDocument, schema: ISchema | undefined, depth = 0): string {
  if (!schema) {
    return '';
  }
  const refName = schema.$ref ? schema.$ref.replace(/^#\/definitions\//, '') : '';
  const s = resolveSchema(doc, schema);
  if (!s) {
    return refName || 'any';
  }
  if (s.type === 'array') {
    return `array<${describeSchema(doc, s.items, depth + 1) || 'any'}>`;
  }
  if (s.properties && depth < 2) {
    const props = Object.entries(s.properties)
      .map(([k, v]) => `${k}: ${describeSchema(doc, v, depth + 1)}`)
      .join(', ');
    return `${refName ? refName + ' ' : ''}{${props}}`;
  }
  return refName || s.type || 'any';
}
