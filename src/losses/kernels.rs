//! Lane kernels shared by `log_softmax`, `softmax` and the fused `cross_entropy`: a
//! vectorisable `exp` for non-positive arguments and a log-sum-exp whose summation
//! order is fixed (`LANES` interleaved partial sums, folded pairwise). The order never
//! depends on SIMD width, thread count or memory layout, so results are bit-identical
//! across machines' dispatch targets, `RAYON_NUM_THREADS` and strides.

use multiversion::multiversion;

use super::float::Float;

// Every lane kernel below is compiled for AVX-512, AVX2 and the baseline, and the best
// one the CPU supports is picked at run time. Rust never fuses a multiply and an add
// on its own, and the kernels fix their summation order, so every version computes
// the same bits; only the speed differs.

/// Interleaved partial sums per lane: element `i` goes to partial sum `i % LANES`.
pub(crate) const LANES: usize = 16;

/// Below this many elements a call stays on the calling thread.
pub(crate) const PARALLEL_MIN_ELEMENTS: usize = 1 << 15;

/// `exp` of an `f32` at most 0 (see [`Float::exp_nonpositive`]).
#[inline(always)]
pub(crate) fn exp_nonpositive_f32(x: f32) -> f32 {
    {
        let x_in = x;
        const MIN: f32 = -87.336_54;
        const LOG2E: f32 = std::f32::consts::LOG2_E;
        const LN2_HI: f32 = 0.693_145_75;
        const LN2_LO: f32 = 1.428_606_8e-6;
        const ROUND: f32 = 12_582_912.0; // 1.5 * 2^23: adding it rounds to an integer.
        let x = if x_in < MIN { MIN } else { x_in };
        // `t`'s low mantissa bits hold the integer n; reading them instead of a float
        // to int conversion keeps the loop vectorised (such conversions saturate).
        let t = x * LOG2E + ROUND;
        let n = t - ROUND;
        let r = (x - n * LN2_HI) - n * LN2_LO;
        let p = 1.0
            + r * (1.0
                + r * (0.5
                    + r * (1.0 / 6.0
                        + r * (1.0 / 24.0
                            + r * (1.0 / 120.0 + r * (1.0 / 720.0 + r * (1.0 / 5040.0)))))));
        let scale =
            f32::from_bits(t.to_bits().wrapping_sub(ROUND.to_bits()).wrapping_add(127) << 23);
        p * scale
    }
}

/// `exp` of an `f64` at most 0 (see [`Float::exp_nonpositive`]).
#[inline(always)]
pub(crate) fn exp_nonpositive_f64(x: f64) -> f64 {
    {
        let x_in = x;
        const MIN: f64 = -708.396_418_532_264_1;
        const LOG2E: f64 = std::f64::consts::LOG2_E;
        const LN2_HI: f64 = 6.931_471_803_691_238_2e-1;
        const LN2_LO: f64 = 1.908_214_929_270_587_7e-10;
        const ROUND: f64 = 6_755_399_441_055_744.0; // 1.5 * 2^52
        let x = if x_in < MIN { MIN } else { x_in };
        let t = x * LOG2E + ROUND;
        let n = t - ROUND;
        let r = (x - n * LN2_HI) - n * LN2_LO;
        let mut p = 1.0 / 6_227_020_800.0;
        for k in (0..13).rev() {
            p = p * r + INV_FACTORIAL[k];
        }
        let scale =
            f64::from_bits(t.to_bits().wrapping_sub(ROUND.to_bits()).wrapping_add(1023) << 52);
        p * scale
    }
}

/// 1/k! for k = 0..=12.
const INV_FACTORIAL: [f64; 13] = [
    1.0,
    1.0,
    1.0 / 2.0,
    1.0 / 6.0,
    1.0 / 24.0,
    1.0 / 120.0,
    1.0 / 720.0,
    1.0 / 5040.0,
    1.0 / 40320.0,
    1.0 / 362_880.0,
    1.0 / 3_628_800.0,
    1.0 / 39_916_800.0,
    1.0 / 479_001_600.0,
];

/// The largest value of a lane; NaN if any value is NaN (as libtorch's vectorised max).
#[inline]
pub(crate) fn lane_max<F: Float>(x: &[F]) -> F {
    let mut acc = [F::neg_infinity(); LANES];
    let mut nan = false;
    let chunks = x.chunks_exact(LANES);
    let tail = chunks.remainder();
    for chunk in chunks {
        for j in 0..LANES {
            let v = chunk[j];
            nan |= v.is_nan();
            acc[j] = if v > acc[j] { v } else { acc[j] };
        }
    }
    for (j, &v) in tail.iter().enumerate() {
        nan |= v.is_nan();
        acc[j] = if v > acc[j] { v } else { acc[j] };
    }
    if nan {
        return F::nan();
    }
    acc.iter()
        .fold(F::neg_infinity(), |m, &v| if v > m { v } else { m })
}

