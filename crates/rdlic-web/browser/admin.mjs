// Drives the rdlic admin page in Debian's headless Chromium through playwright-core (no downloaded browser).
// Started by crates/rdlic-web/tests/browser.rs, which runs a real license server and passes, in the environment:
//   RDLIC_BASE      the page (…/admin/)            RDLIC_API    the license server (host API, mutual TLS)
//   RDLIC_CA        the server's ca.crt            RDLIC_TOKEN  the admin token
//   RDLIC_PASSWORD  the admin password set by `rdlic server init`
//   RDLIC_FILES     dir with activation.txt, device-pack.txt, user-pack.txt, foreign-pack.txt, not-a-pack.txt
//   RDLIC_SHOTS     where screenshots and the downloaded CSV go
//   RDLIC_LANG      en or fr (Chromium's --lang)   RDLIC_CHROMIUM  the browser binary
// Every wait is for a condition on the page, with a deadline; the script exits non-zero at the first failure.
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';

const env = (k) => {
  const v = process.env[k];
  if (!v) throw new Error(`missing ${k}`);
  return v;
};
const BASE = env('RDLIC_BASE');
const API = new URL(env('RDLIC_API'));
const CA = fs.readFileSync(env('RDLIC_CA'));
const TOKEN = env('RDLIC_TOKEN');
const PASSWORD = env('RDLIC_PASSWORD');
const FILES = env('RDLIC_FILES');
const SHOTS = env('RDLIC_SHOTS');
const LANG = env('RDLIC_LANG');
const CHROMIUM = env('RDLIC_CHROMIUM');
const WAIT_MS = 20000;

// What the page must say, per language.
const EXPECT = {
  en: {
    tokenRefused: /Neither the admin password nor the admin token matched/, notActivated: 'Not activated', activated: 'Activated',
    notAPack: /not a key pack/, foreign: /issued to another license server/, installed: /installed: 2 per device CALs, version 2022/,
    activatedNow: /is activated/, revokedOk: /revoked: it went back/, limit: /version 2022 already has 1 revoked CAL\(s\), the most allowed at a time is 1/,
    rule: /at most 20% of the per-device CALs/, next: /next revocation of a version 2022 CAL is possible on/,
    enrollCmd: 'rdlic host enroll --server', refusalWarn: /CAL requests refused since the server started: 1\./, usersSummary: /2 users hold a per-user CAL/,
    hostRevoked: 'Revoked', serverUp: 'Running',
    refusalWhy: /No license server was available and the grace period is over \(ERRINFO 0x00000101\)/, graceOver: 'Over',
    ruleNumbers: /1 for version 2022/, canLicense: /would be refused/, reported: /licensing mode: Not configured · grace period: Over/,
  },
  fr: {
    tokenRefused: /Ni le mot de passe ni le jeton d’administration ne correspondent/, notActivated: 'Non activé', activated: 'Activé',
    notAPack: /n’est pas un pack de licences/, foreign: /émis pour un autre serveur de licences/, installed: /installé : 2 CAL par périphérique, version 2022/,
    activatedNow: /est activé/, revokedOk: /révoquée : elle est retournée/, limit: /la version 2022 compte déjà 1 CAL révoquée\(s\), le maximum autorisé en même temps est 1/,
    rule: /au plus 20 % des CAL par périphérique/, next: /prochaine révocation d’une CAL de version 2022 sera possible le/,
    enrollCmd: 'rdlic host enroll --server', refusalWarn: /Demandes de CAL refusées depuis le démarrage du serveur : 1\./, usersSummary: /2 utilisateurs détiennent/,
    hostRevoked: 'Révoqué', serverUp: 'En marche',
    refusalWhy: /Aucun serveur de licences n’était disponible et la période de grâce est terminée \(ERRINFO 0x00000101\)/, graceOver: 'Terminée',
    ruleNumbers: /1 pour la version 2022/, canLicense: /serait refusé/, reported: /mode de licence : Non configuré · période de grâce : Terminée/,
  },
}[LANG];

let step = 'start';
let openPage = null; // for a screenshot of what the page showed when a step failed
const shots = [];
const fail = (msg) => {
  throw new Error(`[${LANG}] ${step}: ${msg}`);
};

