/**
 * An in-browser stand-in for the Jupyter server extension's /o16n routes (Playwright request
 * interception), so the lab extension's UI can be exercised when the real extension is absent.
 */
import { Page, Route } from '@playwright/test';

interface IService {
  name: string;
  version: string;
  [key: string]: unknown;
}

export async function installFakeO16n(page: Page): Promise<{ services: IService[] }> {
  const state = { services: [] as IService[], jobs: new Map<string, { polls: number; service: IService }>() };
  const json = (route: Route, status: number, body: unknown) =>
    route.fulfill({ status, contentType: 'application/json', body: JSON.stringify(body) });

  await page.route(/\/o16n\//, async route => {
    const request = route.request();
    const url = new URL(request.url());
    const path = url.pathname.replace(/^.*\/o16n\//, '');
    const method = request.method();
    const body = request.postData() ? JSON.parse(request.postData() as string) : null;
    const parts = path.split('/').map(decodeURIComponent);

    if (path === 'status') {
      return json(route, 200, {
        connected: true,
        mode: 'embedded',
        url: 'http://127.0.0.1:12800',
        user: { name: 'admin', role: 'Owner' },
        server: { status: 'Success' },
        message: null
      });
    }
    if (parts[0] === 'kernels' && parts[2] === 'variables') {
      return json(route, 200, {
        variables: [
          { name: 'clf', type: 'SVC', size: 5123, shape: null, picklable: true, reason: null },
          { name: 'iris', type: 'Bunch', size: 21043, shape: null, picklable: true, reason: null },
          { name: 'names', type: 'list', size: 96, shape: [3], picklable: true, reason: null }
        ],
        functions: []
      });
    }
    if (path === 'publish' && method === 'POST') {
      const service = {
        name: body.name,
        version: body.version,
        description: body.description,
        code: body.code,
        runtimeType: 'Python',
        versionPublishedBy: 'admin',
        creationTime: new Date().toISOString(),
        inputParameterDefinitions: body.inputs,
        outputParameterDefinitions: body.outputs,
        outputFileNames: body.outputFileNames,
        myPermissionOnService: 'read/write',
        operationId: body.name
      };
      state.jobs.set('job1', { polls: 0, service });
      return json(route, 202, { jobId: 'job1' });
    }
    if (parts[0] === 'publish' && parts[1]) {
      const job = state.jobs.get(parts[1])!;
      job.polls++;
      const names = ['capture', 'upload', 'files', 'snapshot', 'publish', 'cleanup'];
      const reached = Math.min(job.polls, names.length);
      const done = job.polls > names.length;
      if (done && !state.services.some(s => s.name === job.service.name && s.version === job.service.version)) {
        state.services.push(job.service);
      }
      return json(route, 200, {
        state: done ? 'done' : 'running',
        step: names[reached - 1],
        steps: names.map((name, i) => ({ name, state: done || i < reached - 1 ? 'done' : i === reached - 1 ? 'running' : 'pending', detail: null })),
        bytesUploaded: Math.min(reached, 2) * 1.2 * 1024 * 1024,
        totalBytes: 2.4 * 1024 * 1024,
        service: done ? job.service : null,
        error: null
      });
    }
    if (parts[0] === 'services' && parts.length === 1) {
      const name = url.searchParams.get('name');
      return json(route, 200, state.services.filter(s => !name || s.name === name));
    }
    if (parts[0] === 'services' && parts.length >= 3) {
      const service = state.services.find(s => s.name === parts[1] && s.version === parts[2]);
      if (!service) {
        return json(route, 404, { message: `no service ${parts[1]} ${parts[2]}`, field: null, step: null });
      }
      if (parts.length === 3 && method === 'GET') {
        return json(route, 200, service);
      }
      if (parts.length === 3 && method === 'DELETE') {
        state.services.splice(state.services.indexOf(service), 1);
        return json(route, 200, { deleted: true });
      }
      if (parts[3] === 'swagger') {
        return json(route, 200, {
          swagger: '2.0',
          info: { title: service.name, version: service.version, description: service.description },
          paths: {
            [`/api/${service.name}/${service.version}`]: {
              post: {
                operationId: service.operationId,
                parameters: [{ name: 'WebServiceParameters', in: 'body', required: true, schema: { $ref: '#/definitions/InputParameters' } }],
                responses: { '200': { description: 'OK', schema: { $ref: '#/definitions/WebServiceResult' } } }
              }
            },
            '/login': { post: { operationId: 'Login', responses: { '200': { description: 'OK' } } } }
          },
          definitions: {
            InputParameters: { type: 'object', properties: { flower_data: { type: 'array', description: 'vector' } } },
            WebServiceResult: {
              type: 'object',
              properties: { success: { type: 'boolean' }, outputParameters: { $ref: '#/definitions/OutputParameters' } }
            },
            OutputParameters: { type: 'object', properties: { iris_type: { type: 'string', description: 'character' } } }
          }
        });
      }
      if (parts[3] === 'consume') {
        return json(route, 200, {
          success: true,
          errorMessage: '',
          consoleOutput: '',
          changedFiles: [],
          outputFiles: {},
          outputParameters: { iris_type: 'versicolor' },
          elapsed: 0.018
        });
      }
    }
    return json(route, 404, { message: `fake o16n: no route ${method} ${path}`, field: null, step: null });
  });
  return state;
}
