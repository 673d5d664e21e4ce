//! Lane kernels shared by `log_softmax`, `softmax` and the fused `cross_entropy`: a
//! vectorisable `exp` for non-positive arguments and a log-sum-exp whose summation
//! order is fixed (`LANES` interleaved partial sums, folded pairwise). The order never
//! depends on SIMD width, thread count or memory layout, so results are bit-identical
//! across machines' dispatch targets, `RAYON_NUM_THREADS` and strides.

use multiversion::multiversion;

use super::float::Float;

// Every lane kernel below is compiled for AVX-512, AVX2 and the baseline, and the best
// one the CPU supports is picked at run time. Rust never fuses a multiply and an add
// on its own; where the kernels want one (the `exp` polynomial) they ask for it with
// `mul_add`, which is correctly rounded on every target (one instruction with FMA, a
// library call without). With the summation order fixed too, every version computes
// the same bits; only the speed differs.

/// Neumaier's compensated sum: exact to within one rounding of the result for any
/// order of terms, however much they cancel. The sums of the probability and
/// label-smoothing terms use it, where weights of both signs make large terms cancel:
/// libtorch's result then depends on its SIMD summation order, and the accurate sum
/// is the one closest to every machine's.
pub(crate) fn compensated_sum<F: Float>(values: impl IntoIterator<Item = F>) -> F {
    let (mut sum, mut compensation) = (F::zero(), F::zero());
    for v in values {
        let t = sum + v;
        compensation += if sum.abs() >= v.abs() {
            (sum - t) + v
        } else {
            (v - t) + sum
        };
        sum = t;
    }
    // With an infinity or a NaN among the terms the compensation is NaN; the plain
    // sum is then the IEEE result (inf, -inf or NaN), as any summation order gives.
    if sum.is_finite() {
        sum + compensation
    } else {
        sum
    }
}

/// [`compensated_sum`] of `n` terms, for sums over whole tensors: one chain of
/// Neumaier steps is serial and its branch on which operand is larger mispredicts at
/// random (a weighted loss over 256k elements took 9 times libtorch's time). Here
/// `fill(lo, block)` writes terms `lo..lo + block.len()` (a slice loop, which
/// vectorises), and each chunk of [`LONG_SUM_CHUNK`] terms runs `LANES` interleaved
/// branch-free two-sums over them, the chunks in parallel from
/// [`PARALLEL_MIN_ELEMENTS`] terms on; then every lane's sum and its accumulated error,
/// as separate terms, go through [`compensated_sum`]. Each lane's pair holds its exact
/// sum up to second-order terms, so the result is, as the serial sum's, within a
/// rounding of the exact sum (plus `n * eps^2` of the terms' magnitudes); the order
/// depends on `n` alone, never on the thread count. A lane whose sum is not finite
/// contributes its sum alone, so infinities and NaN give the IEEE result.
pub(crate) fn long_compensated_sum<T: Fn(usize, &mut [f64]) + Sync>(n: usize, fill: T) -> f64 {
    use rayon::prelude::*;
    let chunk = |c: usize| {
        let (lo, hi) = (c * LONG_SUM_CHUNK, ((c + 1) * LONG_SUM_CHUNK).min(n));
        let (sum, err) = chunk_two_sums(lo, hi, &fill);
        let mut parts = Vec::with_capacity(2 * LANES);
        for (s, e) in sum.into_iter().zip(err) {
            parts.push(s);
            if s.is_finite() {
                parts.push(e);
            }
        }
        parts
    };
    let chunks = n.div_ceil(LONG_SUM_CHUNK);
    let parts: Vec<Vec<f64>> = if n >= PARALLEL_MIN_ELEMENTS {
        (0..chunks).into_par_iter().map(chunk).collect()
    } else {
        (0..chunks).map(chunk).collect()
    };
    compensated_sum(parts.into_iter().flatten())
}

/// Terms `lo..hi` (written by `fill`, block by block) added to `LANES` running sums,
/// term `k` to lane `k % LANES` counted from `lo`, each addition's rounding error
/// (Knuth's two-sum, exact and branch-free) added to the lane's error sum. Generic over
/// `fill` so that its loop is inlined and compiled for the wide vector units with the
/// sums.
#[multiversion(targets(
    "x86_64+avx512f+avx512bw+avx512vl+avx2+avx+fma",
    "x86_64+avx2+avx+fma",
    "aarch64+neon"
))]
fn chunk_two_sums<T: Fn(usize, &mut [f64])>(
    lo: usize,
    hi: usize,
    fill: &T,
) -> ([f64; LANES], [f64; LANES]) {
    let (mut sum, mut err) = ([0.0f64; LANES], [0.0f64; LANES]);
    let mut block = [0.0f64; LONG_SUM_BLOCK];
    let mut start = lo;
    while start < hi {
        let len = LONG_SUM_BLOCK.min(hi - start);
        let block = &mut block[..len];
        fill(start, block);
        let chunks = block.chunks_exact(LANES);
        let tail = chunks.remainder();
        for terms in chunks {
            // Whole arrays, one operation at a time: the form the vectoriser keeps in
            // full-width registers.
            let v: [f64; LANES] = std::array::from_fn(|j| terms[j]);
            let t: [f64; LANES] = std::array::from_fn(|j| sum[j] + v[j]);
            let z: [f64; LANES] = std::array::from_fn(|j| t[j] - sum[j]);
            let e: [f64; LANES] = std::array::from_fn(|j| (sum[j] - (t[j] - z[j])) + (v[j] - z[j]));
            err = std::array::from_fn(|j| err[j] + e[j]);
            sum = t;
        }
        for (j, &v) in tail.iter().enumerate() {
            let t = sum[j] + v;
            let z = t - sum[j];
            err[j] += (sum[j] - (t - z)) + (v - z);
            sum[j] = t;
        }
        start += len;
    }
    (sum, err)
}

/// Terms per block that [`long_compensated_sum`]'s `fill` writes at a time (a multiple
/// of `LANES`; 2 KB, in L1).
const LONG_SUM_BLOCK: usize = 256;

/// Terms per chunk of [`long_compensated_sum`].
const LONG_SUM_CHUNK: usize = 1 << 14;

/// Interleaved partial sums per lane: element `i` goes to partial sum `i % LANES`.
pub(crate) const LANES: usize = 16;

/// Below this many elements a call stays on the calling thread.
pub(crate) const PARALLEL_MIN_ELEMENTS: usize = 1 << 15;

/// `exp` of an `f32` at most 0 (see [`Float::exp_nonpositive`]).
#[inline(always)]
pub(crate) fn exp_nonpositive_f32(x: f32) -> f32 {
    // Below this, exp rounds to 0 in f32.
    const CUTOFF: f32 = -104.0;
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_145_75;
    const LN2_LO: f32 = 1.428_606_8e-6;
    // 1.5 * 2^23: adding it rounds to an integer.
    const ROUND: f32 = 12_582_912.0;
    // Results are scaled by 2^(n + 100) (always a normal number) and then by 2^-100,
    // so a subnormal result is rounded once, as a correctly scaled one would be.
    const BIAS: u32 = 127 + 100;
    const UNSCALE: f32 = f32::from_bits((127 - 100) << 23); // 2^-100
    let clamped = if x < CUTOFF { CUTOFF } else { x };
    // `t`'s low mantissa bits hold the integer n; reading them instead of a float to
    // int conversion keeps the loop vectorised (such conversions saturate).
    let t = clamped.mul_add(LOG2E, ROUND);
    let n = t - ROUND;
    let r = (-n).mul_add(LN2_LO, (-n).mul_add(LN2_HI, clamped));
    let mut p: f32 = EXP_F32[6];
    for &c in EXP_F32[..6].iter().rev() {
        p = p.mul_add(r, c);
    }
    let scale = f32::from_bits(t.to_bits().wrapping_sub(ROUND.to_bits()).wrapping_add(BIAS) << 23);
    // At the cutoff the result already rounds to 0 (exp(-104) is below half the least
    // subnormal), so -inf, clamped there, gives 0 with no select; NaN stays NaN.
    p * scale * UNSCALE
}

