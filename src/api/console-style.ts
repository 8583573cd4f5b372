import { createHash } from 'node:crypto';

/**
 * The console's one stylesheet, served from a URL named by its hash (so it may be cached for a
 * year) and allowed by the CSP as `'self'`: no inline style anywhere. Light or dark follows the
 * browser's `prefers-color-scheme`; every text colour meets WCAG AA contrast on its background.
 */
export const CONSOLE_CSS = `
:root{color-scheme:light dark;--bg:#ffffff;--fg:#1a1d21;--muted:#4a5260;--line:#d3d8de;--panel:#f4f6f8;
--accent:#0b57d0;--ok:#146c2e;--warn:#8a4b00;--bad:#b3261e;--focus:#0b57d0;--bar1:#1f6feb;--bar2:#b35900;--bar3:#b3261e}
@media (prefers-color-scheme:dark){:root{--bg:#111418;--fg:#e8eaed;--muted:#b4bcc8;--line:#3a414b;--panel:#1b2027;
--accent:#8ab4f8;--ok:#6dd58c;--warn:#ffb95c;--bad:#ffb4ab;--focus:#8ab4f8;--bar1:#6ea8fe;--bar2:#ffb95c;--bar3:#ff8a80}}
*{box-sizing:border-box}
body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:var(--bg);color:var(--fg)}
a{color:var(--accent)}
a:focus-visible,button:focus-visible,input:focus-visible,select:focus-visible{outline:3px solid var(--focus);outline-offset:2px}
.skip{position:absolute;left:-999px}.skip:focus{left:8px;top:8px;background:var(--bg);padding:4px 8px;z-index:1}
header{display:flex;gap:24px;align-items:center;padding:12px 24px;border-bottom:1px solid var(--line);background:var(--panel)}
header .brand{font-weight:700}
header nav ul{display:flex;gap:16px;list-style:none;margin:0;padding:0}
header form{margin-left:auto}
main{padding:16px 24px;max-width:1200px}
h1{font-size:1.4rem;margin:8px 0 16px}
h2{font-size:1.1rem;margin:24px 0 8px}
form.filters{display:flex;flex-wrap:wrap;gap:12px;align-items:flex-end;margin-bottom:16px}
label{display:flex;flex-direction:column;font-size:.85rem;color:var(--muted);gap:2px}
input,select{font:inherit;color:var(--fg);background:var(--bg);border:1px solid var(--muted);border-radius:4px;padding:4px 8px;min-width:10rem}
button,.button{font:inherit;cursor:pointer;border-radius:4px;padding:5px 12px;border:1px solid var(--accent);background:var(--accent);color:var(--bg);text-decoration:none;display:inline-block}
button.secondary,.button.secondary{background:transparent;color:var(--accent)}
button.danger{background:var(--bad);border-color:var(--bad);color:var(--bg)}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:6px 8px;border-bottom:1px solid var(--line);vertical-align:top}
th{font-size:.85rem;color:var(--muted)}
.state{font-weight:600;white-space:nowrap}
.state-ok{color:var(--ok)}.state-failing{color:var(--warn)}.state-needs_reconnect{color:var(--bad)}
.tag{display:inline-block;border:1px solid var(--line);border-radius:3px;padding:0 4px;margin:0 4px 2px 0;font-size:.85rem}
dl{display:grid;grid-template-columns:max-content 1fr;gap:4px 16px}
dt{color:var(--muted)}dd{margin:0}
pre{background:var(--panel);padding:8px;overflow:auto;border-radius:4px}
.notice{border-left:4px solid var(--accent);background:var(--panel);padding:8px 12px;margin:12px 0}
.error{border-left-color:var(--bad)}
.actions{display:flex;gap:12px;flex-wrap:wrap}
.pager{display:flex;gap:12px;margin-top:12px;align-items:center}
.muted{color:var(--muted)}
.login{max-width:28rem}
.login input{width:100%}
svg.chart{width:100%;max-width:960px;height:auto;border:1px solid var(--line);border-radius:4px}
svg.chart text{fill:var(--muted);font-size:11px}
svg.chart .axis{stroke:var(--line)}
svg.chart .refreshed{fill:var(--bar1)}svg.chart .failed{fill:var(--bar2)}svg.chart .exhausted{fill:var(--bar3)}
.legend{display:flex;gap:16px;list-style:none;padding:0}
.legend span{display:inline-block;width:12px;height:12px;margin-right:4px;vertical-align:middle}
.legend .refreshed{background:var(--bar1)}.legend .failed{background:var(--bar2)}.legend .exhausted{background:var(--bar3)}
`;

/** The stylesheet's file name: its content hash, so a new version is a new URL. */
export const CONSOLE_CSS_FILE = `console-${createHash('sha256').update(CONSOLE_CSS).digest('hex').slice(0, 16)}.css`;
