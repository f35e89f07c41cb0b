// The dashboard's only way to the control plane: the public /v1 API with the user's bearer token, as the CLI uses it.
const TOKEN = 'flotilla.token';
const ENV = 'flotilla.environment';

export const session = {
  token: sessionStorage.getItem(TOKEN),
  environment: sessionStorage.getItem(ENV) ?? '',
  me: null,
  get admin() { return ['deployer', 'admin', 'operator'].includes(this.me?.role); },
  signIn(token) { this.token = token; sessionStorage.setItem(TOKEN, token); },
  signOut() { this.token = null; this.me = null; sessionStorage.removeItem(TOKEN); },
  use(environment) { this.environment = environment ?? ''; sessionStorage.setItem(ENV, this.environment); },
};

export class ApiError extends Error {
  constructor(status, problem) {
    super([problem.title, problem.detail, ...(problem.errors ?? [])].filter(Boolean).join(': '));
    this.status = status;
  }
}

function headers(json) {
  const result = { Authorization: `Bearer ${session.token}` };
  if (session.environment) result['X-Flotilla-Environment'] = session.environment;
  if (json) result['Content-Type'] = 'application/json';
  return result;
}

export async function api(path, { method = 'GET', body, signal } = {}) {
  const response = await fetch(`/v1${path}`, { method, headers: headers(body !== undefined), body: body === undefined ? undefined : JSON.stringify(body), signal });
  if (!response.ok) {
    let problem;
    try { problem = await response.json(); } catch { problem = { title: `${response.status} ${response.statusText}` }; }
    // A token revoked while the page is open: the app returns to the sign-in form.
    if (response.status === 401 && path !== '/whoami') window.dispatchEvent(new Event('flotilla:unauthorized'));
    throw new ApiError(response.status, problem);
  }
  if (response.status === 204) return null;
  return (response.headers.get('content-type') ?? '').includes('json') ? response.json() : response.text();
}

// Reads a streaming response (Server-Sent Events, or plain lines) with fetch, because EventSource cannot send a
// bearer token. Reconnects with back-off (1 s doubling to 10 s); `path` may be a function so a reconnect can
// resume (events: ?since= the last id seen). Returns a handle whose close() ends it for good.
export function stream(path, onMessage, { sse = true, onState } = {}) {
  const abort = new AbortController();
  let delay = 1000;
  (async () => {
    while (!abort.signal.aborted) {
      try {
        const target = typeof path === 'function' ? path() : path;
        const response = await fetch(`/v1${target}`, { headers: headers(false), signal: abort.signal });
        if (!response.ok) throw new ApiError(response.status, { title: `${target}: ${response.status}` });
        onState?.(true);
        delay = 1000;
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value;
          const separator = sse ? '\n\n' : '\n';
          let end;
          while ((end = buffer.indexOf(separator)) >= 0) {
            const chunk = buffer.slice(0, end);
            buffer = buffer.slice(end + separator.length);
            if (!sse) { onMessage(chunk); continue; }
            const message = { event: 'message', data: '', id: null };
            for (const line of chunk.split('\n')) {
              if (line.startsWith(':')) continue;
              const colon = line.indexOf(':');
              const field = colon < 0 ? line : line.slice(0, colon);
              const text = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
              if (field === 'data') message.data += (message.data ? '\n' : '') + text;
              else if (field === 'event') message.event = text;
              else if (field === 'id') message.id = text;
            }
            if (message.data) onMessage(message);
          }
        }
      } catch (e) {
        if (abort.signal.aborted) return;
        if (e instanceof ApiError && e.status === 401) { onState?.(false, e); return; }
      }
      onState?.(false);
      await new Promise(resolve => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, 10000);
    }
  })();
  return { close: () => abort.abort() };
}
