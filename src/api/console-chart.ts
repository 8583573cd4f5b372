import type { ActivityHour } from '../operations/activity.js';
import { html, type Markup } from './console-html.js';

const WIDTH = 960;
const HEIGHT = 240;
const PAD = { left: 40, right: 8, top: 12, bottom: 28 };
const SERIES = ['refreshed', 'failed', 'exhausted'] as const;

/**
 * Refresh activity per hour as an SVG bar chart drawn on the server (no script), three bars an
 * hour, with the same numbers in a table beside it for screen readers and keyboard users.
 */
export function activityChart(hours: readonly ActivityHour[]): Markup {
  const max = Math.max(1, ...hours.flatMap((hour) => SERIES.map((series) => hour[series])));
  const plotW = WIDTH - PAD.left - PAD.right;
  const plotH = HEIGHT - PAD.top - PAD.bottom;
  const slot = plotW / Math.max(1, hours.length);
  const bar = Math.max(1, (slot - 4) / SERIES.length);
  const y = (value: number) => PAD.top + plotH - (value / max) * plotH;
  const bars = hours.flatMap((hour, index) =>
    SERIES.map((series, s) => {
      const value = hour[series];
      const top = y(value);
      return html`<rect
        class="${series}"
        x="${(PAD.left + index * slot + 2 + s * bar).toFixed(1)}"
        y="${top.toFixed(1)}"
        width="${bar.toFixed(1)}"
        height="${(PAD.top + plotH - top).toFixed(1)}"
        ><title>${label(hour.hour)}: ${value} ${series}</title></rect
      >`;
    }),
  );
  const ticks = hours
    .map((hour, index) => ({ hour, index }))
    .filter(({ index }) => index % 3 === 0)
    .map(
      ({ hour, index }) =>
        html`<text x="${(PAD.left + index * slot + slot / 2).toFixed(1)}" y="${HEIGHT - 8}" text-anchor="middle"
          >${hour.hour.slice(11, 16)}</text
        >`,
    );
  const total = (series: (typeof SERIES)[number]) => hours.reduce((sum, hour) => sum + hour[series], 0);
  return html`<figure>
      <svg class="chart" viewBox="0 0 ${WIDTH} ${HEIGHT}" role="img" aria-labelledby="chart-title">
        <title id="chart-title">
          Refresh activity, last ${hours.length} hours: ${total('refreshed')} refreshed, ${total('failed')} failed,
          ${total('exhausted')} exhausted
        </title>
        <line
          class="axis"
          x1="${PAD.left}"
          y1="${PAD.top + plotH}"
          x2="${WIDTH - PAD.right}"
          y2="${PAD.top + plotH}"
        ></line>
        <text x="${PAD.left - 6}" y="${PAD.top + 10}" text-anchor="end">${max}</text>
        <text x="${PAD.left - 6}" y="${PAD.top + plotH}" text-anchor="end">0</text>
        ${bars}${ticks}
      </svg>
      <figcaption>
        <ul class="legend">
          <li><span class="refreshed"></span>Refreshed</li>
          <li><span class="failed"></span>Failed</li>
          <li><span class="exhausted"></span>Exhausted</li>
        </ul>
      </figcaption>
    </figure>
    <details>
      <summary>The same numbers as a table</summary>
      <table>
        <caption class="muted">
          Per hour (UTC)
        </caption>
        <thead>
          <tr>
            <th scope="col">Hour</th>
            <th scope="col">Refreshed</th>
            <th scope="col">Failed</th>
            <th scope="col">Exhausted</th>
          </tr>
        </thead>
        <tbody>
          ${hours.map(
            (hour) =>
              html`<tr>
                <th scope="row">${label(hour.hour)}</th>
                <td>${hour.refreshed}</td>
                <td>${hour.failed}</td>
                <td>${hour.exhausted}</td>
              </tr>`,
          )}
        </tbody>
      </table>
    </details>`;
}

function label(iso: string): string {
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
}