/** Waits until `fn()` returns a truthy value (polling the page's state), or fails with `what`. */
async function until(what, fn) {
  const deadline = Date.now() + WAIT_MS;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) fail(`timed out waiting for ${what} (last: ${last})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The visible text of `selector`, waiting until it matches `re` (a RegExp or a substring). */
async function expectText(page, selector, re, what) {
  return until(what || `${selector} ~ ${re}`, async () => {
    const el = page.locator(selector).first();
    if (!(await el.count()) || !(await el.isVisible())) return null;
    const text = await el.innerText();
    return (typeof re === 'string' ? text.includes(re) : re.test(text)) ? text : null;
  });
}

/** An error shown in words: no JSON punctuation from the API body. */
function assertWords(text) {
  if (/[{}]|"error"|"code"/.test(text)) fail(`raw JSON shown to the user: ${text}`);
}

async function shot(page, name) {
  const file = path.join(SHOTS, `${LANG}-${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  shots.push(file);
}

async function go(page, name) {
  await page.locator(`nav a[data-page=${name}]`).click();
  await until(`page ${name}`, async () => (await page.locator(`main[data-page=${name}]`).count()) > 0);
}

/** A call to the host API of the license server with an enrolled host's client certificate (mutual TLS). */
function hostApi(method, p, body, identity) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const req = https.request({
      host: API.hostname, port: API.port, path: p, method, ca: CA,
      cert: identity && identity.cert, key: identity && identity.key,
      headers: data ? { 'content-type': 'application/json', 'content-length': data.length } : {},
    }, (res) => {
      let text = '';
      res.on('data', (c) => { text += c; });
      res.on('end', () => resolve({ status: res.statusCode, json: text ? JSON.parse(text) : null }));
    });
    req.on('error', reject);
    if (data) req.write(data);
    req.end();
  });
}

/** A host report as `rdlic host run` sends it: past the grace period, mode not configured, one refusal. */
function hostReport() {
  return {
    licensing_mode: 'not-configured',
    grace: { state: 'expired', days_left: 0 },
    can_license: false,
    findings: [
      { check: 'role', server: null, severity: 'ok', cause: null, cause_text: null, evidence: 'RDS-RD-Server InstallState = 1', evidence_key: 'ev-role-installed', evidence_args: {}, article_cause: null, fixes: [] },
      { check: 'licensing-mode', server: null, severity: 'error', cause: 'cals-misconfigured', article_cause: 4,
        cause_text: 'Cause 4: a license server with CALs exists, but the host is not configured to use them.',
        evidence: 'LicensingMode = 5 (not configured) and the grace period is over: every licensed connection is refused.', evidence_key: 'ev-mode-not-configured', evidence_args: {},
        fixes: [{ command: 'rdlic reg add "HKLM\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server\\RCM\\Licensing Core" /v LicensingMode /t REG_DWORD /d 2', text: 'Set LicensingMode to 2 (per device), then restart the host.', applied_by_fix: true, restart: true }] },
      { check: 'reachable', server: 'https://ls1.example:8443', severity: 'ok', cause: null, cause_text: null, evidence: 'TCP connection in 0.4 ms', evidence_key: 'ev-tcp-ok', evidence_args: {}, article_cause: null, fixes: [] },
    ],
    refusals: [
      { at: Math.floor(Date.now() / 1000) - 30, client: 'PC-REFUSED', user: 'WORKGROUP\\carol', decision: 'refuse error_code=0x6 errinfo=0x101',
        reason: 'licensing mode not configured and the grace period is over', errinfo: 0x101, license_server: null },
    ],
  };
}

function hardwareId(n) {
  const b = Buffer.alloc(20);
  b.writeUInt32LE(0x02010000, 0);
  b.writeUInt32LE(n, 4);
  return b.toString('hex');
}

/** Issue (temporary) then upgrade (permanent) a per-device CAL for device `PC{n}`, as a session host does. */
async function licenseDevice(identity, n) {
  const ask = { hardware_id: hardwareId(n), client_machine: `PC${n}`, user: `user${n}`, platform_id: 0x02010000, host_version: 2022 };
  const tmp = await hostApi('POST', '/api/v1/cal/device', { reason: 'issue', ...ask }, identity);
  if (tmp.status !== 200 || tmp.json.kind !== 'temporary') fail(`issue PC${n}: ${JSON.stringify(tmp)}`);
  const perm = await hostApi('POST', '/api/v1/cal/device', { reason: 'upgrade', presented_serial: tmp.json.serial, ...ask }, identity);
  if (perm.status !== 200 || perm.json.kind !== 'permanent') fail(`upgrade PC${n}: ${JSON.stringify(perm)}`);
  return perm.json.serial;
}

