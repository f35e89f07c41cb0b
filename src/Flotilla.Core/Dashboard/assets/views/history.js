import { h, fill, table, ago } from '../dom.js';
import { diffLines } from '../diff.js';

// Applied revisions with who, when and the git commit; a revision's spec diffed against the one before; undo to any revision; the audit.
export default {
  render(state) {
    state.revisions = h('div', null, h('p.muted', null, 'Loading…'));
    state.diff = h('div#diff');
    state.audit = h('div');
    return h('section', null, h('h2', null, 'History'), state.revisions, state.diff, h('h3', null, 'Audit'), state.audit);
  },

  async refresh(state, ctx) {
    try {
      const [revisions, audit] = await Promise.all([ctx.api('/revisions?limit=50'), ctx.api('/audit?limit=100')]);
      state.list = revisions;
      fill(state.revisions, revisions.length ? table(['Revision', 'When', 'By', 'Git commit', 'Summary', ''], revisions.map((r, i) => h('tr', { 'data-revision': r.number },
        h('td', null, h('strong', { text: r.number }), r.environment ? h('span.small.muted', { text: ` ${r.environment}` }) : null),
        h('td', { text: ago(r.createdAt), title: r.createdAt }),
        h('td', { text: r.actor }),
        h('td', null, r.gitCommit ? h('code', { text: r.gitCommit.slice(0, 10) }) : h('span.muted', null, '–')),
        h('td.small', { text: r.summary }),
        h('td.buttons', null,
          h('button.secondary', { type: 'button', 'data-action': 'diff', disabled: i === revisions.length - 1 && r.number === 1, onclick: () => this.showDiff(state, ctx, r.number) }, 'Diff'),
          ctx.session.admin && i > 0 ? h('button', {
            type: 'button', 'data-action': 'apply',
            onclick: () => ctx.act(`Undo to revision ${r.number}`, `Makes revision ${r.number}'s desired state the desired state again, as a new revision; nothing is rebuilt. This is recorded in the audit as ${ctx.session.me.name}.`,
              'Undo to here', () => ctx.api(`/revisions/${r.number}/apply`, { method: 'POST' })),
          }, 'Undo to here') : null))), { id: 'revisions' }) : h('p.muted', null, 'Nothing applied yet.'));
      fill(state.audit, table(['When', 'Who', 'Action', 'Detail', 'Revision'], audit.map(a => h('tr', null,
        h('td', { text: ago(a.at), title: a.at }), h('td', { text: a.actor }), h('td', { text: a.action }), h('td.small', { text: a.detail }), h('td', { text: a.revision ?? '' }))), { id: 'audit' }));
      if (state.args[0]) this.showDiff(state, ctx, Number(state.args[0]));
    } catch (e) {
      fill(state.revisions, h('p.error', { text: e.message }));
    }
  },

  async showDiff(state, ctx, number) {
    try {
      const [after, before] = await Promise.all([ctx.api(`/revisions/${number}`), number > 1 ? ctx.api(`/revisions/${number - 1}`).catch(() => null) : null]);
      const lines = diffLines(before?.spec ?? '', after.spec);
      fill(state.diff, 
        h('h3', null, `Revision ${number} against ${before ? number - 1 : 'nothing'}`),
        h('p.small.muted', { text: `${after.specFile}${after.gitCommit ? ` · commit ${after.gitCommit}` : ''} · by ${after.actor}` }),
        h('pre.diff', null, lines.map(([kind, text]) => h('span', { class: kind, text: `${kind === 'add' ? '+' : kind === 'del' ? '-' : ' '} ${text}\n` }))));
    } catch (e) {
      fill(state.diff, h('p.error', { text: e.message }));
    }
  },
};
