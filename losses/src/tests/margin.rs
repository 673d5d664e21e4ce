// hinge_embedding_loss, margin_ranking_loss and cosine_embedding_loss, forward and
// gradients: every reduction and margin, broadcasting where PyTorch broadcasts, the
// kinks of clamp_min, errors and their order, the targets PyTorch does not
// differentiate, empty and 0-D tensors, NaN and infinities, f32, long inputs,
// thread-count independence. The tests use (in the oracle interpreter, with torch,
// F, numpy as np, math imported and D = torch.float64):
//
//     nan, inf = math.nan, math.inf
//     XH = torch.tensor([0.5, 1.0, -2.0, 3.0, 1.0, 0.0, -0.25, 2.5], dtype=D)
//     YH = torch.tensor([1., -1., -1., 1., 0.5, 2., 1., -1.], dtype=D)
//     GH = torch.tensor([0.3, -1.2, 0.8, 2.1, -0.4, 1.5, 0.9, -0.6], dtype=D)
//     A = torch.tensor([[0.3, -1.1, 2.4], [0.05, 1.7, -0.6]], dtype=D)
//     B = torch.tensor([[1.0, -1.1, 0.4], [0.5, 2.2, -0.6]], dtype=D)
//     YR = torch.tensor([[1., -1., 1.], [-1., 1., -1.]], dtype=D)
//     GR = torch.tensor([[0.88, 2.96, 1.93], [-1.29, -0.69, 1.01]], dtype=D)
//     I1 = torch.tensor([[1.08, -0.43, -1.12], [0.51, -0.28, -1.2], [1.77, 1.19, -1.54], [0.45, 0.15, 2.25]], dtype=D)
//     I2 = torch.tensor([[1.38, -1.27, 2.88], [-2.29, -0.49, 1.54], [-2.09, -0.07, -2.76], [1.01, 1.59, 0.44]], dtype=D)
//     Y4 = torch.tensor([1., -1., 1., -1.], dtype=D)
//     G4 = torch.tensor([0.3, -1.2, 0.8, 2.1], dtype=D)
//     KA = torch.tensor([[1.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0], [3.0, 4.0]], dtype=D)
//     KB = torch.tensor([[0.0, 1.0], [1.0, 1.0], [1.0, 1.0], [0.0, 0.0], [-4.0, 3.0]], dtype=D)
//     KY = torch.tensor([-1.0, -1.0, 1.0, 1.0, -1.0], dtype=D)
//     def grad(fn, x, g):  # what autograd gives for sum(fn(x) * g)
//         x = x.clone().requires_grad_(True)
//         (fn(x) * g).sum().backward()
//         return x.grad
//     def rg(t):
//         return t.clone().requires_grad_(True)
//     def gen(n, seed, scale):  # float32 in [-scale, scale)
//         k = (np.arange(n, dtype=np.int64) * 7919 + seed * 104729) % 1000
//         return (k.astype(np.float32) / np.float32(500.0) - np.float32(1.0)) * np.float32(scale)
//     def signs(n, seed):  # +-1 labels
//         k = (np.arange(n, dtype=np.int64) * 7919 + seed * 104729) % 1000
//         return np.where((k // 3) % 2 == 0, np.float32(1.0), np.float32(-1.0))
//     def XL(seed=1, scale=3.0): return torch.from_numpy(gen(100000, seed, scale)).reshape(400, 250)
//     def YL(seed=2): return torch.from_numpy(signs(100000, seed)).reshape(400, 250)
//     def CL(rows, cols, seed, scale=1.0): return torch.from_numpy(gen(rows * cols, seed, scale)).reshape(rows, cols)
//
// f64 values are compared within 1e-12 relative (`assert_close`), f32 ones bit for bit
// where the composition is exact in f32 (`assert_bits`) and within the float32
// tolerance otherwise (`assert_close_f32`). `-0.0` in an expected list is checked for
// its sign where the sign is the point (`assert_signs`).

use ndarray::{ArrayD, IxDyn, arr0, s};

use super::*;

fn v(values: &[f64]) -> ArrayD<f64> {
    a64(&[values.len()], values)
}

fn xh() -> ArrayD<f64> {
    v(&[0.5, 1.0, -2.0, 3.0, 1.0, 0.0, -0.25, 2.5])
}

fn yh() -> ArrayD<f64> {
    v(&[1., -1., -1., 1., 0.5, 2., 1., -1.])
}

fn gh() -> ArrayD<f64> {
    v(&[0.3, -1.2, 0.8, 2.1, -0.4, 1.5, 0.9, -0.6])
}

fn ra() -> ArrayD<f64> {
    a64(&[2, 3], &[0.3, -1.1, 2.4, 0.05, 1.7, -0.6])
}

fn rb() -> ArrayD<f64> {
    a64(&[2, 3], &[1.0, -1.1, 0.4, 0.5, 2.2, -0.6])
}

fn yr() -> ArrayD<f64> {
    a64(&[2, 3], &[1., -1., 1., -1., 1., -1.])
}

fn gr() -> ArrayD<f64> {
    a64(&[2, 3], &[0.88, 2.96, 1.93, -1.29, -0.69, 1.01])
}

fn i1() -> ArrayD<f64> {
    a64(
        &[4, 3],
        &[
            1.08, -0.43, -1.12, 0.51, -0.28, -1.2, 1.77, 1.19, -1.54, 0.45, 0.15, 2.25,
        ],
    )
}

fn i2() -> ArrayD<f64> {
    a64(
        &[4, 3],
        &[
            1.38, -1.27, 2.88, -2.29, -0.49, 1.54, -2.09, -0.07, -2.76, 1.01, 1.59, 0.44,
        ],
    )
}

fn y4() -> ArrayD<f64> {
    v(&[1., -1., 1., -1.])
}

fn g4() -> ArrayD<f64> {
    v(&[0.3, -1.2, 0.8, 2.1])
}

fn g07() -> ArrayD<f64> {
    arr0(0.7).into_dyn()
}

fn one() -> ArrayD<f64> {
    arr0(1.0).into_dyn()
}

/// The preamble's `gen(n, seed, scale)`: numpy's float32 steps, rounded the same way.
fn r#gen(n: usize, seed: usize, scale: f32) -> Vec<f32> {
    (0..n)
        .map(|i| (((i * 7919 + seed * 104729) % 1000) as f32 / 500.0 - 1.0) * scale)
        .collect()
}

/// The preamble's `signs(n, seed)`.
fn signs(n: usize, seed: usize) -> Vec<f32> {
    (0..n)
        .map(|i| {
            if (((i * 7919 + seed * 104729) % 1000) / 3).is_multiple_of(2) {
                1.0
            } else {
                -1.0
            }
        })
        .collect()
}

fn a32(shape: &[usize], values: Vec<f32>) -> ArrayD<f32> {
    ArrayD::from_shape_vec(IxDyn(shape), values).unwrap()
}