async function upload(page, inputId, file, button) {
  await page.locator(`#${inputId}`).setInputFiles(path.join(FILES, file));
  await page.locator(`[data-testid=${button}]`).click();
}

async function calCell(page, col) {
  const cell = page.locator(`[data-testid=cal-table] tr[data-cal=per-device-2022] td[data-col=${col}]`);
  return (await cell.count()) ? (await cell.innerText()).trim() : null;
}

async function main() {
  fs.mkdirSync(SHOTS, { recursive: true });
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', `--lang=${LANG}`, '--ignore-certificate-errors'],
  });
  // Playwright emulates en-US in every new context unless told otherwise, hiding Chromium's --lang: give the same
  // language as the locale of the context too, so navigator.languages and Accept-Language say what --lang says.
  const context = await browser.newContext({
    acceptDownloads: true, ignoreHTTPSErrors: true, viewport: { width: 1280, height: 860 },
    locale: LANG === 'fr' ? 'fr-FR' : 'en-US',
  });
  const page = await context.newPage();
  openPage = page;
  const consoleErrors = [];
  page.on('console', (m) => {
    // The browser itself logs every 4xx answer; those are expected (bad token, refusals). Anything else is a bug.
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => consoleErrors.push(String(e)));
  page.on('dialog', (d) => d.accept());

  step = 'language';
  await page.goto(BASE);
  const navLang = await page.evaluate(() => navigator.language);
  if (!navLang.toLowerCase().startsWith(LANG)) fail(`navigator.language is ${navLang}, Chromium --lang=${LANG} not applied`);
  if ((await page.evaluate(() => document.documentElement.lang)) !== LANG) fail('page did not pick the browser language');
  await shot(page, '01-login');

  step = 'wrong token';
  await page.locator('#token').fill('not-the-token');
  await page.locator('form.login button').click();
  assertWords(await expectText(page, '[data-testid=login-error]', EXPECT.tokenRefused));
  await shot(page, '02-login-refused');

  step = 'sign in with the password';
  await page.locator('#token').fill(PASSWORD);
  await page.locator('form.login button').click();
  await expectText(page, '[data-testid=activation-badge]', EXPECT.notActivated);
  await page.locator('[data-testid=cal-table-empty]').waitFor();
  // A mark in this document: if anything below reloads the page, it is gone and the last step fails.
  await page.evaluate(() => { window.rdlicNoReload = true; });
  await shot(page, '03-overview-empty');

  step = 'enroll a host';
  await go(page, 'hosts');
  await page.locator('[data-testid=make-token]').click();
  const token = (await expectText(page, '[data-testid=enroll-token]', /^[0-9a-f]{16,}$/)).trim();
  const cmd = await expectText(page, '[data-testid=enroll-command]', EXPECT.enrollCmd);
  if (!cmd.includes(`--token ${token}`)) fail(`command lacks the token: ${cmd}`);
  await shot(page, '04-hosts-token');
  const enrolled = await hostApi('POST', '/api/v1/enroll', { token, host_name: 'rdsh1' });
  if (enrolled.status !== 200) fail(`enroll: ${JSON.stringify(enrolled)}`);
  const identity = { cert: enrolled.json.certificate_pem, key: enrolled.json.private_key_pem };
  // The host appears without a reload (polling).
  await page.locator('[data-testid=hosts] tr[data-host=rdsh1]').waitFor({ timeout: WAIT_MS });

  step = 'refusal appears';
  const refused = await hostApi('POST', '/api/v1/cal/user', { user: 'early', host_version: 2022 }, identity);
  if (refused.status !== 409 || refused.json.code !== 'no_license') fail(`expected a refusal: ${JSON.stringify(refused)}`);
  await go(page, 'overview');
  await expectText(page, '[data-testid=card-refusals] .value', /^1$/);
  await expectText(page, '[data-testid=overview-hosts] tr[data-host=rdsh1]', 'rdsh1');
  // This server's row in the cluster list, with a recent heartbeat.
  await expectText(page, '[data-testid=servers] tr[data-this=true] td[data-col=state]', EXPECT.serverUp);
  await page.locator('[data-testid=refusals-empty]').waitFor();

  step = 'host report appears';
  // The enrolled host reports a refusal it decided and its `rdlic diagnose --json` findings, while the page is
  // open on the overview: both appear without a reload.
  const reported = await hostApi('POST', '/api/v1/host/report', hostReport(), identity);
  if (reported.status !== 200) fail(`host report: ${JSON.stringify(reported)}`);
  const why = await expectText(page, '[data-testid=refusals] tr[data-client=PC-REFUSED]', EXPECT.refusalWhy);
  if (!why.includes('rdsh1') || !why.includes('WORKGROUP\\carol')) fail(`refusal row: ${why}`);
  await expectText(page, '[data-testid=overview-hosts] tr[data-host=rdsh1] td[data-col=grace]', EXPECT.graceOver);
  await shot(page, '05-overview-refusal');

  step = 'bad key packs';
  await go(page, 'keypacks');
  await upload(page, 'pack-file', 'not-a-pack.txt', 'install-pack');
  assertWords(await expectText(page, '[data-testid=notice]', EXPECT.notAPack));
  await upload(page, 'pack-file', 'foreign-pack.txt', 'install-pack');
  assertWords(await expectText(page, '[data-testid=notice]', EXPECT.foreign));
  await page.locator('[data-testid=packs-empty]').waitFor();
  await shot(page, '06-keypack-refused');

  step = 'activate';
  await upload(page, 'activation-file', 'activation.txt', 'activate');
  await expectText(page, '[data-testid=notice]', EXPECT.activatedNow);
  await expectText(page, '[data-testid=activation-badge]', EXPECT.activated);

  step = 'install packs';
  await upload(page, 'pack-file', 'device-pack.txt', 'install-pack');
  await expectText(page, '[data-testid=notice]', EXPECT.installed);
  await upload(page, 'pack-file', 'user-pack.txt', 'install-pack');
  await until('two packs listed', async () => (await page.locator('[data-testid=packs] tbody tr').count()) === 2);
  await shot(page, '07-keypacks');

  step = 'counts change after licensing';
  await go(page, 'overview');
  await until('2 installed, 0 issued', async () => (await calCell(page, 'installed')) === '2' && (await calCell(page, 'issued')) === '0');
  await licenseDevice(identity, 1);
  await licenseDevice(identity, 2);
  await until('2 issued, 0 available (no reload)', async () => (await calCell(page, 'issued')) === '2' && (await calCell(page, 'available')) === '0');
  await until('chart counts 4 CALs', async () => (await page.locator('[data-testid=chart]').getAttribute('data-total')) === '4');
  await page.locator('[data-testid=chart] svg rect.bar.permanent').first().waitFor();
  await shot(page, '08-overview-issued');

  step = 'search and revoke';
  await go(page, 'licenses');
  await page.locator('#license-search').fill('PC1');
  await until('one row for PC1', async () => (await page.locator('[data-testid=licenses] tbody tr').count()) === 1
    && (await page.locator('[data-testid=licenses] tr[data-device=PC1]').count()) === 1);
  await page.locator('[data-testid=licenses] tr[data-device=PC1] button').click();
  await expectText(page, '[data-testid=notice]', EXPECT.revokedOk);
  await page.locator('[data-testid=licenses-empty]').waitFor();
  await page.locator('#license-search').fill('');
  await page.locator('[data-testid=licenses] tr[data-device=PC2] button').click();
  const refusal = await expectText(page, '[data-testid=notice]', EXPECT.limit);
  assertWords(refusal);
  if (!EXPECT.rule.test(refusal) || !EXPECT.next.test(refusal) || !EXPECT.ruleNumbers.test(refusal)) fail(`20% rule not explained: ${refusal}`);
  await shot(page, '09-licenses-revoke-refused');

  step = 'per-user report and CSV';
  for (const user of ['alice', 'bob']) {
    const r = await hostApi('POST', '/api/v1/cal/user', { user, host_version: 2022 }, identity);
    if (r.status !== 200) fail(`user CAL ${user}: ${JSON.stringify(r)}`);
  }
  await go(page, 'users');
  await expectText(page, '[data-testid=users-summary]', EXPECT.usersSummary);
  await page.locator('[data-testid=users] tr[data-user=bob]').waitFor();
  const [download] = await Promise.all([page.waitForEvent('download'), page.locator('[data-testid=download-csv]').click()]);
  const csvFile = path.join(SHOTS, `${LANG}-per-user-report.csv`);
  await download.saveAs(csvFile);
  const csv = fs.readFileSync(csvFile, 'utf8');
  if (download.suggestedFilename() !== 'per-user-report.csv') fail(`download named ${download.suggestedFilename()}`);
  if (!csv.startsWith('user,version,last_host,') || !/^alice,2022,rdsh1,/m.test(csv) || !/^bob,2022,rdsh1,/m.test(csv)) fail(`CSV: ${csv}`);
  await shot(page, '10-users');

  step = 'diagnostics';
  await go(page, 'diagnostics');
  await expectText(page, '[data-testid=diagnostics]', EXPECT.refusalWarn);
  const hostDiag = '[data-testid=host-diagnosis][data-host=rdsh1]';
  await expectText(page, hostDiag, EXPECT.reported);
  await expectText(page, `${hostDiag} [data-testid=can-license]`, EXPECT.canLicense);
  const finding = await expectText(page, `${hostDiag} tr[data-check=licensing-mode]`, 'LicensingMode = 5 (not configured)');
  if (!finding.includes('/v LicensingMode /t REG_DWORD /d 2') || !finding.includes('Cause 4')) fail(`finding without cause or fix: ${finding}`);
  await expectText(page, `${hostDiag} tr[data-check=reachable]`, 'https://ls1.example:8443');
  await shot(page, '11-diagnostics');

  step = 'revoke host';
  await go(page, 'hosts');
  await page.locator('[data-testid=hosts] tr[data-host=rdsh1] button').click();
  await expectText(page, '[data-testid=hosts] tr[data-host=rdsh1]', EXPECT.hostRevoked);
  const after = await hostApi('GET', '/api/v1/status', undefined, identity);
  if (after.status !== 403) fail(`revoked host still served: ${after.status}`);
  await shot(page, '12-hosts-revoked');

  step = 'sign in with the token';
  await page.locator('header button.secondary').click();
  await page.locator('#token').fill(TOKEN);
  await page.locator('form.login button').click();
  await expectText(page, '[data-testid=activation-badge]', EXPECT.activated);
  await shot(page, '13-signed-in-with-token');

  step = 'polls never overlap';
  // A slow server: each licenses request is answered 5 s late, longer than the 3 s between polls. A page that polls
  // on a fixed timer would have two or more in flight; this one has one at a time.
  let inFlight = 0;
  let most = 0;
  let served = 0;
  const slowLicenses = (url) => url.pathname === '/api/v1/admin/licenses';
  const slow = async (route) => {
    inFlight += 1;
    most = Math.max(most, inFlight);
    await new Promise((resolve) => setTimeout(resolve, 5000));
    try { await route.continue(); } finally { inFlight -= 1; served += 1; }
  };
  await page.route(slowLicenses, slow);
  await until('two slow license polls', async () => served >= 2);
  await page.unroute(slowLicenses, slow);
  if (most !== 1) fail(`${most} license polls were in flight at once`);

  step = 'no reload';
  if (!(await page.evaluate(() => window.rdlicNoReload === true))) fail('the page was reloaded during the flow');

  step = 'console';
  if (consoleErrors.length) fail(`console errors: ${consoleErrors.join(' | ')}`);
  await browser.close();
  for (const s of shots) console.log(`screenshot: ${s}`);
  console.log(`csv: ${csvFile}`);
  console.log(`ok: ${LANG} admin page flow passed`);
}

const watchdog = setTimeout(() => {
  console.error(`[${LANG}] ${step}: whole run took more than 180 s`);
  process.exit(3);
}, 180000);
main().then(() => clearTimeout(watchdog), async (e) => {
  console.error(e.stack || String(e));
  if (openPage) {
    const file = path.join(SHOTS, `${LANG}-failed.png`);
    await openPage.screenshot({ path: file, fullPage: true }).then(() => shots.push(file), () => {});
  }
  for (const s of shots) console.error(`screenshot: ${s}`);
  process.exit(1);
});
