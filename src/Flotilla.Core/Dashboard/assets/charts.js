import { h } from './dom.js';

// A small time chart over uPlot (vendored in vendor/uplot, MIT): one line per series, nulls left as gaps.
// range: 'percent' keeps the y axis within 0..100 (it would otherwise pad past 100).
export function timeChart(title, unit, series, range) {
  const element = h('figure.chart', { 'data-chart': title }, h('figcaption', { text: title }));
  let plot = null;
  return {
    element,
    set(xs, ys) {
      const data = [xs, ...ys];
      if (!plot) {
        plot = new uPlot({
          width: 440,
          height: 170,
          legend: { show: true },
          scales: { x: { time: true }, y: range === 'percent' ? { range: (u, min) => [Math.max(0, Math.floor(Math.min(min ?? 0, 100) / 10) * 10 - 10), 100] } : {} },
          axes: [{}, { label: unit, size: 50 }],
          series: [{}, ...series.map(s => ({ label: s.label, stroke: s.color, width: 2, spanGaps: false, points: { show: xs.length < 3 } }))],
        }, data, element);
      } else {
        plot.setData(data);
      }
    },
    destroy() { plot?.destroy(); plot = null; },
  };
}
