/** Number formats shared by the markdown and HTML reports. */

/** A fraction as a percentage with two decimals; '–' when absent. */
export const pct = (x: number | undefined | null): string => (x === undefined || x === null ? '–' : (100 * x).toFixed(2));