/// The coefficients of `exp(r)` on `[-ln2/2, ln2/2]`, degree 6: a least-squares fit of
/// the relative error at Chebyshev nodes, reweighted towards minimax (Lawson), then
/// rounded to `f32` (made for this crate with numpy). Relative error 1.7e-8 (a fifth
/// of an ulp) against Taylor's degree 7 for the same accuracy.
const EXP_F32: [f32; 7] = [
    1.0,
    1.0,
    0.499_999_94,
    0.166_664_32,
    0.041_668,
    0.008_374_155_5,
    0.001_384_365_4,
];

/// `exp` of an `f64` at most 0 (see [`Float::exp_nonpositive`]).
#[inline(always)]
pub(crate) fn exp_nonpositive_f64(x: f64) -> f64 {
    // Below this, exp rounds to 0 in f64.
    const CUTOFF: f64 = -745.2;
    const LOG2E: f64 = std::f64::consts::LOG2_E;
    const LN2_HI: f64 = 0.693_147_180_369_123_8;
    const LN2_LO: f64 = 1.908_214_929_270_587_7e-10;
    const ROUND: f64 = 6_755_399_441_055_744.0; // 1.5 * 2^52
    const BIAS: u64 = 1023 + 1000;
    const UNSCALE: f64 = f64::from_bits((1023 - 1000) << 52); // 2^-1000
    let clamped = if x < CUTOFF { CUTOFF } else { x };
    let t = clamped.mul_add(LOG2E, ROUND);
    let n = t - ROUND;
    let r = (-n).mul_add(LN2_LO, (-n).mul_add(LN2_HI, clamped));
    let mut p: f64 = 1.0 / 6_227_020_800.0;
    for k in (0..13).rev() {
        p = p.mul_add(r, INV_FACTORIAL[k]);
    }
    let scale = f64::from_bits(t.to_bits().wrapping_sub(ROUND.to_bits()).wrapping_add(BIAS) << 52);
    // exp(-745.2) rounds to 0: -inf, clamped there, gives 0 with no select.
    p * scale * UNSCALE
}

/// `exp(x)` of any `f64`, in arithmetic that vectorises (glibc's `exp` is a call per
/// element): [`exp_nonpositive_f64`]'s reduction and polynomial, within an ulp; NaN
/// stays NaN, `+inf` past 709.78, 0 below -745.2. The scaling by `2^n` is split in two
/// powers of two that are normal numbers, so that a subnormal result is rounded once.
#[inline(always)]
pub(crate) fn exp_f64(x: f64) -> f64 {
    const LOG2E: f64 = std::f64::consts::LOG2_E;
    const LN2_HI: f64 = 0.693_147_180_369_123_8;
    const LN2_LO: f64 = 1.908_214_929_270_587_7e-10;
    const ROUND: f64 = 6_755_399_441_055_744.0; // 1.5 * 2^52
    // `clamp` keeps a NaN; past the bounds the result is inf or 0 anyway.
    let clamped = x.clamp(-746.0, 710.0);
    let t = clamped.mul_add(LOG2E, ROUND);
    let n = t - ROUND;
    let r = (-n).mul_add(LN2_LO, (-n).mul_add(LN2_HI, clamped));
    let mut p: f64 = 1.0 / 6_227_020_800.0;
    for k in (0..13).rev() {
        p = p.mul_add(r, INV_FACTORIAL[k]);
    }
    // n in [-1077, 1025]: 2^n = 2^h * 2^(n - h) with both halves in [-539, 513].
    let k = t.to_bits().wrapping_sub(ROUND.to_bits()) as i64;
    let h = k >> 1;
    let s1 = f64::from_bits(((h + 1023) as u64) << 52);
    let s2 = f64::from_bits(((k - h + 1023) as u64) << 52);
    p * s1 * s2
}

/// `ln(x)` of an `f64` at least 1, or NaN (see [`Float::ln_at_least_one`]).
///
/// `x = 2^e * m` with `m` in `[sqrt(1/2), sqrt(2))`, `f = m - 1` (exact) and
/// `s = f / (2 + f)`: `ln(m) = 2 atanh(s) = 2s + s * R(s^2)` with
/// `R(z) = sum_k 2 z^k / (2k + 1)`, and `2s = f - f^2/2 + s * f^2/2`, so that the
/// exact `f` carries the result and the rounding errors only touch the small
/// corrections. `|s| < 0.172`, so eleven terms of `R` reach below 1e-18.
#[inline(always)]
pub(crate) fn ln_at_least_one_f64(x: f64) -> f64 {
    const MANTISSA: u64 = (1 << 52) - 1;
    const ONE: u64 = 1023 << 52;
    const SQRT2: f64 = std::f64::consts::SQRT_2;
    const LN2_HI: f64 = 0.693_147_180_369_123_8;
    const LN2_LO: f64 = 1.908_214_929_270_587_7e-10;
    let bits = x.to_bits();
    let m = f64::from_bits((bits & MANTISSA) | ONE);
    let e = ((bits >> 52) as i64 - 1023) as f64;
    let (m, e) = if m >= SQRT2 {
        (m * 0.5, e + 1.0)
    } else {
        (m, e)
    };
    let f = m - 1.0;
    let s = f / (2.0 + f);
    let z = s * s;
    let mut r: f64 = 2.0 / 23.0;
    for k in (1..11).rev() {
        r = r.mul_add(z, 2.0 / (2 * k + 1) as f64);
    }
    r *= z;
    let half_f2 = 0.5 * f * f;
    let ln_m = f - (half_f2 - s * (half_f2 + r));
    let ln = e.mul_add(LN2_HI, e.mul_add(LN2_LO, ln_m));
    if x.is_nan() { x } else { ln }
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

/// The largest value of a lane, NaN values aside; -inf for an empty lane. Every
/// caller also sums `exp(x - max)`, where a NaN shows up anyway and makes the whole
/// lane NaN, as libtorch's kernels do.
#[multiversion(targets(
    "x86_64+avx512f+avx512bw+avx512vl+avx2+avx+fma",
    "x86_64+avx2+avx+fma",
    "aarch64+neon"
))]
pub(crate) fn lane_max<F: Float>(x: &[F]) -> F {
    max_of(x)
}

/// [`lane_max`], inlined into the caller's kernel.
#[inline(always)]
fn max_of<F: Float>(x: &[F]) -> F {
    let mut acc = [F::neg_infinity(); LANES];
    let chunks = x.chunks_exact(LANES);
    let tail = chunks.remainder();
    for chunk in chunks {
        for j in 0..LANES {
            acc[j] = if chunk[j] > acc[j] { chunk[j] } else { acc[j] };
        }
    }
    if !tail.is_empty() {
        // The tail as one more chunk, padded with -inf (which never wins).
        let mut padded = [F::neg_infinity(); LANES];
        padded[..tail.len()].copy_from_slice(tail);
        for j in 0..LANES {
            acc[j] = if padded[j] > acc[j] {
                padded[j]
            } else {
                acc[j]
            };
        }
    }
    first_max(acc)
}

