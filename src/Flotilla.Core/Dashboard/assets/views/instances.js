import { h, fill, table, badge, short, ago } from '../dom.js';

// Every instance (state, pid, port, zone, why it is not ready) and, for the chosen one, its last log lines and a live tail.
export default {
  render(state, ctx) {
    state.list = h('div');
    state.logs = h('pre#logs.logs', { text: 'Choose an instance to see its last log lines.' });
    state.tail = null;
    state.title = h('h3#logs-title', null, 'Logs');
    state.follow = h('button.secondary', { type: 'button', disabled: true, onclick: () => this.toggleTail(state, ctx) }, 'Live tail');
    const section = h('section', null, h('h2', null, 'Instances'), state.list, h('div.logs-head', null, state.title, state.follow), state.logs);
    if (state.args[0]) this.show(state, ctx, state.args[0]);
    return section;
  },

  update(state, ctx) {
    const status = ctx.live.status;
    if (!status) return;
    const all = status.system.services.flatMap(s => s.instances.map(i => ({ ...i, restarts: s.restarts })));
    const rows = all.map(i => h('tr', { 'data-instance': i.id, class: i.id === state.selected ? 'selected' : null },
      h('td', null, h('a', { href: `#/instances/${encodeURIComponent(i.id)}`, text: i.id })),
      h('td', { text: i.service }),
      h('td', null, h('code', { text: short(i.revision) })),
      h('td.state', null, badge(i.state, i.state === 'ready' ? 'ok' : i.state === 'exited' || i.state === 'unhealthy' ? 'bad' : 'warn')),
      h('td.pid', { text: i.pid || '–' }),
      h('td', { text: i.port || '–' }),
      h('td', { text: i.zone ?? '–' }),
      h('td', { text: ago(i.startedAt) }),
      h('td.small', { text: i.reason ?? (i.exitCode !== null && i.exitCode !== undefined ? `exit ${i.exitCode}` : '') })));
    fill(state.list, all.length
      ? table(['Instance', 'Service', 'Revision', 'State', 'PID', 'Port', 'Zone', 'Started', 'Why not ready'], rows, { id: 'instances' })
      : h('p.muted', null, 'No instance runs.'),
      h('p.small.muted', { text: `Restarts per service: ${status.system.services.map(s => `${s.name} ${s.restarts}`).join(', ')}` }));
  },

  async show(state, ctx, id) {
    state.selected = id;
    const service = ctx.live.status?.system.services.find(s => s.instances.some(i => i.id === id))?.name ?? id.replace(/-[^-]+$/, '');
    state.service = service;
    state.title.textContent = `Logs of ${id}`;
    state.follow.disabled = false;
    try {
      const text = await ctx.api(`/services/${encodeURIComponent(service)}/logs?instance=${encodeURIComponent(id)}&tail=50`);
      state.logs.textContent = text || '(no output yet)';
    } catch (e) {
      state.logs.textContent = `Cannot read the log: ${e.message}`;
    }
  },

  toggleTail(state, ctx) {
    if (state.tail) { this.leave(state); return; }
    state.logs.textContent = '';
    state.follow.textContent = 'Stop tail';
    state.tail = ctx.stream(`/services/${encodeURIComponent(state.service)}/logs?instance=${encodeURIComponent(state.selected)}&tail=20&follow=true`, line => {
      state.logs.textContent += line + '\n';
      state.logs.scrollTop = state.logs.scrollHeight;
    }, { sse: false });
  },

  leave(state) {
    state.tail?.close();
    state.tail = null;
    if (state.follow) state.follow.textContent = 'Live tail';
  },
};