/// Sums `LANES` partial sums in a fixed pairwise order.
#[inline(always)]
fn fold_pairwise<F: Float>(mut acc: [F; LANES]) -> F {
    let mut width = LANES;
    while width > 1 {
        width /= 2;
        for j in 0..width {
            acc[j] = acc[2 * j] + acc[2 * j + 1];
        }
    }
    acc[0]
}

/// `sum(f(x))` over a lane in the fixed interleaved order.
#[inline(always)]
pub(crate) fn lane_sum_of<F: Float>(x: &[F], f: impl Fn(F) -> F) -> F {
    let mut acc = [F::zero(); LANES];
    let chunks = x.chunks_exact(LANES);
    let tail = chunks.remainder();
    for chunk in chunks {
        for j in 0..LANES {
            acc[j] += f(chunk[j]);
        }
    }
    for (j, &v) in tail.iter().enumerate() {
        acc[j] += f(v);
    }
    fold_pairwise(acc)
}

/// `(max, log(sum(exp(x - max))))` of a lane, or `None` when the max is not finite
/// (a NaN, a +inf, or only -inf values): then every log-probability is NaN.
#[multiversion(targets(
    "x86_64+avx512f+avx512bw+avx512vl+avx2+avx+fma",
    "x86_64+avx2+avx+fma",
    "aarch64+neon"
))]
pub(crate) fn lane_log_sum_exp<F: Float>(x: &[F]) -> Option<(F, F)> {
    let max = lane_max(x);
    if !max.is_finite() {
        return None;
    }
    let sum = lane_sum_of(x, |v| (v - max).exp_nonpositive());
    Some((max, sum.ln()))
}

/// `x - max - lse` over a lane: its log-probabilities from its log-sum-exp.
#[multiversion(targets(
    "x86_64+avx512f+avx512bw+avx512vl+avx2+avx+fma",
    "x86_64+avx2+avx+fma",
    "aarch64+neon"
))]
pub(crate) fn shifted_lane<F: Float>(x: &[F], max: F, lse: F, out: &mut [F]) {
    out.iter_mut().zip(x).for_each(|(o, &v)| *o = v - max - lse);
}

/// `log_softmax` of one contiguous lane into `out`.
#[multiversion(targets(
    "x86_64+avx512f+avx512bw+avx512vl+avx2+avx+fma",
    "x86_64+avx2+avx+fma",
    "aarch64+neon"
))]
pub(crate) fn log_softmax_lane<F: Float>(x: &[F], out: &mut [F]) {
    match lane_log_sum_exp(x) {
        Some((max, lse)) => out.iter_mut().zip(x).for_each(|(o, &v)| *o = v - max - lse),
        None => out.iter_mut().for_each(|o| *o = F::nan()),
    }
}

/// `softmax` of one contiguous lane into `out`.
#[multiversion(targets(
    "x86_64+avx512f+avx512bw+avx512vl+avx2+avx+fma",
    "x86_64+avx2+avx+fma",
    "aarch64+neon"
))]
pub(crate) fn softmax_lane<F: Float>(x: &[F], out: &mut [F]) {
    let max = lane_max(x);
    if !max.is_finite() {
        out.iter_mut().for_each(|o| *o = F::nan());
        return;
    }
    out.iter_mut()
        .zip(x)
        .for_each(|(o, &v)| *o = (v - max).exp_nonpositive());
    let sum = lane_sum_of(out, |e| e);
    out.iter_mut().for_each(|o| *o = *o / sum);
}

/// `grad_output - exp(output) * sum(grad_output)` over one contiguous lane.
#[multiversion(targets(
    "x86_64+avx512f+avx512bw+avx512vl+avx2+avx+fma",
    "x86_64+avx2+avx+fma",
    "aarch64+neon"
))]
pub(crate) fn log_softmax_backward_lane<F: Float>(g: &[F], y: &[F], out: &mut [F]) {
    let total = lane_sum_of(g, |v| v);
    out.iter_mut()
        .zip(g.iter().zip(y))
        .for_each(|(o, (&g, &y))| *o = g - y.exp_nonpositive() * total);
}

/// `output * (grad_output - sum(grad_output * output))` over one contiguous lane.
#[multiversion(targets(
    "x86_64+avx512f+avx512bw+avx512vl+avx2+avx+fma",
    "x86_64+avx2+avx+fma",
    "aarch64+neon"
))]
pub(crate) fn softmax_backward_lane<F: Float>(g: &[F], y: &[F], out: &mut [F]) {
    let mut acc = [F::zero(); LANES];
    for (i, (&g, &y)) in g.iter().zip(y).enumerate() {
        acc[i % LANES] += g * y;
    }
    let dot = fold_pairwise(acc);
    out.iter_mut()
        .zip(g.iter().zip(y))
        .for_each(|(o, (&g, &y))| *o = y * (g - dot));
}