/// The partial maxima folded as `fold(-inf, |m, v| if v > m { v } else { m })` in lane
/// order would: the first largest value (which matters for `+0` against `-0`; the
/// partials hold no NaN). Keeping the first of each pair is associative, so it runs as a
/// tree: four steps deep instead of sixteen.
#[inline(always)]
fn first_max<F: Float>(mut acc: [F; LANES]) -> F {
    let mut width = LANES;
    while width > 1 {
        width /= 2;
        for j in 0..width {
            let (a, b) = (acc[2 * j], acc[2 * j + 1]);
            acc[j] = if b > a { b } else { a };
        }
    }
    acc[0]
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

/// Elements per block of [`lane_log_sum_exp`]: small enough to stay in L1 between
/// its two passes, a multiple of `LANES`.
const BLOCK: usize = 2048;

/// `(max, log(sum(exp(x - max))))` of a lane, or `None` when the max is not finite
/// (a +inf, or only -inf and NaN values): then every log-probability is NaN. A NaN
/// among finite values makes the log-sum-exp NaN, with the same effect.
///
/// One sweep over memory: block by block, the block's max, then its exponentials
/// added to `LANES` partial sums, which are rescaled by `exp(old_max - new_max)`
/// whenever a block raises the running max. The order of operations depends only on
/// the lane's length and values.
#[multiversion(targets(
    "x86_64+avx512f+avx512bw+avx512vl+avx2+avx+fma",
    "x86_64+avx2+avx+fma",
    "aarch64+neon"
))]
pub(crate) fn lane_log_sum_exp<F: Float>(x: &[F]) -> Option<(F, F)> {
    let mut max = F::neg_infinity();
    let mut acc = [F::zero(); LANES];
    for block in x.chunks(BLOCK) {
        let block_max = max_of(block);
        if block_max > max {
            // Before the first finite max nothing has been added: the partial sums are
            // +0, which the factor (exp(-inf) = 0) would leave as they are.
            if max != F::neg_infinity() {
                let factor = (max - block_max).exp_nonpositive();
                acc.iter_mut().for_each(|a| *a = *a * factor);
            }
            max = block_max;
        }
        if !max.is_finite() {
            continue;
        }
        let chunks = block.chunks_exact(LANES);
        let tail = chunks.remainder();
        for chunk in chunks {
            for j in 0..LANES {
                acc[j] += (chunk[j] - max).exp_nonpositive();
            }
        }
        if !tail.is_empty() {
            // Padded with -inf: exp gives 0, and +0 added to a partial sum (+0 or
            // positive) leaves it as it is.
            let mut padded = [F::neg_infinity(); LANES];
            padded[..tail.len()].copy_from_slice(tail);
            for j in 0..LANES {
                acc[j] += (padded[j] - max).exp_nonpositive();
            }
        }
    }
    if !max.is_finite() {
        return None;
    }
    Some((max, fold_pairwise(acc).ln_at_least_one()))
}

/// Rows with at most this many classes go through the tiled kernels.
pub(crate) const TILE_MAX_CLASSES: usize = 64;

/// Rows per tile: one vector of `f32` on AVX-512.
pub(crate) const TILE_ROWS: usize = 16;

/// [`lane_log_sum_exp`] of every row of `x` (`classes` values each) into `stats`, the
/// same bits row by row. Short rows are costly one at a time (a lane kernel's fixed
/// cost is a horizontal fold and a scalar tail), so rows of up to
/// [`TILE_MAX_CLASSES`] are taken [`TILE_ROWS`] at a time and transposed, and the
/// lane kernel's operations run on all of them at once: class `c` of a row goes to
/// partial sum `c % LANES` exactly as in the lane kernel, and the partials are folded
/// in the same order, so every row gets the bits it would get alone.
#[multiversion(targets(
    "x86_64+avx512f+avx512bw+avx512vl+avx2+avx+fma",
    "x86_64+avx2+avx+fma",
    "aarch64+neon"
))]
pub(crate) fn rows_log_sum_exp<F: Float>(x: &[F], classes: usize, stats: &mut [Option<(F, F)>]) {
    if classes == 0 {
        stats.iter_mut().for_each(|s| *s = None);
        return;
    }
    if classes > TILE_MAX_CLASSES {
        for (row, s) in x.chunks_exact(classes).zip(stats.iter_mut()) {
            *s = lane_log_sum_exp(row);
        }
        return;
    }
    let mut tile = [[F::zero(); TILE_ROWS]; TILE_MAX_CLASSES];
    for (rows, out) in x
        .chunks(classes * TILE_ROWS)
        .zip(stats.chunks_mut(TILE_ROWS))
    {
        transpose_into(rows, classes, &mut tile);
        let (max, lse) = tile_log_sum_exp(&tile[..classes]);
        for (r, s) in out.iter_mut().enumerate() {
            *s = max[r].is_finite().then(|| (max[r], lse[r]));
        }
    }
}

/// Up to [`TILE_ROWS`] rows of `classes` values, transposed: `tile[c][r]` is class `c`
/// of row `r`. Rows past the end keep whatever the tile held; their results are
/// never read.
#[inline(always)]
fn transpose_into<F: Float>(
    rows: &[F],
    classes: usize,
    tile: &mut [[F; TILE_ROWS]; TILE_MAX_CLASSES],
) {
    for (r, row) in rows.chunks_exact(classes).enumerate() {
        for (t, &v) in tile.iter_mut().zip(row) {
            t[r] = v;
        }
    }
}

/// The lane kernel's `(max, log(sum(exp(x - max))))` for each of the [`TILE_ROWS`]
/// rows of a transposed tile (one block: rows are far shorter than [`BLOCK`]). Where a
/// row's max is not finite its values are meaningless, as the lane kernel's `None`.
#[inline(always)]
fn tile_log_sum_exp<F: Float>(tile: &[[F; TILE_ROWS]]) -> ([F; TILE_ROWS], [F; TILE_ROWS]) {
    let mut partial_max = [[F::neg_infinity(); TILE_ROWS]; LANES];
    for (c, column) in tile.iter().enumerate() {
        let m = &mut partial_max[c % LANES];
        for r in 0..TILE_ROWS {
            m[r] = if column[r] > m[r] { column[r] } else { m[r] };
        }
    }
    let mut max = [F::neg_infinity(); TILE_ROWS];
    for m in &partial_max {
        for r in 0..TILE_ROWS {
            max[r] = if m[r] > max[r] { m[r] } else { max[r] };
        }
    }
    let mut acc = [[F::zero(); TILE_ROWS]; LANES];
    for (c, column) in tile.iter().enumerate() {
        let a = &mut acc[c % LANES];
        for r in 0..TILE_ROWS {
            a[r] += (column[r] - max[r]).exp_nonpositive();
        }
    }
    // fold_pairwise, on every row at once.
    let mut width = LANES;
    while width > 1 {
        width /= 2;
        for j in 0..width {
            let (a, b) = (acc[2 * j], acc[2 * j + 1]);
            for ((v, &a), &b) in acc[j].iter_mut().zip(&a).zip(&b) {
                *v = a + b;
            }
        }
    }
    let mut lse = acc[0];
    lse.iter_mut().for_each(|l| *l = l.ln_at_least_one());
    (max, lse)
}

/// `log_softmax` of every row of `x` (`classes` values each) into `out`: the bits of
/// [`log_softmax_lane`] row by row, short rows tiled as in [`rows_log_sum_exp`]. `out`
/// may be uninitialised; every element is written.
#[multiversion(targets(
    "x86_64+avx512f+avx512bw+avx512vl+avx2+avx+fma",
    "x86_64+avx2+avx+fma",
    "aarch64+neon"
))]
pub(crate) fn rows_log_softmax<F: Float>(
    x: &[F],
    classes: usize,
    out: &mut [std::mem::MaybeUninit<F>],
) {
    if classes == 0 {
        return;
    }
    let mut stats = [None; TILE_ROWS];
    for (rows, out) in x
        .chunks(classes * TILE_ROWS)
        .zip(out.chunks_mut(classes * TILE_ROWS))
    {
        let stats = &mut stats[..rows.len() / classes];
        rows_log_sum_exp(rows, classes, stats);
        for ((row, o), s) in rows
            .chunks_exact(classes)
            .zip(out.chunks_exact_mut(classes))
            .zip(stats.iter())
        {
            match *s {
                Some((max, lse)) => o.iter_mut().zip(row).for_each(|(o, &v)| {
                    o.write(v - max - lse);
                }),
                None => o.iter_mut().for_each(|o| {
                    o.write(F::nan());
                }),
            }
        }
    }
}

