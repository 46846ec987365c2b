/**
 * Deterministic freeing of native tensors, like tf.tidy: every tensor created while a scope runs is
 * freed when the scope ends, unless it is (part of) the scope's return value or was kept with keep().
 * Tensors created outside any scope are freed by their finalizer when JS garbage-collects them.
 */

export interface Tracked {
  dispose(): void;
  readonly isDisposed: boolean;
  /** Set by keep(): no scope frees it; its owner (a module, an optimizer) disposes it. */
  kept: boolean;
  /**
   * Called once the object's lifetime is no longer a scope's: made outside any scope, returned from the
   * outermost one, or kept. Tensors then report their native bytes to V8, so that garbage collection
   * weighs them; scoped temporaries are not reported (V8 would run full GCs for memory that scope()
   * frees anyway).
   */
  unscoped?(): void;
}

const stack: Tracked[][] = [];

export function track(t: Tracked): void {
  const top = stack[stack.length - 1];
  if (top !== undefined) top.push(t);
  else t.unscoped?.();
}

/** Exempts tensors from every enclosing scope; the caller owns them now. */
export function keep<T extends Tracked>(t: T): T {
  if (!t.kept) t.unscoped?.();
  t.kept = true;
  return t;
}

/** Undoes keep(): the tensor belongs to the current scope again (or to the GC outside any scope). */
export function adopt<T extends Tracked>(t: T): T {
  t.kept = false;
  track(t);
  return t;
}

function collect(value: unknown, into: Set<unknown>, depth = 0): void {
  if (value === null || typeof value !== 'object' || depth > 4) return;
  if ('dispose' in value && 'kept' in value) {
    into.add(value);
    return;
  }
  if (Array.isArray(value)) {
    for (const v of value) collect(v, into, depth + 1);
  } else if (value instanceof Map) {
    for (const v of value.values()) collect(v, into, depth + 1);
  } else if (Object.getPrototypeOf(value) === Object.prototype) {
    for (const v of Object.values(value)) collect(v, into, depth + 1);
  }
}

/**
 * Runs fn and frees the tensors it created, except those it returns (directly or inside arrays,
 * Maps and plain objects), which move to the enclosing scope. fn must be synchronous: a scope cannot
 * see tensors created after an await.
 */
export function scope<T>(fn: () => T): T {
  const created: Tracked[] = [];
  stack.push(created);
  let result: T;
  try {
    result = fn();
  } catch (err) {
    stack.pop();
    for (const t of created) if (!t.kept) t.dispose();
    throw err;
  }
  stack.pop();
  if (result instanceof Promise) {
    throw new Error('scope(fn): fn returned a Promise; scopes only track synchronous work');
  }
  const returned = new Set<unknown>();
  collect(result, returned);
  const parent = stack[stack.length - 1];
  for (const t of created) {
    if (t.kept || t.isDisposed) continue;
    if (!returned.has(t)) t.dispose();
    else if (parent) parent.push(t);
    else t.unscoped?.();
  }
  return result;
}

/** How many scopes are open; tests use it to check that scopes are balanced. */
export function scopeDepth(): number {
  return stack.length;
}
