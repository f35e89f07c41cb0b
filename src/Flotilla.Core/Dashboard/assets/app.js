import { api, session, stream, ApiError } from './api.js';
import { h, toast, confirmDialog } from './dom.js';
import { live } from './live.js';
import overview from './views/overview.js';
import release from './views/release.js';
import instances from './views/instances.js';
import flags from './views/flags.js';
import history from './views/history.js';
import events from './views/events.js';

const views = { overview, release, instances, flags, history, events };
const nav = [['overview', 'Overview'], ['release', 'Releases'], ['instances', 'Instances'], ['flags', 'Flags'], ['history', 'History'], ['events', 'Events']];
const root = document.getElementById('app');
let current = null;

// What every view is given: the live state, the API, and an action runner that confirms, calls and reports.
const ctx = {
  live,
  api,
  stream,
  session,
  go: hash => { location.hash = hash; },
  async act(title, detail, label, call) {
    if (!await confirmDialog(title, detail, label)) return null;
    try {
      const result = await call();
      toast(`${title}: done${result?.summary ? ` (${result.summary})` : result?.message ? ` (${result.message})` : ''}`, 'ok');
      current?.view.refresh?.(current.state, ctx);
      return result ?? {};
    } catch (e) {
      toast(`${title} failed: ${e.message}`, 'error');
      return null;
    }
  },
};

function signInPage(error) {
  const input = h('input', { id: 'token', type: 'password', autocomplete: 'off', placeholder: 'bearer token', required: true });
  const form = h('form.signin', {
    onsubmit: async e => {
      e.preventDefault();
      session.signIn(input.value.trim());
      await start();
    },
  },
  h('h1', null, 'Flotilla'),
  h('p.muted', { text: 'Sign in with an API token (flotilla token create, or the config file that flotilla server writes).' }),
  h('label', { for: 'token' }, 'Token'), input,
  error ? h('p.error', { role: 'alert', text: error }) : null,
  h('button', { type: 'submit' }, 'Sign in'));
  root.replaceChildren(form);
  input.focus();
}

async function start() {
  try {
    session.me = await api('/whoami');
  } catch (e) {
    session.signOut();
    signInPage(e instanceof ApiError && e.status === 401 ? 'That token is not known to this control plane.' : `Cannot reach the API: ${e.message}`);
    return;
  }
  let environments = [];
  try { environments = await api('/environments'); } catch { /* older servers: one environment */ }
  shell(environments);
  live.start(stream, () => render(false), signedOut);
  window.onhashchange = () => render(true);
  render(true);
}

function signedOut() {
  live.stop();
  session.signOut();
  signInPage('The token was revoked or the server forgot it; sign in again.');
}

function shell(environments) {
  const links = nav.map(([key, label]) => h('a', { href: `#/${key}`, 'data-view': key }, label));
  const picker = environments.length > 1
    ? h('select', {
      'aria-label': 'Environment',
      onchange: e => { session.use(e.target.value); live.stop(); start(); },
    }, environments.map(env => h('option', { value: env.environment ?? '', selected: (env.environment ?? '') === session.environment }, env.environment ?? '(default)')))
    : null;
  root.replaceChildren(
    h('header', null,
      h('strong.brand', null, 'Flotilla'),
      h('span#system.muted'),
      picker,
      h('nav', null, links),
      h('span.spacer'),
      h('span#live.dot', { title: 'live updates' }),
      h('span#who', { text: `${session.me.name} (${session.me.role})` }),
      h('button.secondary', { type: 'button', onclick: () => { live.stop(); session.signOut(); signInPage(); } }, 'Sign out')),
    h('main#view'));
}

function render(navigated) {
  const [name = 'overview', ...rest] = location.hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  const view = views[name] ?? overview;
  const system = document.getElementById('system');
  if (system && live.status) system.textContent = `${live.status.system.name}${live.status.system.environment ? ` · ${live.status.system.environment}` : ''} · revision ${live.status.system.revision}`;
  document.getElementById('live')?.classList.toggle('on', live.connected);
  for (const a of document.querySelectorAll('nav a')) a.classList.toggle('active', a.dataset.view === (views[name] ? name : 'overview'));
  if (navigated || current?.view !== view || current.args.join('/') !== rest.join('/')) {
    current?.view.leave?.(current.state);
    const state = { args: rest };
    current = { view, args: rest, state };
    const element = view.render(state, ctx);
    document.getElementById('view').replaceChildren(element);
    view.refresh?.(state, ctx);
  }
  current.view.update?.(current.state, ctx);
}

window.addEventListener('flotilla:unauthorized', () => { if (session.token) signedOut(); });
if (session.token) start(); else signInPage();