fn xl(seed: usize) -> ArrayD<f32> {
    a32(&[400, 250], r#gen(100_000, seed, 3.0))
}

fn yl(seed: usize) -> ArrayD<f32> {
    a32(&[400, 250], signs(100_000, seed))
}

fn cl(rows: usize, cols: usize, seed: usize) -> ArrayD<f32> {
    a32(&[rows, cols], r#gen(rows * cols, seed, 1.0))
}

/// The signs of the zeros (and of everything else) are those of `expected`.
#[track_caller]
fn assert_signs(actual: &ArrayD<f64>, expected: &[f64]) {
    let got: Vec<bool> = actual.iter().map(|v| v.is_sign_negative()).collect();
    let want: Vec<bool> = expected.iter().map(|v| v.is_sign_negative()).collect();
    assert_eq!(got, want, "signs of {actual:?}");
}

fn f32s(a: &ArrayD<f64>) -> ArrayD<f32> {
    a.mapv(|v| v as f32)
}

fn sum64(a: &ArrayD<f32>) -> f64 {
    a.iter().map(|&v| f64::from(v)).sum()
}

fn ho(reduction: Reduction) -> HingeEmbeddingOptions {
    HingeEmbeddingOptions::default().reduction(reduction)
}

fn mo(reduction: Reduction) -> MarginRankingOptions {
    MarginRankingOptions::default().reduction(reduction)
}

fn co(reduction: Reduction) -> CosineEmbeddingOptions {
    CosineEmbeddingOptions::default().reduction(reduction)
}

// ---------------------------------------------------------------------------------
// hinge_embedding_loss
// ---------------------------------------------------------------------------------

// torch 2.13.0:
//   F.hinge_embedding_loss(XH, YH, reduction='none')
//     -> shape [8] [0.5, 0.0, 3.0, 3.0, 1.0, 1.0, -0.25, 0.0]
//   F.hinge_embedding_loss(XH, YH)
//     -> shape [] [1.03125]
//   F.hinge_embedding_loss(XH, YH, reduction='sum')
//     -> shape [] [8.25]
//   F.hinge_embedding_loss(XH, YH, margin=0.5, reduction='none')
//     -> shape [8] [0.5, 0.0, 2.5, 3.0, 1.0, 0.5, -0.25, 0.0]
//   F.hinge_embedding_loss(XH, YH, margin=-0.5, reduction='sum')
//     -> shape [] [5.75]
#[test]
fn hinge_forward_each_reduction_and_margin() {
    let (x, y) = (xh(), yh());
    let f = |o: HingeEmbeddingOptions| hinge_embedding_loss(x.view(), y.view(), &o).unwrap();
    assert_close(
        &f(ho(Reduction::None)),
        &[8],
        &[0.5, 0.0, 3.0, 3.0, 1.0, 1.0, -0.25, 0.0],
    );
    assert_close(&f(HingeEmbeddingOptions::default()), &[], &[1.03125]);
    assert_close(&f(ho(Reduction::Sum)), &[], &[8.25]);
    assert_close(
        &f(ho(Reduction::None).margin(0.5)),
        &[8],
        &[0.5, 0.0, 2.5, 3.0, 1.0, 0.5, -0.25, 0.0],
    );
    assert_close(&f(ho(Reduction::Sum).margin(-0.5)), &[], &[5.75]);
    assert_eq!(HingeEmbeddingOptions::default().margin, 1.0);
    assert_eq!(HingeEmbeddingOptions::default().reduction, Reduction::Mean);
}

// torch 2.13.0:
//   grad(lambda x: F.hinge_embedding_loss(x, YH, reduction='none'), XH, GH)
//     -> shape [8] [0.3, 1.2, -0.8, 2.1, 0.0, 0.0, 0.9, 0.0]
//   grad(lambda x: F.hinge_embedding_loss(x, YH), XH, 0.7)
//     -> shape [8] [0.0875, -0.0875, -0.0875, 0.0875, 0.0, 0.0, 0.0875, 0.0]
//   grad(lambda x: F.hinge_embedding_loss(x, YH, reduction='sum'), XH, 0.7)
//     -> shape [8] [0.7, -0.7, -0.7, 0.7, 0.0, 0.0, 0.7, 0.0]
//   grad(lambda x: F.hinge_embedding_loss(x, YH, margin=0.5, reduction='sum'), XH, -1.0)
//     -> shape [8] [-1.0, 0.0, 1.0, -1.0, -1.0, 0.0, -1.0, 0.0]
// XH[1] = 1.0 against YH[1] = -1 is the kink margin - x == 0: clamp_min passes the
// gradient there (1.2 = -GH[1]); with margin 0.5 it is past the kink (0).
#[test]
fn hinge_input_gradient_each_reduction_and_at_the_kink() {
    let (x, y) = (xh(), yh());
    let b = |g: &ArrayD<f64>, o: HingeEmbeddingOptions| {
        hinge_embedding_loss_backward(g.view(), x.view(), y.view(), &o).unwrap()
    };
    assert_close(
        &b(&gh(), ho(Reduction::None)),
        &[8],
        &[0.3, 1.2, -0.8, 2.1, 0.0, 0.0, 0.9, 0.0],
    );
    assert_close(
        &b(&g07(), HingeEmbeddingOptions::default()),
        &[8],
        &[0.0875, -0.0875, -0.0875, 0.0875, 0.0, 0.0, 0.0875, 0.0],
    );
    assert_close(
        &b(&g07(), ho(Reduction::Sum)),
        &[8],
        &[0.7, -0.7, -0.7, 0.7, 0.0, 0.0, 0.7, 0.0],
    );
    assert_close(
        &b(&arr0(-1.0).into_dyn(), ho(Reduction::Sum).margin(0.5)),
        &[8],
        &[-1.0, 0.0, 1.0, -1.0, -1.0, 0.0, -1.0, 0.0],
    );
}

// torch 2.13.0:
//   F.hinge_embedding_loss(XH.reshape(4, 2)[:, :1], YH[:3], reduction='none')
//     -> shape [4, 3] [0.5, 0.5, 0.5, -2.0, 3.0, 3.0, 1.0, 0.0, 0.0, -0.25, 1.25, 1.25]
//   F.hinge_embedding_loss(XH.reshape(4, 2)[:, :1], YH[:3])
//     -> shape [] [0.7291666666666666]
//   grad(lambda x: F.hinge_embedding_loss(x, YH[:3], reduction='none'), XH.reshape(4, 2)[:, :1], torch.arange(12, dtype=D).reshape(4, 3) / 4 - 1)
//     -> shape [4, 1] [0.25, -0.5, -1.25, -2.0]
//   F.hinge_embedding_loss(XH[:3], YH[:6].reshape(2, 3), reduction='none')
//     -> shape [2, 3] [0.5, 0.0, 3.0, 0.5, 1.0, 1.0]
//   grad(lambda x: F.hinge_embedding_loss(x, YH[:6].reshape(2, 3), reduction='sum'), XH[:3], 1.0)
//     -> shape [3] [2.0, -1.0, -1.0]
#[test]
fn hinge_broadcasts_input_and_target_either_way() {
    let x41 = xh().into_shape_with_order(IxDyn(&[4, 2])).unwrap();
    let x41 = x41.slice(s![.., ..1]).to_owned().into_dyn();
    let y3 = yh().slice(s![..3]).to_owned().into_dyn();
    assert_close(
        &hinge_embedding_loss(x41.view(), y3.view(), &ho(Reduction::None)).unwrap(),
        &[4, 3],
        &[
            0.5, 0.5, 0.5, -2.0, 3.0, 3.0, 1.0, 0.0, 0.0, -0.25, 1.25, 1.25,
        ],
    );
    assert_close(
        &hinge_embedding_loss(x41.view(), y3.view(), &ho(Reduction::Mean)).unwrap(),
        &[],
        &[0.7291666666666666],
    );
    let g = ArrayD::from_shape_fn(IxDyn(&[4, 3]), |i| (i[0] * 3 + i[1]) as f64 / 4.0 - 1.0);
    assert_close(
        &hinge_embedding_loss_backward(g.view(), x41.view(), y3.view(), &ho(Reduction::None))
            .unwrap(),
        &[4, 1],
        &[0.25, -0.5, -1.25, -2.0],
    );
    let x3 = xh().slice(s![..3]).to_owned().into_dyn();
    let y23 = yh()
        .slice(s![..6])
        .to_owned()
        .into_shape_with_order(IxDyn(&[2, 3]))
        .unwrap();
    assert_close(
        &hinge_embedding_loss(x3.view(), y23.view(), &ho(Reduction::None)).unwrap(),
        &[2, 3],
        &[0.5, 0.0, 3.0, 0.5, 1.0, 1.0],
    );
    assert_close(
        &hinge_embedding_loss_backward(one().view(), x3.view(), y23.view(), &ho(Reduction::Sum))
            .unwrap(),
        &[3],
        &[2.0, -1.0, -1.0],
    );
}

// torch 2.13.0:
//   F.hinge_embedding_loss(torch.zeros(2, 3, dtype=D), torch.zeros(4, dtype=D))
//     -> RuntimeError: The size of tensor a (4) must match the size of tensor b (3) at non-singleton dimension 1
//   F.hinge_embedding_loss(torch.zeros(2, 3, dtype=D), torch.zeros(5, 3, dtype=D))
//     -> RuntimeError: The size of tensor a (5) must match the size of tensor b (2) at non-singleton dimension 0
//   (lambda t: torch.autograd.grad(F.hinge_embedding_loss(rg(XH), t), [t]))(rg(YH))
//     -> RuntimeError: The differentiated Tensor at index 0 appears to not have been used in the graph. Set allow_unused=True if this is the desired behavior.
//   (lambda t: torch.autograd.grad(F.hinge_embedding_loss(rg(XH), t, reduction='none'), [t], torch.ones(3, dtype=D)))(rg(YH))
//     -> RuntimeError: Mismatch in shape: grad_output[0] has a shape of torch.Size([3]) and output[0] has a shape of torch.Size([8]).
//   F.hinge_embedding_loss(XH, rg(YH)).requires_grad
//     -> False (only the comparisons read the target: it gets no gradient, and no refusal)
#[test]
fn hinge_errors_and_the_undifferentiated_target() {
    let (x23, t4, t53) = (zeros64(&[2, 3]), zeros64(&[4]), zeros64(&[5, 3]));
    let o = HingeEmbeddingOptions::default();
    let e = assert_err(
        hinge_embedding_loss(x23.view(), t4.view(), &o),
        ErrorKind::RuntimeError,
        "The size of tensor a (4) must match the size of tensor b (3) at non-singleton dimension 1",
    );
    assert!(e.hint().contains("target [4]"), "{e}");
    assert_err(
        hinge_embedding_loss(x23.view(), t53.view(), &o),
        ErrorKind::RuntimeError,
        "The size of tensor a (5) must match the size of tensor b (2) at non-singleton dimension 0",
    );
    assert_err(
        hinge_embedding_loss_backward(g07().view(), x23.view(), t53.view(), &o),
        ErrorKind::RuntimeError,
        "The size of tensor a (5) must match the size of tensor b (2) at non-singleton dimension 0",
    );
    let unused = "The differentiated Tensor at index 0 appears to not have been used in the graph. Set allow_unused=True if this is the desired behavior.";
    let e = assert_err(
        hinge_embedding_loss_target_backward(g07().view(), xh().view(), yh().view(), &o),
        ErrorKind::RuntimeError,
        unused,
    );
    assert!(e.hint().contains("materialize_grads"), "{e}");
    // The forward's shape error first, then grad_output's, then autograd's.
    assert_err(
        hinge_embedding_loss_target_backward(g07().view(), x23.view(), t4.view(), &o),
        ErrorKind::RuntimeError,
        "The size of tensor a (4) must match the size of tensor b (3) at non-singleton dimension 1",
    );
    let g3 = zeros64(&[3]);
    let mismatch = "Mismatch in shape: grad_output[0] has a shape of torch.Size([3]) and output[0] has a shape of torch.Size([8]).";
    let none = ho(Reduction::None);
    assert_err(
        hinge_embedding_loss_target_backward(g3.view(), xh().view(), yh().view(), &none),
        ErrorKind::RuntimeError,
        mismatch,
    );
    assert_err(
        hinge_embedding_loss_backward(g3.view(), xh().view(), yh().view(), &none),
        ErrorKind::RuntimeError,
        mismatch,
    );
    assert_err(
        hinge_embedding_loss_backward(g3.view(), xh().view(), yh().view(), &o),
        ErrorKind::RuntimeError,
        "Mismatch in shape: grad_output[0] has a shape of torch.Size([3]) and output[0] has a shape of torch.Size([]).",
    );
}

// torch 2.13.0:
//   F.hinge_embedding_loss(torch.zeros(0, dtype=D), torch.zeros(0, dtype=D))
//     -> shape [] [NAN]
//   F.hinge_embedding_loss(torch.zeros(0, dtype=D), torch.zeros(0, dtype=D), reduction='sum')
//     -> shape [] [0.0]
//   F.hinge_embedding_loss(torch.zeros(0, 3, dtype=D), torch.zeros(3, dtype=D), reduction='none')
//     -> shape [0, 3] []
//   F.hinge_embedding_loss(torch.tensor(0.25, dtype=D), torch.tensor(-1.0, dtype=D), reduction='none')
//     -> shape [] [0.75]
//   grad(lambda x: F.hinge_embedding_loss(x, torch.tensor(-1.0, dtype=D)), torch.tensor(0.25, dtype=D), 2.0)
//     -> shape [] [-2.0]
#[test]
fn hinge_empty_and_zero_dim() {
    let e = zeros64(&[0]);
    let f = |x: &ArrayD<f64>, t: &ArrayD<f64>, r| {
        hinge_embedding_loss(x.view(), t.view(), &ho(r)).unwrap()
    };
    assert_close(&f(&e, &e, Reduction::Mean), &[], &[f64::NAN]);
    assert_close(&f(&e, &e, Reduction::Sum), &[], &[0.0]);
    assert_close(
        &f(&zeros64(&[0, 3]), &zeros64(&[3]), Reduction::None),
        &[0, 3],
        &[],
    );
    assert_close(
        &hinge_embedding_loss_backward(e.view(), e.view(), e.view(), &ho(Reduction::None)).unwrap(),
        &[0],
        &[],
    );
    let (x, t) = (arr0(0.25).into_dyn(), arr0(-1.0).into_dyn());
    assert_close(&f(&x, &t, Reduction::None), &[], &[0.75]);
    let g = arr0(2.0).into_dyn();
    assert_close(
        &hinge_embedding_loss_backward(g.view(), x.view(), t.view(), &ho(Reduction::Mean)).unwrap(),
        &[],
        &[-2.0],
    );
}

// torch 2.13.0:
//   F.hinge_embedding_loss(torch.tensor([nan, 1.0, inf, -inf, nan, 2.0, 1.0], dtype=D), torch.tensor([-1., -1., -1., 1., 1., nan, 1.0], dtype=D), reduction='none')
//     -> shape [7] [NAN, 0.0, 0.0, -INF, NAN, 2.0, 1.0]
//   grad(lambda x: F.hinge_embedding_loss(x, torch.tensor([-1., -1., -1., 1., 1., nan, 1.0], dtype=D), reduction='none'), torch.tensor([nan, 1.0, inf, -inf, nan, 2.0, 1.0], dtype=D), torch.tensor([1., 1, 1, 1, 1, 1, -0.0], dtype=D))
//     -> shape [7] [0.0, -1.0, 0.0, 1.0, 1.0, 1.0, -0.0]
// A NaN input of a negative pair has a NaN loss but a zero gradient (clamp_min's
// backward tests `NaN >= 0`); a NaN target is neither 1 nor -1, so counts as both.
#[test]
fn hinge_nan_and_infinities() {
    let nan = f64::NAN;
    let inf = f64::INFINITY;
    let x = v(&[nan, 1.0, inf, -inf, nan, 2.0, 1.0]);
    let t = v(&[-1., -1., -1., 1., 1., nan, 1.0]);
    assert_close(
        &hinge_embedding_loss(x.view(), t.view(), &ho(Reduction::None)).unwrap(),
        &[7],
        &[nan, 0.0, 0.0, -inf, nan, 2.0, 1.0],
    );
    let g = v(&[1., 1., 1., 1., 1., 1., -0.0]);
    let expected = [0.0, -1.0, 0.0, 1.0, 1.0, 1.0, -0.0];
    let dx =
        hinge_embedding_loss_backward(g.view(), x.view(), t.view(), &ho(Reduction::None)).unwrap();
    assert_close(&dx, &[7], &expected);
    assert_signs(&dx, &expected);
}

// torch 2.13.0:
//   F.hinge_embedding_loss(XH.float(), YH.float(), reduction='none')
//     -> shape [8] [0.5, 0.0, 3.0, 3.0, 1.0, 1.0, -0.25, 0.0]
//   F.hinge_embedding_loss(XH.float(), YH.float(), margin=0.1, reduction='none')
//     -> shape [8] [0.5, 0.0, 2.1, 3.0, 1.0, 0.1, -0.25, 0.0]
//   F.hinge_embedding_loss(XH.float(), YH.float(), margin=0.1)
//     -> shape [] [0.80625]
//   grad(lambda x: F.hinge_embedding_loss(x, YH.float()), XH.float(), 0.7)
//     -> shape [8] [0.0875, -0.0875, -0.0875, 0.0875, 0.0, 0.0, 0.0875, 0.0]
#[test]
fn hinge_f32() {
    let (x, y) = (f32s(&xh()), f32s(&yh()));
    let f = |o: HingeEmbeddingOptions| hinge_embedding_loss(x.view(), y.view(), &o).unwrap();
    assert_bits(
        &f(ho(Reduction::None)),
        &[8],
        &[0.5, 0.0, 3.0, 3.0, 1.0, 1.0, -0.25, 0.0],
    );
    assert_bits(
        &f(ho(Reduction::None).margin(0.1)),
        &[8],
        &[0.5, 0.0, 2.1, 3.0, 1.0, 0.1, -0.25, 0.0],
    );
    assert_bits(&f(ho(Reduction::Mean).margin(0.1)), &[], &[0.80625]);
    let g = arr0(0.7f32).into_dyn();
    assert_bits(
        &hinge_embedding_loss_backward(g.view(), x.view(), y.view(), &ho(Reduction::Mean)).unwrap(),
        &[8],
        &[0.0875, -0.0875, -0.0875, 0.0875, 0.0, 0.0, 0.0875, 0.0],
    );
}

// torch 2.13.0:
//   F.hinge_embedding_loss(XL(), YL())
//     -> shape [] [0.66991]
//   F.hinge_embedding_loss(XL(), YL(), reduction='sum')
//     -> shape [] [66991.0]
//   F.hinge_embedding_loss(XL(), YL(), margin=0.5, reduction='none')[123, 17:23]
//     -> shape [6] [0.612, 0.37399983, -0.36, 1.346, -1.332, -1.8180001]
//   F.hinge_embedding_loss(XL(), YL(), margin=0.5, reduction='none').double().sum()
//     -> shape [] [51366.1999464035]
//   F.hinge_embedding_loss(XL()[0], YL(), margin=0.5, reduction='sum')
//     -> shape [] [50106.2]
//   grad(lambda x: F.hinge_embedding_loss(x, YL(), margin=0.5, reduction='sum'), XL()[0], 1.0)[:6]
//     -> shape [6] [200.0, 200.0, 0.0, -200.0, 200.0, -200.0]
//   grad(lambda x: F.hinge_embedding_loss(x, YL(), margin=0.5, reduction='sum'), XL()[0], 1.0).double().sum()
//     -> shape [] [20600.0]
//   grad(lambda x: F.hinge_embedding_loss(x, YL(), margin=0.5), XL(), 1.0)[3, :4]
//     -> shape [4] [1e-05, 0.0, 1e-05, 0.0]
#[test]
fn hinge_long_f32_input_against_torch() {
    let (x, y) = (xl(1), yl(2));
    let f = |x: &ArrayD<f32>, o: HingeEmbeddingOptions| {
        hinge_embedding_loss(x.view(), y.view(), &o).unwrap()
    };
    assert_close_f32(&f(&x, ho(Reduction::Mean)), &[], &[0.66991]);
    assert_close_f32(&f(&x, ho(Reduction::Sum)), &[], &[66991.0]);
    let none = f(&x, ho(Reduction::None).margin(0.5));
    assert_bits(
        &none.slice(s![123, 17..23]).to_owned().into_dyn(),
        &[6],
        &[0.612, 0.37399983, -0.36, 1.346, -1.332, -1.8180001],
    );
    assert_close(&arr0(sum64(&none)).into_dyn(), &[], &[51366.1999464035]);
    let row = x.slice(s![0, ..]).to_owned().into_dyn();
    assert_close_f32(&f(&row, ho(Reduction::Sum).margin(0.5)), &[], &[50106.2]);
    let g = arr0(1.0f32).into_dyn();
    let opts = ho(Reduction::Sum).margin(0.5);
    let dx = hinge_embedding_loss_backward(g.view(), row.view(), y.view(), &opts).unwrap();
    assert_bits(
        &dx.slice(s![..6]).to_owned().into_dyn(),
        &[6],
        &[200.0, 200.0, 0.0, -200.0, 200.0, -200.0],
    );
    assert_eq!(sum64(&dx), 20600.0);
    let opts = ho(Reduction::Mean).margin(0.5);
    let dx = hinge_embedding_loss_backward(g.view(), x.view(), y.view(), &opts).unwrap();
    assert_bits(
        &dx.slice(s![3, ..4]).to_owned().into_dyn(),
        &[4],
        &[1e-05, 0.0, 1e-05, 0.0],
    );
}

// ---------------------------------------------------------------------------------
// margin_ranking_loss
// ---------------------------------------------------------------------------------

// torch 2.13.0:
//   F.margin_ranking_loss(A, B, YR, reduction='none')
//     -> shape [2, 3] [0.7, 0.0, 0.0, 0.0, 0.5000000000000002, 0.0]
//   F.margin_ranking_loss(A, B, YR)
//     -> shape [] [0.20000000000000004]
//   F.margin_ranking_loss(A, B, YR, reduction='sum')
//     -> shape [] [1.2000000000000002]
//   F.margin_ranking_loss(A, B, YR, margin=0.5, reduction='none')
//     -> shape [2, 3] [1.2, 0.5, 0.0, 0.04999999999999999, 1.0000000000000002, 0.5]
//   F.margin_ranking_loss(A, B, YR, margin=-0.25)
//     -> shape [] [0.1166666666666667]
#[test]
fn ranking_forward_each_reduction_and_margin() {
    let (a, b, y) = (ra(), rb(), yr());
    let f =
        |o: MarginRankingOptions| margin_ranking_loss(a.view(), b.view(), y.view(), &o).unwrap();
    assert_close(
        &f(mo(Reduction::None)),
        &[2, 3],
        &[0.7, 0.0, 0.0, 0.0, 0.5000000000000002, 0.0],
    );
    assert_close(
        &f(MarginRankingOptions::default()),
        &[],
        &[0.20000000000000004],
    );
    assert_close(&f(mo(Reduction::Sum)), &[], &[1.2000000000000002]);
    assert_close(
        &f(mo(Reduction::None).margin(0.5)),
        &[2, 3],
        &[1.2, 0.5, 0.0, 0.04999999999999999, 1.0000000000000002, 0.5],
    );
    assert_close(
        &f(mo(Reduction::Mean).margin(-0.25)),
        &[],
        &[0.1166666666666667],
    );
}

// torch 2.13.0:
//   grad(lambda x: F.margin_ranking_loss(x, B, YR, reduction='none'), A, GR)
//     -> shape [2, 3] [-0.88, 2.96, -0.0, 0.0, 0.69, 1.01]
//   grad(lambda x: F.margin_ranking_loss(A, x, YR, reduction='none'), B, GR)
//     -> shape [2, 3] [0.88, -2.96, 0.0, -0.0, -0.69, -1.01]
//   grad(lambda x: F.margin_ranking_loss(A, B, x, reduction='none'), YR, GR)
//     -> shape [2, 3] [0.616, -0.0, -0.0, 0.0, -0.34500000000000014, -0.0]
//   grad(lambda x: F.margin_ranking_loss(x, B, YR, margin=0.5), A, 0.7)
//     -> shape [2, 3] [-0.11666666666666665, 0.11666666666666665, -0.0, 0.11666666666666665, -0.11666666666666665, 0.11666666666666665]
//   grad(lambda x: F.margin_ranking_loss(A, x, YR, margin=0.5), B, 0.7)
//     -> shape [2, 3] [0.11666666666666665, -0.11666666666666665, 0.0, -0.11666666666666665, 0.11666666666666665, -0.11666666666666665]
//   grad(lambda x: F.margin_ranking_loss(A, B, x, margin=0.5), YR, 0.7)
//     -> shape [2, 3] [0.08166666666666665, -0.0, -0.0, 0.0525, 0.058333333333333355, -0.0]
//   grad(lambda x: F.margin_ranking_loss(A, B, x, reduction='sum'), YR, 1.0)
//     -> shape [2, 3] [0.7, -0.0, -0.0, 0.0, 0.5000000000000002, -0.0]
// A[0, 1] == B[0, 1] and A[1, 2] == B[1, 2] with margin 0 sit on the kink (the clamp's
// argument is 0): the gradient passes there (2.96 and 1.01), and the target's is -0.0.
#[test]
fn ranking_gradients_of_all_three_tensors_and_at_the_kink() {
    let (a, b, y) = (ra(), rb(), yr());
    let d1 = |g: &ArrayD<f64>, o| {
        margin_ranking_loss_backward(g.view(), a.view(), b.view(), y.view(), &o).unwrap()
    };
    let d2 = |g: &ArrayD<f64>, o| {
        margin_ranking_loss_input2_backward(g.view(), a.view(), b.view(), y.view(), &o).unwrap()
    };
    let dt = |g: &ArrayD<f64>, o| {
        margin_ranking_loss_target_backward(g.view(), a.view(), b.view(), y.view(), &o).unwrap()
    };
    let none = mo(Reduction::None);
    let e1 = [-0.88, 2.96, -0.0, 0.0, 0.69, 1.01];
    let got = d1(&gr(), none);
    assert_close(&got, &[2, 3], &e1);
    assert_signs(&got, &e1);
    let e2 = [0.88, -2.96, 0.0, -0.0, -0.69, -1.01];
    let got = d2(&gr(), none);
    assert_close(&got, &[2, 3], &e2);
    assert_signs(&got, &e2);
    let et = [0.616, -0.0, -0.0, 0.0, -0.34500000000000014, -0.0];
    let got = dt(&gr(), none);
    assert_close(&got, &[2, 3], &et);
    assert_signs(&got, &et);
    let mean = mo(Reduction::Mean).margin(0.5);
    let q = 0.11666666666666665;
    assert_close(&d1(&g07(), mean), &[2, 3], &[-q, q, -0.0, q, -q, q]);
    assert_close(&d2(&g07(), mean), &[2, 3], &[q, -q, 0.0, -q, q, -q]);
    assert_close(
        &dt(&g07(), mean),
        &[2, 3],
        &[
            0.08166666666666665,
            -0.0,
            -0.0,
            0.0525,
            0.058333333333333355,
            -0.0,
        ],
    );
    let et = [0.7, -0.0, -0.0, 0.0, 0.5000000000000002, -0.0];
    let got = dt(&one(), mo(Reduction::Sum));
    assert_close(&got, &[2, 3], &et);
    assert_signs(&got, &et);
}

// torch 2.13.0:
//   F.margin_ranking_loss(A, B[:1], YR[:, :1], reduction='none')
//     -> shape [2, 3] [0.7, 0.0, 0.0, 0.0, 2.8, 0.0]
//   grad(lambda x: F.margin_ranking_loss(A, x, YR[:, :1], reduction='sum'), B[:1], 1.0)
//     -> shape [1, 3] [1.0, 0.0, 0.0]
//   grad(lambda x: F.margin_ranking_loss(A, B[:1], x, reduction='sum'), YR[:, :1], 1.0)
//     -> shape [2, 1] [0.7, -2.8]
//   grad(lambda x: F.margin_ranking_loss(x, B, YR, reduction='sum'), A[:1], 1.0)
//     -> shape [1, 3] [-1.0, 0.0, 1.0]
//   F.margin_ranking_loss(A[0, :1], B[0, :1].reshape(1), torch.ones(4, dtype=D), reduction='none')
//     -> shape [4] [0.7, 0.7, 0.7, 0.7]
#[test]
fn ranking_broadcasts_sizes_of_one() {
    let (a, b, y) = (ra(), rb(), yr());
    let b1 = b.slice(s![..1, ..]).to_owned().into_dyn();
    let y1 = y.slice(s![.., ..1]).to_owned().into_dyn();
    let a1 = a.slice(s![..1, ..]).to_owned().into_dyn();
    assert_close(
        &margin_ranking_loss(a.view(), b1.view(), y1.view(), &mo(Reduction::None)).unwrap(),
        &[2, 3],
        &[0.7, 0.0, 0.0, 0.0, 2.8, 0.0],
    );
    let sum = mo(Reduction::Sum);
    assert_close(
        &margin_ranking_loss_input2_backward(one().view(), a.view(), b1.view(), y1.view(), &sum)
            .unwrap(),
        &[1, 3],
        &[1.0, 0.0, 0.0],
    );
    assert_close(
        &margin_ranking_loss_target_backward(one().view(), a.view(), b1.view(), y1.view(), &sum)
            .unwrap(),
        &[2, 1],
        &[0.7, -2.8],
    );
    assert_close(
        &margin_ranking_loss_backward(one().view(), a1.view(), b.view(), y.view(), &sum).unwrap(),
        &[1, 3],
        &[-1.0, 0.0, 1.0],
    );
    let (x, z) = (v(&[0.3]), v(&[1.0]));
    let ones = v(&[1.0; 4]);
    assert_close(
        &margin_ranking_loss(x.view(), z.view(), ones.view(), &mo(Reduction::None)).unwrap(),
        &[4],
        &[0.7, 0.7, 0.7, 0.7],
    );
}

// torch 2.13.0:
//   F.margin_ranking_loss(torch.zeros(3, dtype=D), torch.zeros(1, 3, dtype=D), torch.zeros(3, dtype=D))
//     -> RuntimeError: margin_ranking_loss : All input tensors should have same dimension but got sizes: input1: torch.Size([3]), input2: torch.Size([1, 3]), target: torch.Size([3])
//   F.margin_ranking_loss(torch.zeros(2, 3, dtype=D), torch.zeros(2, 3, dtype=D), torch.zeros(3, dtype=D))
//     -> RuntimeError: margin_ranking_loss : All input tensors should have same dimension but got sizes: input1: torch.Size([2, 3]), input2: torch.Size([2, 3]), target: torch.Size([3])
//   F.margin_ranking_loss(torch.zeros(2, 3, dtype=D), torch.zeros(4, 3, dtype=D), torch.zeros(2, 3, dtype=D))
//     -> RuntimeError: The size of tensor a (2) must match the size of tensor b (4) at non-singleton dimension 0
//   F.margin_ranking_loss(torch.zeros(2, 3, dtype=D), torch.zeros(2, 3, dtype=D), torch.zeros(4, 3, dtype=D))
//     -> RuntimeError: The size of tensor a (4) must match the size of tensor b (2) at non-singleton dimension 0
//   F.margin_ranking_loss(torch.zeros(2, 3, dtype=D), torch.zeros(2, 5, dtype=D), torch.zeros(4, 3, dtype=D))
//     -> RuntimeError: The size of tensor a (3) must match the size of tensor b (5) at non-singleton dimension 1
//   F.margin_ranking_loss(torch.zeros(2, 3, dtype=D), torch.zeros(2, 5, dtype=D), torch.zeros(4, dtype=D))
//     -> RuntimeError: margin_ranking_loss : All input tensors should have same dimension but got sizes: input1: torch.Size([2, 3]), input2: torch.Size([2, 5]), target: torch.Size([4])
//   (lambda a: torch.autograd.grad(F.margin_ranking_loss(a, B, YR, reduction='none'), [a], torch.ones(2, dtype=D)))(rg(A))
//     -> RuntimeError: Mismatch in shape: grad_output[0] has a shape of torch.Size([2]) and output[0] has a shape of torch.Size([2, 3]).
// Python's dimension check (its message ends with a space) comes before the
// broadcasts, which run in the composition's order: input1 - input2, then the target.
#[test]
fn ranking_errors_in_order() {
    let z = zeros64;
    let o = MarginRankingOptions::default();
    let f = |a: &[usize], b: &[usize], t: &[usize]| {
        margin_ranking_loss(z(a).view(), z(b).view(), z(t).view(), &o)
    };
    let e = assert_err(
        f(&[3], &[1, 3], &[3]),
        ErrorKind::RuntimeError,
        "margin_ranking_loss : All input tensors should have same dimension but got sizes: input1: torch.Size([3]), input2: torch.Size([1, 3]), target: torch.Size([3]) ",
    );
    assert!(e.hint().contains("1, 2 and 1"), "{e}");
    assert_err(
        f(&[2, 3], &[2, 3], &[3]),
        ErrorKind::RuntimeError,
        "margin_ranking_loss : All input tensors should have same dimension but got sizes: input1: torch.Size([2, 3]), input2: torch.Size([2, 3]), target: torch.Size([3]) ",
    );
    assert_err(
        f(&[2, 3], &[4, 3], &[2, 3]),
        ErrorKind::RuntimeError,
        "The size of tensor a (2) must match the size of tensor b (4) at non-singleton dimension 0",
    );
    assert_err(
        f(&[2, 3], &[2, 3], &[4, 3]),
        ErrorKind::RuntimeError,
        "The size of tensor a (4) must match the size of tensor b (2) at non-singleton dimension 0",
    );
    assert_err(
        f(&[2, 3], &[2, 5], &[4, 3]),
        ErrorKind::RuntimeError,
        "The size of tensor a (3) must match the size of tensor b (5) at non-singleton dimension 1",
    );
    assert_err(
        f(&[2, 3], &[2, 5], &[4]),
        ErrorKind::RuntimeError,
        "margin_ranking_loss : All input tensors should have same dimension but got sizes: input1: torch.Size([2, 3]), input2: torch.Size([2, 5]), target: torch.Size([4]) ",
    );
    let g2 = z(&[2]);
    let mismatch = "Mismatch in shape: grad_output[0] has a shape of torch.Size([2]) and output[0] has a shape of torch.Size([2, 3]).";
    let none = mo(Reduction::None);
    let (a, b, y) = (ra(), rb(), yr());
    assert_err(
        margin_ranking_loss_backward(g2.view(), a.view(), b.view(), y.view(), &none),
        ErrorKind::RuntimeError,
        mismatch,
    );
    assert_err(
        margin_ranking_loss_input2_backward(g2.view(), a.view(), b.view(), y.view(), &none),
        ErrorKind::RuntimeError,
        mismatch,
    );
    assert_err(
        margin_ranking_loss_target_backward(g2.view(), a.view(), b.view(), y.view(), &none),
        ErrorKind::RuntimeError,
        mismatch,
    );
    // Shapes before grad_output.
    assert_err(
        margin_ranking_loss_target_backward(g2.view(), z(&[3]).view(), b.view(), y.view(), &none),
        ErrorKind::RuntimeError,
        "margin_ranking_loss : All input tensors should have same dimension but got sizes: input1: torch.Size([3]), input2: torch.Size([2, 3]), target: torch.Size([2, 3]) ",
    );
}

// torch 2.13.0:
//   F.margin_ranking_loss(torch.zeros(0, dtype=D), torch.zeros(0, dtype=D), torch.zeros(0, dtype=D))
//     -> shape [] [NAN]
//   F.margin_ranking_loss(torch.zeros(0, dtype=D), torch.zeros(0, dtype=D), torch.zeros(0, dtype=D), reduction='sum')
//     -> shape [] [0.0]
//   F.margin_ranking_loss(torch.zeros(0, 2, dtype=D), torch.zeros(1, 2, dtype=D), torch.zeros(0, 1, dtype=D), reduction='none')
//     -> shape [0, 2] []
//   F.margin_ranking_loss(torch.tensor(1.0, dtype=D), torch.tensor(2.0, dtype=D), torch.tensor(1.0, dtype=D), reduction='none')
//     -> shape [] [1.0]
//   grad(lambda x: F.margin_ranking_loss(torch.tensor(1.0, dtype=D), torch.tensor(2.0, dtype=D), x), torch.tensor(1.0, dtype=D), 2.0)
//     -> shape [] [2.0]
#[test]
fn ranking_empty_and_zero_dim() {
    let e = zeros64(&[0]);
    let f = |r| margin_ranking_loss(e.view(), e.view(), e.view(), &mo(r)).unwrap();
    assert_close(&f(Reduction::Mean), &[], &[f64::NAN]);
    assert_close(&f(Reduction::Sum), &[], &[0.0]);
    let (a, b, t) = (zeros64(&[0, 2]), zeros64(&[1, 2]), zeros64(&[0, 1]));
    assert_close(
        &margin_ranking_loss(a.view(), b.view(), t.view(), &mo(Reduction::None)).unwrap(),
        &[0, 2],
        &[],
    );
    let g = zeros64(&[0, 2]);
    assert_close(
        &margin_ranking_loss_input2_backward(
            g.view(),
            a.view(),
            b.view(),
            t.view(),
            &mo(Reduction::None),
        )
        .unwrap(),
        &[1, 2],
        &[0.0, 0.0],
    );
    let (x1, x2, y) = (
        arr0(1.0).into_dyn(),
        arr0(2.0).into_dyn(),
        arr0(1.0).into_dyn(),
    );
    assert_close(
        &margin_ranking_loss(x1.view(), x2.view(), y.view(), &mo(Reduction::None)).unwrap(),
        &[],
        &[1.0],
    );
    let g = arr0(2.0).into_dyn();
    assert_close(
        &margin_ranking_loss_target_backward(
            g.view(),
            x1.view(),
            x2.view(),
            y.view(),
            &mo(Reduction::Mean),
        )
        .unwrap(),
        &[],
        &[2.0],
    );
}

// torch 2.13.0:
//   F.margin_ranking_loss(torch.tensor([nan, 1.0, 2.0, inf, 1.0], dtype=D), torch.tensor([0.0, 1.0, 2.0, inf, 0.0], dtype=D), torch.tensor([1.0, nan, 1.0, 1.0, -1.0], dtype=D), reduction='none')
//     -> shape [5] [NAN, NAN, 0.0, NAN, 1.0]
//   grad(lambda x: F.margin_ranking_loss(x, torch.tensor([0.0, 1.0, 2.0, inf, 0.0], dtype=D), torch.tensor([1.0, nan, 1.0, 1.0, -1.0], dtype=D), reduction='none'), torch.tensor([nan, 1.0, 2.0, inf, 1.0], dtype=D), 1.0)
//     -> shape [5] [-0.0, NAN, -1.0, -0.0, 1.0]
//   grad(lambda x: F.margin_ranking_loss(torch.tensor([nan, 1.0, 2.0, inf, 1.0], dtype=D), x, torch.tensor([1.0, nan, 1.0, 1.0, -1.0], dtype=D), reduction='none'), torch.tensor([0.0, 1.0, 2.0, inf, 0.0], dtype=D), 1.0)
//     -> shape [5] [0.0, NAN, 1.0, 0.0, -1.0]
//   grad(lambda x: F.margin_ranking_loss(torch.tensor([nan, 1.0, 2.0, inf, 1.0], dtype=D), torch.tensor([0.0, 1.0, 2.0, inf, 0.0], dtype=D), x, reduction='none'), torch.tensor([1.0, nan, 1.0, 1.0, -1.0], dtype=D), 1.0)
//     -> shape [5] [NAN, -0.0, -0.0, NAN, -1.0]
// NaN propagates through the clamp, whose backward then blocks the gradient, except
// where the other factor of the product is NaN (0 * NaN).
#[test]
fn ranking_nan_and_infinities() {
    let (nan, inf) = (f64::NAN, f64::INFINITY);
    let a = v(&[nan, 1.0, 2.0, inf, 1.0]);
    let b = v(&[0.0, 1.0, 2.0, inf, 0.0]);
    let y = v(&[1.0, nan, 1.0, 1.0, -1.0]);
    let none = mo(Reduction::None);
    assert_close(
        &margin_ranking_loss(a.view(), b.view(), y.view(), &none).unwrap(),
        &[5],
        &[nan, nan, 0.0, nan, 1.0],
    );
    let g = v(&[1.0; 5]);
    let e1 = [-0.0, nan, -1.0, -0.0, 1.0];
    let got = margin_ranking_loss_backward(g.view(), a.view(), b.view(), y.view(), &none).unwrap();
    assert_close(&got, &[5], &e1);
    assert_signs(
        &got.mapv(|v| if v.is_nan() { -0.0 } else { v }),
        &e1.map(|v| if v.is_nan() { -0.0 } else { v }),
    );
    let got =
        margin_ranking_loss_input2_backward(g.view(), a.view(), b.view(), y.view(), &none).unwrap();
    assert_close(&got, &[5], &[0.0, nan, 1.0, 0.0, -1.0]);
    let et = [nan, -0.0, -0.0, nan, -1.0];
    let got =
        margin_ranking_loss_target_backward(g.view(), a.view(), b.view(), y.view(), &none).unwrap();
    assert_close(&got, &[5], &et);
    assert!(got[1].is_sign_negative() && got[2].is_sign_negative());
}

// torch 2.13.0:
//   F.margin_ranking_loss(A.float(), B.float(), YR.float(), margin=0.1, reduction='none')
//     -> shape [2, 3] [0.8, 0.1, 0.0, 0.0, 0.6, 0.1]
//   F.margin_ranking_loss(A.float(), B.float(), YR.float(), margin=0.1)
//     -> shape [] [0.26666668]
//   grad(lambda x: F.margin_ranking_loss(A.float(), B.float(), x, margin=0.1, reduction='none'), YR.float(), GR.float())
//     -> shape [2, 3] [0.616, -0.0, -0.0, 0.0, -0.345, -0.0]
#[test]
fn ranking_f32() {
    let (a, b, y) = (f32s(&ra()), f32s(&rb()), f32s(&yr()));
    let o = mo(Reduction::None).margin(0.1);
    assert_bits(
        &margin_ranking_loss(a.view(), b.view(), y.view(), &o).unwrap(),
        &[2, 3],
        &[0.8, 0.1, 0.0, 0.0, 0.6, 0.1],
    );
    assert_bits(
        &margin_ranking_loss(
            a.view(),
            b.view(),
            y.view(),
            &mo(Reduction::Mean).margin(0.1),
        )
        .unwrap(),
        &[],
        &[0.26666668],
    );
    let g = f32s(&gr());
    assert_bits(
        &margin_ranking_loss_target_backward(g.view(), a.view(), b.view(), y.view(), &o).unwrap(),
        &[2, 3],
        &[0.616, -0.0, -0.0, 0.0, -0.345, -0.0],
    );
}

// torch 2.13.0:
//   F.margin_ranking_loss(XL(1), XL(2), YL(3))
//     -> shape [] [1.186728]
//   F.margin_ranking_loss(XL(1), XL(2), YL(3), margin=0.5, reduction='sum')
//     -> shape [] [143672.8]
//   F.margin_ranking_loss(XL(1), XL(2)[:1], YL(3), margin=0.5, reduction='none')[7, 100:104]
//     -> shape [4] [0.0, 3.626, 0.0, 3.626]
//   grad(lambda x: F.margin_ranking_loss(XL(1), x, YL(3), margin=0.5, reduction='sum'), XL(2)[:1], 1.0)[0, :5]
//     -> shape [5] [0.0, -100.0, 0.0, -100.0, -200.0]
//   grad(lambda x: F.margin_ranking_loss(XL(1), x, YL(3), margin=0.5, reduction='sum'), XL(2)[:1], 1.0).double().sum()
//     -> shape [] [1400.0]
//   grad(lambda x: F.margin_ranking_loss(XL(1), XL(2), x, margin=0.5, reduction='sum'), YL(3)[:, :1], 1.0)[:4, 0]
//     -> shape [4] [293.058, 293.05798, -292.68002, -297.558]
//   grad(lambda x: F.margin_ranking_loss(XL(1), XL(2), x, margin=0.5, reduction='sum'), YL(3)[:, :1], 1.0).double().sum()
//     -> shape [] [-412.2039794921875]
#[test]
fn ranking_long_f32_input_against_torch() {
    let (a, b, y) = (xl(1), xl(2), yl(3));
    assert_close_f32(
        &margin_ranking_loss(a.view(), b.view(), y.view(), &mo(Reduction::Mean)).unwrap(),
        &[],
        &[1.186728],
    );
    let sum = mo(Reduction::Sum).margin(0.5);
    assert_close_f32(
        &margin_ranking_loss(a.view(), b.view(), y.view(), &sum).unwrap(),
        &[],
        &[143672.8],
    );
    let b1 = b.slice(s![..1, ..]).to_owned().into_dyn();
    let none = margin_ranking_loss(
        a.view(),
        b1.view(),
        y.view(),
        &mo(Reduction::None).margin(0.5),
    )
    .unwrap();
    assert_bits(
        &none.slice(s![7, 100..104]).to_owned().into_dyn(),
        &[4],
        &[0.0, 3.626, 0.0, 3.626],
    );
    let g = arr0(1.0f32).into_dyn();
    let d2 =
        margin_ranking_loss_input2_backward(g.view(), a.view(), b1.view(), y.view(), &sum).unwrap();
    assert_bits(
        &d2.slice(s![0, ..5]).to_owned().into_dyn(),
        &[5],
        &[0.0, -100.0, 0.0, -100.0, -200.0],
    );
    assert_eq!(sum64(&d2), 1400.0);
    let y1 = y.slice(s![.., ..1]).to_owned().into_dyn();
    let dt =
        margin_ranking_loss_target_backward(g.view(), a.view(), b.view(), y1.view(), &sum).unwrap();
    assert_close_f32(
        &dt.slice(s![..4, 0]).to_owned().into_dyn(),
        &[4],
        &[293.058, 293.05798, -292.68002, -297.558],
    );
    // 400 row sums of about ±293, each within the float32 tolerance of torch's (its
    // f32 sum over 250 columns and ours differ in order): their total within the sum
    // of those tolerances.
    let allowed: f64 = dt
        .iter()
        .map(|v| <f32 as Float>::ATOL + <f32 as Float>::RTOL * f64::from(v.abs()))
        .sum();
    assert!(
        (sum64(&dt) + 412.2039794921875).abs() <= allowed,
        "{} vs {allowed}",
        sum64(&dt)
    );
}

// ---------------------------------------------------------------------------------
// cosine_embedding_loss
// ---------------------------------------------------------------------------------

// torch 2.13.0:
//   F.cosine_embedding_loss(I1, I2, Y4, reduction='none')
//     -> shape [4] [1.2143383921922302, 0.0, 0.9486467557331816, 0.37837169495720613]
//   F.cosine_embedding_loss(I1, I2, Y4)
//     -> shape [] [0.6353392107206545]
//   F.cosine_embedding_loss(I1, I2, Y4, reduction='sum')
//     -> shape [] [2.541356842882618]
//   F.cosine_embedding_loss(I1, I2, Y4, margin=-0.3, reduction='none')
//     -> shape [4] [1.2143383921922302, 0.0, 0.9486467557331816, 0.6783716949572061]
//   F.cosine_embedding_loss(I1, I2, Y4, margin=0.5, reduction='sum')
//     -> shape [] [2.162985147925412]
#[test]
fn cosine_forward_each_reduction_and_margin() {
    let (a, b, y) = (i1(), i2(), y4());
    let f = |o| cosine_embedding_loss(a.view(), b.view(), y.view(), &o).unwrap();
    assert_close(
        &f(co(Reduction::None)),
        &[4],
        &[
            1.2143383921922302,
            0.0,
            0.9486467557331816,
            0.37837169495720613,
        ],
    );
    assert_close(
        &f(CosineEmbeddingOptions::default()),
        &[],
        &[0.6353392107206545],
    );
    assert_close(&f(co(Reduction::Sum)), &[], &[2.541356842882618]);
    assert_close(
        &f(co(Reduction::None).margin(-0.3)),
        &[4],
        &[
            1.2143383921922302,
            0.0,
            0.9486467557331816,
            0.6783716949572061,
        ],
    );
    assert_close(
        &f(co(Reduction::Sum).margin(0.5)),
        &[],
        &[2.162985147925412],
    );
}

// torch 2.13.0:
//   grad(lambda x: F.cosine_embedding_loss(x, I2, Y4, reduction='none'), I1, G4)
//     -> shape [4, 3] [-0.10127601832856922, 0.07928746749084568, -0.1280997417999492, 0.0, -0.0, 0.0, 0.19405279394140612, 0.01321162884787521, 0.2332436906527703, 0.40921888255838745, 0.7281319633051824, -0.13038590739862288]
//   grad(lambda x: F.cosine_embedding_loss(I1, x, Y4, reduction='none'), I2, G4)
//     -> shape [4, 3] [-0.06591440846079732, 0.030166320098829004, 0.04488649659771479, 0.0, -0.0, 0.0, -0.16260373926445645, -0.10474665238184026, 0.12578771040921966, -0.0020213231981489332, -0.26682223266201066, 0.9688383780975905]
//   grad(lambda x: F.cosine_embedding_loss(x, I2, Y4, margin=-0.3), I1, 0.7)
//     -> shape [4, 3] [-0.05907767735833204, 0.046251022702993305, -0.07472484938330369, 0.0, -0.0, 0.0, 0.04244904867468259, 0.0028900438104727017, 0.0510220573302935, 0.03410157354653229, 0.0606776636087652, -0.010865492283218574]
//   grad(lambda x: F.cosine_embedding_loss(I1, x, Y4, margin=-0.3), I2, 0.7)
//     -> shape [4, 3] [-0.03845007160213177, 0.01759702005765025, 0.026183789682000295, 0.0, -0.0, 0.0, -0.035569567964099845, -0.022913330208527555, 0.027516061652016796, -0.00016844359984575022, -0.02223518605516756, 0.08073653150813254]
//   grad(lambda x: F.cosine_embedding_loss(x, I2, Y4, reduction='sum'), I1, 1.0)
//     -> shape [4, 3] [-0.33758672776189735, 0.2642915583028189, -0.426999139333164, 0.0, -0.0, 0.0, 0.24256599242675764, 0.01651453605984401, 0.29155461331596283, 0.19486613455161306, 0.34672950633580113, -0.06208852733267754]
#[test]
fn cosine_gradients_of_both_inputs_each_reduction() {
    let (a, b, y) = (i1(), i2(), y4());
    let d1 = |g: &ArrayD<f64>, o| {
        cosine_embedding_loss_backward(g.view(), a.view(), b.view(), y.view(), &o).unwrap()
    };
    let d2 = |g: &ArrayD<f64>, o| {
        cosine_embedding_loss_input2_backward(g.view(), a.view(), b.view(), y.view(), &o).unwrap()
    };
    let none = co(Reduction::None);
    let e = [
        -0.10127601832856922,
        0.07928746749084568,
        -0.1280997417999492,
        0.0,
        -0.0,
        0.0,
        0.19405279394140612,
        0.01321162884787521,
        0.2332436906527703,
        0.40921888255838745,
        0.7281319633051824,
        -0.13038590739862288,
    ];
    let got = d1(&g4(), none);
    assert_close(&got, &[4, 3], &e);
    assert_signs(&got.slice(s![1, ..]).to_owned().into_dyn(), &e[3..6]);
    assert_close(
        &d2(&g4(), none),
        &[4, 3],
        &[
            -0.06591440846079732,
            0.030166320098829004,
            0.04488649659771479,
            0.0,
            -0.0,
            0.0,
            -0.16260373926445645,
            -0.10474665238184026,
            0.12578771040921966,
            -0.0020213231981489332,
            -0.26682223266201066,
            0.9688383780975905,
        ],
    );
    let mean = co(Reduction::Mean).margin(-0.3);
    assert_close(
        &d1(&g07(), mean),
        &[4, 3],
        &[
            -0.05907767735833204,
            0.046251022702993305,
            -0.07472484938330369,
            0.0,
            -0.0,
            0.0,
            0.04244904867468259,
            0.0028900438104727017,
            0.0510220573302935,
            0.03410157354653229,
            0.0606776636087652,
            -0.010865492283218574,
        ],
    );
    assert_close(
        &d2(&g07(), mean),
        &[4, 3],
        &[
            -0.03845007160213177,
            0.01759702005765025,
            0.026183789682000295,
            0.0,
            -0.0,
            0.0,
            -0.035569567964099845,
            -0.022913330208527555,
            0.027516061652016796,
            -0.00016844359984575022,
            -0.02223518605516756,
            0.08073653150813254,
        ],
    );
    assert_close(
        &d1(&one(), co(Reduction::Sum)),
        &[4, 3],
        &[
            -0.33758672776189735,
            0.2642915583028189,
            -0.426999139333164,
            0.0,
            -0.0,
            0.0,
            0.24256599242675764,
            0.01651453605984401,
            0.29155461331596283,
            0.19486613455161306,
            0.34672950633580113,
            -0.06208852733267754,
        ],
    );
}

// torch 2.13.0:
//   F.cosine_embedding_loss(KA, KB, KY, reduction='none')
//     -> shape [5] [0.0, 0.7071067811860171, 5.000444502911705e-13, 1.0, 0.0]
//   grad(lambda x: F.cosine_embedding_loss(x, KB, KY, reduction='none'), KA, 1.0)
//     -> shape [5, 2] [0.0, 0.9999999999989999, 7.072120666862247e-13, 0.7071067811860171, -2.5002222514558525e-13, -2.5002222514558525e-13, 0.0, 0.0, -0.15999999999999362, 0.11999999999999522]
//   grad(lambda x: F.cosine_embedding_loss(KA, x, KY, reduction='none'), KB, 1.0)
//     -> shape [5, 2] [0.9999999999989999, 0.0, 0.35355339059318536, -0.35355339059283175, -2.5002222514558525e-13, -2.5002222514558525e-13, 0.0, 0.0, 0.11999999999999522, 0.15999999999999362]
// Rows 0 and 4 are orthogonal dissimilar pairs, cos - margin == 0 exactly: the kink,
// where clamp_min passes the gradient. Row 2 (equal inputs) shows EPSILON: its loss is
// 5e-13, not 0, and its gradient is not 0 either. Row 3 is two zero vectors: cos = 0.
#[test]
fn cosine_kinks_epsilon_and_zero_vectors() {
    let ka = a64(&[5, 2], &[1.0, 0.0, 1.0, 0.0, 1.0, 1.0, 0.0, 0.0, 3.0, 4.0]);
    let kb = a64(
        &[5, 2],
        &[0.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0, -4.0, 3.0],
    );
    let ky = v(&[-1.0, -1.0, 1.0, 1.0, -1.0]);
    let none = co(Reduction::None);
    assert_close(
        &cosine_embedding_loss(ka.view(), kb.view(), ky.view(), &none).unwrap(),
        &[5],
        &[0.0, 0.7071067811860171, 5.000444502911705e-13, 1.0, 0.0],
    );
    let g = v(&[1.0; 5]);
    assert_close(
        &cosine_embedding_loss_backward(g.view(), ka.view(), kb.view(), ky.view(), &none).unwrap(),
        &[5, 2],
        &[
            0.0,
            0.9999999999989999,
            7.072120666862247e-13,
            0.7071067811860171,
            -2.5002222514558525e-13,
            -2.5002222514558525e-13,
            0.0,
            0.0,
            -0.15999999999999362,
            0.11999999999999522,
        ],
    );
    assert_close(
        &cosine_embedding_loss_input2_backward(g.view(), ka.view(), kb.view(), ky.view(), &none)
            .unwrap(),
        &[5, 2],
        &[
            0.9999999999989999,
            0.0,
            0.35355339059318536,
            -0.35355339059283175,
            -2.5002222514558525e-13,
            -2.5002222514558525e-13,
            0.0,
            0.0,
            0.11999999999999522,
            0.15999999999999362,
        ],
    );
}

// torch 2.13.0:
//   F.cosine_embedding_loss(I1[0], I2[0], torch.tensor(1.0, dtype=D), reduction='none')
//     -> shape [] [1.2143383921922302]
//   F.cosine_embedding_loss(I1[1], I2[1], torch.tensor(-1.0, dtype=D), margin=-0.5)
//     -> shape [] [0.0]
//   grad(lambda x: F.cosine_embedding_loss(x, I2[1], torch.tensor(-1.0, dtype=D), margin=-0.5), I1[1], 2.0)
//     -> shape [3] [0.0, -0.0, 0.0]
//   grad(lambda x: F.cosine_embedding_loss(I1[1], x, torch.tensor(-1.0, dtype=D), margin=-0.5), I2[1], 2.0)
//     -> shape [3] [0.0, -0.0, 0.0]
//   F.cosine_embedding_loss(I1[0], I2[0, :1], torch.tensor(1.0, dtype=D), reduction='none')
//     -> shape [] [1.291162641966888]
//   grad(lambda x: F.cosine_embedding_loss(I1[0], x, torch.tensor(1.0, dtype=D), reduction='none'), I2[0, :1], 1.0)
//     -> shape [1] [1.1071699113074374e-13]
#[test]
fn cosine_one_pair_of_vectors() {
    let (a, b) = (i1(), i2());
    let (a0, b0) = (
        a.slice(s![0, ..]).to_owned().into_dyn(),
        b.slice(s![0, ..]).to_owned().into_dyn(),
    );
    let (a1, b1) = (
        a.slice(s![1, ..]).to_owned().into_dyn(),
        b.slice(s![1, ..]).to_owned().into_dyn(),
    );
    let (pos, neg) = (arr0(1.0).into_dyn(), arr0(-1.0).into_dyn());
    assert_close(
        &cosine_embedding_loss(a0.view(), b0.view(), pos.view(), &co(Reduction::None)).unwrap(),
        &[],
        &[1.2143383921922302],
    );
    let o = co(Reduction::Mean).margin(-0.5);
    assert_close(
        &cosine_embedding_loss(a1.view(), b1.view(), neg.view(), &o).unwrap(),
        &[],
        &[0.0],
    );
    let g = arr0(2.0).into_dyn();
    let d1 =
        cosine_embedding_loss_backward(g.view(), a1.view(), b1.view(), neg.view(), &o).unwrap();
    assert_close(&d1, &[3], &[0.0, -0.0, 0.0]);
    assert_signs(&d1, &[0.0, -0.0, 0.0]);
    let d2 = cosine_embedding_loss_input2_backward(g.view(), a1.view(), b1.view(), neg.view(), &o)
        .unwrap();
    assert_signs(&d2, &[0.0, -0.0, 0.0]);
    let b00 = b.slice(s![0, ..1]).to_owned().into_dyn();
    assert_close(
        &cosine_embedding_loss(a0.view(), b00.view(), pos.view(), &co(Reduction::None)).unwrap(),
        &[],
        &[1.291162641966888],
    );
    let d2 = cosine_embedding_loss_input2_backward(
        one().view(),
        a0.view(),
        b00.view(),
        pos.view(),
        &co(Reduction::None),
    )
    .unwrap();
    assert_eq!(d2.shape(), &[1]);
    // Cancelling terms: the exact value is 0; PyTorch's is rounding noise of 1e-13.
    assert!(d2[0].abs() < 1e-12, "{d2:?}");
}

// torch 2.13.0:
//   F.cosine_embedding_loss(I1, I2[2:3], Y4, reduction='none')
//     -> shape [4] [0.8454100200140506, 0.49063103053404944, 0.9486467557331816, 0.0]
//   grad(lambda x: F.cosine_embedding_loss(I1, x, Y4, reduction='none'), I2[2:3], G4)
//     -> shape [1, 3] [-0.4638011014512713, -0.012616169763694346, 0.35153167895531595]
//   grad(lambda x: F.cosine_embedding_loss(x, I2[2:3], Y4, reduction='none'), I1, G4)
//     -> shape [4, 3] [0.131394255708478, -0.0038963024938343848, 0.12819750556921683, 0.7119315659264025, -0.07450164254057878, 0.3199546321117987, 0.19405279394140612, 0.01321162884787521, 0.2332436906527703, 0.0, 0.0, 0.0]
//   F.cosine_embedding_loss(I1, I2[:, 1:2], Y4, reduction='none')
//     -> shape [4] [0.7088373580331258, 0.7273522715702627, 1.5397796037037201, 1.239423338801178]
//   grad(lambda x: F.cosine_embedding_loss(I1, x, Y4, reduction='none'), I2[:, 1:2], G4)
//     -> shape [4, 1] [4.268807529683727e-14, 7.418954339755146e-12, -1.2589627118586577e-09, 6.477041125663163e-13]
//   grad(lambda x: F.cosine_embedding_loss(x, I2[:, 1:2], Y4, reduction='none'), I1, G4)
//     -> shape [4, 3] [0.22205246923530475, 0.17143394952430838, 0.1483036325702769, 1.1501065826234795, 0.7624034881909683, 0.31090115037082855, 0.19365874972521174, 0.22984892631661855, 0.4001923437209989, 0.6917453438505538, 0.8394213161332194, -0.19431048984543986]
//   F.cosine_embedding_loss(I1[:1], I2[:1], Y4, reduction='none')
//     -> shape [4] [1.2143383921922302, 0.0, 1.2143383921922302, 0.0]
//   grad(lambda x: F.cosine_embedding_loss(x, I2[:1], Y4, reduction='none'), I1[:1], G4)
//     -> shape [1, 3] [-0.3713454005380872, 0.29072071413310085, -0.46969905326648037]
//   F.cosine_embedding_loss(I1, I2, Y4[:1], reduction='none')
//     -> shape [4] [1.2143383921922302, 1.7701481276295072, 0.9486467557331816, 0.6216283050427939]
// The inputs broadcast with each other (rows and columns of size 1: a column of one
// element is counted once in its own norm), and the target with the cosines.
#[test]
fn cosine_broadcasts_rows_columns_and_target() {
    let (a, b, y, g) = (i1(), i2(), y4(), g4());
    let none = co(Reduction::None);
    let b2 = b.slice(s![2..3, ..]).to_owned().into_dyn();
    assert_close(
        &cosine_embedding_loss(a.view(), b2.view(), y.view(), &none).unwrap(),
        &[4],
        &[
            0.8454100200140506,
            0.49063103053404944,
            0.9486467557331816,
            0.0,
        ],
    );
    assert_close(
        &cosine_embedding_loss_input2_backward(g.view(), a.view(), b2.view(), y.view(), &none)
            .unwrap(),
        &[1, 3],
        &[
            -0.4638011014512713,
            -0.012616169763694346,
            0.35153167895531595,
        ],
    );
    assert_close(
        &cosine_embedding_loss_backward(g.view(), a.view(), b2.view(), y.view(), &none).unwrap(),
        &[4, 3],
        &[
            0.131394255708478,
            -0.0038963024938343848,
            0.12819750556921683,
            0.7119315659264025,
            -0.07450164254057878,
            0.3199546321117987,
            0.19405279394140612,
            0.01321162884787521,
            0.2332436906527703,
            0.0,
            0.0,
            0.0,
        ],
    );
    let bc = b.slice(s![.., 1..2]).to_owned().into_dyn();
    assert_close(
        &cosine_embedding_loss(a.view(), bc.view(), y.view(), &none).unwrap(),
        &[4],
        &[
            0.7088373580331258,
            0.7273522715702627,
            1.5397796037037201,
            1.239423338801178,
        ],
    );
    // The exact gradient of a one-column input2 is 0 (the cosine does not depend on its
    // size); PyTorch's is rounding noise up to 1e-9.
    let d2 = cosine_embedding_loss_input2_backward(g.view(), a.view(), bc.view(), y.view(), &none)
        .unwrap();
    assert_eq!(d2.shape(), &[4, 1]);
    assert!(d2.iter().all(|v| v.abs() < 1e-8), "{d2:?}");
    assert_close(
        &cosine_embedding_loss_backward(g.view(), a.view(), bc.view(), y.view(), &none).unwrap(),
        &[4, 3],
        &[
            0.22205246923530475,
            0.17143394952430838,
            0.1483036325702769,
            1.1501065826234795,
            0.7624034881909683,
            0.31090115037082855,
            0.19365874972521174,
            0.22984892631661855,
            0.4001923437209989,
            0.6917453438505538,
            0.8394213161332194,
            -0.19431048984543986,
        ],
    );
    let (a0, b0) = (
        a.slice(s![..1, ..]).to_owned().into_dyn(),
        b.slice(s![..1, ..]).to_owned().into_dyn(),
    );
    assert_close(
        &cosine_embedding_loss(a0.view(), b0.view(), y.view(), &none).unwrap(),
        &[4],
        &[1.2143383921922302, 0.0, 1.2143383921922302, 0.0],
    );
    assert_close(
        &cosine_embedding_loss_backward(g.view(), a0.view(), b0.view(), y.view(), &none).unwrap(),
        &[1, 3],
        &[
            -0.3713454005380872,
            0.29072071413310085,
            -0.46969905326648037,
        ],
    );
    let y1 = v(&[-1.0]).mapv(|v| -v);
    assert_close(
        &cosine_embedding_loss(a.view(), b.view(), y1.view(), &none).unwrap(),
        &[4],
        &[
            1.2143383921922302,
            1.7701481276295072,
            0.9486467557331816,
            0.6216283050427939,
        ],
    );
}

// torch 2.13.0:
//   F.cosine_embedding_loss(I1, I2, torch.zeros(4, 1, dtype=D))
//     -> RuntimeError: 0D or 1D target tensor expected, multi-target not supported
//   F.cosine_embedding_loss(I1[0], I2[0], Y4)
//     -> RuntimeError: 1D target tensor expects 2D input tensors, but found inputs with sizes [3] and [3].
//   F.cosine_embedding_loss(I1, I2, torch.tensor(1.0, dtype=D))
//     -> RuntimeError: 0D target tensor expects 1D input tensors, but found inputs with sizes [4, 3] and [4, 3].
//   F.cosine_embedding_loss(torch.tensor(1.0, dtype=D), torch.tensor(1.0, dtype=D), torch.tensor(1.0, dtype=D))
//     -> RuntimeError: 0D target tensor expects 1D input tensors, but found inputs with sizes [] and [].
//   F.cosine_embedding_loss(I1, I2[0], Y4)
//     -> RuntimeError: 1D target tensor expects 2D input tensors, but found inputs with sizes [4, 3] and [3].
//   F.cosine_embedding_loss(I1[0], I2, Y4)
//     -> RuntimeError: 1D target tensor expects 2D input tensors, but found inputs with sizes [3] and [4, 3].
//   F.cosine_embedding_loss(I1[0], I2, torch.tensor(1.0, dtype=D))
//     -> RuntimeError: 0D target tensor expects 1D input tensors, but found inputs with sizes [3] and [4, 3].
//   F.cosine_embedding_loss(I1.reshape(2, 2, 3), I2.reshape(2, 2, 3), Y4[:2])
//     -> RuntimeError: 1D target tensor expects 2D input tensors, but found inputs with sizes [2, 2, 3] and [2, 2, 3].
//   F.cosine_embedding_loss(I1, I2[:, :2], Y4)
//     -> RuntimeError: The size of tensor a (3) must match the size of tensor b (2) at non-singleton dimension 1
//   F.cosine_embedding_loss(I1, I2[:3], Y4)
//     -> RuntimeError: The size of tensor a (4) must match the size of tensor b (3) at non-singleton dimension 0
//   F.cosine_embedding_loss(I1, I2, Y4[:3])
//     -> RuntimeError: The size of tensor a (3) must match the size of tensor b (4) at non-singleton dimension 0
//   F.cosine_embedding_loss(I1, I2[:3, :2], Y4[:3])
//     -> RuntimeError: The size of tensor a (3) must match the size of tensor b (2) at non-singleton dimension 1
//   F.cosine_embedding_loss(I1[:, :2], I2[:3], torch.zeros(5, 1, dtype=D))
//     -> RuntimeError: 0D or 1D target tensor expected, multi-target not supported
//   (lambda a: torch.autograd.grad(F.cosine_embedding_loss(a, I2, Y4, reduction='none'), [a], torch.ones(3, dtype=D)))(rg(I1))
//     -> RuntimeError: Mismatch in shape: grad_output[0] has a shape of torch.Size([3]) and output[0] has a shape of torch.Size([4]).
//   (lambda t: torch.autograd.grad(F.cosine_embedding_loss(rg(I1), I2, t), [t]))(rg(Y4))
//     -> RuntimeError: The differentiated Tensor at index 0 appears to not have been used in the graph. Set allow_unused=True if this is the desired behavior.
// aten's order: the target's dimensions, the inputs' (both), input1 * input2's
// broadcast, then the target against the cosines. There is no separate error for 0-D
// inputs.
#[test]
fn cosine_errors_in_order_and_the_undifferentiated_target() {
    let z = zeros64;
    let o = CosineEmbeddingOptions::default();
    let f = |a: &[usize], b: &[usize], t: &[usize]| {
        cosine_embedding_loss(z(a).view(), z(b).view(), z(t).view(), &o)
    };
    let rt = ErrorKind::RuntimeError;
    let multi = "0D or 1D target tensor expected, multi-target not supported";
    assert_err(f(&[4, 3], &[4, 3], &[4, 1]), rt, multi);
    assert_err(f(&[4, 2], &[3, 3], &[5, 1]), rt, multi);
    assert_err(f(&[4, 3], &[4, 3], &[4, 1, 1]), rt, multi);
    let e = assert_err(
        f(&[3], &[3], &[4]),
        rt,
        "1D target tensor expects 2D input tensors, but found inputs with sizes [3] and [3].",
    );
    assert!(e.hint().contains("(N, D)"), "{e}");
    assert_err(
        f(&[4, 3], &[4, 3], &[]),
        rt,
        "0D target tensor expects 1D input tensors, but found inputs with sizes [4, 3] and [4, 3].",
    );
    assert_err(
        f(&[], &[], &[]),
        rt,
        "0D target tensor expects 1D input tensors, but found inputs with sizes [] and [].",
    );
    assert_err(
        f(&[4, 3], &[3], &[4]),
        rt,
        "1D target tensor expects 2D input tensors, but found inputs with sizes [4, 3] and [3].",
    );
    assert_err(
        f(&[3], &[4, 3], &[4]),
        rt,
        "1D target tensor expects 2D input tensors, but found inputs with sizes [3] and [4, 3].",
    );
    assert_err(
        f(&[3], &[4, 3], &[]),
        rt,
        "0D target tensor expects 1D input tensors, but found inputs with sizes [3] and [4, 3].",
    );
    assert_err(
        f(&[2, 2, 3], &[2, 2, 3], &[2]),
        rt,
        "1D target tensor expects 2D input tensors, but found inputs with sizes [2, 2, 3] and [2, 2, 3].",
    );
    assert_err(
        f(&[4, 3], &[4, 2], &[4]),
        rt,
        "The size of tensor a (3) must match the size of tensor b (2) at non-singleton dimension 1",
    );
    assert_err(
        f(&[4, 3], &[3, 3], &[4]),
        rt,
        "The size of tensor a (4) must match the size of tensor b (3) at non-singleton dimension 0",
    );
    assert_err(
        f(&[4, 3], &[4, 3], &[3]),
        rt,
        "The size of tensor a (3) must match the size of tensor b (4) at non-singleton dimension 0",
    );
    assert_err(
        f(&[4, 3], &[3, 2], &[3]),
        rt,
        "The size of tensor a (3) must match the size of tensor b (2) at non-singleton dimension 1",
    );
    let (a, b, y) = (i1(), i2(), y4());
    let g3 = z(&[3]);
    let none = co(Reduction::None);
    let mismatch = "Mismatch in shape: grad_output[0] has a shape of torch.Size([3]) and output[0] has a shape of torch.Size([4]).";
    assert_err(
        cosine_embedding_loss_backward(g3.view(), a.view(), b.view(), y.view(), &none),
        rt,
        mismatch,
    );
    assert_err(
        cosine_embedding_loss_input2_backward(g3.view(), a.view(), b.view(), y.view(), &none),
        rt,
        mismatch,
    );
    assert_err(
        cosine_embedding_loss_target_backward(g3.view(), a.view(), b.view(), y.view(), &none),
        rt,
        mismatch,
    );
    let unused = "The differentiated Tensor at index 0 appears to not have been used in the graph. Set allow_unused=True if this is the desired behavior.";
    assert_err(
        cosine_embedding_loss_target_backward(g07().view(), a.view(), b.view(), y.view(), &o),
        rt,
        unused,
    );
    assert_err(
        cosine_embedding_loss_target_backward(
            g07().view(),
            a.view(),
            b.view(),
            z(&[4, 1]).view(),
            &o,
        ),
        rt,
        multi,
    );
}

// torch 2.13.0:
//   F.cosine_embedding_loss(torch.zeros(0, 3, dtype=D), torch.zeros(0, 3, dtype=D), torch.zeros(0, dtype=D))
//     -> shape [] [NAN]
//   F.cosine_embedding_loss(torch.zeros(0, 3, dtype=D), torch.zeros(0, 3, dtype=D), torch.zeros(0, dtype=D), reduction='sum')
//     -> shape [] [0.0]
//   F.cosine_embedding_loss(torch.zeros(2, 0, dtype=D), torch.zeros(2, 0, dtype=D), torch.ones(2, dtype=D), reduction='none')
//     -> shape [2] [1.0, 1.0]
//   grad(lambda x: F.cosine_embedding_loss(x, torch.zeros(0, 3, dtype=D), torch.zeros(0, dtype=D)), torch.zeros(0, 3, dtype=D), 1.0)
//     -> shape [0, 3] []
#[test]
fn cosine_empty() {
    let (e, t) = (zeros64(&[0, 3]), zeros64(&[0]));
    let f = |r| cosine_embedding_loss(e.view(), e.view(), t.view(), &co(r)).unwrap();
    assert_close(&f(Reduction::Mean), &[], &[f64::NAN]);
    assert_close(&f(Reduction::Sum), &[], &[0.0]);
    // torch's empty sum is +0 (its sign shows in `1 / loss`).
    assert!(f(Reduction::Sum)[[]].is_sign_positive());
    let (w, ones) = (zeros64(&[2, 0]), v(&[1.0, 1.0]));
    assert_close(
        &cosine_embedding_loss(w.view(), w.view(), ones.view(), &co(Reduction::None)).unwrap(),
        &[2],
        &[1.0, 1.0],
    );
    assert_close(
        &cosine_embedding_loss_backward(
            one().view(),
            e.view(),
            e.view(),
            t.view(),
            &co(Reduction::Mean),
        )
        .unwrap(),
        &[0, 3],
        &[],
    );
    assert_close(
        &cosine_embedding_loss_input2_backward(
            ones.view(),
            w.view(),
            w.view(),
            ones.view(),
            &co(Reduction::None),
        )
        .unwrap(),
        &[2, 0],
        &[],
    );
}

// torch 2.13.0:
//   F.cosine_embedding_loss(torch.tensor([[nan, 1.0], [inf, 1.0], [1.0, 2.0]], dtype=D), torch.tensor([[1.0, 1.0], [1.0, 1.0], [1.0, 2.0]], dtype=D), torch.tensor([1.0, -1.0, nan], dtype=D), reduction='none')
//     -> shape [3] [NAN, NAN, 0.0]
//   grad(lambda x: F.cosine_embedding_loss(x, torch.tensor([[1.0, 1.0], [1.0, 1.0], [1.0, 2.0]], dtype=D), torch.tensor([1.0, -1.0, nan], dtype=D), reduction='none'), torch.tensor([[nan, 1.0], [inf, 1.0], [1.0, 2.0]], dtype=D), 1.0)
//     -> shape [3, 2] [NAN, NAN, NAN, NAN, 0.0, 0.0]
//   F.cosine_embedding_loss(torch.tensor([[3e19, 4e19]], dtype=torch.float32), torch.tensor([[4e19, 3e19]], dtype=torch.float32), torch.tensor([1.0]), reduction='none')
//     -> shape [1] [NAN]
// A NaN target is neither 1 nor -1: that pair costs nothing. float32 norms overflow in
// PyTorch (inf / inf): so do ours, the sums being rounded to f32.
#[test]
fn cosine_nan_infinities_and_f32_overflow() {
    let nan = f64::NAN;
    let a = a64(&[3, 2], &[nan, 1.0, f64::INFINITY, 1.0, 1.0, 2.0]);
    let b = a64(&[3, 2], &[1.0, 1.0, 1.0, 1.0, 1.0, 2.0]);
    let y = v(&[1.0, -1.0, nan]);
    let none = co(Reduction::None);
    assert_close(
        &cosine_embedding_loss(a.view(), b.view(), y.view(), &none).unwrap(),
        &[3],
        &[nan, nan, 0.0],
    );
    let g = v(&[1.0; 3]);
    assert_close(
        &cosine_embedding_loss_backward(g.view(), a.view(), b.view(), y.view(), &none).unwrap(),
        &[3, 2],
        &[nan, nan, nan, nan, 0.0, 0.0],
    );
    let a = a32(&[1, 2], vec![3e19, 4e19]);
    let b = a32(&[1, 2], vec![4e19, 3e19]);
    let y = a32(&[1], vec![1.0]);
    assert!(cosine_embedding_loss(a.view(), b.view(), y.view(), &none).unwrap()[0].is_nan());
}

// torch 2.13.0:
//   F.cosine_embedding_loss(I1.float(), I2.float(), Y4.float(), margin=0.1, reduction='none')
//     -> shape [4] [1.2143384, 0.0, 0.9486467, 0.27837172]
//   F.cosine_embedding_loss(I1.float(), I2.float(), Y4.float(), margin=0.1)
//     -> shape [] [0.6103392]
//   grad(lambda x: F.cosine_embedding_loss(x, I2.float(), Y4.float(), margin=-0.3, reduction='none'), I1.float(), G4.float())
//     -> shape [4, 3] [-0.10127603, 0.07928747, -0.12809975, 0.0, -0.0, 0.0, 0.1940528, 0.013211632, 0.2332437, 0.40921888, 0.72813195, -0.1303859]
//   grad(lambda x: F.cosine_embedding_loss(I1.float(), x, Y4.float(), margin=-0.3, reduction='none'), I2.float(), G4.float())
//     -> shape [4, 3] [-0.065914415, 0.030166322, 0.044886496, 0.0, -0.0, 0.0, -0.16260375, -0.10474666, 0.1257877, -0.0020213276, -0.26682228, 0.9688384]
#[test]
fn cosine_f32() {
    let (a, b, y, g) = (f32s(&i1()), f32s(&i2()), f32s(&y4()), f32s(&g4()));
    let o = co(Reduction::None).margin(0.1);
    assert_close_f32(
        &cosine_embedding_loss(a.view(), b.view(), y.view(), &o).unwrap(),
        &[4],
        &[1.2143384, 0.0, 0.9486467, 0.27837172],
    );
    assert_close_f32(
        &cosine_embedding_loss(
            a.view(),
            b.view(),
            y.view(),
            &co(Reduction::Mean).margin(0.1),
        )
        .unwrap(),
        &[],
        &[0.6103392],
    );
    let o = co(Reduction::None).margin(-0.3);
    assert_close_f32(
        &cosine_embedding_loss_backward(g.view(), a.view(), b.view(), y.view(), &o).unwrap(),
        &[4, 3],
        &[
            -0.10127603,
            0.07928747,
            -0.12809975,
            0.0,
            -0.0,
            0.0,
            0.1940528,
            0.013211632,
            0.2332437,
            0.40921888,
            0.72813195,
            -0.1303859,
        ],
    );
    assert_close_f32(
        &cosine_embedding_loss_input2_backward(g.view(), a.view(), b.view(), y.view(), &o).unwrap(),
        &[4, 3],
        &[
            -0.065914415,
            0.030166322,
            0.044886496,
            0.0,
            -0.0,
            0.0,
            -0.16260375,
            -0.10474666,
            0.1257877,
            -0.0020213276,
            -0.26682228,
            0.9688384,
        ],
    );
}

// A float32 input2 next to zero, broadcast against three rows: each gradient is the
// difference of two terms of about 0.27 (input1) or 2.6e5 (input2) that cancel to
// 1e-11 .. 1e-5, so every float32 evaluation of autograd's steps is left with noise past
// the tolerance (torch 2.13's float32 gives 3.7e-9, 0.0 and 4.19e-4, its sqrt not
// correctly rounded). The float64 values, rounded once to float32, are the answer:
//   A = torch.tensor([[0.0], [1.235367], [-0.10189644]]); B = torch.tensor([[1.0235576e-7]])
//   T = torch.tensor([-1.0, 1.0, 1.0])
//   grad(lambda x: F.cosine_embedding_loss(x, B.double(), T.double(), margin=0.5, reduction='sum'), A.double(), -0.26559806)
//     -> shape [3, 1] [0.0, 1.4346163146328195e-14, 2.5562107985876992e-11]
//   grad(lambda x: F.cosine_embedding_loss(A.double(), x, T.double(), margin=0.5, reduction='sum'), B.double(), -0.26559806)
//     -> shape [1, 1] [1.2506092954168578e-05]
#[test]
fn cosine_f32_gradients_that_cancel_near_a_zero_input() {
    let a = a32(&[3, 1], vec![0.0, 1.235367, -0.10189644]);
    let b = a32(&[1, 1], vec![1.023_557_6e-7]);
    let y = a32(&[3], vec![-1.0, 1.0, 1.0]);
    let g = arr0(-0.265_598_06f32).into_dyn();
    let o = co(Reduction::Sum).margin(0.5);
    let d1 = cosine_embedding_loss_backward(g.view(), a.view(), b.view(), y.view(), &o).unwrap();
    let d2 =
        cosine_embedding_loss_input2_backward(g.view(), a.view(), b.view(), y.view(), &o).unwrap();
    let rounded = |v: &[f64]| v.iter().map(|&x| x as f32).collect::<Vec<f32>>();
    assert_bits(
        &d1,
        &[3, 1],
        &rounded(&[0.0, 1.4346163146328195e-14, 2.5562107985876992e-11]),
    );
    assert_bits(&d2, &[1, 1], &rounded(&[1.2506092954168578e-05]));
}

// At the kink of a dissimilar pair with margin 1: the exact cosine of [1e4, -1.0681311]
// and [0.58759826, 0] is 0.99999996, below the margin, so no gradient; in float32 with
// a correctly rounded sqrt it rounds to exactly 1.0, which would pass clamp_min's
// gradient (-1.8e-4 for input2[1]). torch 2.13 gives zeros (its sqrt rounds the other
// way, to a cosine of 0.99999994):
//   grad(lambda x: F.cosine_embedding_loss(torch.tensor([[1e4, -1.0681311], [0., 0.]]),
//        x, torch.tensor([-1., -1.]), margin=1.0, reduction='sum'),
//        torch.tensor([[0.58759826, 0.0]]), 1.0) -> [[0.0, 0.0]]
#[test]
fn cosine_f32_kink_is_decided_on_the_exact_cosine() {
    let a = a32(&[2, 2], vec![10000.0, -1.0681311, 0.0, 0.0]);
    let b = a32(&[1, 2], vec![0.587_598_26, 0.0]);
    let y = a32(&[2], vec![-1.0, -1.0]);
    let g = arr0(1.0f32).into_dyn();
    let o = co(Reduction::Sum).margin(1.0);
    let loss = cosine_embedding_loss(a.view(), b.view(), y.view(), &o).unwrap();
    assert_bits(&loss, &[], &[0.0]);
    let d1 = cosine_embedding_loss_backward(g.view(), a.view(), b.view(), y.view(), &o).unwrap();
    let d2 =
        cosine_embedding_loss_input2_backward(g.view(), a.view(), b.view(), y.view(), &o).unwrap();
    assert_bits(&d1, &[2, 2], &[0.0; 4]);
    assert_bits(&d2, &[1, 2], &[0.0; 2]);
}

// torch 2.13.0:
//   F.cosine_embedding_loss(CL(800, 128, 1), CL(800, 128, 2), torch.from_numpy(signs(800, 3)))
//     -> shape [] [0.5956347]
//   F.cosine_embedding_loss(CL(800, 128, 1), CL(800, 128, 2), torch.from_numpy(signs(800, 3)), margin=0.05, reduction='none')[100:104]
//     -> shape [4] [0.0, 1.1730115, 1.1924186, 0.0]
//   F.cosine_embedding_loss(CL(800, 128, 1), CL(800, 128, 2), torch.from_numpy(signs(800, 3)), margin=0.05, reduction='sum')
//     -> shape [] [476.50778]
//   grad(lambda x: F.cosine_embedding_loss(x, CL(800, 128, 2), torch.from_numpy(signs(800, 3)), margin=0.05), CL(800, 128, 1), 1.0)[5, :4]
//     -> shape [4] [-1.14024515e-05, -5.6640956e-06, 7.426388e-08, 5.8126225e-06]
//   grad(lambda x: F.cosine_embedding_loss(x, CL(800, 128, 2), torch.from_numpy(signs(800, 3)), margin=0.05), CL(800, 128, 1), 1.0).double().abs().sum()
//     -> shape [] [0.7484732774701115]
//   grad(lambda x: F.cosine_embedding_loss(CL(800, 128, 1), x, torch.from_numpy(signs(800, 3)), margin=0.05, reduction='sum'), CL(1, 128, 2), 1.0)[0, :4]
//     -> shape [4] [0.104414105, -0.43759808, -0.7873242, -0.7205893]
//   F.cosine_embedding_loss(torch.from_numpy(gen(200000, 1, 1.0)), torch.from_numpy(gen(200000, 5, 1.0)), torch.tensor(-1.0), margin=-0.5)
//     -> shape [] [1.0383369]
//   grad(lambda x: F.cosine_embedding_loss(x, torch.from_numpy(gen(200000, 5, 1.0)), torch.tensor(-1.0), margin=-0.5), torch.from_numpy(gen(200000, 1, 1.0)), 1.0)[:3]
//     -> shape [3] [6.516243e-07, -4.7021445e-07, -1.5920532e-06]
#[test]
fn cosine_long_f32_inputs_against_torch() {
    let (a, b) = (cl(800, 128, 1), cl(800, 128, 2));
    let y = a32(&[800], signs(800, 3));
    assert_close_f32(
        &cosine_embedding_loss(a.view(), b.view(), y.view(), &co(Reduction::Mean)).unwrap(),
        &[],
        &[0.5956347],
    );
    let none = cosine_embedding_loss(
        a.view(),
        b.view(),
        y.view(),
        &co(Reduction::None).margin(0.05),
    )
    .unwrap();
    assert_close_f32(
        &none.slice(s![100..104]).to_owned().into_dyn(),
        &[4],
        &[0.0, 1.1730115, 1.1924186, 0.0],
    );
    assert_close_f32(
        &cosine_embedding_loss(
            a.view(),
            b.view(),
            y.view(),
            &co(Reduction::Sum).margin(0.05),
        )
        .unwrap(),
        &[],
        &[476.50778],
    );
    let g = arr0(1.0f32).into_dyn();
    let o = co(Reduction::Mean).margin(0.05);
    let d1 = cosine_embedding_loss_backward(g.view(), a.view(), b.view(), y.view(), &o).unwrap();
    assert_close_f32(
        &d1.slice(s![5, ..4]).to_owned().into_dyn(),
        &[4],
        &[-1.14024515e-05, -5.6640956e-06, 7.426388e-08, 5.8126225e-06],
    );
    let abs: f64 = d1.iter().map(|v| f64::from(v.abs())).sum();
    assert!((abs - 0.7484732774701115).abs() < 1e-5, "{abs}");
    let b1 = cl(1, 128, 2);
    let o = co(Reduction::Sum).margin(0.05);
    let d2 =
        cosine_embedding_loss_input2_backward(g.view(), a.view(), b1.view(), y.view(), &o).unwrap();
    assert_close_f32(
        &d2.slice(s![0, ..4]).to_owned().into_dyn(),
        &[4],
        &[0.104414105, -0.43759808, -0.7873242, -0.7205893],
    );
    // One pair of 200,000-element vectors: the row's sums run in chunks.
    let (u, w) = (
        a32(&[200_000], r#gen(200_000, 1, 1.0)),
        a32(&[200_000], r#gen(200_000, 5, 1.0)),
    );
    let neg = arr0(-1.0f32).into_dyn();
    let o = co(Reduction::Mean).margin(-0.5);
    assert_close_f32(
        &cosine_embedding_loss(u.view(), w.view(), neg.view(), &o).unwrap(),
        &[],
        &[1.0383369],
    );
    let du = cosine_embedding_loss_backward(g.view(), u.view(), w.view(), neg.view(), &o).unwrap();
    assert_close_f32(
        &du.slice(s![..3]).to_owned().into_dyn(),
        &[3],
        &[6.516243e-07, -4.7021445e-07, -1.5920532e-06],
    );
}

// ---------------------------------------------------------------------------------
// All three: thread-count independence
// ---------------------------------------------------------------------------------

fn bits(a: &ArrayD<f32>) -> Vec<u32> {
    a.iter().map(|v| v.to_bits()).collect()
}

fn on_threads(threads: usize, run: impl FnOnce() -> Vec<u32> + Send) -> Vec<u32> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
        .install(run)
}

#[test]
fn one_and_two_threads_give_bit_identical_losses_and_gradients() {
    let run = || {
        let (x, y, x2) = (xl(1), yl(2), xl(2));
        let row = x.slice(s![0, ..]).to_owned().into_dyn();
        let g_none = a32(&[400, 250], r#gen(100_000, 4, 1.0));
        let g = arr0(0.7f32).into_dyn();
        let mut out = Vec::new();
        for r in [Reduction::Mean, Reduction::Sum] {
            let h = ho(r).margin(0.5);
            out.extend(bits(&hinge_embedding_loss(x.view(), y.view(), &h).unwrap()));
            out.extend(bits(
                &hinge_embedding_loss_backward(g.view(), row.view(), y.view(), &h).unwrap(),
            ));
            let m = mo(r).margin(0.25);
            out.extend(bits(
                &margin_ranking_loss(x.view(), x2.view(), y.view(), &m).unwrap(),
            ));
            let c = co(r).margin(0.1);
            out.extend(bits(
                &cosine_embedding_loss(
                    x.view(),
                    x2.view(),
                    y.slice(s![.., 0]).to_owned().into_dyn().view(),
                    &c,
                )
                .unwrap(),
            ));
        }
        let m = mo(Reduction::None);
        let y1 = y.slice(s![.., ..1]).to_owned().into_dyn();
        out.extend(bits(
            &margin_ranking_loss_target_backward(g_none.view(), x.view(), x2.view(), y1.view(), &m)
                .unwrap(),
        ));
        out.extend(bits(
            &margin_ranking_loss_backward(g_none.view(), x.view(), x2.view(), y.view(), &m)
                .unwrap(),
        ));
        let c = co(Reduction::Sum);
        let yc = y.slice(s![.., 0]).to_owned().into_dyn();
        out.extend(bits(
            &cosine_embedding_loss_backward(g.view(), x.view(), x2.view(), yc.view(), &c).unwrap(),
        ));
        let x2r = x2.slice(s![..1, ..]).to_owned().into_dyn();
        out.extend(bits(
            &cosine_embedding_loss_input2_backward(g.view(), x.view(), x2r.view(), yc.view(), &c)
                .unwrap(),
        ));
        let (u, w) = (
            a32(&[200_000], r#gen(200_000, 1, 1.0)),
            a32(&[200_000], r#gen(200_000, 5, 1.0)),
        );
        let neg = arr0(-1.0f32).into_dyn();
        out.extend(bits(
            &cosine_embedding_loss(u.view(), w.view(), neg.view(), &c).unwrap(),
        ));
        out.extend(bits(
            &cosine_embedding_loss_backward(g.view(), u.view(), w.view(), neg.view(), &c).unwrap(),
        ));
        out
    };
    let one = on_threads(1, run);
    assert_eq!(one, on_threads(2, run));
}

// torch 2.13.0:
//   grad(lambda x: F.cosine_embedding_loss(x, I2, Y4, margin=-1.0, reduction='none'), I1, torch.tensor([0.0, -0.0, 0.0, -0.0], dtype=D))
//     -> shape [4, 3] [0.0, -0.0, 0.0, 0.0, 0.0, 0.0, -0.0, -0.0, 0.0, 0.0, 0.0, 0.0]
//   grad(lambda x: F.hinge_embedding_loss(x, YH, reduction='none'), XH, -0.0 * GH)
//     -> shape [8] [-0.0, 0.0, 0.0, -0.0, 0.0, 0.0, -0.0, 0.0]
//   grad(lambda x: F.margin_ranking_loss(x, B, YR, reduction='none'), A, -0.0 * GR)
//     -> shape [2, 3] [0.0, -0.0, -0.0, 0.0, -0.0, -0.0]
// Zero gradients keep autograd's signs, grad_output's -0.0 included.
#[test]
fn zero_gradients_have_autograds_signs() {
    let g = v(&[0.0, -0.0, 0.0, -0.0]);
    let o = co(Reduction::None).margin(-1.0);
    let e = [
        0.0, -0.0, 0.0, 0.0, 0.0, 0.0, -0.0, -0.0, 0.0, 0.0, 0.0, 0.0,
    ];
    let got = cosine_embedding_loss_backward(g.view(), i1().view(), i2().view(), y4().view(), &o)
        .unwrap();
    assert_close(&got, &[4, 3], &e);
    assert_signs(&got, &e);
    let g = gh().mapv(|v| -0.0 * v);
    let e = [-0.0, 0.0, 0.0, -0.0, 0.0, 0.0, -0.0, 0.0];
    let got =
        hinge_embedding_loss_backward(g.view(), xh().view(), yh().view(), &ho(Reduction::None))
            .unwrap();
    assert_signs(&got, &e);
    let g = gr().mapv(|v| -0.0 * v);
    let e = [0.0, -0.0, -0.0, 0.0, -0.0, -0.0];
    let got = margin_ranking_loss_backward(
        g.view(),
        ra().view(),
        rb().view(),
        yr().view(),
        &mo(Reduction::None),
    )
    .unwrap();
    assert_signs(&got, &e);
}

// torch 2.13.0:
//   F.cosine_embedding_loss(torch.zeros(0, 3, dtype=D), torch.ones(1, 3, dtype=D), torch.zeros(0, dtype=D), reduction='sum')
//     -> shape [] [0.0]
//   grad(lambda x: F.cosine_embedding_loss(torch.zeros(0, 3, dtype=D), x, torch.zeros(0, dtype=D), reduction='sum'), torch.ones(1, 3, dtype=D), 1.0)
//     -> shape [1, 3] [0.0, 0.0, 0.0]
//   grad(lambda x: F.cosine_embedding_loss(I1, x, torch.tensor([1.0], dtype=D), reduction='sum'), I2[:1, :1], 1.0)
//     -> shape [1, 1] [-2.8976820942716586e-13]
#[test]
fn cosine_broadcast_against_no_rows_and_a_single_element() {
    let (e, ones, t) = (zeros64(&[0, 3]), a64(&[1, 3], &[1.0; 3]), zeros64(&[0]));
    let sum = co(Reduction::Sum);
    assert_close(
        &cosine_embedding_loss(e.view(), ones.view(), t.view(), &sum).unwrap(),
        &[],
        &[0.0],
    );
    assert_close(
        &cosine_embedding_loss_input2_backward(one().view(), e.view(), ones.view(), t.view(), &sum)
            .unwrap(),
        &[1, 3],
        &[0.0, 0.0, 0.0],
    );
    // A (1, 1) input2 against (4, 3): its exact gradient is 0, PyTorch's is noise.
    let b = a64(&[1, 1], &[1.38]);
    let y = v(&[1.0]);
    let d2 =
        cosine_embedding_loss_input2_backward(one().view(), i1().view(), b.view(), y.view(), &sum)
            .unwrap();
    assert_eq!(d2.shape(), &[1, 1]);
    assert!(d2[[0, 0]].abs() < 1e-11, "{d2:?}");
}
