/**
 * HTML for the console, written on the server. Every value is escaped by the {@link html} tag;
 * only markup built by the tag itself passes through unescaped ({@link Markup}), so a
 * connection id or metadata value can never become markup.
 */
import { CONSOLE_CSS_FILE } from './console-style.js';

/** Markup already escaped (built by {@link html}). */
export class Markup {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

type Value = Markup | string | number | boolean | null | undefined | readonly Value[];

/** `html\`<p>${value}</p>\``: values escaped, nested markup and arrays of markup kept. */
export function html(strings: TemplateStringsArray, ...values: Value[]): Markup {
  let out = strings[0]!;
  values.forEach((value, index) => {
    out += render(value) + strings[index + 1]!;
  });
  return new Markup(out);
}

function render(value: Value): string {
  if (value instanceof Markup) return value.text;
  if (Array.isArray(value)) return value.map((item: Value) => render(item)).join('');
  if (value === null || value === undefined || value === false) return '';
  return escapeHtml(String(value));
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Where the page sits in the navigation. */
export type Section = 'connections' | 'activity' | 'none';

/** The frame of every page: skip link, header with navigation and logout, one `main`. */
export function layout(base: string, title: string, section: Section, body: Markup, loggedIn: boolean): string {
  const link = (name: Exclude<Section, 'none'>, href: string, label: string) =>
    html`<li><a href="${href}" ${section === name ? new Markup(' aria-current="page"') : ''}>${label}</a></li>`;
  return `<!doctype html>${
    html`<html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="referrer" content="same-origin" />
        <title>${title} · Latchkey console</title>
        <link rel="stylesheet" href="${base}assets/${CONSOLE_CSS_FILE}" />
      </head>
      <body>
        <a class="skip" href="#main">Skip to content</a>
        <header>
          <span class="brand">Latchkey console</span>
          ${
            section === 'none'
              ? ''
              : html`<nav aria-label="Sections">
                  <ul>
                    ${link('connections', base, 'Connections')}${link('activity', `${base}activity`, 'Activity')}
                  </ul>
                </nav>`
          }
          ${loggedIn ? html`<form method="post" action="${base}logout"><button class="secondary" type="submit">Log out</button></form>` : ''}
        </header>
        <main id="main" tabindex="-1">${body}</main>
      </body>
    </html>`.text
  }`;
}
