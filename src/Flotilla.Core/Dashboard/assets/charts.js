import { h } from './dom.js';

// A small time chart over uPlot (vendored in vendor/uplot, MIT): one line per series, nulls left as gaps.
export function timeChart(title, unit, series) {
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
          scales: { x: { time: true } },
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
