import { h, fill, table, badge, ago } from '../dom.js';

// Each flag: state, variants, targeting in words, who changed it at runtime and how it drifts from the spec; toggle and reset are audited API calls.
export default {
  render(state) {
    state.body = h('div', null, h('p.muted', null, 'Loading flags…'));
    return h('section', null, h('h2', null, 'Flags'), state.body);
  },

  async refresh(state, ctx) {
    let list;
    try {
      list = await ctx.api('/flags');
    } catch (e) {
      fill(state.body, h('p.error', { text: e.message }));
      return;
    }
    if (!list.flags.length) {
      fill(state.body, h('p.muted', null, 'This system declares no flags (flags: in the spec).'));
      return;
    }
    const rows = list.flags.map(flag => h('tr', { 'data-flag': flag.key },
      h('td', null, h('strong', { text: flag.key })),
      h('td.flag-state', null, badge(flag.state, flag.state === 'ENABLED' ? 'ok' : 'muted')),
      h('td', null, flag.variants.map(v => h('span', { class: v === flag.defaultVariant ? 'variant default' : 'variant', text: `${v}=${JSON.stringify(flag.definition.variants?.[v])}` }))),
      h('td.small', null, flag.targeting ? targeting(flag.definition.targeting) : h('span.muted', null, `everyone: ${flag.defaultVariant}`)),
      h('td.small', { class: flag.drift ? 'drift' : null }, flag.changedBy ? `changed by ${flag.changedBy} ${ago(flag.changedAt)}${flag.drift ? ` — ${flag.drift}` : ''}` : 'as the spec says'),
      ctx.session.admin ? h('td', null, toggle(flag, ctx), flag.changedBy ? reset(flag, ctx) : null) : null));
    const headers = ['Flag', 'State', 'Variants (default bold)', 'Targeting', 'Runtime change', ...(ctx.session.admin ? [''] : [])];
    fill(state.body, 
      list.url ? h('p.small.muted', { text: `Instances evaluate at ${list.url} (OFREP)` }) : null,
      table(headers, rows, { id: 'flags' }));
  },
};

function toggle(flag, ctx) {
  const next = flag.state === 'ENABLED' ? 'DISABLED' : 'ENABLED';
  const label = next === 'ENABLED' ? 'Enable' : 'Disable';
  return h('button', {
    type: 'button', 'data-action': 'toggle',
    onclick: async () => {
      await ctx.act(`${label} flag ${flag.key}`, `Every evaluation of ${flag.key} serves ${next === 'ENABLED' ? 'its variants again' : 'the default as disabled'} at once, until reset or the spec changes it. This is recorded in the audit as ${ctx.session.me.name}.`,
        label, () => ctx.api(`/flags/${encodeURIComponent(flag.key)}`, { method: 'PATCH', body: { state: next } }));
    },
  }, label);
}

function reset(flag, ctx) {
  return h('button.secondary', {
    type: 'button', 'data-action': 'reset',
    onclick: () => ctx.act(`Reset flag ${flag.key}`, 'Drops the runtime change: the flag serves as the spec says again.', 'Reset',
      () => ctx.api(`/flags/${encodeURIComponent(flag.key)}/change`, { method: 'DELETE' })),
  }, 'Reset');
}

// JSON Logic in words where it is one of the common shapes; otherwise the rule itself, compact.
export function targeting(rule) {
  if (!rule || typeof rule !== 'object') return JSON.stringify(rule);
  if (rule.if) {
    const parts = [];
    for (let i = 0; i + 1 < rule.if.length; i += 2) parts.push(`if ${condition(rule.if[i])} → ${JSON.stringify(rule.if[i + 1])}`);
    if (rule.if.length % 2) parts.push(`else → ${JSON.stringify(rule.if.at(-1))}`);
    return parts.join('; ');
  }
  if (rule.fractional) return `split ${rule.fractional.filter(Array.isArray).map(([v, w]) => `${v} ${w}%`).join(', ')}`;
  return JSON.stringify(rule);
}

function condition(c) {
  const [op] = Object.keys(c);
  const args = c[op];
  const value = x => (x && typeof x === 'object' && 'var' in x ? x.var : JSON.stringify(x));
  const words = { '==': 'is', '===': 'is', '!=': 'is not', in: 'in', starts_with: 'starts with', ends_with: 'ends with', '<': '<', '>': '>', '<=': '≤', '>=': '≥' };
  if (Array.isArray(args) && args.length === 2 && words[op]) return op === 'in' ? `${value(args[0])} in ${value(args[1])}` : `${value(args[0])} ${words[op]} ${value(args[1])}`;
  if (op === 'and' || op === 'or') return args.map(condition).join(` ${op} `);
  return JSON.stringify(c);
}
