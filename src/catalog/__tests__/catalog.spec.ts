import { IWebService } from '../../api/types';
import { parseRecords, splitCsvLine } from '../batchInput';
import { filterServices, formatDate, groupServices } from '../group';
import { makeSnippet, sampleInputsJson } from '../snippets';
import { describeSchema, listOperations } from '../swagger';

const svc = (name: string, version: string, extra: Partial<IWebService> = {}): IWebService => ({ name, version, ...extra });

describe('groupServices', () => {
  it('groups by name, names sorted, newest version first', () => {
    const groups = groupServices([
      svc('iris', 'v1', { creationTime: '2024-01-01T10:00:00' }),
      svc('Double', '1.0'),
      svc('iris', 'v2', { creationTime: '2024-02-01T10:00:00' }),
      svc('Double', '10.0'),
      svc('Double', '2.0')
    ]);
    expect(groups.map(g => g.name)).toEqual(['Double', 'iris']);
    expect(groups[0].versions.map(s => s.version)).toEqual(['10.0', '2.0', '1.0']);
    expect(groups[1].latest.version).toBe('v2');
  });

  it('filters on every word', () => {
    const list = [svc('Iris', 'v1', { description: 'flower variety', versionPublishedBy: 'ann' }), svc('Cars', 'v1')];
    expect(filterServices(list, 'flower ann').map(s => s.name)).toEqual(['Iris']);
    expect(filterServices(list, '')).toHaveLength(2);
    expect(filterServices(list, 'nothing')).toHaveLength(0);
  });

  it('formats .NET dates and leaves odd text alone', () => {
    expect(formatDate('2017-10-05T22:49:33.7832679')).toMatch(/^2017-10-0[56] \d\d:\d\d$/);
    expect(formatDate('yesterday')).toBe('yesterday');
    expect(formatDate(undefined)).toBe('');
  });
});

describe('snippets', () => {
  const iris = svc('Iris', 'v1', { inputParameterDefinitions: [{ name: 'flower_data', type: 'vector' }] });

  it('writes each language with the endpoint and sample inputs', () => {
    expect(sampleInputsJson(iris)).toBe('{"flower_data":[1,2,3]}');
    expect(makeSnippet('python-client', iris, 'http://srv:12800/')).toContain('svc(flower_data=[1, 2, 3])');
    expect(makeSnippet('requests', iris, 'http://srv:12800')).toContain('url + "/api/Iris/v1"');
    expect(makeSnippet('curl', iris, 'http://srv:12800')).toContain("-d '{\"flower_data\":[1,2,3]}'");
    expect(makeSnippet('typescript', iris, 'http://srv:12800')).toContain('/api/Iris/v1');
  });
});

describe('batch input', () => {
  it('reads JSON records, column dicts and bare values', () => {
    expect(parseRecords('[{"x": 1}, {"x": 2}]', ['x'])).toEqual({ records: [{ x: 1 }, { x: 2 }], error: null });
    expect(parseRecords('{"x": [1, 2]}', ['x']).records).toEqual([{ x: 1 }, { x: 2 }]);
    expect(parseRecords('[[7, 3.2], [1, 2]]', ['flower_data']).records).toEqual([{ flower_data: [7, 3.2] }, { flower_data: [1, 2] }]);
  });

  it('reads CSV with quoted JSON cells', () => {
    expect(splitCsvLine('a,"b, c","say ""hi"""')).toEqual(['a', 'b, c', 'say "hi"']);
    const parsed = parseRecords('flower_data,label\n"[7, 3.2, 4.7, 1.4]",x\n"[1, 2, 3, 4]",y', ['flower_data']);
    expect(parsed.error).toBeNull();
    expect(parsed.records[0]).toEqual({ flower_data: [7, 3.2, 4.7, 1.4], label: 'x' });
  });

  it('says what is wrong', () => {
    expect(parseRecords('', ['x']).error).toMatch(/Paste/);
    expect(parseRecords('[{"y": 1}]', ['x']).error).toMatch(/Missing input: x/);
    expect(parseRecords('[1, 2', ['x']).error).toMatch(/JSON/);
  });
});

describe('swagger', () => {
  const doc = {
    swagger: '2.0',
    info: { title: 'Iris', version: 'v1' },
    paths: {
      '/api/Iris/v1': {
        post: {
          operationId: 'predict_iris',
          parameters: [{ name: 'WebServiceParameters', in: 'body', required: true, schema: { $ref: '#/definitions/InputParameters' } }],
          responses: { '200': { description: 'OK', schema: { $ref: '#/definitions/WebServiceResult' } } }
        }
      },
      '/login': { post: { operationId: 'Login', responses: {} } }
    },
    definitions: {
      InputParameters: { type: 'object', properties: { flower_data: { type: 'array', items: { type: 'number' } } } },
      WebServiceResult: { type: 'object', properties: { success: { type: 'boolean' } } }
    }
  };

  it('lists operations and describes schemas', () => {
    const ops = listOperations(doc);
    expect(ops.map(o => `${o.method} ${o.path} ${o.operationId}`)).toEqual(['POST /api/Iris/v1 predict_iris', 'POST /login Login']);
    expect(describeSchema(doc, ops[0].parameters[0].schema)).toBe('InputParameters {flower_data: array<number>}');
  });
});
