import { h, fill, time } from '../dom.js';

// Every event as it is recorded, newest first, filtered by subject, text and warnings.
export default {
  render(state, ctx) {
    state.subject = h('select#event-subject', { 'aria-label': 'Subject', onchange: () => this.update(state, ctx) }, h('option', { value: '' }, 'all subjects'));
    state.text = h('input#event-filter', { type: 'search', placeholder: 'filter text', 'aria-label': 'Filter', oninput: () => this.update(state, ctx) });
    state.warnings = h('input#event-warnings', { type: 'checkbox', onchange: () => this.update(state, ctx) });
    state.list = h('ol#events.events');
    return h('section', null, h('h2', null, 'Events'),
      h('div.filters', null, state.subject, state.text, h('label', null, state.warnings, ' warnings only')),
      state.list);
  },

  update(state, ctx) {
    const events = ctx.live.events;
    const subjects = [...new Set(events.map(e => e.subject))].sort();
    const known = [...state.subject.options].map(o => o.value);
    for (const s of subjects) if (!known.includes(s)) state.subject.append(h('option', { value: s }, s));
    const text = state.text.value.toLowerCase();
    const shown = events.filter(e => (!state.subject.value || e.subject === state.subject.value)
      && (!state.warnings.checked || e.warning)
      && (!text || e.message.toLowerCase().includes(text) || e.subject.toLowerCase().includes(text)));
    fill(state.list, ...shown.slice(-300).reverse().map(e => h('li', { class: e.warning ? 'warn' : null },
      h('time', { text: time(e.at), title: e.at }), ' ', h('span.subject', { text: e.subject }), ' ', e.message)));
  },
};
