/** A small element builder: text goes in as text nodes, never as HTML. */
type Child = Node | string | false | null | undefined;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Record<string, string | boolean | undefined> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === false) continue;
    element.setAttribute(name, value === true ? '' : value);
  }
  for (const child of children) {
    if (child === false || child === null || child === undefined) continue;
    element.append(child);
  }
  return element;
}

/** Replaces the card's content and moves focus to `focus` (or the heading), so keyboard and screen-reader users follow. */
export function show(root: HTMLElement, content: Node[], focus?: HTMLElement | null): void {
  root.replaceChildren(...content);
  const target = focus ?? root.querySelector<HTMLElement>('h1');
  target?.focus();
}
