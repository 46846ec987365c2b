/**
 * Building SVG and HTML as strings: every piece of text and every attribute value goes through
 * escapeXml, so a layer or run name such as `a<b & "c"` cannot break the markup.
 */

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text safe inside an element or a quoted attribute of HTML or SVG. */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

/** A coordinate or length: at most 2 decimals, no trailing zeros (120, 120.5, 120.25). */
export function num(v: number): string {
  if (!Number.isFinite(v)) throw new Error(`svg: non-finite coordinate ${v}`);
  const r = Math.round(v * 100) / 100;
  return String(Object.is(r, -0) ? 0 : r);
}

export type Attrs = Record<string, string | number | undefined | null | false>;

function attrText(attrs: Attrs): string {
  let s = '';
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    s += ` ${k}="${typeof v === 'number' ? num(v) : escapeXml(v)}"`;
  }
  return s;
}

/**
 * An element. `children` is markup already built by el() or raw text passed through text(); a string
 * given directly is NOT escaped, so callers wrap user text with text().
 */
export function el(tag: string, attrs: Attrs = {}, children?: string | readonly string[]): string {
  const inner = children === undefined ? undefined : Array.isArray(children) ? children.join('') : (children as string);
  return inner === undefined || inner === '' ? `<${tag}${attrText(attrs)}/>` : `<${tag}${attrText(attrs)}>${inner}</${tag}>`;
}

/** HTML elements: void elements have no closing tag, every other element has one even when empty. */
export function html(tag: string, attrs: Attrs = {}, children?: string | readonly string[]): string {
  const inner = children === undefined ? '' : Array.isArray(children) ? children.join('') : (children as string);
  return `<${tag}${attrText(attrs)}>${inner}</${tag}>`;
}

/** User or data text as element content. */
export function text(s: string): string {
  return escapeXml(s);
}

/** An SVG path through points: M x0 y0 L x1 y1 ... */
export function pathData(points: readonly (readonly [number, number])[]): string {
  return points.map(([x, y], i) => `${i === 0 ? 'M' : 'L'}${num(x)} ${num(y)}`).join(' ');
}
