/**
 * A user at the authorization server, without a browser: follows redirects with a cookie jar,
 * signs in and consents on oidc-provider's development pages (or aborts, to deny), and stops at
 * the first redirect that leaves the server — the app's callback.
 */
export async function actAsUser(
  authorizationUrl: string,
  options: { login?: string; deny?: boolean } = {},
): Promise<URL> {
  const origin = new URL(authorizationUrl).origin;
  const cookies = new Map<string, string>();
  const send = async (url: string, init: RequestInit = {}) => {
    const response = await fetch(url, {
      ...init,
      redirect: 'manual',
      headers: {
        ...(init.headers as Record<string, string>),
        cookie: [...cookies].map(([k, v]) => `${k}=${v}`).join('; '),
      },
    });
    for (const header of response.headers.getSetCookie()) {
      const [pair] = header.split(';');
      const [name, ...value] = (pair ?? '').split('=');
      if (name) cookies.set(name.trim(), value.join('='));
    }
    return response;
  };
  let url = authorizationUrl;
  for (let step = 0; step < 20; step++) {
    const response = await send(url);
    const location = response.headers.get('location');
    if (location) {
      const next = new URL(location, url);
      if (next.origin !== origin) return next;
      url = next.href;
      continue;
    }
    const page = await response.text();
    const interaction = new URL(url).pathname.match(/^\/interaction\/([^/]+)$/)?.[1];
    if (!interaction) throw new Error(`unexpected page at ${url} (${response.status})`);
    if (options.deny) {
      url = `${origin}/interaction/${interaction}/abort`;
      continue;
    }
    const form = page.includes('name="login"')
      ? new URLSearchParams({ prompt: 'login', login: options.login ?? 'user-1', password: 'any' })
      : new URLSearchParams({ prompt: 'consent' });
    const submitted = await send(`${origin}/interaction/${interaction}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: form.toString(),
    });
    const after = submitted.headers.get('location');
    if (!after) throw new Error(`the ${form.get('prompt')} form was not accepted (${submitted.status})`);
    url = new URL(after, url).href;
  }
  throw new Error('too many redirects');
}
