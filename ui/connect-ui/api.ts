/** The page's calls to Latchkey's API, all authenticated by the connect session token. */

export interface FormField {
  name: string;
  input: 'text' | 'secret' | 'multiline';
  optional: boolean;
  pattern?: string;
  default_value?: string;
}

export interface Integration {
  unique_key: string;
  provider: string;
  display_name: string;
  auth_mode: string;
  form: {
    kind: 'popup' | 'form' | 'unsupported';
    route: string | null;
    body_type: string | null;
    credentials: FormField[];
    connection_config: FormField[];
  };
}

export interface Session {
  isReconnecting?: boolean;
  expires_at: string;
}

/** A refusal from the API: its status, Latchkey's code and the server's message, shown as it is. */
export class ApiRefusal extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export class Api {
  constructor(
    readonly base: string,
    private readonly token: string,
  ) {}

  session(): Promise<Session> {
    return this.read<{ data: Session }>('connect/session').then((answer) => answer.data);
  }

  integrations(): Promise<Integration[]> {
    return this.read<{ data: Integration[] }>('connect/session/integrations').then((answer) => answer.data);
  }

  /** Posts submitted credentials the way `@nangohq/frontend` does: token and `params[…]` in the query. */
  async submit(
    route: string,
    key: string,
    body: Record<string, unknown> | null,
    params: Record<string, string>,
  ): Promise<{ connectionId: string; providerConfigKey: string }> {
    const response = await fetch(this.url(`${route}/${encodeURIComponent(key)}`, params), {
      method: 'POST',
      ...(body !== null && { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
    });
    return this.answer(response);
  }

  /** The URL with the session token and the `connection_config` values as `params[name]`. */
  url(path: string, params: Record<string, string> = {}): string {
    const url = new URL(path, `${this.base}/`);
    url.searchParams.set('connect_session_token', this.token);
    for (const [name, value] of Object.entries(params)) url.searchParams.set(`params[${name}]`, value);
    return url.href;
  }

  private async read<T>(path: string): Promise<T> {
    const response = await fetch(new URL(path, `${this.base}/`), {
      headers: { authorization: `Bearer ${this.token}` },
    });
    return this.answer<T>(response);
  }

  private async answer<T>(response: Response): Promise<T> {
    const body = (await response.json().catch(() => null)) as
      (T & { error?: { code?: string; message?: string }; message?: string }) | null;
    if (!response.ok) {
      const code = body?.error?.code ?? 'unknown_error';
      throw new ApiRefusal(response.status, code, body?.error?.message ?? body?.message ?? `HTTP ${response.status}`);
    }
    return body as T;
  }
}
