// The live state every view reads: the latest /v1/status/stream message, the recent events of /v1/events, and
// each release's samples over time (weight, request rate, success rate, p95 of both sides) for the charts.
const MAX_EVENTS = 1000;
const MAX_SAMPLES = 900;

export const live = {
  status: null,
  events: [],
  samples: new Map(),
  connected: false,
  handles: [],
  lastEvent: 0,

  start(stream, changed, signedOut) {
    this.stop();
    const state = (ok, error) => { this.connected = ok; if (error?.status === 401) signedOut(); else changed(); };
    this.handles.push(stream('/status/stream', message => {
      if (message.event !== 'status') return;
      this.status = JSON.parse(message.data);
      this.sample(this.status);
      if (this.handles.length === 1) this.follow(stream, changed);
      changed();
    }, { onState: state }));
  },

  // The event stream starts from shortly before the newest event, and resumes after the last one seen.
  follow(stream, changed) {
    this.lastEvent = Math.max(0, this.status.lastEvent - 300);
    this.handles.push(stream(() => `/events?follow=true&since=${this.lastEvent}`, message => {
      const e = JSON.parse(message.data);
      if (e.sequence <= this.lastEvent) return;
      this.lastEvent = e.sequence;
      this.events.push(e);
      if (this.events.length > MAX_EVENTS) this.events.splice(0, this.events.length - MAX_EVENTS);
      changed();
    }));
  },

  stop() {
    for (const handle of this.handles) handle.close();
    this.handles = [];
    this.status = null;
    this.events = [];
    this.samples = new Map();
    this.connected = false;
  },

  rollout(service) {
    return this.status?.releases.find(r => r.service === service) ?? null;
  },

  sample(status) {
    const t = Date.parse(status.at) / 1000;
    for (const rollout of status.releases) {
      const release = rollout.release;
      let series = this.samples.get(rollout.service);
      if (!series || series.target !== release.target) {
        series = { target: release.target, points: [] };
        this.samples.set(rollout.service, series);
      }
      // Rates over at least a second: a sample taken right after another (an event woke the stream) would divide by almost nothing.
      const previous = series.points.findLast(p => p.t <= t - 1);
      const rate = (now, before) => previous && now >= before ? (now - before) / (t - previous.t) : null;
      series.points.push({
        t,
        weight: release.weight,
        canaryRequests: release.canary.requests,
        stableRequests: release.stableSide.requests,
        canaryRate: rate(release.canary.requests, previous?.canaryRequests),
        stableRate: rate(release.stableSide.requests, previous?.stableRequests),
        canarySuccess: release.canary.successRate,
        stableSuccess: release.stableSide.successRate,
        canaryP95: release.canary.p95,
        stableP95: release.stableSide.p95,
      });
      if (series.points.length > MAX_SAMPLES) series.points.shift();
    }
  },
};
