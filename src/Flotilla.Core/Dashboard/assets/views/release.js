import { h, fill, table, badge, short, time } from '../dom.js';
import { timeChart } from '../charts.js';

const CANARY = '#d9480f';
const STABLE = '#1c7ed6';

// One release as a timeline: the step it is at and why it stopped, weight and both sides' rate, success and p95
// side by side, each analysis with its verdict and reason, a parallel run's report, what happened, and the buttons.
export default {
  render(state, ctx) {
    state.service = state.args[0];
    if (!state.service) {
      state.list = h('div');
      return h('section', null, h('h2', null, 'Releases'), state.list);
    }
    state.head = h('div#release-head');
    state.buttons = h('div#release-buttons.buttons');
    state.charts = [
      timeChart('Weight on the new revision', '%', [{ label: 'canary weight', color: CANARY }], 'percent'),
      timeChart('Requests per second', 'req/s', [{ label: 'canary', color: CANARY }, { label: 'stable', color: STABLE }]),
      timeChart('Success rate', '%', [{ label: 'canary', color: CANARY }, { label: 'stable', color: STABLE }], 'percent'),
      timeChart('Latency p95', 'ms', [{ label: 'canary', color: CANARY }, { label: 'stable', color: STABLE }]),
    ];
    state.analyses = h('div#analyses');
    state.parallel = h('div#parallel');
    state.timeline = h('ol#timeline.timeline');
    return h('section', null,
      h('h2', null, `Release of ${state.service}`),
      state.head, ctx.session.admin ? state.buttons : null,
      h('div.charts', null, state.charts.map(c => c.element)),
      h('h3', null, 'Analyses'), state.analyses, state.parallel,
      h('h3', null, 'Timeline'), state.timeline);
  },

  leave(state) {
    for (const c of state.charts ?? []) c.destroy();
  },

  // A rolling service, or a release that completed, is not in the live stream: ask for its rollout, again after each event.
  async refresh(state, ctx) {
    if (!state.service || ctx.live.rollout(state.service) || state.fetching) return;
    state.fetching = true;
    state.fetchedAt = ctx.live.status?.lastEvent;
    try {
      state.fetched = await ctx.api(`/services/${encodeURIComponent(state.service)}/rollout`);
    } catch (e) {
      state.fetched = { error: e.message };
    } finally {
      state.fetching = false;
    }
    this.update(state, ctx);
  },

  update(state, ctx) {
    const status = ctx.live.status;
    if (!status) return;
    if (!state.service) { fill(state.list, list(status)); return; }
    if (!ctx.live.rollout(state.service) && state.fetchedAt !== status.lastEvent) this.refresh(state, ctx);
    const rollout = ctx.live.rollout(state.service) ?? state.fetched;
    if (!rollout) return;
    if (rollout.error) { fill(state.head, h('p.error', { text: rollout.error })); return; }
    const release = rollout.release;
    fill(state.head, head(rollout));
    fill(state.buttons, ...buttons(state.service, rollout, ctx));
    if (!release) return;
    const points = ctx.live.samples.get(state.service)?.points ?? [];
    const xs = points.map(p => p.t);
    state.charts[0].set(xs, [points.map(p => p.weight)]);
    state.charts[1].set(xs, [points.map(p => p.canaryRate), points.map(p => p.stableRate)]);
    state.charts[2].set(xs, [points.map(p => p.canarySuccess), points.map(p => p.stableSuccess)]);
    state.charts[3].set(xs, [points.map(p => p.canaryP95), points.map(p => p.stableP95)]);
    fill(state.analyses, analyses(release));
    fill(state.parallel, release.parallel ? parallel(release.parallel) : '');
    fill(state.timeline, ...ctx.live.events.filter(e => e.subject === state.service).slice(-60).reverse()
      .map(e => h('li', { class: e.warning ? 'warn' : null }, h('time', { text: time(e.at) }), ' ', e.message)));
  },
};

function list(status) {
  const releases = new Map(status.releases.map(r => [r.service, r]));
  return table(['Service', 'Strategy', 'State', 'Weight', 'Step'], status.system.services.map(s => {
    const r = releases.get(s.name)?.release;
    return h('tr', null,
      h('td', null, h('a', { href: `#/release/${encodeURIComponent(s.name)}`, text: s.name })),
      h('td', { text: r?.strategy ?? 'rolling' }),
      h('td', null, r ? badge(r.phase, phaseKind(r)) : h('span.muted', null, s.release ?? '–')),
      h('td', { text: r ? `${r.weight}%` : '' }),
      h('td', { text: r ? r.stepText : '' }));
  }), { id: 'releases' });
}

function phaseKind(release) {
  return release.degraded || release.phase === 'aborted' ? 'bad' : release.phase === 'complete' ? 'ok' : 'warn';
}