/// `len` zeros, written on every thread for a large vector (a gradient that is zero
/// but for one entry per position spends most of its time here). From 32 MiB up, a
/// zeroed allocation is fresh memory from the system (glibc's largest mmap threshold),
/// whose pages the kernel zeroes when first touched: entries never written cost
/// nothing, so those are left to the allocator.
pub(crate) fn zeroed_vec<F: Float>(len: usize) -> Vec<F> {
    if len < PARALLEL_MIN_ELEMENTS || len.saturating_mul(std::mem::size_of::<F>()) >= 32 << 20 {
        return vec![F::zero(); len];
    }
    // SAFETY: the chunks cover the slice, and every element of every chunk is written.
    unsafe {
        written_vec(len, |out| {
            use rayon::prelude::*;
            out.par_chunks_mut(PARALLEL_MIN_ELEMENTS).for_each(|chunk| {
                chunk.iter_mut().for_each(|v| {
                    v.write(F::zero());
                })
            })
        })
    }
}

/// A vector of `len` values, each written by `fill`, without zeroing it first (a fresh
/// output's zeroing costs as much as a cheap kernel's whole pass).
///
/// # Safety
///
/// `fill` must write every element of the slice it is given (on every path: an early
/// return or a zip that stops short leaves memory uninitialised, and the vector would
/// then hold it).
pub(crate) unsafe fn written_vec<F: Float>(
    len: usize,
    fill: impl FnOnce(&mut [std::mem::MaybeUninit<F>]),
) -> Vec<F> {
    let mut v = Vec::with_capacity(len);
    fill(&mut v.spare_capacity_mut()[..len]);
    // SAFETY: the capacity is at least `len`, and `fill` has initialised the first
    // `len` elements (the caller's obligation).
    unsafe { v.set_len(len) };
    v
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

/// [`log_softmax_backward_lane`] for a `grad_output` that is zero but for `value` at
/// `class` (the `nll_loss` gradient of one position), with the lane's log-probabilities
/// `x - max - lse` computed on the fly: one pass instead of four, the same bits (a sum
/// of zeros and `value` is `value + 0`).
#[multiversion(targets(
    "x86_64+avx512f+avx512bw+avx512vl+avx2+avx+fma",
    "x86_64+avx2+avx+fma",
    "aarch64+neon"
))]
pub(crate) fn one_hot_log_softmax_backward_lane<F: Float>(
    x: &[F],
    max: F,
    lse: F,
    hot: Option<(usize, F)>,
    out: &mut [F],
) {
    let (class, value) = hot.unwrap_or((0, F::zero()));
    let total = value + F::zero();
    out.iter_mut()
        .zip(x)
        .for_each(|(o, &v)| *o = F::zero() - (v - max - lse).exp_nonpositive() * total);
    if hot.is_some()
        && let (Some(o), Some(&v)) = (out.get_mut(class), x.get(class))
    {
        *o = value - (v - max - lse).exp_nonpositive() * total;
    }
}

/// `sum(w[c] * (x[c] - max))` over a lane, in f64 (`w` is 1 without a weight): the
/// label-smoothing term of a row is `lse * sum(w) - this`, two sums of one sign (for
/// weights of one sign), where the sum of `w[c] * logp[c]` would round each
/// log-probability first. For `f32` scores the differences and products are exact in
/// f64 (and in groups, see the body). The order depends on the length alone.
#[multiversion(targets(
    "x86_64+avx512f+avx512bw+avx512vl+avx2+avx+fma",
    "x86_64+avx2+avx+fma",
    "aarch64+neon"
))]
pub(crate) fn weighted_shift_sum<F: Float>(x: &[F], max: F, weight: Option<&[F]>) -> f64 {
    let m = max.to_f64_exact();
    let mut acc = [0.0f64; LANES];
    // Converting every element to f64 made this pass cost half the log-sum-exp's: so
    // each lane's terms of GROUP chunks are added in `F` as a tree (three roundings of
    // terms of one sign, 3 * 2^-24 relative for f32 at most, beside x - max's own half
    // ulp), then widened once.
    let term = |j: usize, chunk: &[F], wc: Option<&[F]>| match wc {
        None => chunk[j] - max,
        Some(w) => w[j] * (chunk[j] - max),
    };
    let whole = x.len() / (GROUP * LANES) * (GROUP * LANES);
    for (g, group) in x[..whole].chunks_exact(GROUP * LANES).enumerate() {
        let w = weight.map(|w| &w[g * GROUP * LANES..(g + 1) * GROUP * LANES]);
        let chunk = |k: usize| &group[k * LANES..(k + 1) * LANES];
        let wchunk = |k: usize| w.map(|w| &w[k * LANES..(k + 1) * LANES]);
        for (j, a) in acc.iter_mut().enumerate() {
            let t = |k: usize| term(j, chunk(k), wchunk(k));
            let tree = ((t(0) + t(1)) + (t(2) + t(3))) + ((t(4) + t(5)) + (t(6) + t(7)));
            *a += tree.to_f64_exact();
        }
    }
    for (i, &v) in x.iter().enumerate().skip(whole) {
        let wi = weight.map_or(1.0, |w| w[i].to_f64_exact());
        acc[(i - whole) % LANES] += wi * (v.to_f64_exact() - m);
    }
    fold_pairwise(acc)
}

/// Chunks of `LANES` whose terms [`weighted_shift_sum`] adds in `F` before widening.
const GROUP: usize = 8;

/// The gradient of one label-smoothed row with respect to its scores, from its
/// log-sum-exp: the gradient with respect to the log-probabilities is `-s * w[c]`
/// plus the `nll_loss` entry `hot` at its class, and `total` is that gradient's sum
/// (in f64, of the very `F` values, by the caller); then `log_softmax`'s
/// backward, `grad - exp(logp) * total`, with the log-probabilities computed on the
/// fly. One pass over the row.
#[multiversion(targets(
    "x86_64+avx512f+avx512bw+avx512vl+avx2+avx+fma",
    "x86_64+avx2+avx+fma",
    "aarch64+neon"
))]
pub(crate) fn smoothed_log_softmax_backward_lane<F: Float>(
    x: &[F],
    (max, lse): (F, F),
    hot: Option<(usize, F)>,
    weight: Option<&[F]>,
    [s, total]: [F; 2],
    out: &mut [F],
) {
    match weight {
        None => {
            let spread = F::zero() - s;
            out.iter_mut()
                .zip(x)
                .for_each(|(o, &v)| *o = spread - (v - max - lse).exp_nonpositive() * total);
        }
        Some(w) => out
            .iter_mut()
            .zip(x.iter().zip(w))
            .for_each(|(o, (&v, &w))| {
                *o = (F::zero() - s * w) - (v - max - lse).exp_nonpositive() * total;
            }),
    }
    if let Some((class, value)) = hot
        && let (Some(o), Some(&v)) = (out.get_mut(class), x.get(class))
    {
        let w = weight.and_then(|w| w.get(class)).map_or(F::one(), |&w| w);
        *o = (value + (F::zero() - s * w)) - (v - max - lse).exp_nonpositive() * total;
    }
}

