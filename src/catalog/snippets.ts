/** Code that calls a service from elsewhere: Python client, requests, curl, TypeScript fetch. */
import { IWebService } from '../api/types';
import { sampleValue } from '../common/values';

export type SnippetLanguage = 'python-client' | 'requests' | 'curl' | 'typescript';

export const SNIPPET_LABELS: Record<SnippetLanguage, string> = {
  'python-client': 'Python (o16n client)',
  requests: 'Python (requests)',
  curl: 'curl',
  typescript: 'TypeScript (fetch)'
};

/** Sample inputs as a JSON object text, one entry per input. */
export function sampleInputsJson(service: IWebService, indent = 0): string {
  const entries = (service.inputParameterDefinitions ?? []).map(p => [p.name, JSON.parse(sampleValue(p.type))]);
  return JSON.stringify(Object.fromEntries(entries), null, indent || undefined);
}

function pyLiteral(value: unknown): string {
  if (value === true) {
    return 'True';
  }
  if (value === false) {
    return 'False';
  }
  if (value === null) {
    return 'None';
  }
  if (Array.isArray(value)) {
    return `[${value.map(pyLiteral).join(', ')}]`;
  }
  if (typeof value === 'object') {
    return `{${Object.entries(value as Record<string, unknown>)
      .map(([k, v]) => `${JSON.stringify(k)}: ${pyLiteral(v)}`)
      .join(', ')}}`;
  }
  return JSON.stringify(value);
}

/**
 * A snippet calling the service. `passwordFile`: the embedded server's admin password file (from
 * /o16n/status), so that the snippets say where the password is.
 */
export function makeSnippet(language: SnippetLanguage, service: IWebService, serverUrl: string, passwordFile: string | null = null): string {
  const base = (serverUrl || 'http://localhost:12800').replace(/\/+$/, '');
  const path = `/api/${encodeURIComponent(service.name)}/${encodeURIComponent(service.version)}`;
  const inputs = (service.inputParameterDefinitions ?? []).map(p => ({
    name: p.name,
    value: JSON.parse(sampleValue(p.type)) as unknown
  }));
  const json = JSON.stringify(Object.fromEntries(inputs.map(i => [i.name, i.value])));
  const file = passwordFile ? JSON.stringify(passwordFile) : '';
  // where the credentials come from: the embedded server's admin, or a user of the o16n server
  const credentials = passwordFile
    ? `# the embedded server's user is admin; its password is in ${passwordFile}`
    : '# log in as a user of the o16n server';
  const user = passwordFile ? 'admin' : 'USER';
  switch (language) {
    case 'python-client': {
      const kwargs = inputs.map(i => `${i.name}=${pyLiteral(i.value)}`).join(', ');
      const login = passwordFile
        ? [
            `# credentials: O16N_USER / O16N_PASSWORD; the embedded server's user is admin, its password is in ${passwordFile}`,
            `client = connect(${JSON.stringify(base)}, username="admin", password=open(${file}).read().strip())`
          ]
        : [`client = connect(${JSON.stringify(base)})  # credentials: O16N_USER / O16N_PASSWORD`];
      return [
        'from o16n.client import connect',
        '',
        ...login,
        `svc = client.get_service(${JSON.stringify(service.name)}, ${JSON.stringify(service.version)})`,
        `result = svc(${kwargs})`,
        'print(result.output() if result.success else result.error)'
      ].join('\n');
    }
    case 'requests':
      return [
        'import requests',
        '',
        `url = ${JSON.stringify(base)}`,
        credentials,
        passwordFile ? `password = open(${file}).read().strip()` : 'password = "PASSWORD"',
        `token = requests.post(url + "/login", json={"username": "${user}", "password": password}).json()["access_token"]`,
        'headers = {"Authorization": "Bearer " + token}',
        `resp = requests.post(url + ${JSON.stringify(path)}, headers=headers, json=${pyLiteral(JSON.parse(json))})`,
        'print(resp.json()["outputParameters"])'
      ].join('\n');
    case 'curl':
      return [
        credentials,
        passwordFile ? `PASSWORD=$(cat '${passwordFile.replace(/'/g, "'\\''")}')` : 'PASSWORD=...',
        `TOKEN=$(curl -s -X POST ${base}/login -H "Content-Type: application/json" \\`,
        `  -d "{\\"username\\": \\"${user}\\", \\"password\\": \\"$PASSWORD\\"}" | python3 -c 'import sys, json; print(json.load(sys.stdin)["access_token"])')`,
        `curl -s -X POST ${base}${path} \\`,
        '  -H "Authorization: Bearer $TOKEN" -H "Content-Type: application/json" \\',
        `  -d '${json.replace(/'/g, "'\\''")}'`
      ].join('\n');
    case 'typescript':
      return [
        credentials.replace(/^#/, '//'),
        `const url = ${JSON.stringify(base)};`,
        `const password = ${passwordFile ? `(await import('fs')).readFileSync(${file}, 'utf8').trim()` : "'PASSWORD'"};`,
        'const login = await fetch(`${url}/login`, {',
        "  method: 'POST',",
        "  headers: { 'Content-Type': 'application/json' },",
        `  body: JSON.stringify({ username: '${user}', password })`,
        '});',
        'const { access_token } = await login.json();',
        `const response = await fetch(\`\${url}${path}\`, {`,
        "  method: 'POST',",
        "  headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${access_token}` },",
        `  body: JSON.stringify(${json})`,
        '});',
        'const result = await response.json();',
        'console.log(result.outputParameters);'
      ].join('\n');
  }
}