function head(rollout) {
  const release = rollout.release;
  if (!release) {
    return h('p', null, badge(rollout.state, rollout.state === 'complete' ? 'ok' : 'warn'),
      ` rolling to revision ${short(rollout.revision)}: ${rollout.currentReady}/${rollout.desired} ready, ${rollout.old} old`, rollout.waiting ? ` — waiting: ${rollout.waiting}` : '');
  }
  return h('div', null,
    h('p', null, h('span#phase', null, badge(release.phase, phaseKind(release))), ' ',
      `${release.strategy}: revision ${short(release.target)} over stable ${short(release.stable)} · `,
      h('strong#weight', { text: `${release.weight}%` }), ' of traffic · ',
      h('span#step', { text: release.stepText })),
    release.reason ? h('p#reason', { class: release.degraded ? 'why bad' : 'why' }, h('strong', null, release.degraded ? 'Why it stopped: ' : 'Why: '), release.reason) : null,
    release.previewPort ? h('p.small', null, `Preview: http://127.0.0.1:${release.previewPort}`) : null);
}

function buttons(service, rollout, ctx) {
  const path = `/services/${encodeURIComponent(service)}/rollout`;
  const phase = rollout.release?.phase;
  const running = phase && phase !== 'complete' && phase !== 'aborted';
  const button = (label, enabled, title, detail, call) => h('button', {
    type: 'button', disabled: !enabled, 'data-action': label.toLowerCase().replace(/ /g, '-'),
    onclick: () => ctx.act(title, `${detail} This is recorded in the audit as ${ctx.session.me.name}.`, label, call),
  }, label);
  return [
    button('Promote', running, `Promote ${service}`, 'Moves the release to its next step (an analysis under way is skipped).', () => ctx.api(`${path}/promote`, { method: 'POST' })),
    button('Promote fully', running, `Promote ${service} fully`, 'Sends all traffic to the new revision now; the remaining analyses are skipped.', () => ctx.api(`${path}/promote?full=true`, { method: 'POST' })),
    button('Abort', running, `Abort the release of ${service}`, 'Sends all traffic back to the stable revision and scales the new one down.', () => ctx.api(`${path}/abort`, { method: 'POST' })),
    button('Retry', phase === 'aborted', `Retry the release of ${service}`, 'Starts the aborted release again from its first step.', () => ctx.api(`${path}/retry`, { method: 'POST' })),
    button('Undo', true, `Undo ${service}`, 'Runs the previous revision of this service again, as a new system revision (nothing is rebuilt).', () => ctx.api(`${path}/undo`, { method: 'POST' })),
  ];
}

function analyses(release) {
  const all = [...release.analyses, ...(release.running ? [release.running] : [])];
  if (!all.length) return h('p.muted', null, 'No analysis has run yet.');
  return table(['Analysis', 'Verdict', 'Measurements', 'Reason'], all.map(a => h('tr', { 'data-analysis': a.name },
    h('td', { text: a.name }),
    h('td.verdict', null, badge(verdict(a.phase), a.phase === 'successful' ? 'ok' : a.phase === 'failed' ? 'bad' : 'warn')),
    h('td', null, a.measurements.map(m => h('span', { class: `tick ${m.verdict}`, title: `${time(m.at)} ${m.verdict}: canary ${fmt(m.canary.successRate)}% / p95 ${fmt(m.canary.p95)} ms (${m.canary.requests} req)${m.reasons.length ? ' — ' + m.reasons.join('; ') : ''}` }))),
    h('td.small', { text: a.reason ?? a.measurements.at(-1)?.reasons.join('; ') ?? '' }))), { id: 'analysis-table' });
}

function verdict(phase) {
  return { successful: 'Pass', failed: 'Fail', inconclusive: 'Inconclusive', running: 'Running' }[phase] ?? phase;
}

function parallel(report) {
  return h('div', null,
    h('h3', null, 'Parallel run'),
    h('p', null, `${report.compared} compared, ${report.mismatches} differ (${fmt(report.mismatchRate)}%), ${report.candidateErrors} candidate errors · p99 stable ${fmt(report.stable.p99)} ms, candidate ${fmt(report.candidateLatency.p99)} ms`),
    report.fields.length ? table(['Field', 'Differs in', 'Stable said', 'Candidate said'], report.fields.map(f => h('tr', null,
      h('td', null, h('code', { text: f.field })), h('td', { text: f.count }), h('td', null, h('code', { text: f.stable })), h('td', null, h('code', { text: f.candidate }))))) : null,
    report.noise.length ? h('p.small.muted', { text: `Noise (differs between two stable answers, not counted): ${report.noise.map(n => n.field).join(', ')}` }) : null);
}

function fmt(value) {
  return value === null || value === undefined ? '–' : Number(value).toFixed(value < 10 ? 2 : 1);
}