/// A class-probability target's factor: `q`, or with label smoothing `q * keep +
/// spread`, rounded at each step as libtorch's two ops round it.
#[inline(always)]
fn soft<F: Float>(q: F, smooth: Option<(F, F)>) -> F {
    match smooth {
        Some((keep, spread)) => q * keep + spread,
        None => q,
    }
}

/// The gradient of the loss with respect to one log-probability, `(-g * w) * q` (`-g *
/// q` without a weight), in libtorch's order of products.
#[inline(always)]
fn probability_logp_grad<F: Float>(neg_g: F, w: Option<F>, q: F) -> F {
    match w {
        None => neg_g * q,
        Some(w) => (neg_g * w) * q,
    }
}

/// What the probability kernels need besides the scores: the targets (of the scores'
/// layout), the class weights (`None` for 1) and label smoothing's `(1 - ls, ls / C)`.
#[derive(Clone, Copy)]
pub(crate) struct ProbabilityTarget<'a, F> {
    pub(crate) q: &'a [F],
    pub(crate) weight: Option<&'a [F]>,
    pub(crate) smooth: Option<(F, F)>,
}

/// `(sum(w q (x - max)), sum(w q), sum(d))` of one row in f64, `q` the (smoothed)
/// target and `d` the log-probabilities' gradients in `F` for `neg_g` (see
/// [`probability_logp_grad`]): the row's loss `-sum(w q logp)` is `lse * B - A`, two
/// sums of one sign for non-negative weights and targets, and `sum(d)` is the sum
/// `log_softmax`'s backward subtracts, exact in f64 for `f32` (so that a row whose
/// gradient is in one class gets `d - p * d`, 0 where `p` rounds to 1, as libtorch's
/// does). `LANES` partial sums folded pairwise.
#[multiversion(targets(
    "x86_64+avx512f+avx512bw+avx512vl+avx2+avx+fma",
    "x86_64+avx2+avx+fma",
    "aarch64+neon"
))]
pub(crate) fn probability_row_sums<F: Float>(
    x: &[F],
    max: F,
    t: ProbabilityTarget<'_, F>,
    neg_g: F,
) -> (f64, f64, f64) {
    let m = max.to_f64_exact();
    let (mut a, mut b, mut d) = ([0.0f64; LANES], [0.0f64; LANES], [0.0f64; LANES]);
    // Element i goes to partial sum i % LANES: whole chunks (which vectorise), then the
    // tail.
    let mut add = |j: usize, v: F, q: F, w: Option<F>| {
        let q = soft(q, t.smooth);
        let wq = q.to_f64_exact() * w.map_or(1.0, |w| w.to_f64_exact());
        a[j] += wq * (v.to_f64_exact() - m);
        b[j] += wq;
        d[j] += probability_logp_grad(neg_g, w, q).to_f64_exact();
    };
    let whole = x.len() / LANES * LANES;
    match t.weight {
        None => {
            for (xc, qc) in x[..whole]
                .chunks_exact(LANES)
                .zip(t.q[..whole].chunks_exact(LANES))
            {
                for j in 0..LANES {
                    add(j, xc[j], qc[j], None);
                }
            }
        }
        Some(w) => {
            for ((xc, qc), wc) in x[..whole]
                .chunks_exact(LANES)
                .zip(t.q[..whole].chunks_exact(LANES))
                .zip(w[..whole].chunks_exact(LANES))
            {
                for j in 0..LANES {
                    add(j, xc[j], qc[j], Some(wc[j]));
                }
            }
        }
    }
    for i in whole..x.len() {
        add(i - whole, x[i], t.q[i], t.weight.map(|w| w[i]));
    }
    (fold_pairwise(a), fold_pairwise(b), fold_pairwise(d))
}

/// The gradient of one row of the probability path with respect to its scores: the
/// log-probabilities' gradient (see [`probability_logp_grad`]), then `log_softmax`'s
/// backward with their sum `total` (from [`probability_row_sums`]) and the
/// log-probabilities computed on the fly. One pass.
#[multiversion(targets(
    "x86_64+avx512f+avx512bw+avx512vl+avx2+avx+fma",
    "x86_64+avx2+avx+fma",
    "aarch64+neon"
))]
pub(crate) fn probability_log_softmax_backward_lane<F: Float>(
    x: &[F],
    (max, lse): (F, F),
    t: ProbabilityTarget<'_, F>,
    [neg_g, total]: [F; 2],
    out: &mut [F],
) {
    match t.weight {
        None => out
            .iter_mut()
            .zip(x.iter().zip(t.q))
            .for_each(|(o, (&v, &q))| {
                let d = probability_logp_grad(neg_g, None, soft(q, t.smooth));
                *o = d - (v - max - lse).exp_nonpositive() * total;
            }),
        Some(w) => out
            .iter_mut()
            .zip(x.iter().zip(t.q).zip(w))
            .for_each(|(o, ((&v, &q), &w))| {
                let d = probability_logp_grad(neg_g, Some(w), soft(q, t.smooth));
                *o = d - (v - max - lse).exp_nonpositive() * total;
            }),
    }
}

/// The probability path of a `(C, M)` block (one sample of a K-dimensional input),
/// strip by strip: each position's loss `lse * B - A` (see [`probability_row_sums`],
/// the classes summed in order; NaN where the max is not finite) into `losses`, and
/// with `grad` (each position's `-g` and the block's gradient) the gradient while the
/// strip is in cache.
#[multiversion(targets(
    "x86_64+avx512f+avx512bw+avx512vl+avx2+avx+fma",
    "x86_64+avx2+avx+fma",
    "aarch64+neon"
))]
pub(crate) fn columns_probabilities<F: Float>(
    x: &[F],
    map: usize,
    t: ProbabilityTarget<'_, F>,
    losses: &mut [f64],
    mut grad: Option<(&[F], &mut [F])>,
) {
    let (mut max, mut lse) = ([F::zero(); STRIP], [F::zero(); STRIP]);
    for (start, width) in strips(map) {
        let (max, lse) = (&mut max[..width], &mut lse[..width]);
        strip_log_sum_exp(x, map, start, max, lse);
        let span = start..start + width;
        let (mut a, mut b, mut d) = ([0.0f64; STRIP], [0.0f64; STRIP], [0.0f64; STRIP]);
        let neg_g = grad.as_ref().map(|(g, _)| &g[span.clone()]);
        for (c, (row, qs)) in x.chunks_exact(map).zip(t.q.chunks_exact(map)).enumerate() {
            let w = t.weight.map(|w| w[c]);
            let w64 = w.map_or(1.0, |w| w.to_f64_exact());
            let (row, qs) = (&row[span.clone()], &qs[span.clone()]);
            for ((((a, b), &v), &q), &m) in a
                .iter_mut()
                .zip(b.iter_mut())
                .zip(row)
                .zip(qs)
                .zip(max.iter())
            {
                let wq = soft(q, t.smooth).to_f64_exact() * w64;
                *a += wq * (v.to_f64_exact() - m.to_f64_exact());
                *b += wq;
            }
            if let Some(neg_g) = neg_g {
                for ((d, &q), &g) in d.iter_mut().zip(qs).zip(neg_g) {
                    *d += probability_logp_grad(g, w, soft(q, t.smooth)).to_f64_exact();
                }
            }
        }
        for (((o, &a), &b), &l) in losses[span.clone()]
            .iter_mut()
            .zip(&a)
            .zip(&b)
            .zip(lse.iter())
        {
            *o = l.to_f64_exact() * b - a;
        }
        let Some((neg_g, out)) = grad.as_mut() else {
            continue;
        };
        let mut total = [F::zero(); STRIP];
        for (t, &d) in total.iter_mut().zip(&d) {
            *t = F::of_f64(d);
        }
        for (c, ((row, qs), out_row)) in x
            .chunks_exact(map)
            .zip(t.q.chunks_exact(map))
            .zip(out.chunks_exact_mut(map))
            .enumerate()
        {
            let w = t.weight.map(|w| w[c]);
            let (row, qs, out_row) = (
                &row[span.clone()],
                &qs[span.clone()],
                &mut out_row[span.clone()],
            );
            for (s, ((o, &v), &q)) in out_row.iter_mut().zip(row).zip(qs).enumerate() {
                let gl = probability_logp_grad(neg_g[start + s], w, soft(q, t.smooth));
                *o = gl - (v - max[s] - lse[s]).exp_nonpositive() * total[s];
            }
        }
    }
}

