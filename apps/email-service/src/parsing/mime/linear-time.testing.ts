/**
 * Asserts that work grows linearly with its input: the time at 4× the input over the time at 1×,
 * best of three runs each, stays under 8 (quadratic work gives 16). A ratio taken in the same run,
 * because CI machines differ up to 3.5× in speed and share their two cores with other test files —
 * an absolute budget fails for the wrong reason there. `run(scale)` must do work proportional to
 * `scale` and take at least a few milliseconds at scale 1, or timer noise dominates.
 */
export function expectLinear(run: (scale: number) => void, maxRatio = 8): void {
  const best = (scale: number) => {
    let min = Infinity;
    for (let i = 0; i < 3; i++) {
      const t = performance.now();
      run(scale);
      min = Math.min(min, performance.now() - t);
    }
    return Math.max(min, 0.5);
  };
  const one = best(1);
  const four = best(4);
  if (four / one >= maxRatio) throw new Error(`not linear: ${one.toFixed(1)} ms at 1×, ${four.toFixed(1)} ms at 4×`);
}

/**
 * Super-linear work, found by a ratio taken in the same run rather than by a budget (CI machines are up to
 * 3.5× slower and loaded: a budget fails there for the wrong reason): `run` over `input(size)` in one go
 * against `run` over PIECES inputs of a PIECES-th of that size. Linear work costs the same both ways on any
 * machine; quadratic work costs PIECES× more in one go, far past the 20× allowed. Best of three, the two
 * alternated so a burst of load slows both; 25 ms of slack absorb timer and GC noise on a few-ms baseline.
 */
const PIECES = 64;
export function expectNoBlowUp<T>(input: (size: number) => T, run: (x: T) => unknown, size: number): void {
  const whole = input(size);
  const pieces = Array.from({ length: PIECES }, () => input(Math.ceil(size / PIECES)));
  let [one, many] = [Infinity, Infinity];
  for (let rep = 0; rep < 3; rep++) {
    let t = performance.now();
    run(whole);
    one = Math.min(one, performance.now() - t);
    t = performance.now();
    for (const p of pieces) run(p);
    many = Math.min(many, performance.now() - t);
  }
  if (one > 20 * many + 25)
    throw new Error(`super-linear: ${one.toFixed(1)} ms in one go, ${many.toFixed(1)} ms in ${PIECES} pieces`);
}
