import { h, fill, table, badge, short, ago } from '../dom.js';

// Current state first: every service with ready/desired, revision, zones, health and endpoint; then zones; then the last change.
export default {
  render(state) {
    state.body = h('div');
    state.last = h('p#last-change.muted');
    return h('section', null, h('h2', null, 'Overview'), state.last, state.body);
  },

  async refresh(state, ctx) {
    try {
      const [last] = await ctx.api('/audit?limit=1');
      state.last.textContent = last ? `Last change ${ago(last.at)} by ${last.actor}: ${last.action} — ${last.detail}` : 'No change recorded yet.';
      state.revision = ctx.live.status?.system.revision;
    } catch (e) {
      state.last.textContent = `Last change unknown: ${e.message}`;
    }
  },

  update(state, ctx) {
    const status = ctx.live.status;
    if (!status) return;
    if (state.revision !== undefined && state.revision !== status.system.revision) this.refresh(state, ctx);
    const system = status.system;
    const rows = system.services.map(s => h('tr', { 'data-service': s.name },
      h('td', null, h('strong', null, s.name)),
      h('td.ready', null, readiness(s)),
      h('td', null, h('code', { text: short(s.revision) })),
      h('td', null, zones(s)),
      h('td', null, health(s)),
      h('td', null, s.release ? h('a', { href: `#/release/${encodeURIComponent(s.name)}`, text: s.release }) : h('span.muted', null, '–')),
      h('td', null, s.endpoint ? h('a', { href: s.endpoint, target: '_blank', rel: 'noopener', text: s.endpoint }) : h('span.muted', null, 'none'))));
    fill(state.body, 
      h('p', null, system.allReady ? badge('all ready', 'ok') : badge('not all ready', 'warn'), ` ${system.services.length} services · revision ${system.revision}`),
      table(['Service', 'Ready', 'Revision', 'Zones', 'Health', 'Release', 'Endpoint'], rows, { id: 'services' }),
      system.zones.length ? h('div', null, h('h3', null, 'Zones'), table(['Zone', 'State', 'Instances'],
        system.zones.map(z => h('tr', null, h('td', { text: z.name }), h('td', null, z.up ? badge('up', 'ok') : badge('down', 'bad')), h('td', { text: z.instances }))))) : null,
      system.warnings.length ? h('div', null, h('h3', null, 'Warnings'), h('ul', null, system.warnings.map(w => h('li.warn', { text: w })))) : null);
  },
};

function readiness(s) {
  const ratio = s.desired ? Math.min(1, s.ready / s.desired) : 1;
  const bar = h('span.bar', null, h('span', { style: `width:${Math.round(ratio * 100)}%`, class: s.ready >= s.desired ? 'ok' : 'warn' }));
  return [h('span.count', { text: `${s.ready}/${s.desired}` }), bar, s.stopped ? badge('stopped', 'warn') : null];
}

function zones(s) {
  const spread = {};
  for (const i of s.instances) if (i.zone) spread[i.zone] = (spread[i.zone] ?? 0) + 1;
  const text = Object.entries(spread).map(([zone, count]) => `${zone}:${count}`).join(' ');
  return text || h('span.muted', null, '–');
}

function health(s) {
  const items = s.conditions.map(c => h('div', { title: c.message }, badge(c.type, c.type.toLowerCase()), ' ', h('span.small', { text: c.message })));
  if (s.problem) items.push(h('div.small.warn', { text: s.problem }));
  if (s.restarts) items.push(h('div.small.muted', { text: `${s.restarts} restart${s.restarts === 1 ? '' : 's'}` }));
  return items.length ? items : badge('healthy', 'ok');
}