/// Positions per strip of the column kernels: a strip of tens of classes stays in L1
/// between a kernel's passes, so the block is read from memory once.
const STRIP: usize = 256;

/// `max` and `lse` of the positions `start..start + max.len()` of a `(C, M)` block
/// (one strip): per position the classes are summed in order; `max` and `lse` are NaN
/// where the max is not finite (every log-probability there is NaN).
#[inline(always)]
fn strip_log_sum_exp<F: Float>(x: &[F], map: usize, start: usize, max: &mut [F], lse: &mut [F]) {
    let width = max.len();
    max.iter_mut().for_each(|m| *m = F::neg_infinity());
    for row in x.chunks_exact(map) {
        for (m, &v) in max.iter_mut().zip(&row[start..start + width]) {
            *m = if v > *m { v } else { *m };
        }
    }
    lse.iter_mut().for_each(|l| *l = F::zero());
    for row in x.chunks_exact(map) {
        for ((l, &m), &v) in lse
            .iter_mut()
            .zip(max.iter())
            .zip(&row[start..start + width])
        {
            *l += (v - m).exp_nonpositive();
        }
    }
    for (m, l) in max.iter_mut().zip(lse.iter_mut()) {
        let finite = m.is_finite();
        *l = if finite {
            l.ln_at_least_one()
        } else {
            F::nan()
        };
        *m = if finite { *m } else { F::nan() };
    }
}

/// For each position of a strip whose target is a class (`0 <= target < C`), that
/// class's log-probability into `picked` (NaN where the max is not finite).
#[inline(always)]
fn strip_picks<F: Float>(
    x: &[F],
    map: usize,
    start: usize,
    (max, lse): (&[F], &[F]),
    targets: &[i64],
    picked: &mut [F],
) {
    let classes = x.len().checked_div(map).unwrap_or(0);
    for (s, (&m, &l)) in max.iter().zip(lse).enumerate() {
        let p = start + s;
        if let Some(Ok(class)) = targets.get(p).map(|&t| usize::try_from(t))
            && class < classes
            && let (Some(o), Some(&v)) = (picked.get_mut(p), x.get(class * map + p))
        {
            *o = v - m - l;
        }
    }
}

/// The strips of a block of `map` positions: `(start, width)`.
fn strips(map: usize) -> impl Iterator<Item = (usize, usize)> {
    (0..map)
        .step_by(STRIP)
        .map(move |start| (start, STRIP.min(map - start)))
}

/// The log-sum-exp of every position of a `(C, M)` block whose classes are strided by
/// `M` (one sample of a K-dimensional input), vectorised across positions, strip by
/// strip, into `stats` (`None` where the max is not finite), and for positions whose
/// target is a class (`0 <= target < C`) that class's log-probability into `picked`
/// (NaN where `stats` is `None`), read while the strip is in cache.
#[multiversion(targets(
    "x86_64+avx512f+avx512bw+avx512vl+avx2+avx+fma",
    "x86_64+avx2+avx+fma",
    "aarch64+neon"
))]
pub(crate) fn columns_stats<F: Float>(
    x: &[F],
    map: usize,
    targets: &[i64],
    stats: &mut [Option<(F, F)>],
    picked: &mut [F],
    mut smoothing: Option<SmoothingTerms<'_, F>>,
) {
    let (mut max, mut lse) = ([F::zero(); STRIP], [F::zero(); STRIP]);
    for (start, width) in strips(map) {
        let (max, lse) = (&mut max[..width], &mut lse[..width]);
        strip_log_sum_exp(x, map, start, max, lse);
        for (s, (&m, &l)) in max.iter().zip(lse.iter()).enumerate() {
            if let Some(st) = stats.get_mut(start + s) {
                *st = (!m.is_nan()).then_some((m, l));
            }
        }
        strip_picks(x, map, start, (max, lse), targets, picked);
        if let Some(terms) = smoothing.as_mut() {
            strip_smoothing_terms(x, map, start, (max, lse), terms);
        }
    }
}

/// Where a column kernel writes each position's label-smoothing term
/// `-sum(w[c] * logp[c]) = lse * sum(w) - sum(w[c] * (x[c] - max))` (see
/// [`weighted_shift_sum`]), in f64: the class weights (`None` for 1), their sum, and
/// one output per position of the block.
pub(crate) struct SmoothingTerms<'a, F> {
    pub(crate) weight: Option<&'a [F]>,
    pub(crate) weight_sum: f64,
    pub(crate) out: &'a mut [f64],
}

/// The [`SmoothingTerms`] of each position of a strip, the classes summed in order
/// (NaN where the max is not finite: `lse` is NaN there).
#[inline(always)]
fn strip_smoothing_terms<F: Float>(
    x: &[F],
    map: usize,
    start: usize,
    (max, lse): (&[F], &[F]),
    terms: &mut SmoothingTerms<'_, F>,
) {
    let width = max.len();
    let mut acc = [0.0f64; STRIP];
    let acc = &mut acc[..width];
    for (c, row) in x.chunks_exact(map).enumerate() {
        let w = terms.weight.map_or(1.0, |w| w[c].to_f64_exact());
        for ((a, &v), &m) in acc.iter_mut().zip(&row[start..start + width]).zip(max) {
            *a += w * (v.to_f64_exact() - m.to_f64_exact());
        }
    }
    for ((o, &a), &l) in terms.out[start..start + width]
        .iter_mut()
        .zip(acc.iter())
        .zip(lse)
    {
        *o = l.to_f64_exact() * terms.weight_sum - a;
    }
}

/// `log_softmax` over the classes of a `(C, M)` block, every position at once, strip
/// by strip: per position the classes are summed in order. `out` may be
/// uninitialised; every element is written.
#[multiversion(targets(
    "x86_64+avx512f+avx512bw+avx512vl+avx2+avx+fma",
    "x86_64+avx2+avx+fma",
    "aarch64+neon"
))]
pub(crate) fn columns_log_softmax<F: Float>(
    x: &[F],
    map: usize,
    out: &mut [std::mem::MaybeUninit<F>],
) {
    let (mut max, mut lse) = ([F::zero(); STRIP], [F::zero(); STRIP]);
    for (start, width) in strips(map) {
        let (max, lse) = (&mut max[..width], &mut lse[..width]);
        strip_log_sum_exp(x, map, start, max, lse);
        for (row, out_row) in x.chunks_exact(map).zip(out.chunks_exact_mut(map)) {
            let (row, out_row) = (
                &row[start..start + width],
                &mut out_row[start..start + width],
            );
            for (((o, &v), &m), &l) in out_row.iter_mut().zip(row).zip(max.iter()).zip(lse.iter()) {
                o.write(v - m - l);
            }
        }
    }
}

