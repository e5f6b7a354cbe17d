/**
 * Signing in with OpenID Connect from the catalog, against real parts: the Python tests' OpenID
 * provider (node-oidc-provider), an o16n server that takes its tokens, and a JupyterLab of its own
 * (port 8891, oidc_stack.py) whose o16n extension is set up for the device-code sign-in. The user
 * clicks "Sign in with OpenID Connect", reads the code in the catalog, signs in on the provider's
 * own pages in another tab, and the catalog then says how they signed in.
 */
import { expect, test } from '@jupyterlab/galata';
import { Browser, Page } from '@playwright/test';
import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const PORT = 8891;
const LAB = `http://localhost:${PORT}`;
const SHOTS = path.resolve(__dirname, '..', '..', 'docs', 'screenshots');
const PROVIDER = path.resolve(__dirname, '..', '..', 'python_bridge', 'tests', 'oidc', 'node_modules', 'oidc-provider');

function startStack(stateDir: string): ChildProcess {
  const stack = spawn('python', ['oidc_stack.py', stateDir, String(PORT)], {
    cwd: path.resolve(__dirname, '..'),
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe']
  });
  stack.stderr?.on('data', () => undefined);
  return stack;
}

async function stopStack(stack: ChildProcess): Promise<void> {
  if (stack.exitCode !== null || !stack.pid) {
    return;
  }
  const exited = new Promise(resolve => stack.once('exit', resolve));
  process.kill(stack.pid, 'SIGTERM'); // the helper stops JupyterLab, the o16n server and the provider
  await Promise.race([exited, new Promise(resolve => setTimeout(resolve, 60000))]);
  if (stack.exitCode === null) {
    process.kill(-stack.pid, 'SIGKILL');
  }
}

async function waitForLab(page: Page): Promise<void> {
  for (let i = 0; i < 240; i++) {
    const status = await page.request
      .get(`${LAB}/o16n/status`)
      .then(r => (r.ok() ? r.json() : null))
      .catch(() => null);
    if (status && status.loginMethods?.includes('device')) {
      return;
    }
    await page.waitForTimeout(500);
  }
  throw new Error('the JupyterLab set up for the device sign-in did not come up');
}

async function openLab(browser: Browser): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  await page.goto(`${LAB}/lab`);
  await page.waitForFunction(() => (window as any).jupyterapp?.started !== undefined);
  await page.evaluate(() => (window as any).jupyterapp.restored);
  return page;
}

test.describe('OpenID Connect device sign-in', () => {
  test.use({ autoGoto: false });
  test.setTimeout(300000);

  test('the catalog shows the code; the user signs in at the provider; the catalog says how', async ({
    page: galataPage,
    baseURL,
    browser
  }) => {
    const status = await galataPage.request.get(`${baseURL}/o16n/status`).catch(() => null);
    test.skip(!status || !status.ok(), 'the o16n Jupyter server extension is not installed or does not answer');
    test.skip(!fs.existsSync(PROVIDER), 'the OpenID provider of the tests is not installed (cd python_bridge/tests/oidc && npm ci)');
    const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'o16n-ui-oidc-'));
    const stack = startStack(stateDir);
    try {
      await waitForLab(galataPage);
      const page = await openLab(browser);
      await page.locator('.jp-SideBar [data-id="o16n-catalog"]').click();
      const catalog = page.locator('#o16n-catalog');
      await catalog.getByRole('button', { name: 'Sign in with OpenID Connect' }).click();

      const prompt = catalog.getByRole('region', { name: 'Sign in with OpenID Connect' });
      await expect(prompt).toBeVisible();
      const code = (await prompt.locator('.o16n-device-code').textContent())!.trim();
      expect(code).toMatch(/^[A-Z]{4}-[A-Z]{4}$/);
      await expect(prompt.getByLabel(`Sign-in code ${code}`)).toBeVisible();
      await expect(prompt.getByRole('button', { name: 'Copy the sign-in code' })).toBeVisible();
      await expect(prompt.getByText(/The code expires in 10 minutes/)).toBeVisible();
      const link = prompt.getByRole('link', { name: /\/device$/ });
      const href = (await link.getAttribute('href'))!;
      expect(await link.getAttribute('target')).toBe('_blank');
      if (process.env.O16N_SCREENSHOTS) {
        await catalog.screenshot({ path: path.join(SHOTS, 'device-sign-in.png') });
      }

      // the user, in another tab: the provider's own pages
      const provider = await browser.newPage();
      await provider.goto(href);
      await provider.locator('input[name="user_code"]').fill(code);
      await provider.getByRole('button', { name: 'Continue' }).click();
      await expect(provider.getByRole('heading', { name: 'Confirm Device' })).toBeVisible();
      await provider.getByRole('button', { name: 'Continue' }).click();
      await provider.locator('input[name="login"]').fill('alice');
      await provider.locator('input[name="password"]').fill('any password');
      await provider.getByRole('button', { name: 'Sign-in' }).click();
      await provider.getByRole('button', { name: 'Continue' }).click(); // consent
      await expect(provider.getByRole('heading', { name: 'Sign-in Success' })).toBeVisible();
      await provider.close();

      // the extension polled the provider meanwhile; the catalog follows without a click
      await expect(catalog.getByText('Signed in with OpenID Connect as alice@example.org (Contributor)')).toBeVisible({
        timeout: 30000
      });
      await expect(prompt).toHaveCount(0);
      await expect(catalog.getByText('No web services yet.')).toBeVisible();
      if (process.env.O16N_SCREENSHOTS) {
        await catalog.screenshot({ path: path.join(SHOTS, 'signed-in-oidc.png') });
      }
      await page.close();
    } finally {
      await stopStack(stack);
      fs.rmSync(stateDir, { recursive: true, force: true });
    }
  });
});
