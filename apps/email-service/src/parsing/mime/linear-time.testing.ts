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
