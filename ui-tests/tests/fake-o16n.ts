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

export interface IFakeO16n {
  services: IService[];
  /** publish bodies as received */
  published: Record<string, unknown>[];
  /** batch executions: id -> polls so far, whether cancelled */
  batches: Map<string, { polls: number; total: number; cancelled: boolean }>;
  /** embedded mode: false after POST /o16n/logout until POST /o16n/login */
  loggedIn: boolean;
}

/** Objects the fake "kernel" cannot serialize: the publish job lists them in `notCaptured`. */
const NOT_CAPTURED: Record<string, string> = { iris: 'cannot pickle generator object (fake)' };

export async function installFakeO16n(page: Page): Promise<IFakeO16n> {
  const state = {
    services: [] as IService[],
    published: [] as Record<string, unknown>[],
    batches: new Map<string, { polls: number; total: number; cancelled: boolean }>(),
    loggedIn: true,
    jobs: new Map<string, { polls: number; service: IService; notCaptured: Record<string, string>; files: boolean }>()
  };
  const json = (route: Route, status: number, body: unknown) =>
    route.fulfill({ status, contentType: 'application/json', body: JSON.stringify(body) });

  await page.route(/\/o16n\//, async route => {
    const request = route.request();
    const url = new URL(request.url());
    const path = url.pathname.replace(/^.*\/o16n\//, '');
    const method = request.method();
    const body = request.postData() ? JSON.parse(request.postData() as string) : null;
    const parts = path.split('/').map(decodeURIComponent);

    const status = () => ({
      connected: state.loggedIn,
      mode: 'embedded',
      url: 'http://127.0.0.1:12800',
      user: state.loggedIn ? { name: 'admin', role: 'Owner' } : null,
      server: state.loggedIn ? { status: 'Success' } : null,
      message: state.loggedIn ? null : 'not logged in',
      embedded: { port: 12800, passwordFile: '/tmp/o16n-fake/admin-password' }
    });
    if (path === 'status') {
      return json(route, 200, status());
    }
    if (path === 'logout' && method === 'POST') {
      state.loggedIn = false;
      return json(route, 200, status());
    }
    if (path === 'login' && method === 'POST') {
      state.loggedIn = true; // embedded mode: an empty body logs in as admin
      return json(route, 200, status());
    }
    if (!state.loggedIn && parts[0] !== 'kernels') {
      return json(route, 401, { message: 'not logged in to the o16n server', field: null, step: null });
    }
    if (parts[0] === 'kernels' && parts[2] === 'analyze') {
      // what the kernel's analysis says about the walkthrough's cell
      return json(route, 200, {
        inputs: [{ name: 'flower_data', type: 'vector', reason: 'read before assigned; used as a list' }],
        outputs: [{ name: 'iris_type', type: 'character', reason: 'an item of names (a list of str)' }],
        objects: [
          { name: 'clf', reason: 'read by the code' },
          { name: 'names', reason: 'read by the code' }
        ],
        function: null
      });
    }
    if (parts[0] === 'kernels' && parts[2] === 'test') {
      return json(route, 200, { success: true, outputs: { iris_type: 'versicolor' }, consoleOutput: '', errorMessage: null, elapsed: 0.05 });
    }
    if (parts[0] === 'kernels' && parts[2] === 'namespace') {
      return json(route, 200, {
        objects: [
          { name: 'clf', type: 'sklearn.svm._classes.SVC', size: 5123, shape: null, picklable: true, reason: null },
          { name: 'iris', type: 'Bunch', size: 21043, shape: null, picklable: true, reason: null },
          { name: 'names', type: 'list', size: 96, shape: [3], picklable: true, reason: null }
        ],
        functions: []
      });
    }
    if (path === 'publish' && method === 'GET') {
      return json(route, 200, []);
    }
    if (path === 'publish' && method === 'POST') {
      state.published.push(body);
      const service = {
        name: body.name,
        version: body.version ?? '6f1c2b9e-generated',
        description: body.description,
        code: body.code,
        runtimeType: 'Python',
        versionPublishedBy: 'admin',
        creationTime: new Date().toISOString(),
        inputParameterDefinitions: body.inputs,
        outputParameterDefinitions: body.outputs,
        outputFileNames: body.outputFileNames,
        myPermissionOnService: 'read/write',
        operationId: body.operationId ?? body.functionName ?? body.name
      };
      const notCaptured = Object.fromEntries(
        Object.entries(NOT_CAPTURED).filter(([name]) => (body.objects as string[]).includes(name))
      );
      state.jobs.set('job1', { polls: 0, service, notCaptured, files: (body.files as string[]).length > 0 });
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
        jobId: parts[1],
        steps: names.map((name, i) => ({
          name,
          state:
            name === 'files' && !job.files && i < reached
              ? 'skipped'
              : done || i < reached - 1
                ? 'done'
                : i === reached - 1
                  ? 'running'
                  : 'pending',
          detail: name === 'capture' && Object.keys(job.notCaptured).length ? `not captured: ${Object.keys(job.notCaptured).join(', ')}` : null
        })),
        bytesUploaded: Math.min(reached, 2) * 1.2 * 1024 * 1024,
        totalBytes: 2.4 * 1024 * 1024,
        service: done ? job.service : null,
        error: null,
        notCaptured: job.notCaptured,
        elapsed: job.polls * 0.5
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
      if (parts[3] === 'batch' && parts.length === 4 && method === 'POST') {
        const id = `exec${state.batches.size + 1}`;
        state.batches.set(id, { polls: 0, total: (body.records as unknown[]).length, cancelled: false });
        return json(route, 202, { executionId: id });
      }
      if (parts[3] === 'batch' && parts[4]) {
        const batch = state.batches.get(parts[4]);
        if (!batch || batch.cancelled) {
          return json(route, 404, { message: `no batch execution ${parts[4]}`, field: null, step: null });
        }
        if (method === 'DELETE') {
          batch.cancelled = true;
          return json(route, 200, { deleted: true });
        }
        // a slow batch: one record every two polls, so there is time to cancel it
        batch.polls++;
        const completed = Math.min(batch.total, Math.floor(batch.polls / 2));
        return json(route, 200, {
          state: completed === batch.total ? 'Complete' : 'InProgress',
          completedItemCount: completed,
          totalItemCount: batch.total,
          // index-aligned with the records, null for the items not finished (as the o16n server answers)
          batchExecutionResults: Array.from({ length: batch.total }, (_, i) =>
            i < completed ? { success: true, outputParameters: { iris_type: 'versicolor' } } : null
          )
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