/// `softmax` over the classes of a `(C, M)` block, every position at once, the
/// classes summed in order.
#[multiversion(targets(
    "x86_64+avx512f+avx512bw+avx512vl+avx2+avx+fma",
    "x86_64+avx2+avx+fma",
    "aarch64+neon"
))]
pub(crate) fn columns_softmax<F: Float>(x: &[F], map: usize, out: &mut [F]) {
    let mut max = vec![F::neg_infinity(); map];
    for row in x.chunks_exact(map) {
        for (m, &v) in max.iter_mut().zip(row) {
            *m = if v > *m { v } else { *m };
        }
    }
    let mut sum = vec![F::zero(); map];
    for (row, out_row) in x.chunks_exact(map).zip(out.chunks_exact_mut(map)) {
        for (((o, &v), &m), s) in out_row.iter_mut().zip(row).zip(&max).zip(sum.iter_mut()) {
            // A max that is not finite makes v - m NaN for some v: the position is NaN.
            *o = (v - m).exp_nonpositive();
            *s += *o;
        }
    }
    for out_row in out.chunks_exact_mut(map) {
        for (o, &s) in out_row.iter_mut().zip(&sum) {
            *o = *o / s;
        }
    }
}

/// The forward and backward of the plain cross-entropy on a `(C, M)` block in one
/// sweep, strip by strip: each strip's log-sum-exps ([`columns_stats`]), the log-
/// probability of each position's target class into `picked`, and the gradient given
/// each position's one non-zero `nll_loss` gradient `hot` (`(class, value)`, `None`
/// where ignored), while the strip is in cache. The same bits as [`columns_stats`] and,
/// position by position, [`one_hot_log_softmax_backward_lane`].
#[multiversion(targets(
    "x86_64+avx512f+avx512bw+avx512vl+avx2+avx+fma",
    "x86_64+avx2+avx+fma",
    "aarch64+neon"
))]
pub(crate) fn columns_forward_backward<F: Float>(
    x: &[F],
    map: usize,
    targets: &[i64],
    hot: &[Option<(usize, F)>],
    picked: &mut [F],
    mut smoothing: Option<(SmoothingTerms<'_, F>, &[[F; 2]])>,
    out: &mut [F],
) {
    let (mut max, mut lse) = ([F::zero(); STRIP], [F::zero(); STRIP]);
    for (start, width) in strips(map) {
        let (max, lse) = (&mut max[..width], &mut lse[..width]);
        strip_log_sum_exp(x, map, start, max, lse);
        strip_picks(x, map, start, (max, lse), targets, picked);
        match smoothing.as_mut() {
            None => strip_one_hot_backward(x, map, start, max, lse, hot, out),
            Some((terms, grads)) => {
                strip_smoothing_terms(x, map, start, (max, lse), terms);
                let grads = &grads[start..start + width];
                strip_smoothed_backward(x, map, start, (max, lse), hot, terms.weight, grads, out);
            }
        }
    }
}

/// [`smoothed_log_softmax_backward_lane`] of every position of a strip, `grads` its
/// positions' `(s, total)`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn strip_smoothed_backward<F: Float>(
    x: &[F],
    map: usize,
    start: usize,
    (max, lse): (&[F], &[F]),
    hot: &[Option<(usize, F)>],
    weight: Option<&[F]>,
    grads: &[[F; 2]],
    out: &mut [F],
) {
    let width = max.len();
    for (c, (row, out_row)) in x
        .chunks_exact(map)
        .zip(out.chunks_exact_mut(map))
        .enumerate()
    {
        let w = weight.map_or(F::one(), |w| w[c]);
        let (row, out_row) = (
            &row[start..start + width],
            &mut out_row[start..start + width],
        );
        for ((((o, &v), &m), &l), &[s, t]) in
            out_row.iter_mut().zip(row).zip(max).zip(lse).zip(grads)
        {
            *o = (F::zero() - s * w) - (v - m - l).exp_nonpositive() * t;
        }
    }
    for (i, &[s, t]) in grads.iter().enumerate() {
        if let Some((class, value)) = hot[start + i] {
            let at = class * map + start + i;
            let w = weight.map_or(F::one(), |w| w[class]);
            if let (Some(o), Some(&v)) = (out.get_mut(at), x.get(at)) {
                *o = (value + (F::zero() - s * w)) - (v - max[i] - lse[i]).exp_nonpositive() * t;
            }
        }
    }
}

