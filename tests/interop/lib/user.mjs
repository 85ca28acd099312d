// "The user" without a browser: loads our login and consent pages, fills the forms as a person
// would (user name, password, the consent form's Approve button), keeps cookies between pages
// and follows redirects by hand until the browser would leave for the client's redirect URI.
// Only what a browser does: no knowledge of the server's internals beyond the HTML it sends.

const ENTITIES = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0' };

export function decodeEntities(text) {
  return text.replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/gi, (whole, body) => {
    if (body[0] === '#') {
      const code = body[1] === 'x' || body[1] === 'X' ? parseInt(body.slice(2), 16) : parseInt(body.slice(1), 10);
      return String.fromCodePoint(code);
    }
    return ENTITIES[body.toLowerCase()] ?? whole;
  });
}

function attributes(tag) {
  const attrs = {};
  const re = /([^\s=/>"']+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+)))?/g;
  const inner = tag.replace(/^<\s*[a-z]+/i, '').replace(/\/?>$/, '');
  let m;
  while ((m = re.exec(inner))) {
    attrs[m[1].toLowerCase()] = decodeEntities(m[2] ?? m[3] ?? m[4] ?? '');
  }
  return attrs;
}

/** Every form of a page: action, method, inputs (name → value) and submit buttons. */
export function parseForms(html) {
  const forms = [];
  const formRe = /<form\b[^>]*>([\s\S]*?)<\/form>/gi;
  let m;
  while ((m = formRe.exec(html))) {
    const open = m[0].match(/<form\b[^>]*>/i)[0];
    const attrs = attributes(open);
    const inputs = [];
    for (const tag of m[1].match(/<input\b[^>]*>/gi) ?? []) {
      const a = attributes(tag);
      if (a.name) inputs.push({ name: a.name, value: a.value ?? '', type: (a.type ?? 'text').toLowerCase() });
    }
    const buttons = [];
    const buttonRe = /<button\b[^>]*>([\s\S]*?)<\/button>/gi;
    let b;
    while ((b = buttonRe.exec(m[1]))) {
      const a = attributes(b[0].match(/<button\b[^>]*>/i)[0]);
      buttons.push({ name: a.name, value: a.value ?? '', type: (a.type ?? 'submit').toLowerCase(), text: b[1].replace(/<[^>]+>/g, '').trim() });
    }
    forms.push({ action: attrs.action ?? '', method: (attrs.method ?? 'get').toLowerCase(), inputs, buttons });
  }
  return forms;
}

export class CookieJar {
  #cookies = new Map(); // name → value (one host: the server under test)
  store(response) {
    for (const line of response.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const maxAge = attrs.map((a) => a.trim().toLowerCase()).find((a) => a.startsWith('max-age='));
      if (value === '' || (maxAge && Number(maxAge.slice(8)) <= 0)) this.#cookies.delete(name);
      else this.#cookies.set(name, value);
    }
  }
  header() {
    return [...this.#cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }
  has(name) {
    return this.#cookies.has(name);
  }
}

function sameEndpoint(a, b) {
  return a.origin === b.origin && a.pathname === b.pathname;
}

export class User {
  constructor({ username, password }) {
    this.username = username;
    this.password = password;
    this.jar = new CookieJar();
  }

  async #request(url, { method = 'GET', form } = {}) {
    const headers = { accept: 'text/html', 'user-agent': 'omnichat-interop-user' };
    const cookie = this.jar.header();
    if (cookie) headers.cookie = cookie;
    let body;
    if (form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(form).toString();
    }
    const res = await fetch(url, { method, headers, body, redirect: 'manual' });
    this.jar.store(res);
    return res;
  }

  /**
   * Goes through `/authorize` as the person at the keyboard: signs in when asked, answers the
   * consent page with `decision` ("approve" or "deny"), and stops when the server sends the
   * browser to `redirectUri`. With `deliver`, that last request is also made (so a client's
   * loopback callback server receives it).
   * @returns {Promise<{callback: URL, pages: {kind: string, url: string, status: number, html: string}[]}>}
   */
  async authorize(authorizationUrl, { redirectUri, decision = 'approve', deliver = false, maxSteps = 12 } = {}) {
    const target = new URL(redirectUri);
    const pages = [];
    let url = new URL(authorizationUrl);
    let method = 'GET';
    let form;
    for (let step = 0; step < maxSteps; step++) {
      if (method === 'GET' && sameEndpoint(url, target)) {
        if (deliver) {
          const res = await fetch(url, { redirect: 'manual' });
          await res.arrayBuffer();
        }
        return { callback: url, pages };
      }
      const res = await this.#request(url, { method, form });
      if (res.status >= 300 && res.status < 400) {
        const location = res.headers.get('location');
        if (!location) throw new Error(`${res.status} from ${url} without Location`);
        await res.arrayBuffer();
        url = new URL(location, url);
        method = 'GET';
        form = undefined;
        continue;
      }
      const html = await res.text();
      const forms = parseForms(html);
      const loginForm = forms.find((f) => f.inputs.some((i) => i.name === 'password'));
      const consentForm = forms.find((f) => f.buttons.some((b) => b.name === 'decision'));
      if (res.status === 200 && loginForm) {
        pages.push({ kind: 'login', url: url.href, status: res.status, html });
        form = this.#fill(loginForm, { username: this.username, password: this.password });
        url = new URL(loginForm.action || url.href, url);
        method = loginForm.method.toUpperCase();
        continue;
      }
      if (res.status === 200 && consentForm) {
        pages.push({ kind: 'consent', url: url.href, status: res.status, html });
        const button = consentForm.buttons.find((b) => b.name === 'decision' && b.value === decision);
        if (!button) throw new Error(`consent page has no "${decision}" button: ${JSON.stringify(consentForm.buttons)}`);
        form = this.#fill(consentForm, {});
        form.push([button.name, button.value]);
        url = new URL(consentForm.action || url.href, url);
        method = consentForm.method.toUpperCase();
        continue;
      }
      pages.push({ kind: 'other', url: url.href, status: res.status, html });
      const text = html.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').trim().slice(0, 400);
      const error = new Error(`unexpected page ${res.status} at ${url.pathname}: ${text}`);
      error.pages = pages;
      throw error;
    }
    throw new Error(`no redirect to ${redirectUri} after ${maxSteps} steps`);
  }

  #fill(form, values) {
    const pairs = [];
    for (const input of form.inputs) {
      if (input.type === 'submit' || input.type === 'button') continue;
      pairs.push([input.name, input.name in values ? values[input.name] : input.value]);
    }
    for (const [name, value] of Object.entries(values)) {
      if (!form.inputs.some((i) => i.name === name)) throw new Error(`form has no "${name}" field`);
      void value;
    }
    return pairs;
  }
}