/// The gradient of one strip of [`columns_forward_backward`]: every entry is
/// `0 - exp(logp) * (value + 0)`, the target's `value - exp(logp) * (value + 0)`: the
/// bits of the general backward of a one-hot gradient.
#[inline(always)]
fn strip_one_hot_backward<F: Float>(
    x: &[F],
    map: usize,
    start: usize,
    max: &[F],
    lse: &[F],
    hot: &[Option<(usize, F)>],
    out: &mut [F],
) {
    let width = max.len();
    let mut total = [F::zero(); STRIP];
    for (t, h) in total.iter_mut().zip(&hot[start..start + width]) {
        *t = h.map_or(F::zero(), |(_, v)| v + F::zero());
    }
    let total = &total[..width];
    for (row, out_row) in x.chunks_exact(map).zip(out.chunks_exact_mut(map)) {
        let (row, out_row) = (
            &row[start..start + width],
            &mut out_row[start..start + width],
        );
        for ((((o, &v), &m), &l), &t) in out_row.iter_mut().zip(row).zip(max).zip(lse).zip(total) {
            *o = F::zero() - (v - m - l).exp_nonpositive() * t;
        }
    }
    for s in 0..width {
        if let Some((class, value)) = hot[start + s] {
            let at = class * map + start + s;
            if let (Some(o), Some(&v)) = (out.get_mut(at), x.get(at)) {
                *o = value - (v - max[s] - lse[s]).exp_nonpositive() * total[s];
            }
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::float::sealed::Kernels;

    /// A seeded generator of uniform values in [0, 1) (an LCG's top 53 bits).
    fn uniform(mut seed: u64) -> impl FnMut() -> f64 {
        move || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 11) as f64 / (1u64 << 53) as f64
        }
    }

    /// Terms that cancel to 1e-16 of their size: huge integers in pairs of opposite
    /// signs, far apart (so no lane sees both together), among small integers. The
    /// long sum keeps the small ones exactly, across chunks, lanes and a ragged tail,
    /// with the bits of one thread and of four, and IEEE's infinities and NaN.
    #[test]
    fn the_long_compensated_sum_is_exact_through_cancellation_and_thread_free() {
        let n = 3 * LONG_SUM_CHUNK + 5 * LANES + 7;
        let mut next = uniform(11);
        let small: Vec<f64> = (0..n).map(|_| (next() * 200.0).floor() - 100.0).collect();
        let big: Vec<f64> = (0..n / 2)
            .map(|k| 2f64.powi(40) + (k as f64) * 4096.0)
            .collect();
        let term = |i: usize| {
            let huge = if i < n / 2 {
                big[i]
            } else if i - n / 2 < big.len() {
                -big[i - n / 2]
            } else {
                0.0
            };
            huge + small[i]
        };
        // Each term is exact (below 2^41, an ulp of 2^-12 at most).
        let exact: f64 = small.iter().map(|&v| v as i64).sum::<i64>() as f64;
        fn fill(term: &(impl Fn(usize) -> f64 + Sync)) -> impl Fn(usize, &mut [f64]) + Sync + '_ {
            move |lo, block: &mut [f64]| {
                for (k, b) in block.iter_mut().enumerate() {
                    *b = term(lo + k);
                }
            }
        }
        let sum = |threads: usize| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(|| long_compensated_sum(n, fill(&term)))
        };
        assert_eq!(sum(1), exact);
        assert_eq!(sum(1).to_bits(), sum(4).to_bits());
        // The naive sum loses the small terms entirely.
        assert_ne!((0..n).map(term).sum::<f64>(), exact);
        let with = |v: &[(usize, f64)]| {
            let term = |i: usize| v.iter().find(|p| p.0 == i).map_or(small[i], |p| p.1);
            long_compensated_sum(n, fill(&term))
        };
        assert_eq!(with(&[(5, f64::INFINITY)]), f64::INFINITY);
        assert!(with(&[(5, f64::INFINITY), (n - 1, f64::NEG_INFINITY)]).is_nan());
        assert!(with(&[(LONG_SUM_CHUNK + 3, f64::NAN)]).is_nan());
        assert_eq!(long_compensated_sum(0, fill(&|_| 1.0)), 0.0);
    }

    /// The one-pass kernel of the plain cross-entropy gradient is the general kernel
    /// applied to a one-hot gradient, bit for bit.
    #[test]
    fn one_hot_backward_is_the_general_backward_of_a_one_hot_gradient() {
        let mut next = uniform(7);
        for len in [1usize, 3, 16, 17, 40, 333] {
            for hot_class in [None, Some(0), Some(len - 1), Some(len / 2)] {
                let x: Vec<f32> = (0..len).map(|_| (next() * 40.0 - 20.0) as f32).collect();
                let Some((max, lse)) = lane_log_sum_exp(&x) else {
                    continue;
                };
                let value = -(next() as f32);
                let hot = hot_class.map(|c| (c, value));
                let mut gl = vec![0.0f32; len];
                if let Some((c, v)) = hot {
                    gl[c] = v;
                }
                let mut y = vec![0.0f32; len];
                shifted_lane(&x, max, lse, &mut y);
                let (mut general, mut fused) = (vec![0.0f32; len], vec![0.0f32; len]);
                log_softmax_backward_lane(&gl, &y, &mut general);
                one_hot_log_softmax_backward_lane(&x, max, lse, hot, &mut fused);
                let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&general), bits(&fused), "len {len}, hot {hot:?}");
            }
        }
    }

    /// The tiled kernels give every row the lane kernel's bits, for every row count
    /// (partial tiles included) and class count around the tiling limit, with
    /// infinities, NaN and signed zeros among the values.
    #[test]
    fn tiled_rows_equal_the_lane_kernel_bit_for_bit() {
        let mut next = uniform(11);
        let special = [f32::INFINITY, f32::NEG_INFINITY, f32::NAN, -0.0, 0.0];
        for classes in (1..=20).chain([31, 32, 33, 63, 64, 65, 100]) {
            for rows in [1usize, 2, 15, 16, 17, 40] {
                let x: Vec<f32> = (0..rows * classes)
                    .map(|_| {
                        let u = next();
                        if u < 0.05 {
                            special[(next() * special.len() as f64) as usize % special.len()]
                        } else {
                            (u * 60.0 - 30.0) as f32
                        }
                    })
                    .collect();
                let mut stats = vec![None; rows];
                rows_log_sum_exp(&x, classes, &mut stats);
                // SAFETY: `rows_log_softmax` writes every element of `x.len()` values.
                let out = unsafe { written_vec(x.len(), |o| rows_log_softmax(&x, classes, o)) };
                for (r, row) in x.chunks(classes).enumerate() {
                    let alone = lane_log_sum_exp(row);
                    let bits = |s: Option<(f32, f32)>| s.map(|(m, l)| (m.to_bits(), l.to_bits()));
                    assert_eq!(
                        bits(stats[r]),
                        bits(alone),
                        "{classes} classes, row {r} of {rows}: {row:?}"
                    );
                    let mut lane = vec![0.0f32; classes];
                    log_softmax_lane(row, &mut lane);
                    let got: Vec<u32> = out[r * classes..(r + 1) * classes]
                        .iter()
                        .map(|v| v.to_bits())
                        .collect();
                    let want: Vec<u32> = lane.iter().map(|v| v.to_bits()).collect();
                    assert_eq!(got, want, "{classes} classes, row {r} of {rows}: {row:?}");
                }
            }
        }
    }

    #[test]
    fn ln_at_least_one_is_within_one_ulp_of_std_ln() {
        let mut next = uniform(5);
        let mut worst = (0i64, 0i64);
        for i in 0..400_000 {
            // 1 to 2^40: dense near 1 and around sqrt(2) powers, log-uniform above.
            let x = match i % 4 {
                0 => 1.0 + next() * 1e-6,
                1 => (next() * 40.0).exp2(),
                2 => std::f64::consts::SQRT_2 * (1.0 + (next() - 0.5) * 1e-9) * (i % 64) as f64,
                _ => 1.0 + next() * 3.0,
            }
            .max(1.0);
            let ulps = (x.ln_at_least_one().to_bits() as i64 - x.ln().to_bits() as i64).abs();
            let x32 = x as f32;
            let ulps32 = (x32.ln_at_least_one().to_bits() as i64 - x32.ln().to_bits() as i64).abs();
            assert!(
                ulps <= 1,
                "f64 ln({x:e}) = {} vs {}: {ulps} ulp",
                x.ln_at_least_one(),
                x.ln()
            );
            assert!(ulps32 <= 1, "f32 ln({x32:e}): {ulps32} ulp");
            worst = (worst.0.max(ulps), worst.1.max(ulps32));
        }
        assert_eq!(1.0f64.ln_at_least_one(), 0.0);
        assert_eq!(1.0f32.ln_at_least_one(), 0.0);
        assert!(f64::NAN.ln_at_least_one().is_nan());
        assert!(f32::NAN.ln_at_least_one().is_nan());
        assert_eq!(f64::MAX.ln_at_least_one(), f64::MAX.ln());
    }

    #[test]
    fn exp_nonpositive_is_within_two_ulp_of_std_exp() {
        for i in 0..=200_000 {
            let x = -(i as f64) * 110.0 / 200_000.0;
            let (fast, exact) = ((x as f32).exp_nonpositive(), (x as f32).exp());
            let ulps = (fast.to_bits() as i64 - exact.to_bits() as i64).abs();
            assert!(ulps <= 2, "f32 exp({x}) = {fast} vs {exact}: {ulps} ulp");
            let x = -(i as f64) * 750.0 / 200_000.0;
            let (fast, exact) = (x.exp_nonpositive(), x.exp());
            let ulps = (fast.to_bits() as i64 - exact.to_bits() as i64).abs();
            assert!(ulps <= 2, "f64 exp({x}) = {fast} vs {exact}: {ulps} ulp");
        }
        assert_eq!(f32::NEG_INFINITY.exp_nonpositive(), 0.0);
        assert_eq!(f64::NEG_INFINITY.exp_nonpositive(), 0.0);
        assert!(f32::NAN.exp_nonpositive().is_nan());
        assert!(f64::NAN.exp_nonpositive().is_nan());
        assert_eq!(0.0f64.exp_nonpositive(), 1.0);
    }

    /// The smoothing pass's sum, whose groups of terms are added in f32 before they are
    /// widened, stays within 3 * 2^-24 (relative) of the exact sum of one sign, with and
    /// without weights, over rows of groups and tails, at offsets where x - max rounds.
    #[test]
    fn the_shift_sum_of_f32_rows_is_within_a_few_roundings_of_the_exact_sum() {
        let mut next = uniform(5);
        for (len, offset) in [(127usize, 0.0), (128, 1e4), (5000, -3e3), (50257, 7.5)] {
            let x: Vec<f32> = (0..len).map(|_| (offset + next() * 64.0) as f32).collect();
            let w: Vec<f32> = (0..len).map(|_| (next() * 2.0) as f32).collect();
            let max = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            for weight in [None, Some(w.as_slice())] {
                let exact: f64 = x
                    .iter()
                    .enumerate()
                    .map(|(i, &v)| weight.map_or(1.0, |w| w[i] as f64) * (v as f64 - max as f64))
                    .sum();
                let got = weighted_shift_sum(&x, max, weight);
                let rel = ((got - exact) / exact).abs();
                assert!(
                    rel <= 3.0 * f32::EPSILON as f64 / 2.0,
                    "len {len}: {got} vs {exact} ({rel:e})"
                );
            }
        }
    }
}
