// mse_loss and l1_loss, forward and backward: every reduction with and without a
// weight, broadcasting, errors, empty and 0-D tensors, NaN and infinities, a long input
// and thread-count independence. Besides the preamble's tensors, some tests use (in
// the oracle interpreter, after the preamble):
//
//     E = torch.zeros(0, dtype=D)
//     G44 = torch.arange(16, dtype=D).reshape(4, 4) / 8 - 1
//     XL = torch.from_numpy(gen32(100000, 1))
//     TL = torch.from_numpy(gen32(300000, 2)[::3].copy())
//     WL = -torch.from_numpy(gen32(200000, 3)[::2].copy())

use ndarray::{Array1, ArrayD, ArrayViewD, Axis, IxDyn, arr0, s};

use super::*;

fn opts<'a>(reduction: Reduction) -> PointwiseOptions<'a, f64> {
    PointwiseOptions::default().reduction(reduction)
}

fn weighted<'a>(reduction: Reduction, weight: &'a ArrayD<f64>) -> PointwiseOptions<'a, f64> {
    opts(reduction).weight(weight.view())
}

fn v64(values: &[f64]) -> ArrayD<f64> {
    Array1::from(values.to_vec()).into_dyn()
}

/// `X[:, :1]`, the (4, 1) column that broadcasts against `R`.
fn first_column(x: &ArrayD<f64>) -> ArrayD<f64> {
    contiguous(x.slice(s![.., ..1]))
}

/// The preamble's `G44`.
fn g44() -> ArrayD<f64> {
    a64(
        &[4, 4],
        &(0..16).map(|k| k as f64 / 8.0 - 1.0).collect::<Vec<_>>(),
    )
}

/// Expected values of one gradient: its shape and elements.
type Expected<'a> = (&'a [usize], &'a [f64]);

/// The gradients of one call with respect to the input, the target and (when the
/// options hold one) the weight, each from its own function.
#[derive(Debug, Clone, PartialEq)]
struct Grads<F> {
    input: ArrayD<F>,
    target: ArrayD<F>,
    weight: Option<ArrayD<F>>,
}

/// A loss's three backwards, in the order input, target, weight.
type Backwards<F> = [Backward<F>; 3];

type Backward<F> = fn(
    ArrayViewD<'_, F>,
    ArrayViewD<'_, F>,
    ArrayViewD<'_, F>,
    &PointwiseOptions<'_, F>,
) -> Result<ArrayD<F>, LossError>;

fn mse_backwards<F: Float>() -> Backwards<F> {
    [
        mse_loss_backward,
        mse_loss_target_backward,
        mse_loss_weight_backward,
    ]
}

fn l1_backwards<F: Float>() -> Backwards<F> {
    [
        l1_loss_backward,
        l1_loss_target_backward,
        l1_loss_weight_backward,
    ]
}

/// Every gradient of one call: `backwards` on the same arguments.
fn grads_of<F: Float, G: Dimension, D: Dimension, E: Dimension>(
    backwards: Backwards<F>,
    grad_output: ArrayView<'_, F, G>,
    input: ArrayView<'_, F, D>,
    target: ArrayView<'_, F, E>,
    options: &PointwiseOptions<'_, F>,
) -> Result<Grads<F>, LossError> {
    let (g, x, t) = (grad_output.into_dyn(), input.into_dyn(), target.into_dyn());
    let [input, target, weight] = backwards;
    Ok(Grads {
        input: input(g.view(), x.view(), t.view(), options)?,
        target: target(g.view(), x.view(), t.view(), options)?,
        weight: match options.weight {
            Some(_) => Some(weight(g.view(), x.view(), t.view(), options)?),
            None => None,
        },
    })
}

/// `mse_loss`'s gradients of one call.
fn mse_grads<F: Float, G: Dimension, D: Dimension, E: Dimension>(
    grad_output: ArrayView<'_, F, G>,
    input: ArrayView<'_, F, D>,
    target: ArrayView<'_, F, E>,
    options: &PointwiseOptions<'_, F>,
) -> Result<Grads<F>, LossError> {
    grads_of(mse_backwards(), grad_output, input, target, options)
}

/// `l1_loss`'s gradients of one call.
fn l1_grads<F: Float, G: Dimension, D: Dimension, E: Dimension>(
    grad_output: ArrayView<'_, F, G>,
    input: ArrayView<'_, F, D>,
    target: ArrayView<'_, F, E>,
    options: &PointwiseOptions<'_, F>,
) -> Result<Grads<F>, LossError> {
    grads_of(l1_backwards(), grad_output, input, target, options)
}

/// Every backward of both losses fails on these arguments with PyTorch's error.
#[track_caller]
fn assert_every_backward_err<G: Dimension, D: Dimension, E: Dimension>(
    grad_output: ArrayView<'_, f64, G>,
    input: ArrayView<'_, f64, D>,
    target: ArrayView<'_, f64, E>,
    options: &PointwiseOptions<'_, f64>,
    kind: ErrorKind,
    message: &str,
) {
    let (g, x, t) = (grad_output.into_dyn(), input.into_dyn(), target.into_dyn());
    for backward in mse_backwards().into_iter().chain(l1_backwards()) {
        assert_err(
            backward(g.view(), x.view(), t.view(), options),
            kind,
            message,
        );
    }
}

#[track_caller]
fn assert_grads(
    grads: &Grads<f64>,
    input: Expected<'_>,
    target: Expected<'_>,
    weight: Option<Expected<'_>>,
) {
    assert_close(&grads.input, input.0, input.1);
    assert_close(&grads.target, target.0, target.1);
    match (&grads.weight, weight) {
        (Some(got), Some((shape, values))) => assert_close(got, shape, values),
        (None, None) => {}
        (got, want) => panic!("weight gradient {got:?}, expected {want:?}"),
    }
}

// torch 2.13.0:
//   F.mse_loss(X, Z, reduction='none')
//     -> [0.01959999999999997, 3.2040999999999995, 9.060100000000002, 3.4968999999999997, 4.494400000000001, 0.12960000000000002, 0.12250000000000007, 0.0361, 2.9928999999999992, 0.25, 3.1684, 0.7395999999999998]
//   F.mse_loss(X, Z, reduction='mean') -> 2.3095166666666667
//   F.mse_loss(X, Z, reduction='sum')  -> 27.714199999999998
#[test]
fn mse_none_mean_and_sum_are_the_squared_errors_their_mean_and_their_sum() {
    let d = data();
    let none = mse_loss(d.x.view(), d.z.view(), &opts(Reduction::None)).unwrap();
    assert_close(
        &none,
        &[4, 3],
        &[
            0.01959999999999997,
            3.2040999999999995,
            9.060100000000002,
            3.4968999999999997,
            4.494400000000001,
            0.12960000000000002,
            0.12250000000000007,
            0.0361,
            2.9928999999999992,
            0.25,
            3.1684,
            0.7395999999999998,
        ],
    );
    let mean = mse_loss(d.x.view(), d.z.view(), &PointwiseOptions::default()).unwrap();
    assert_close(&mean, &[], &[2.3095166666666667]);
    let sum = mse_loss(d.x.view(), d.z.view(), &opts(Reduction::Sum)).unwrap();
    assert_close(&sum, &[], &[27.714199999999998]);
}

// torch 2.13.0:
//   F.l1_loss(X, Z, reduction='none')
//     -> [0.1399999999999999, 1.7899999999999998, 3.0100000000000002, 1.8699999999999999, 2.12, 0.36000000000000004, 0.3500000000000001, 0.19, 1.7299999999999998, 0.5, 1.78, 0.8599999999999999]
//   F.l1_loss(X, Z, reduction='mean') -> 1.2249999999999999
//   F.l1_loss(X, Z, reduction='sum')  -> 14.7
#[test]
fn l1_none_mean_and_sum_are_the_absolute_errors_their_mean_and_their_sum() {
    let d = data();
    let none = l1_loss(d.x.view(), d.z.view(), &opts(Reduction::None)).unwrap();
    assert_close(
        &none,
        &[4, 3],
        &[
            0.1399999999999999,
            1.7899999999999998,
            3.0100000000000002,
            1.8699999999999999,
            2.12,
            0.36000000000000004,
            0.3500000000000001,
            0.19,
            1.7299999999999998,
            0.5,
            1.78,
            0.8599999999999999,
        ],
    );
    let mean = l1_loss(d.x.view(), d.z.view(), &PointwiseOptions::default()).unwrap();
    assert_close(&mean, &[], &[1.2249999999999999]);
    let sum = l1_loss(d.x.view(), d.z.view(), &opts(Reduction::Sum)).unwrap();
    assert_close(&sum, &[], &[14.7]);
}

// Q holds a zero weight (row 1) and a negative one (row 3).
// torch 2.13.0:
//   F.mse_loss(X, Z, reduction='none', weight=Q)
//     -> [0.009799999999999986, 2.8836899999999996, 2.7180300000000006, 4.19628, 0.0, 0.05184000000000001, 0.030625000000000017, 0.009025, 0.7482249999999998, 0.5, -1.5842, 0.07395999999999998]
//   F.mse_loss(X, Z, reduction='mean', weight=Q) -> 1.705712389380531
//   F.mse_loss(X, Z, reduction='sum', weight=Q)  -> 9.637274999999999
#[test]
fn weighted_mse_scales_each_error_and_its_mean_divides_by_the_weight_sum() {
    let d = data();
    let none = mse_loss(d.x.view(), d.z.view(), &weighted(Reduction::None, &d.q)).unwrap();
    assert_close(
        &none,
        &[4, 3],
        &[
            0.009799999999999986,
            2.8836899999999996,
            2.7180300000000006,
            4.19628,
            0.0,
            0.05184000000000001,
            0.030625000000000017,
            0.009025,
            0.7482249999999998,
            0.5,
            -1.5842,
            0.07395999999999998,
        ],
    );
    let mean = mse_loss(d.x.view(), d.z.view(), &weighted(Reduction::Mean, &d.q)).unwrap();
    assert_close(&mean, &[], &[1.705712389380531]);
    // The builders compose in either order: `reduction` keeps an earlier weight.
    let weight_first = PointwiseOptions::default()
        .weight(d.q.view())
        .reduction(Reduction::Sum);
    let sum = mse_loss(d.x.view(), d.z.view(), &weight_first).unwrap();
    assert_close(&sum, &[], &[9.637274999999999]);
}

// torch 2.13.0:
//   F.l1_loss(X, Z, reduction='none', weight=Q)
//     -> [0.06999999999999995, 1.6109999999999998, 0.903, 2.2439999999999998, 0.0, 0.14400000000000002, 0.08750000000000002, 0.0475, 0.43249999999999994, 1.0, -0.89, 0.086]
//   F.l1_loss(X, Z, reduction='mean', weight=Q) -> 1.0151327433628319
//   F.l1_loss(X, Z, reduction='sum', weight=Q)  -> 5.735499999999999
#[test]
fn weighted_l1_scales_each_error_and_its_mean_divides_by_the_weight_sum() {
    let d = data();
    let none = l1_loss(d.x.view(), d.z.view(), &weighted(Reduction::None, &d.q)).unwrap();
    assert_close(
        &none,
        &[4, 3],
        &[
            0.06999999999999995,
            1.6109999999999998,
            0.903,
            2.2439999999999998,
            0.0,
            0.14400000000000002,
            0.08750000000000002,
            0.0475,
            0.43249999999999994,
            1.0,
            -0.89,
            0.086,
        ],
    );
    let mean = l1_loss(d.x.view(), d.z.view(), &weighted(Reduction::Mean, &d.q)).unwrap();
    assert_close(&mean, &[], &[1.0151327433628319]);
    let sum = l1_loss(d.x.view(), d.z.view(), &weighted(Reduction::Sum, &d.q)).unwrap();
    assert_close(&sum, &[], &[5.735499999999999]);
}

// torch 2.13.0:
//   F.mse_loss(X[:, :1], R, reduction='none')
//     -> shape [4, 4] [2.25, 0.009999999999999974, 12.959999999999997, 1.5625, 1.0, 0.16000000000000011, 9.609999999999998, 0.5625, 6.759999999999998, 1.4399999999999993, 22.089999999999993, 5.522499999999998, 1.44, 0.04000000000000003, 10.889999999999999, 0.9025000000000001]
//   F.mse_loss(X[:, :1], R, reduction='mean') -> 4.824999999999998
//   F.l1_loss(R, X[:, :1], reduction='sum')   -> 28.2
#[test]
fn an_n_by_1_input_and_an_n_target_broadcast_to_n_by_n_either_way_round() {
    let d = data();
    let column = first_column(&d.x);
    let none = mse_loss(column.view(), d.r.view(), &opts(Reduction::None)).unwrap();
    assert_close(
        &none,
        &[4, 4],
        &[
            2.25,
            0.009999999999999974,
            12.959999999999997,
            1.5625,
            1.0,
            0.16000000000000011,
            9.609999999999998,
            0.5625,
            6.759999999999998,
            1.4399999999999993,
            22.089999999999993,
            5.522499999999998,
            1.44,
            0.04000000000000003,
            10.889999999999999,
            0.9025000000000001,
        ],
    );
    let mean = mse_loss(column.view(), d.r.view(), &opts(Reduction::Mean)).unwrap();
    assert_close(&mean, &[], &[4.824999999999998]);
    let sum = l1_loss(d.r.view(), column.view(), &opts(Reduction::Sum)).unwrap();
    assert_close(&sum, &[], &[28.2]);
}

// torch 2.13.0:
//   F.l1_loss(X[0], Z, reduction='none')
//     -> shape [4, 3] [0.1399999999999999, 1.7899999999999998, 3.0100000000000002, 1.3699999999999999, 0.52, 1.29, 1.45, 0.33999999999999997, 0.6799999999999997, 0.7999999999999999, 2.2800000000000002, 0.3599999999999999]
//   F.l1_loss(X[0], Z, reduction='mean') -> 1.1691666666666667
#[test]
fn a_target_larger_than_the_input_broadcasts_the_input_to_the_targets_shape() {
    let d = data();
    let row = d.x.index_axis(Axis(0), 0).to_owned();
    let none = l1_loss(row.view(), d.z.view(), &opts(Reduction::None)).unwrap();
    assert_close(
        &none,
        &[4, 3],
        &[
            0.1399999999999999,
            1.7899999999999998,
            3.0100000000000002,
            1.3699999999999999,
            0.52,
            1.29,
            1.45,
            0.33999999999999997,
            0.6799999999999997,
            0.7999999999999999,
            2.2800000000000002,
            0.3599999999999999,
        ],
    );
    let mean = l1_loss(row.view(), d.z.view(), &opts(Reduction::Mean)).unwrap();
    assert_close(&mean, &[], &[1.1691666666666667]);
}

// torch's Python code divides by `torch.sum(weight)` of the un-broadcast weight, not by
// the sum of its broadcast copy (here 4 times larger).
// torch 2.13.0:
//   F.mse_loss(X[0], Z, reduction='none', weight=W)
//     -> shape [4, 3] [0.003919999999999995, 5.446969999999999, 5.889065000000001, 0.37538, 0.45968000000000003, 1.081665, 0.42050000000000004, 0.19651999999999997, 0.3005599999999997, 0.12799999999999997, 8.837280000000002, 0.08423999999999994]
//   F.mse_loss(X[0], Z, reduction='mean', weight=W) -> 9.107364705882354
//   F.mse_loss(X[0], Z, reduction='sum', weight=W)  -> 23.22378
//   (F.mse_loss(X[0], Z, reduction='sum', weight=W) / W.expand(4, 3).sum()).item() -> 2.2768411764705885
//   F.l1_loss(X[0], Z, reduction='mean', weight=W)  -> 4.942745098039216
//   F.l1_loss(X[0], Z, reduction='sum', weight=W)   -> 12.604000000000001
#[test]
fn a_weighted_mean_over_a_broadcast_target_divides_by_the_weights_own_sum() {
    let d = data();
    let row = d.x.index_axis(Axis(0), 0).to_owned();
    let none = mse_loss(row.view(), d.z.view(), &weighted(Reduction::None, &d.w)).unwrap();
    assert_close(
        &none,
        &[4, 3],
        &[
            0.003919999999999995,
            5.446969999999999,
            5.889065000000001,
            0.37538,
            0.45968000000000003,
            1.081665,
            0.42050000000000004,
            0.19651999999999997,
            0.3005599999999997,
            0.12799999999999997,
            8.837280000000002,
            0.08423999999999994,
        ],
    );
    let mean = mse_loss(row.view(), d.z.view(), &weighted(Reduction::Mean, &d.w)).unwrap();
    assert_close(&mean, &[], &[9.107364705882354]);
    let sum = mse_loss(row.view(), d.z.view(), &weighted(Reduction::Sum, &d.w)).unwrap();
    assert_close(&sum, &[], &[23.22378]);
    let mean = l1_loss(row.view(), d.z.view(), &weighted(Reduction::Mean, &d.w)).unwrap();
    assert_close(&mean, &[], &[4.942745098039216]);
    let sum = l1_loss(row.view(), d.z.view(), &weighted(Reduction::Sum, &d.w)).unwrap();
    assert_close(&sum, &[], &[12.604000000000001]);
}

// torch 2.13.0:
//   F.mse_loss(X.T, Z.T, reduction='none', weight=Q.T)
//     -> shape [3, 4] [0.009799999999999986, 4.19628, 0.030625000000000017, 0.5, 2.8836899999999996, 0.0, 0.009025, -1.5842, 2.7180300000000006, 0.05184000000000001, 0.7482249999999998, 0.07395999999999998]
//   F.mse_loss(X.T, Z.T, reduction='mean', weight=Q.T) -> 1.705712389380531
//   grad(lambda w: F.mse_loss(X.T, Z.T, reduction='mean', weight=w), Q.T, 0.7)
//     -> shape [3, 4] [-0.20889888010024277, 0.221917049103297, -0.19615020753387108, -0.18035374735687995, 0.1856409429086067, 0.3455011198997573, -0.20685463231263215, 0.18121793405904926, 0.9111630668024123, -0.19527056151617198, 0.15947457122719075, -0.11969534027723396]
//   grad(lambda x: F.mse_loss(x, Z.T, reduction='none'), X.T, GZ.T)
//     -> shape [3, 4] [-0.24639999999999984, -4.8246, -2.0020000000000002, 2.3, 10.596799999999998, 2.9255999999999998, 0.0874, -9.434, -11.6186, 0.7272000000000001, -6.885399999999999, 2.7691999999999997]
//   grad(lambda t: F.l1_loss(X.T, t, reduction='sum', weight=Q.T), Z.T, 0.7)
//     -> shape [3, 4] [0.35, -0.84, -0.175, 1.4, -0.63, 0.0, 0.175, 0.35, 0.21, -0.27999999999999997, -0.175, -0.06999999999999999]
#[test]
fn transposed_views_give_the_transposed_loss_and_gradients() {
    let d = data();
    let options = PointwiseOptions::default()
        .reduction(Reduction::None)
        .weight(d.q.t());
    assert_close(
        &mse_loss(d.x.t(), d.z.t(), &options).unwrap(),
        &[3, 4],
        &[
            0.009799999999999986,
            4.19628,
            0.030625000000000017,
            0.5,
            2.8836899999999996,
            0.0,
            0.009025,
            -1.5842,
            2.7180300000000006,
            0.05184000000000001,
            0.7482249999999998,
            0.07395999999999998,
        ],
    );
    let options = options.reduction(Reduction::Mean);
    assert_close(
        &mse_loss(d.x.t(), d.z.t(), &options).unwrap(),
        &[],
        &[1.705712389380531],
    );
    let grads = mse_grads(arr0(0.7).view(), d.x.t(), d.z.t(), &options).unwrap();
    assert_close(
        grads.weight.as_ref().unwrap(),
        &[3, 4],
        &[
            -0.20889888010024277,
            0.221917049103297,
            -0.19615020753387108,
            -0.18035374735687995,
            0.1856409429086067,
            0.3455011198997573,
            -0.20685463231263215,
            0.18121793405904926,
            0.9111630668024123,
            -0.19527056151617198,
            0.15947457122719075,
            -0.11969534027723396,
        ],
    );
    let grads = mse_grads(d.gz.t(), d.x.t(), d.z.t(), &opts(Reduction::None)).unwrap();
    assert_close(
        &grads.input,
        &[3, 4],
        &[
            -0.24639999999999984,
            -4.8246,
            -2.0020000000000002,
            2.3,
            10.596799999999998,
            2.9255999999999998,
            0.0874,
            -9.434,
            -11.6186,
            0.7272000000000001,
            -6.885399999999999,
            2.7691999999999997,
        ],
    );
    let options = PointwiseOptions::default()
        .reduction(Reduction::Sum)
        .weight(d.q.t());
    let grads = l1_grads(arr0(0.7).view(), d.x.t(), d.z.t(), &options).unwrap();
    assert_close(
        &grads.target,
        &[3, 4],
        &[
            0.35,
            -0.84,
            -0.175,
            1.4,
            -0.63,
            0.0,
            0.175,
            0.35,
            0.21,
            -0.27999999999999997,
            -0.175,
            -0.06999999999999999,
        ],
    );
}

// torch 2.13.0:
//   F.mse_loss(X, R)
//     -> RuntimeError: The size of tensor a (3) must match the size of tensor b (4) at non-singleton dimension 1
#[test]
fn shapes_that_cannot_broadcast_are_torchs_broadcast_error_forward_and_backward() {
    let d = data();
    let message =
        "The size of tensor a (3) must match the size of tensor b (4) at non-singleton dimension 1";
    let options = opts(Reduction::Mean);
    assert_err(
        mse_loss(d.x.view(), d.r.view(), &options),
        ErrorKind::RuntimeError,
        message,
    );
    assert_err(
        l1_loss(d.x.view(), d.r.view(), &options),
        ErrorKind::RuntimeError,
        message,
    );
    assert_every_backward_err(
        arr0(1.0).view(),
        d.x.view(),
        d.r.view(),
        &options,
        ErrorKind::RuntimeError,
        message,
    );
}

// libtorch's infer_size checks from the last dimension, so it names the rightmost
// mismatch, counted in the broadcast shape.
// torch 2.13.0:
//   F.l1_loss(torch.zeros(2, 3, dtype=D), torch.zeros(4, 5, dtype=D))
//     -> RuntimeError: The size of tensor a (3) must match the size of tensor b (5) at non-singleton dimension 1
//   F.mse_loss(torch.zeros(2, 3, dtype=D), torch.zeros(4, 1, 5, dtype=D))
//     -> RuntimeError: The size of tensor a (3) must match the size of tensor b (5) at non-singleton dimension 2
#[test]
fn with_several_mismatched_dimensions_the_broadcast_error_names_the_rightmost() {
    let options = opts(Reduction::Mean);
    assert_err(
        l1_loss(zeros64(&[2, 3]).view(), zeros64(&[4, 5]).view(), &options),
        ErrorKind::RuntimeError,
        "The size of tensor a (3) must match the size of tensor b (5) at non-singleton dimension 1",
    );
    assert_err(
        mse_loss(
            zeros64(&[2, 3]).view(),
            zeros64(&[4, 1, 5]).view(),
            &options,
        ),
        ErrorKind::RuntimeError,
        "The size of tensor a (3) must match the size of tensor b (5) at non-singleton dimension 2",
    );
}

// A weight must have the input's shape exactly, even where the broadcast shape would
// accept it.
// torch 2.13.0:
//   F.mse_loss(X, Z, weight=W)      -> ValueError: Weights and input must have the same size.
//   F.l1_loss(X[0], Z, weight=Q)    -> ValueError: Weights and input must have the same size.
#[test]
fn a_weight_not_of_the_inputs_shape_is_a_value_error_forward_and_backward() {
    let d = data();
    let message = "Weights and input must have the same size.";
    let row = d.x.index_axis(Axis(0), 0).to_owned();
    for reduction in [Reduction::None, Reduction::Mean, Reduction::Sum] {
        assert_err(
            mse_loss(d.x.view(), d.z.view(), &weighted(reduction, &d.w)),
            ErrorKind::ValueError,
            message,
        );
        assert_err(
            l1_loss(row.view(), d.z.view(), &weighted(reduction, &d.q)),
            ErrorKind::ValueError,
            message,
        );
    }
    let options = weighted(Reduction::Sum, &d.w);
    assert_every_backward_err(
        arr0(1.0).view(),
        d.x.view(),
        d.z.view(),
        &options,
        ErrorKind::ValueError,
        message,
    );
}

// torch.broadcast_tensors runs before the Python-level weight check.
// torch 2.13.0:
//   F.mse_loss(X, R, weight=W)
//     -> RuntimeError: The size of tensor a (3) must match the size of tensor b (4) at non-singleton dimension 1
#[test]
fn the_broadcast_error_comes_before_the_weight_error() {
    let d = data();
    let message =
        "The size of tensor a (3) must match the size of tensor b (4) at non-singleton dimension 1";
    let options = weighted(Reduction::Mean, &d.w);
    assert_err(
        mse_loss(d.x.view(), d.r.view(), &options),
        ErrorKind::RuntimeError,
        message,
    );
    assert_every_backward_err(
        arr0(1.0).view(),
        d.x.view(),
        d.r.view(),
        &options,
        ErrorKind::RuntimeError,
        message,
    );
}

// torch 2.13.0:
//   torch.autograd.grad(F.mse_loss(X.requires_grad_(), Z, reduction='none'), X, torch.zeros(4, dtype=D))
//     -> RuntimeError: Mismatch in shape: grad_output[0] has a shape of torch.Size([4]) and output[0] has a shape of torch.Size([4, 3]).
//   torch.autograd.grad(F.l1_loss(X.clone().requires_grad_(), Z, reduction='mean'), X, torch.zeros(1, dtype=D))
//     -> RuntimeError: Mismatch in shape: grad_output[0] has a shape of torch.Size([1]) and output[0] has a shape of torch.Size([]).
#[test]
fn grad_output_not_of_the_outputs_shape_is_autograds_mismatch_error() {
    let d = data();
    assert_every_backward_err(
        zeros64(&[4]).view(),
        d.x.view(),
        d.z.view(),
        &opts(Reduction::None),
        ErrorKind::RuntimeError,
        "Mismatch in shape: grad_output[0] has a shape of torch.Size([4]) and output[0] has a shape of torch.Size([4, 3]).",
    );
    assert_every_backward_err(
        zeros64(&[1]).view(),
        d.x.view(),
        d.z.view(),
        &opts(Reduction::Mean),
        ErrorKind::RuntimeError,
        "Mismatch in shape: grad_output[0] has a shape of torch.Size([1]) and output[0] has a shape of torch.Size([]).",
    );
}

// Without a weight there is no weight gradient to give (PyTorch has no tensor to ask
// it of); the shape checks still come first.
#[test]
fn the_weight_backward_without_a_weight_is_an_error_after_the_shape_checks() {
    let d = data();
    for reduction in [Reduction::None, Reduction::Mean, Reduction::Sum] {
        let g = match reduction {
            Reduction::None => d.gz.clone(),
            _ => arr0(1.0).into_dyn(),
        };
        let err = assert_err(
            mse_loss_weight_backward(g.view(), d.x.view(), d.z.view(), &opts(reduction)),
            ErrorKind::RuntimeError,
            "mse_loss was given no weight, so it has no weight gradient",
        );
        assert!(err.hint().contains("weight"), "{err}");
        assert_err(
            l1_loss_weight_backward(g.view(), d.x.view(), d.z.view(), &opts(reduction)),
            ErrorKind::RuntimeError,
            "l1_loss was given no weight, so it has no weight gradient",
        );
    }
    assert_err(
        mse_loss_weight_backward(
            arr0(1.0).view(),
            d.x.view(),
            d.r.view(),
            &opts(Reduction::Sum),
        ),
        ErrorKind::RuntimeError,
        "The size of tensor a (3) must match the size of tensor b (4) at non-singleton dimension 1",
    );
}

// torch 2.13.0, for F.mse_loss and F.l1_loss alike:
//   F.mse_loss(E, E, reduction='none')            -> shape [0] []
//   F.mse_loss(E, E, reduction='mean')            -> nan
//   F.mse_loss(E, E, reduction='sum')             -> 0.0
//   F.mse_loss(E, E, reduction='mean', weight=E)  -> nan
#[test]
fn empty_inputs_give_an_empty_none_loss_a_zero_sum_and_a_nan_mean() {
    let e = zeros64(&[0]);
    for loss in [mse_loss::<f64, IxDyn, IxDyn>, l1_loss::<f64, IxDyn, IxDyn>] {
        let none = loss(e.view(), e.view(), &opts(Reduction::None)).unwrap();
        assert_close(&none, &[0], &[]);
        let mean = loss(e.view(), e.view(), &opts(Reduction::Mean)).unwrap();
        assert_close(&mean, &[], &[f64::NAN]);
        let sum = loss(e.view(), e.view(), &opts(Reduction::Sum)).unwrap();
        assert_close(&sum, &[], &[0.0]);
        let mean = loss(e.view(), e.view(), &weighted(Reduction::Mean, &e)).unwrap();
        assert_close(&mean, &[], &[f64::NAN]);
    }
}

// An empty target broadcasts the input to no elements, but the weight keeps its own
// (nonzero) sum: the weighted mean is 0 / sum(W), the unweighted one 0 / 0.
// torch 2.13.0:
//   F.mse_loss(X[0], torch.zeros(0, 3, dtype=D), reduction='none', weight=W) -> shape [0, 3] []
//   F.mse_loss(X[0], torch.zeros(0, 3, dtype=D), reduction='mean', weight=W) -> 0.0
//   F.mse_loss(X[0], torch.zeros(0, 3, dtype=D), reduction='mean')           -> nan
//   grad(lambda x: F.mse_loss(x, torch.zeros(0, 3, dtype=D), reduction='mean', weight=W), X[0], 0.7) -> [0.0, 0.0, 0.0]
//   grad(lambda w: F.mse_loss(X[0], torch.zeros(0, 3, dtype=D), reduction='mean', weight=w), W, 0.7) -> [0.0, 0.0, 0.0]
//   grad(lambda x: F.l1_loss(x, torch.zeros(0, 3, dtype=D), reduction='mean'), X[0], 0.7)            -> [0.0, 0.0, 0.0]
#[test]
fn an_empty_broadcast_with_a_weight_has_a_zero_mean_and_zero_gradients() {
    let d = data();
    let row = d.x.index_axis(Axis(0), 0).to_owned();
    let empty = zeros64(&[0, 3]);
    let none = mse_loss(row.view(), empty.view(), &weighted(Reduction::None, &d.w)).unwrap();
    assert_close(&none, &[0, 3], &[]);
    let options = weighted(Reduction::Mean, &d.w);
    let mean = mse_loss(row.view(), empty.view(), &options).unwrap();
    assert_close(&mean, &[], &[0.0]);
    let mean = mse_loss(row.view(), empty.view(), &opts(Reduction::Mean)).unwrap();
    assert_close(&mean, &[], &[f64::NAN]);
    let grads = mse_grads(arr0(0.7).view(), row.view(), empty.view(), &options).unwrap();
    assert_grads(
        &grads,
        (&[3], &[0.0, 0.0, 0.0]),
        (&[0, 3], &[]),
        Some((&[3], &[0.0, 0.0, 0.0])),
    );
    let grads = l1_grads(
        arr0(0.7).view(),
        row.view(),
        empty.view(),
        &opts(Reduction::Mean),
    )
    .unwrap();
    assert_grads(&grads, (&[3], &[0.0, 0.0, 0.0]), (&[0, 3], &[]), None);
}

// torch 2.13.0:
//   F.mse_loss(torch.tensor(1.5, dtype=D), torch.tensor(-0.25, dtype=D), reduction='none') -> shape [] [3.0625]
//   F.l1_loss(torch.tensor(1.5, dtype=D), torch.tensor(-0.25, dtype=D), reduction='mean', weight=torch.tensor(-2.0, dtype=D)) -> 1.75
//   grad(lambda w: F.l1_loss(torch.tensor(1.5, dtype=D), torch.tensor(-0.25, dtype=D), reduction='mean', weight=w), torch.tensor(-2.0, dtype=D), 0.7) -> 0.0
//   F.mse_loss(torch.tensor(1.5, dtype=D), R, reduction='none') -> shape [4] [1.44, 6.760000000000001, 0.8099999999999998, 2.1025]
//   grad(lambda x: F.mse_loss(x, R, reduction='none'), torch.tensor(1.5, dtype=D), G4) -> shape [] [-0.870000000000001]
//   grad(lambda t: F.mse_loss(R, t, reduction='sum'), torch.tensor(-0.25, dtype=D), 0.7) -> shape [] [-3.7099999999999995]
#[test]
fn zero_dim_tensors_give_zero_dim_losses_and_broadcast_against_vectors() {
    let d = data();
    let (x, t, w) = (
        arr0(1.5).into_dyn(),
        arr0(-0.25).into_dyn(),
        arr0(-2.0).into_dyn(),
    );
    let none = mse_loss(x.view(), t.view(), &opts(Reduction::None)).unwrap();
    assert_close(&none, &[], &[3.0625]);
    let options = weighted(Reduction::Mean, &w);
    let mean = l1_loss(x.view(), t.view(), &options).unwrap();
    assert_close(&mean, &[], &[1.75]);
    // A lone weight cancels out of its own mean: no gradient reaches it.
    let grads = l1_grads(arr0(0.7).view(), x.view(), t.view(), &options).unwrap();
    assert_close(grads.weight.as_ref().unwrap(), &[], &[0.0]);
    let none = mse_loss(x.view(), d.r.view(), &opts(Reduction::None)).unwrap();
    assert_close(
        &none,
        &[4],
        &[1.44, 6.760000000000001, 0.8099999999999998, 2.1025],
    );
    let grads = mse_grads(d.g4.view(), x.view(), d.r.view(), &opts(Reduction::None)).unwrap();
    assert_close(&grads.input, &[], &[-0.870000000000001]);
    let grads = mse_grads(
        arr0(0.7).view(),
        d.r.view(),
        t.view(),
        &opts(Reduction::Sum),
    )
    .unwrap();
    assert_close(&grads.target, &[], &[-3.7099999999999995]);
}

// torch.sgn is 0 at ±0 and at NaN, so l1's gradient is 0 there although the loss is
// NaN; only a non-finite grad_output turns that zero into NaN.
// torch 2.13.0 (A = torch.tensor([1.0, 2.0, float('nan'), -0.5], dtype=D), B = torch.tensor([1.0, 3.0, 0.5, -0.5], dtype=D)):
//   F.l1_loss(A, B, reduction='none') -> [0.0, 1.0, nan, 0.0]
//   F.l1_loss(A, B, reduction='mean') -> nan
//   grad(lambda x: F.l1_loss(x, B, reduction='sum'), A, 1.0) -> [0.0, -1.0, 0.0, 0.0]
//   grad(lambda t: F.l1_loss(A, t, reduction='sum'), B, 1.0) -> [-0.0, 1.0, -0.0, -0.0]
//   grad(lambda x: F.l1_loss(x, B, reduction='none'), A, torch.tensor([1.0, 1.0, float('inf'), float('nan')], dtype=D))
//     -> [0.0, -1.0, nan, nan]
//   torch.sgn(torch.tensor([float('nan'), 0.0, -0.0], dtype=D)) -> [0.0, 0.0, 0.0]
#[test]
fn l1_slope_is_zero_where_input_equals_target_and_where_the_difference_is_nan() {
    let a = v64(&[1.0, 2.0, f64::NAN, -0.5]);
    let b = v64(&[1.0, 3.0, 0.5, -0.5]);
    let none = l1_loss(a.view(), b.view(), &opts(Reduction::None)).unwrap();
    assert_close(&none, &[4], &[0.0, 1.0, f64::NAN, 0.0]);
    let mean = l1_loss(a.view(), b.view(), &opts(Reduction::Mean)).unwrap();
    assert_close(&mean, &[], &[f64::NAN]);
    let grads = l1_grads(arr0(1.0).view(), a.view(), b.view(), &opts(Reduction::Sum)).unwrap();
    assert_grads(
        &grads,
        (&[4], &[0.0, -1.0, 0.0, 0.0]),
        (&[4], &[-0.0, 1.0, -0.0, -0.0]),
        None,
    );
    let g = v64(&[1.0, 1.0, f64::INFINITY, f64::NAN]);
    let grads = l1_grads(g.view(), a.view(), b.view(), &opts(Reduction::None)).unwrap();
    assert_close(&grads.input, &[4], &[0.0, -1.0, f64::NAN, f64::NAN]);
}

// torch 2.13.0 (N1 = torch.tensor([float('nan'), float('inf'), 1.0, float('inf')], dtype=D), N2 = torch.tensor([0.0, 1.0, 2.0, float('inf')], dtype=D), W0 = torch.tensor([0.0, 0.0, 1.0, 0.0], dtype=D)):
//   F.mse_loss(N1, N2, reduction='none') -> [nan, inf, 1.0, nan]
//   F.mse_loss(N1, N2, reduction='sum')  -> nan
//   grad(lambda x: F.mse_loss(x, N2, reduction='sum'), N1, 1.0) -> [nan, inf, -2.0, nan]
//   F.mse_loss(N1, N2, reduction='none', weight=W0) -> [nan, nan, 1.0, nan]
//   F.l1_loss(N1, N2, reduction='mean', weight=W0)  -> nan
//   F.mse_loss(X, Z, reduction='sum', weight=torch.tensor([[float('nan'), 1, 1], [1, 1, 1], [1, 1, 1], [1, 1, 1]], dtype=D)) -> nan
//   grad(lambda x: F.mse_loss(x, torch.tensor([float('nan'), 1.0, 2.0], dtype=D), reduction='sum', weight=torch.tensor([0.0, 1.0, 1.0], dtype=D)), torch.tensor([1.0, 1.0, 1.0], dtype=D), 1.0)
//     -> [nan, 0.0, -2.0]
//   grad(lambda w: F.mse_loss(torch.tensor([1.0, 1.0, 1.0], dtype=D), torch.tensor([float('nan'), 1.0, 2.0], dtype=D), reduction='sum', weight=w), torch.tensor([0.0, 1.0, 1.0], dtype=D), 1.0)
//     -> [nan, 0.0, 1.0]
#[test]
fn nan_and_inf_propagate_and_a_zero_weight_does_not_mask_them() {
    let d = data();
    let n1 = v64(&[f64::NAN, f64::INFINITY, 1.0, f64::INFINITY]);
    let n2 = v64(&[0.0, 1.0, 2.0, f64::INFINITY]);
    let w0 = v64(&[0.0, 0.0, 1.0, 0.0]);
    let none = mse_loss(n1.view(), n2.view(), &opts(Reduction::None)).unwrap();
    assert_close(&none, &[4], &[f64::NAN, f64::INFINITY, 1.0, f64::NAN]);
    let sum = mse_loss(n1.view(), n2.view(), &opts(Reduction::Sum)).unwrap();
    assert_close(&sum, &[], &[f64::NAN]);
    let grads = mse_grads(
        arr0(1.0).view(),
        n1.view(),
        n2.view(),
        &opts(Reduction::Sum),
    )
    .unwrap();
    assert_close(
        &grads.input,
        &[4],
        &[f64::NAN, f64::INFINITY, -2.0, f64::NAN],
    );
    let none = mse_loss(n1.view(), n2.view(), &weighted(Reduction::None, &w0)).unwrap();
    assert_close(&none, &[4], &[f64::NAN, f64::NAN, 1.0, f64::NAN]);
    let mean = l1_loss(n1.view(), n2.view(), &weighted(Reduction::Mean, &w0)).unwrap();
    assert_close(&mean, &[], &[f64::NAN]);
    let mut nan_weight = ArrayD::from_elem(IxDyn(&[4, 3]), 1.0);
    nan_weight[[0, 0]] = f64::NAN;
    let sum = mse_loss(
        d.x.view(),
        d.z.view(),
        &weighted(Reduction::Sum, &nan_weight),
    )
    .unwrap();
    assert_close(&sum, &[], &[f64::NAN]);
    let (ones, t) = (v64(&[1.0, 1.0, 1.0]), v64(&[f64::NAN, 1.0, 2.0]));
    let w = v64(&[0.0, 1.0, 1.0]);
    let grads = mse_grads(
        arr0(1.0).view(),
        ones.view(),
        t.view(),
        &weighted(Reduction::Sum, &w),
    )
    .unwrap();
    assert_close(&grads.input, &[3], &[f64::NAN, 0.0, -2.0]);
    assert_close(grads.weight.as_ref().unwrap(), &[3], &[f64::NAN, 0.0, 1.0]);
}

// torch 2.13.0:
//   F.mse_loss(X[0], Z[0], reduction='mean', weight=torch.tensor([1.0, -1.0, 0.0], dtype=D)) -> -inf
//   F.mse_loss(X[0], X[0], reduction='mean', weight=torch.tensor([1.0, -1.0, 0.0], dtype=D)) -> nan
#[test]
fn weights_summing_to_zero_give_an_infinite_or_nan_mean() {
    let d = data();
    let (x0, z0) = (
        d.x.index_axis(Axis(0), 0).to_owned(),
        d.z.index_axis(Axis(0), 0).to_owned(),
    );
    let w = v64(&[1.0, -1.0, 0.0]);
    let options = weighted(Reduction::Mean, &w);
    assert_close(
        &mse_loss(x0.view(), z0.view(), &options).unwrap(),
        &[],
        &[f64::NEG_INFINITY],
    );
    assert_close(
        &mse_loss(x0.view(), x0.view(), &options).unwrap(),
        &[],
        &[f64::NAN],
    );
}

// torch 2.13.0:
//   grad(lambda x: F.mse_loss(x, Z, reduction='none'), X, GZ)
//     -> [-0.24639999999999984, 10.596799999999998, -11.6186, -4.8246, 2.9255999999999998, 0.7272000000000001, -2.0020000000000002, 0.0874, -6.885399999999999, 2.3, -9.434, 2.7691999999999997]
//   grad(lambda t: F.mse_loss(X, t, reduction='none'), Z, GZ)
//     -> [0.24639999999999984, -10.596799999999998, 11.6186, 4.8246, -2.9255999999999998, -0.7272000000000001, 2.0020000000000002, -0.0874, 6.885399999999999, -2.3, 9.434, -2.7691999999999997]
//   grad(lambda x: F.mse_loss(x, Z, reduction='mean'), X, 0.7)
//     -> [-0.01633333333333332, 0.2088333333333333, -0.3511666666666667, 0.21816666666666665, -0.24733333333333332, 0.042, 0.04083333333333334, -0.02216666666666666, 0.20183333333333328, -0.05833333333333333, 0.20766666666666664, 0.10033333333333332]
//   grad(lambda t: F.mse_loss(X, t, reduction='mean'), Z, 0.7)
//     -> [0.01633333333333332, -0.2088333333333333, 0.3511666666666667, -0.21816666666666665, 0.24733333333333332, -0.042, -0.04083333333333334, 0.02216666666666666, -0.20183333333333328, 0.05833333333333333, -0.20766666666666664, -0.10033333333333332]
//   grad(lambda x: F.mse_loss(x, Z, reduction='sum'), X, 0.7)
//     -> [-0.19599999999999984, 2.506, -4.214, 2.618, -2.968, 0.504, 0.4900000000000001, -0.26599999999999996, 2.4219999999999997, -0.7, 2.492, 1.2039999999999997]
#[test]
fn mse_backward_is_twice_the_difference_times_grad_output_per_reduction() {
    let d = data();
    let none_input = [
        -0.24639999999999984,
        10.596799999999998,
        -11.6186,
        -4.8246,
        2.9255999999999998,
        0.7272000000000001,
        -2.0020000000000002,
        0.0874,
        -6.885399999999999,
        2.3,
        -9.434,
        2.7691999999999997,
    ];
    let none_target = [
        0.24639999999999984,
        -10.596799999999998,
        11.6186,
        4.8246,
        -2.9255999999999998,
        -0.7272000000000001,
        2.0020000000000002,
        -0.0874,
        6.885399999999999,
        -2.3,
        9.434,
        -2.7691999999999997,
    ];
    let grads = mse_grads(d.gz.view(), d.x.view(), d.z.view(), &opts(Reduction::None)).unwrap();
    assert_grads(
        &grads,
        (&[4, 3], &none_input),
        (&[4, 3], &none_target),
        None,
    );
    let mean_input = [
        -0.01633333333333332,
        0.2088333333333333,
        -0.3511666666666667,
        0.21816666666666665,
        -0.24733333333333332,
        0.042,
        0.04083333333333334,
        -0.02216666666666666,
        0.20183333333333328,
        -0.05833333333333333,
        0.20766666666666664,
        0.10033333333333332,
    ];
    let mean_target = [
        0.01633333333333332,
        -0.2088333333333333,
        0.3511666666666667,
        -0.21816666666666665,
        0.24733333333333332,
        -0.042,
        -0.04083333333333334,
        0.02216666666666666,
        -0.20183333333333328,
        0.05833333333333333,
        -0.20766666666666664,
        -0.10033333333333332,
    ];
    let grads = mse_grads(
        arr0(0.7).view(),
        d.x.view(),
        d.z.view(),
        &opts(Reduction::Mean),
    )
    .unwrap();
    assert_grads(
        &grads,
        (&[4, 3], &mean_input),
        (&[4, 3], &mean_target),
        None,
    );
    let grads = mse_grads(
        arr0(0.7).view(),
        d.x.view(),
        d.z.view(),
        &opts(Reduction::Sum),
    )
    .unwrap();
    assert_close(
        &grads.input,
        &[4, 3],
        &[
            -0.19599999999999984,
            2.506,
            -4.214,
            2.618,
            -2.968,
            0.504,
            0.4900000000000001,
            -0.26599999999999996,
            2.4219999999999997,
            -0.7,
            2.492,
            1.2039999999999997,
        ],
    );
}

// torch 2.13.0:
//   grad(lambda x: F.l1_loss(x, Z, reduction='none'), X, GZ)
//     -> [-0.88, 2.96, -1.93, -1.29, 0.69, 1.01, -2.86, 0.23, -1.99, 2.3, -2.65, 1.61]
//   grad(lambda t: F.l1_loss(X, t, reduction='none'), Z, GZ)
//     -> [0.88, -2.96, 1.93, 1.29, -0.69, -1.01, 2.86, -0.23, 1.99, -2.3, 2.65, -1.61]
//   grad(lambda x: F.l1_loss(x, Z, reduction='mean'), X, 0.7)
//     -> [-0.05833333333333333, 0.05833333333333333, -0.05833333333333333, 0.05833333333333333, -0.05833333333333333, 0.05833333333333333, 0.05833333333333333, -0.05833333333333333, 0.05833333333333333, -0.05833333333333333, 0.05833333333333333, 0.05833333333333333]
//   grad(lambda t: F.l1_loss(X, t, reduction='mean'), Z, 0.7)
//     -> [0.05833333333333333, -0.05833333333333333, 0.05833333333333333, -0.05833333333333333, 0.05833333333333333, -0.05833333333333333, -0.05833333333333333, 0.05833333333333333, -0.05833333333333333, 0.05833333333333333, -0.05833333333333333, -0.05833333333333333]
//   grad(lambda x: F.l1_loss(x, Z, reduction='sum'), X, 0.7)
//     -> [-0.7, 0.7, -0.7, 0.7, -0.7, 0.7, 0.7, -0.7, 0.7, -0.7, 0.7, 0.7]
#[test]
fn l1_backward_is_the_sign_of_the_difference_times_grad_output_per_reduction() {
    let d = data();
    let grads = l1_grads(d.gz.view(), d.x.view(), d.z.view(), &opts(Reduction::None)).unwrap();
    assert_grads(
        &grads,
        (
            &[4, 3],
            &[
                -0.88, 2.96, -1.93, -1.29, 0.69, 1.01, -2.86, 0.23, -1.99, 2.3, -2.65, 1.61,
            ],
        ),
        (
            &[4, 3],
            &[
                0.88, -2.96, 1.93, 1.29, -0.69, -1.01, 2.86, -0.23, 1.99, -2.3, 2.65, -1.61,
            ],
        ),
        None,
    );
    let m = 0.05833333333333333;
    let grads = l1_grads(
        arr0(0.7).view(),
        d.x.view(),
        d.z.view(),
        &opts(Reduction::Mean),
    )
    .unwrap();
    assert_grads(
        &grads,
        (&[4, 3], &[-m, m, -m, m, -m, m, m, -m, m, -m, m, m]),
        (&[4, 3], &[m, -m, m, -m, m, -m, -m, m, -m, m, -m, -m]),
        None,
    );
    let grads = l1_grads(
        arr0(0.7).view(),
        d.x.view(),
        d.z.view(),
        &opts(Reduction::Sum),
    )
    .unwrap();
    assert_close(
        &grads.input,
        &[4, 3],
        &[
            -0.7, 0.7, -0.7, 0.7, -0.7, 0.7, 0.7, -0.7, 0.7, -0.7, 0.7, 0.7,
        ],
    );
}

// torch 2.13.0:
//   grad(lambda x: F.mse_loss(x, Z, reduction='none', weight=Q), X, GZ)
//     -> [-0.12319999999999992, 9.53712, -3.48558, -5.7895199999999996, 0.0, 0.29088, -0.5005000000000001, 0.02185, -1.7213499999999997, 4.6, 4.717, 0.27692]
//   grad(lambda t: F.mse_loss(X, t, reduction='none', weight=Q), Z, GZ)
//     -> [0.12319999999999992, -9.53712, 3.48558, 5.7895199999999996, -0.0, -0.29088, 0.5005000000000001, -0.02185, 1.7213499999999997, -4.6, -4.717, -0.27692]
//   grad(lambda w: F.mse_loss(X, Z, reduction='none', weight=w), Q, GZ)
//     -> [0.017247999999999975, 9.484135999999998, 17.485993000000004, -4.511000999999999, -3.1011360000000003, 0.130896, -0.35035000000000016, -0.008303, -5.955870999999998, -0.575, -8.39626, 1.1907559999999997]
//   grad(lambda x: F.mse_loss(x, Z, reduction='mean', weight=Q), X, 0.7)
//     -> [-0.01734513274336282, 0.39918584070796453, -0.22375221238938053, 0.5560353982300884, -0.0, 0.03568141592920354, 0.021681415929203546, -0.011769911504424779, 0.10716814159292033, -0.24778761061946902, -0.22053097345132744, 0.021309734513274333]
//   grad(lambda t: F.mse_loss(X, t, reduction='mean', weight=Q), Z, 0.7)
//     -> [0.01734513274336282, -0.39918584070796453, 0.22375221238938053, -0.5560353982300884, 0.0, -0.03568141592920354, -0.021681415929203546, 0.011769911504424779, -0.10716814159292033, 0.24778761061946902, 0.22053097345132744, -0.021309734513274333]
//   grad(lambda w: F.mse_loss(X, Z, reduction='mean', weight=w), Q, 0.7)
//     -> [-0.20889888010024277, 0.1856409429086067, 0.9111630668024123, 0.221917049103297, 0.3455011198997573, -0.19527056151617198, -0.19615020753387108, -0.20685463231263215, 0.15947457122719075, -0.18035374735687995, 0.18121793405904926, -0.11969534027723396]
//   grad(lambda x: F.mse_loss(x, Z, reduction='sum', weight=Q), X, 0.7)
//     -> [-0.09799999999999992, 2.2554, -1.2642, 3.1415999999999995, -0.0, 0.2016, 0.12250000000000003, -0.06649999999999999, 0.6054999999999999, -1.4, -1.246, 0.12039999999999997]
//   grad(lambda t: F.mse_loss(X, t, reduction='sum', weight=Q), Z, 0.7)
//     -> [0.09799999999999992, -2.2554, 1.2642, -3.1415999999999995, 0.0, -0.2016, -0.12250000000000003, 0.06649999999999999, -0.6054999999999999, 1.4, 1.246, -0.12039999999999997]
//   grad(lambda w: F.mse_loss(X, Z, reduction='sum', weight=w), Q, 0.7)
//     -> [0.013719999999999979, 2.2428699999999995, 6.342070000000001, 2.4478299999999997, 3.1460800000000004, 0.09072000000000001, 0.08575000000000005, 0.025269999999999997, 2.0950299999999995, 0.175, 2.21788, 0.5177199999999998]
#[test]
fn weighted_mse_backward_gives_the_input_target_and_weight_gradients() {
    let d = data();
    let grads = mse_grads(
        d.gz.view(),
        d.x.view(),
        d.z.view(),
        &weighted(Reduction::None, &d.q),
    )
    .unwrap();
    assert_grads(
        &grads,
        (
            &[4, 3],
            &[
                -0.12319999999999992,
                9.53712,
                -3.48558,
                -5.7895199999999996,
                0.0,
                0.29088,
                -0.5005000000000001,
                0.02185,
                -1.7213499999999997,
                4.6,
                4.717,
                0.27692,
            ],
        ),
        (
            &[4, 3],
            &[
                0.12319999999999992,
                -9.53712,
                3.48558,
                5.7895199999999996,
                -0.0,
                -0.29088,
                0.5005000000000001,
                -0.02185,
                1.7213499999999997,
                -4.6,
                -4.717,
                -0.27692,
            ],
        ),
        Some((
            &[4, 3],
            &[
                0.017247999999999975,
                9.484135999999998,
                17.485993000000004,
                -4.511000999999999,
                -3.1011360000000003,
                0.130896,
                -0.35035000000000016,
                -0.008303,
                -5.955870999999998,
                -0.575,
                -8.39626,
                1.1907559999999997,
            ],
        )),
    );
    let grads = mse_grads(
        arr0(0.7).view(),
        d.x.view(),
        d.z.view(),
        &weighted(Reduction::Mean, &d.q),
    )
    .unwrap();
    assert_grads(
        &grads,
        (
            &[4, 3],
            &[
                -0.01734513274336282,
                0.39918584070796453,
                -0.22375221238938053,
                0.5560353982300884,
                -0.0,
                0.03568141592920354,
                0.021681415929203546,
                -0.011769911504424779,
                0.10716814159292033,
                -0.24778761061946902,
                -0.22053097345132744,
                0.021309734513274333,
            ],
        ),
        (
            &[4, 3],
            &[
                0.01734513274336282,
                -0.39918584070796453,
                0.22375221238938053,
                -0.5560353982300884,
                0.0,
                -0.03568141592920354,
                -0.021681415929203546,
                0.011769911504424779,
                -0.10716814159292033,
                0.24778761061946902,
                0.22053097345132744,
                -0.021309734513274333,
            ],
        ),
        Some((
            &[4, 3],
            &[
                -0.20889888010024277,
                0.1856409429086067,
                0.9111630668024123,
                0.221917049103297,
                0.3455011198997573,
                -0.19527056151617198,
                -0.19615020753387108,
                -0.20685463231263215,
                0.15947457122719075,
                -0.18035374735687995,
                0.18121793405904926,
                -0.11969534027723396,
            ],
        )),
    );
    let grads = mse_grads(
        arr0(0.7).view(),
        d.x.view(),
        d.z.view(),
        &weighted(Reduction::Sum, &d.q),
    )
    .unwrap();
    assert_grads(
        &grads,
        (
            &[4, 3],
            &[
                -0.09799999999999992,
                2.2554,
                -1.2642,
                3.1415999999999995,
                -0.0,
                0.2016,
                0.12250000000000003,
                -0.06649999999999999,
                0.6054999999999999,
                -1.4,
                -1.246,
                0.12039999999999997,
            ],
        ),
        (
            &[4, 3],
            &[
                0.09799999999999992,
                -2.2554,
                1.2642,
                -3.1415999999999995,
                0.0,
                -0.2016,
                -0.12250000000000003,
                0.06649999999999999,
                -0.6054999999999999,
                1.4,
                1.246,
                -0.12039999999999997,
            ],
        ),
        Some((
            &[4, 3],
            &[
                0.013719999999999979,
                2.2428699999999995,
                6.342070000000001,
                2.4478299999999997,
                3.1460800000000004,
                0.09072000000000001,
                0.08575000000000005,
                0.025269999999999997,
                2.0950299999999995,
                0.175,
                2.21788,
                0.5177199999999998,
            ],
        )),
    );
}

// torch 2.13.0:
//   grad(lambda x: F.l1_loss(x, Z, reduction='none', weight=Q), X, GZ)
//     -> [-0.44, 2.664, -0.579, -1.548, 0.0, 0.404, -0.715, 0.0575, -0.4975, 4.6, 1.325, 0.16100000000000003]
//   grad(lambda t: F.l1_loss(X, t, reduction='none', weight=Q), Z, GZ)
//     -> [0.44, -2.664, 0.579, 1.548, -0.0, -0.404, 0.715, -0.0575, 0.4975, -4.6, -1.325, -0.16100000000000003]
//   grad(lambda w: F.l1_loss(X, Z, reduction='none', weight=w), Q, GZ)
//     -> [0.12319999999999992, 5.298399999999999, 5.8093, -2.4123, -1.4627999999999999, 0.36360000000000003, -1.0010000000000001, -0.0437, -3.4426999999999994, -1.15, -4.717, 1.3845999999999998]
//   grad(lambda x: F.l1_loss(x, Z, reduction='mean', weight=Q), X, 0.7)
//     -> [-0.061946902654867256, 0.11150442477876106, -0.03716814159292035, 0.1486725663716814, -0.0, 0.049557522123893805, 0.030973451327433628, -0.030973451327433628, 0.030973451327433628, -0.24778761061946902, -0.061946902654867256, 0.012389380530973451]
//   grad(lambda t: F.l1_loss(X, t, reduction='mean', weight=Q), Z, 0.7)
//     -> [0.061946902654867256, -0.11150442477876106, 0.03716814159292035, -0.1486725663716814, 0.0, -0.049557522123893805, -0.030973451327433628, 0.030973451327433628, -0.030973451327433628, 0.24778761061946902, 0.061946902654867256, -0.012389380530973451]
//   grad(lambda w: F.l1_loss(X, Z, reduction='mean', weight=w), Q, 0.7)
//     -> [-0.10842352572636858, 0.09600125303469337, 0.2471516955125695, 0.10591275745947212, 0.13688620878690577, -0.08116688855822697, -0.08240582661132431, -0.10222883546088184, 0.08856762471610927, -0.06382175581486414, 0.09476231498159604, -0.01921998590335973]
//   grad(lambda x: F.l1_loss(x, Z, reduction='sum', weight=Q), X, 0.7)
//     -> [-0.35, 0.63, -0.21, 0.84, -0.0, 0.27999999999999997, 0.175, -0.175, 0.175, -1.4, -0.35, 0.06999999999999999]
//   grad(lambda t: F.l1_loss(X, t, reduction='sum', weight=Q), Z, 0.7)
//     -> [0.35, -0.63, 0.21, -0.84, 0.0, -0.27999999999999997, -0.175, 0.175, -0.175, 1.4, 0.35, -0.06999999999999999]
//   grad(lambda w: F.l1_loss(X, Z, reduction='sum', weight=w), Q, 0.7)
//     -> [0.09799999999999992, 1.253, 2.107, 1.309, 1.484, 0.252, 0.24500000000000005, 0.13299999999999998, 1.2109999999999999, 0.35, 1.246, 0.6019999999999999]
#[test]
fn weighted_l1_backward_gives_the_input_target_and_weight_gradients() {
    let d = data();
    let grads = l1_grads(
        d.gz.view(),
        d.x.view(),
        d.z.view(),
        &weighted(Reduction::None, &d.q),
    )
    .unwrap();
    assert_grads(
        &grads,
        (
            &[4, 3],
            &[
                -0.44,
                2.664,
                -0.579,
                -1.548,
                0.0,
                0.404,
                -0.715,
                0.0575,
                -0.4975,
                4.6,
                1.325,
                0.16100000000000003,
            ],
        ),
        (
            &[4, 3],
            &[
                0.44,
                -2.664,
                0.579,
                1.548,
                -0.0,
                -0.404,
                0.715,
                -0.0575,
                0.4975,
                -4.6,
                -1.325,
                -0.16100000000000003,
            ],
        ),
        Some((
            &[4, 3],
            &[
                0.12319999999999992,
                5.298399999999999,
                5.8093,
                -2.4123,
                -1.4627999999999999,
                0.36360000000000003,
                -1.0010000000000001,
                -0.0437,
                -3.4426999999999994,
                -1.15,
                -4.717,
                1.3845999999999998,
            ],
        )),
    );
    let grads = l1_grads(
        arr0(0.7).view(),
        d.x.view(),
        d.z.view(),
        &weighted(Reduction::Mean, &d.q),
    )
    .unwrap();
    assert_grads(
        &grads,
        (
            &[4, 3],
            &[
                -0.061946902654867256,
                0.11150442477876106,
                -0.03716814159292035,
                0.1486725663716814,
                -0.0,
                0.049557522123893805,
                0.030973451327433628,
                -0.030973451327433628,
                0.030973451327433628,
                -0.24778761061946902,
                -0.061946902654867256,
                0.012389380530973451,
            ],
        ),
        (
            &[4, 3],
            &[
                0.061946902654867256,
                -0.11150442477876106,
                0.03716814159292035,
                -0.1486725663716814,
                0.0,
                -0.049557522123893805,
                -0.030973451327433628,
                0.030973451327433628,
                -0.030973451327433628,
                0.24778761061946902,
                0.061946902654867256,
                -0.012389380530973451,
            ],
        ),
        Some((
            &[4, 3],
            &[
                -0.10842352572636858,
                0.09600125303469337,
                0.2471516955125695,
                0.10591275745947212,
                0.13688620878690577,
                -0.08116688855822697,
                -0.08240582661132431,
                -0.10222883546088184,
                0.08856762471610927,
                -0.06382175581486414,
                0.09476231498159604,
                -0.01921998590335973,
            ],
        )),
    );
    let grads = l1_grads(
        arr0(0.7).view(),
        d.x.view(),
        d.z.view(),
        &weighted(Reduction::Sum, &d.q),
    )
    .unwrap();
    assert_grads(
        &grads,
        (
            &[4, 3],
            &[
                -0.35,
                0.63,
                -0.21,
                0.84,
                -0.0,
                0.27999999999999997,
                0.175,
                -0.175,
                0.175,
                -1.4,
                -0.35,
                0.06999999999999999,
            ],
        ),
        (
            &[4, 3],
            &[
                0.35,
                -0.63,
                0.21,
                -0.84,
                0.0,
                -0.27999999999999997,
                -0.175,
                0.175,
                -0.175,
                1.4,
                0.35,
                -0.06999999999999999,
            ],
        ),
        Some((
            &[4, 3],
            &[
                0.09799999999999992,
                1.253,
                2.107,
                1.309,
                1.484,
                0.252,
                0.24500000000000005,
                0.13299999999999998,
                1.2109999999999999,
                0.35,
                1.246,
                0.6019999999999999,
            ],
        )),
    );
}

// torch 2.13.0:
//   grad(lambda x: F.mse_loss(x, R, reduction='none'), X[:, :1], G44)  -> shape [4, 1] [10.1375, 2.4375, -4.4125, -7.5625]
//   grad(lambda t: F.mse_loss(X[:, :1], t, reduction='none'), R, G44)  -> shape [4] [-2.8, 0.17500000000000016, 0.34999999999999964, 1.6749999999999998]
//   grad(lambda x: F.l1_loss(x, X[:, :1], reduction='mean'), R, 0.7)   -> shape [4] [0.175, 0.0, 0.175, 0.175]
//   grad(lambda t: F.l1_loss(R, t, reduction='mean'), X[:, :1], 0.7)   -> shape [4, 1] [-0.175, -0.0875, -0.175, -0.0875]
#[test]
fn broadcast_gradients_are_summed_back_to_each_operands_own_shape() {
    let d = data();
    let column = first_column(&d.x);
    let grads = mse_grads(
        g44().view(),
        column.view(),
        d.r.view(),
        &opts(Reduction::None),
    )
    .unwrap();
    assert_grads(
        &grads,
        (&[4, 1], &[10.1375, 2.4375, -4.4125, -7.5625]),
        (
            &[4],
            &[
                -2.8,
                0.17500000000000016,
                0.34999999999999964,
                1.6749999999999998,
            ],
        ),
        None,
    );
    let grads = l1_grads(
        arr0(0.7).view(),
        d.r.view(),
        column.view(),
        &opts(Reduction::Mean),
    )
    .unwrap();
    assert_grads(
        &grads,
        (&[4], &[0.175, 0.0, 0.175, 0.175]),
        (&[4, 1], &[-0.175, -0.0875, -0.175, -0.0875]),
        None,
    );
}

// torch 2.13.0:
//   grad(lambda x: F.mse_loss(x, Z, reduction='mean', weight=W), X[0], 0.7) -> [0.20643137254901966, 2.996, -1.1633725490196083]
//   grad(lambda t: F.mse_loss(X[0], t, reduction='mean', weight=W), Z, 0.7)
//     -> [0.015372549019607834, -1.6706666666666665, 1.0741568627450984, -0.15043137254901962, 0.48533333333333334, 0.4603529411764707, -0.15921568627450983, 0.3173333333333333, -0.24266666666666661, 0.08784313725490196, -2.128, -0.1284705882352941]
//   grad(lambda w: F.mse_loss(X[0], Z, reduction='mean', weight=w), W, 0.7) -> [-1.2266099192618225, -0.08753148788927279, 0.6063469434832762]
//   grad(lambda w: F.mse_loss(X[0], Z, reduction='none', weight=w), W, GZ)  -> [-9.889102999999999, -4.504788000000007, 18.45521400000001]
//   grad(lambda x: F.l1_loss(x, Z, reduction='mean', weight=W), X[0], 0.7)  -> [0.0, 0.0, 0.0]
//   grad(lambda t: F.l1_loss(X[0], t, reduction='mean', weight=W), Z, 0.7)
//     -> [0.05490196078431373, -0.4666666666666667, 0.17843137254901964, -0.05490196078431373, 0.4666666666666667, 0.17843137254901964, -0.05490196078431373, 0.4666666666666667, -0.17843137254901964, 0.05490196078431373, -0.4666666666666667, -0.17843137254901964]
//   grad(lambda w: F.l1_loss(X[0], Z, reduction='mean', weight=w), W, 0.7)  -> [-0.32467512495194173, -0.0034986543637063328, 0.1090503652441368]
//   grad(lambda w: F.l1_loss(X[0], Z, reduction='none', weight=w), W, GZ)   -> [-7.631099999999999, -1.1806000000000019, 6.338600000000001]
#[test]
fn weight_gradients_over_a_broadcast_target_are_summed_and_include_the_weight_sum_term() {
    let d = data();
    let row = d.x.index_axis(Axis(0), 0).to_owned();
    let mean = weighted(Reduction::Mean, &d.w);
    let grads = mse_grads(arr0(0.7).view(), row.view(), d.z.view(), &mean).unwrap();
    assert_grads(
        &grads,
        (&[3], &[0.20643137254901966, 2.996, -1.1633725490196083]),
        (
            &[4, 3],
            &[
                0.015372549019607834,
                -1.6706666666666665,
                1.0741568627450984,
                -0.15043137254901962,
                0.48533333333333334,
                0.4603529411764707,
                -0.15921568627450983,
                0.3173333333333333,
                -0.24266666666666661,
                0.08784313725490196,
                -2.128,
                -0.1284705882352941,
            ],
        ),
        Some((
            &[3],
            &[
                -1.2266099192618225,
                -0.08753148788927279,
                0.6063469434832762,
            ],
        )),
    );
    let none = weighted(Reduction::None, &d.w);
    let grads = mse_grads(d.gz.view(), row.view(), d.z.view(), &none).unwrap();
    assert_close(
        grads.weight.as_ref().unwrap(),
        &[3],
        &[-9.889102999999999, -4.504788000000007, 18.45521400000001],
    );
    let grads = l1_grads(arr0(0.7).view(), row.view(), d.z.view(), &mean).unwrap();
    let (a, b, c) = (0.05490196078431373, 0.4666666666666667, 0.17843137254901964);
    assert_grads(
        &grads,
        (&[3], &[0.0, 0.0, 0.0]),
        (&[4, 3], &[a, -b, c, -a, b, c, -a, b, -c, a, -b, -c]),
        Some((
            &[3],
            &[
                -0.32467512495194173,
                -0.0034986543637063328,
                0.1090503652441368,
            ],
        )),
    );
    let grads = l1_grads(d.gz.view(), row.view(), d.z.view(), &none).unwrap();
    assert_close(
        grads.weight.as_ref().unwrap(),
        &[3],
        &[-7.631099999999999, -1.1806000000000019, 6.338600000000001],
    );
}

// torch 2.13.0:
//   F.mse_loss(X.float(), Z.float(), reduction='mean', weight=Q.float()) -> 1.7057122
//   F.l1_loss(X.float(), Z.float(), reduction='none', weight=Q.float())
//     -> [0.07000005, 1.611, 0.90300006, 2.244, 0.0, 0.14400001, 0.087500036, 0.0475, 0.4325, 0.99999994, -0.89, 0.086]
//   F.l1_loss(X.float()[:, :1], R.float(), reduction='mean') -> 1.7625
//   grad(lambda w: F.mse_loss(X.float(), Z.float(), reduction='mean', weight=w), Q.float(), 0.7)
//     -> [-0.20889884, 0.18564093, 0.911163, 0.221917, 0.34550104, -0.19527052, -0.19615017, -0.2068546, 0.15947461, -0.18035372, 0.18121791, -0.11969531]
//   grad(lambda x: F.l1_loss(x, R.float(), reduction='mean'), X.float()[:, :1], 0.7) -> [-0.175, -0.0875, -0.175, -0.0875]
#[test]
fn f32_losses_and_gradients_match_torch_within_float32_tolerance() {
    let d = data();
    let f = |a: &ArrayD<f64>| a.mapv(|v| v as f32);
    let (x, z, q, r) = (f(&d.x), f(&d.z), f(&d.q), f(&d.r));
    let options = PointwiseOptions::default().weight(q.view());
    let mean = mse_loss(x.view(), z.view(), &options).unwrap();
    assert_close_f32(&mean, &[], &[1.7057122]);
    let none = l1_loss(
        x.view(),
        z.view(),
        &options.clone().reduction(Reduction::None),
    )
    .unwrap();
    assert_close_f32(
        &none,
        &[4, 3],
        &[
            0.07000005,
            1.611,
            0.90300006,
            2.244,
            0.0,
            0.14400001,
            0.087500036,
            0.0475,
            0.4325,
            0.99999994,
            -0.89,
            0.086,
        ],
    );
    let grads = mse_grads(arr0(0.7f32).view(), x.view(), z.view(), &options).unwrap();
    assert_close_f32(
        grads.weight.as_ref().unwrap(),
        &[4, 3],
        &[
            -0.20889884,
            0.18564093,
            0.911163,
            0.221917,
            0.34550104,
            -0.19527052,
            -0.19615017,
            -0.2068546,
            0.15947461,
            -0.18035372,
            0.18121791,
            -0.11969531,
        ],
    );
    let mean = l1_loss(x.slice(s![.., ..1]), r.view(), &PointwiseOptions::default()).unwrap();
    assert_close_f32(&mean, &[], &[1.7625]);
    let grads = l1_grads(
        arr0(0.7f32).view(),
        x.slice(s![.., ..1]),
        r.view(),
        &PointwiseOptions::default(),
    )
    .unwrap();
    assert_close_f32(&grads.input, &[4, 1], &[-0.175, -0.0875, -0.175, -0.0875]);
    assert_eq!(grads.weight, None);
}

/// The header's `XL`, `TL` and `WL`: 100,000 elements, more than six chunks of 16,384.
fn long_inputs() -> (ArrayD<f32>, ArrayD<f32>, ArrayD<f32>) {
    let x = Array1::from(gen32(100_000, 1)).into_dyn();
    let t = Array1::from_iter(gen32(300_000, 2).into_iter().step_by(3)).into_dyn();
    let w = Array1::from_iter(gen32(200_000, 3).into_iter().step_by(2).map(|v| -v)).into_dyn();
    (x, t, w)
}

// torch 2.13.0:
//   F.mse_loss(XL, TL, reduction='sum')              -> 17765.332
//   F.mse_loss(XL, TL, reduction='mean')             -> 0.17765333
//   F.l1_loss(XL, TL, reduction='sum')               -> 34428.89
//   F.l1_loss(XL, TL, reduction='mean', weight=WL)   -> 0.35827354
//   F.mse_loss(XL, TL, reduction='sum', weight=WL)   -> 9262.162
//   F.mse_loss(XL.double(), TL.double(), reduction='sum') -> 17765.332115521072
//   F.mse_loss(XL.double(), TL.double(), reduction='mean', weight=WL.double()) -> 0.18468751092508362
//   F.l1_loss(XL.double(), TL.double(), reduction='mean', weight=WL.double())  -> 0.3582734764580798
//   F.mse_loss(XL.double(), TL.double(), reduction='none')[[0, 12345, 99999]]
//     -> [0.07388365451621226, 0.026077217999475266, 0.01195260544747967]
//   grad(lambda w: F.l1_loss(XL.double(), TL.double(), reduction='mean', weight=w), WL.double(), 0.7)[[0, 12345, 99999]]
//     -> [-1.2067807309340417e-06, -2.746781645056824e-06, -3.474781351111988e-06]
//   grad(lambda w: F.mse_loss(XL.double(), TL.double(), reduction='mean', weight=w), WL.double(), 0.7)[[0, 12345, 99999]]
//     -> [-1.5466002273022072e-06, -2.2138824680074526e-06, -2.4110338099504845e-06]
#[test]
fn a_100000_element_input_sums_to_torchs_result_within_tolerance() {
    let (x, t, w) = long_inputs();
    let plain = |r| PointwiseOptions::default().reduction(r);
    let with_w = |r| PointwiseOptions::default().reduction(r).weight(w.view());
    let got = |v: Result<ArrayD<f32>, LossError>| v.unwrap();
    assert_close_f32(
        &got(mse_loss(x.view(), t.view(), &plain(Reduction::Sum))),
        &[],
        &[17765.332],
    );
    assert_close_f32(
        &got(mse_loss(x.view(), t.view(), &plain(Reduction::Mean))),
        &[],
        &[0.17765333],
    );
    assert_close_f32(
        &got(l1_loss(x.view(), t.view(), &plain(Reduction::Sum))),
        &[],
        &[34428.89],
    );
    assert_close_f32(
        &got(l1_loss(x.view(), t.view(), &with_w(Reduction::Mean))),
        &[],
        &[0.35827354],
    );
    assert_close_f32(
        &got(mse_loss(x.view(), t.view(), &with_w(Reduction::Sum))),
        &[],
        &[9262.162],
    );

    let f = |a: &ArrayD<f32>| a.mapv(f64::from);
    let (x, t, w) = (f(&x), f(&t), f(&w));
    let sum = mse_loss(x.view(), t.view(), &opts(Reduction::Sum)).unwrap();
    assert_close(&sum, &[], &[17765.332115521072]);
    let mean = weighted(Reduction::Mean, &w);
    assert_close(
        &mse_loss(x.view(), t.view(), &mean).unwrap(),
        &[],
        &[0.18468751092508362],
    );
    assert_close(
        &l1_loss(x.view(), t.view(), &mean).unwrap(),
        &[],
        &[0.3582734764580798],
    );
    let none = mse_loss(x.view(), t.view(), &opts(Reduction::None)).unwrap();
    let picked = |a: &ArrayD<f64>| v64(&[a[[0]], a[[12345]], a[[99999]]]);
    assert_close(
        &picked(&none),
        &[3],
        &[
            0.07388365451621226,
            0.026077217999475266,
            0.01195260544747967,
        ],
    );
    let grads = l1_grads(arr0(0.7).view(), x.view(), t.view(), &mean).unwrap();
    assert_close(
        &picked(grads.weight.as_ref().unwrap()),
        &[3],
        &[
            -1.2067807309340417e-06,
            -2.746781645056824e-06,
            -3.474781351111988e-06,
        ],
    );
    let grads = mse_grads(arr0(0.7).view(), x.view(), t.view(), &mean).unwrap();
    assert_close(
        &picked(grads.weight.as_ref().unwrap()),
        &[3],
        &[
            -1.5466002273022072e-06,
            -2.2138824680074526e-06,
            -2.4110338099504845e-06,
        ],
    );
}

// aten's mse_loss_backward is `norm * (x - t) * grad` with `norm = 2 / n` rounded to
// float32 for `mean`; the target's gradient is the same kernel with the operands
// swapped. (`2 (x - t) * (grad / n)` gives other bits for 60% of these elements.)
// torch 2.13.0:
//   grad(lambda x: F.mse_loss(x, TL), XL, 0.7)[[0, 1, 7, 12345, 54321, 99998, 99999]]
//     -> [-3.8054166e-06, -6.080241e-06, 8.355065e-06, -2.2607817e-06, -3.8335e-06, 7.4423264e-07, -1.5305916e-06]
//   grad(lambda t: F.mse_loss(XL, t), TL, 0.7)[[0, 1, 7, 12345, 54321, 99998, 99999]]
//     -> [3.8054166e-06, 6.080241e-06, -8.355065e-06, 2.2607817e-06, 3.8335e-06, -7.4423264e-07, 1.5305916e-06]
#[test]
fn the_f32_mse_mean_gradients_have_atens_bits() {
    let (x, t, _) = long_inputs();
    let g = arr0(0.7f32);
    let options = PointwiseOptions::default();
    let picked = |a: ArrayD<f32>| {
        let v: Vec<f32> = [0, 1, 7, 12345, 54321, 99998, 99999]
            .iter()
            .map(|&i| a[[i]])
            .collect();
        Array1::from(v).into_dyn()
    };
    let expected = [
        -3.8054166e-06,
        -6.080241e-06,
        8.355065e-06,
        -2.2607817e-06,
        -3.8335e-06,
        7.4423264e-07,
        -1.5305916e-06,
    ];
    let gx = mse_loss_backward(g.view(), x.view(), t.view(), &options).unwrap();
    assert_bits(&picked(gx), &[7], &expected);
    let gt = mse_loss_target_backward(g.view(), x.view(), t.view(), &options).unwrap();
    assert_bits(&picked(gt), &[7], &expected.map(|v: f32| -v));
}

// Where input == target, the unweighted mse's target gradient is `2 * (+0) * grad`
// (-0.0 for a negative grad, like the input's), the weighted one (Python's
// composition, through `input - target`) the input's negated (+0.0); l1's always the
// input's negated.
// torch 2.13.0 (A = torch.tensor([1.5, 0.25, -2.0], dtype=D), B = torch.tensor([1.5, 1.0, -2.0], dtype=D)):
//   torch.autograd.grad(F.mse_loss(a, b, reduction='mean'), [a, b], torch.tensor(-0.5, dtype=D))
//     -> [[-0.0, 0.25, -0.0], [-0.0, -0.25, -0.0]]
//   torch.autograd.grad(F.mse_loss(a, b, reduction='none'), [a, b], torch.tensor([-0.5, -0.5, -0.5], dtype=D))
//     -> [[-0.0, 0.75, -0.0], [-0.0, -0.75, -0.0]]
//   torch.autograd.grad(F.mse_loss(a, b, reduction='sum', weight=torch.ones(3, dtype=D)), [a, b], torch.tensor(-0.5, dtype=D))
//     -> [[-0.0, 0.75, -0.0], [0.0, -0.75, 0.0]]
//   torch.autograd.grad(F.l1_loss(a, b, reduction='sum'), [a, b], torch.tensor(-0.5, dtype=D))
//     -> [[-0.0, 0.5, -0.0], [0.0, -0.5, 0.0]]
#[test]
fn zero_gradients_have_torchs_signs() {
    let (a, b) = (v64(&[1.5, 0.25, -2.0]), v64(&[1.5, 1.0, -2.0]));
    let ones = v64(&[1.0, 1.0, 1.0]);
    let g = arr0(-0.5).into_dyn();
    let g3 = v64(&[-0.5, -0.5, -0.5]);
    let bits = |v: &ArrayD<f64>| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    let same = |got: ArrayD<f64>, want: &[f64]| assert_eq!(bits(&got), bits(&v64(want)), "{got:?}");
    let mean = opts(Reduction::Mean);
    same(
        mse_loss_backward(g.view(), a.view(), b.view(), &mean).unwrap(),
        &[-0.0, 0.25, -0.0],
    );
    same(
        mse_loss_target_backward(g.view(), a.view(), b.view(), &mean).unwrap(),
        &[-0.0, -0.25, -0.0],
    );
    let none = opts(Reduction::None);
    same(
        mse_loss_target_backward(g3.view(), a.view(), b.view(), &none).unwrap(),
        &[-0.0, -0.75, -0.0],
    );
    let sum_w = weighted(Reduction::Sum, &ones);
    same(
        mse_loss_backward(g.view(), a.view(), b.view(), &sum_w).unwrap(),
        &[-0.0, 0.75, -0.0],
    );
    same(
        mse_loss_target_backward(g.view(), a.view(), b.view(), &sum_w).unwrap(),
        &[0.0, -0.75, 0.0],
    );
    let sum = opts(Reduction::Sum);
    same(
        l1_loss_backward(g.view(), a.view(), b.view(), &sum).unwrap(),
        &[-0.0, 0.5, -0.0],
    );
    same(
        l1_loss_target_backward(g.view(), a.view(), b.view(), &sum).unwrap(),
        &[0.0, -0.5, 0.0],
    );
}

type Forward32 = fn(
    ArrayViewD<'_, f32>,
    ArrayViewD<'_, f32>,
    &PointwiseOptions<'_, f32>,
) -> Result<ArrayD<f32>, LossError>;

type Backward32 = fn(
    ArrayViewD<'_, f32>,
    ArrayViewD<'_, f32>,
    ArrayViewD<'_, f32>,
    &PointwiseOptions<'_, f32>,
) -> Result<Grads<f32>, LossError>;

#[test]
fn one_two_and_four_threads_give_bit_identical_losses_and_gradients() {
    // A (400, 250) input against a (250) target: 100,000 broadcast elements, so both the
    // chunked sums and the sums back over the broadcast dimension run.
    let x = ArrayD::from_shape_vec(IxDyn(&[400, 250]), gen32(100_000, 1)).unwrap();
    let t = Array1::from(gen32(250, 2)).into_dyn();
    let w = ArrayD::from_shape_vec(IxDyn(&[400, 250]), gen32(100_000, 3)).unwrap();
    let g_none = ArrayD::from_shape_vec(IxDyn(&[400, 250]), gen32(100_000, 4)).unwrap();
    let g_scalar = arr0(0.7f32).into_dyn();
    let bits = |a: &ArrayD<f32>| a.iter().map(|v| v.to_bits()).collect::<Vec<u32>>();
    let losses: [(Forward32, Backward32); 2] = [(mse_loss, mse_grads), (l1_loss, l1_grads)];
    for (forward, backward) in losses {
        for reduction in [Reduction::None, Reduction::Mean, Reduction::Sum] {
            for weighted in [false, true] {
                let options = PointwiseOptions {
                    reduction,
                    weight: weighted.then(|| w.view()),
                };
                let g = match reduction {
                    Reduction::None => g_none.view(),
                    _ => g_scalar.view(),
                };
                let run = |threads: usize| {
                    let pool = rayon::ThreadPoolBuilder::new()
                        .num_threads(threads)
                        .build()
                        .unwrap();
                    pool.install(|| {
                        let loss = forward(x.view(), t.view(), &options).unwrap();
                        let grads = backward(g.view(), x.view(), t.view(), &options).unwrap();
                        let mut all = bits(&loss);
                        all.extend(bits(&grads.input));
                        all.extend(bits(&grads.target));
                        if let Some(gw) = &grads.weight {
                            all.extend(bits(gw));
                        }
                        all
                    })
                };
                let one = run(1);
                assert_eq!(one, run(2), "{reduction:?}, weighted {weighted}");
                assert_eq!(one, run(4), "{reduction:?}, weighted {weighted}");
            }
        }
    }
}

/// Timing of forward and forward+backward on the benchmarked shapes, 1 and 2 threads
/// (`cargo test -p lossparity-losses --release timing -- --ignored --nocapture`).
/// Prints only; never asserts a time.
#[test]
#[ignore]
fn timing_of_the_pointwise_losses() {
    use std::time::Instant;
    let best = |reps: usize, f: &mut dyn FnMut()| {
        f();
        (0..7)
            .map(|_| {
                let start = Instant::now();
                for _ in 0..reps {
                    f();
                }
                start.elapsed().as_secs_f64() / reps as f64 * 1e6
            })
            .fold(f64::INFINITY, f64::min)
    };
    for threads in [1, 2] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            for shape in [[64usize, 10], [256, 1000]] {
                let n = shape[0] * shape[1];
                let x = ArrayD::from_shape_vec(IxDyn(&shape), gen32(n, 1)).unwrap();
                let t = ArrayD::from_shape_vec(IxDyn(&shape), gen32(n, 2)).unwrap();
                let one = arr0(1.0f32).into_dyn();
                let reps = if n < 1000 { 20_000 } else { 300 };
                let options = PointwiseOptions::default();
                let losses: [(&str, Forward32, Backward<f32>); 2] = [
                    ("mse", mse_loss, mse_loss_backward),
                    ("l1", l1_loss, l1_loss_backward),
                ];
                let report = |name: &str, f: f64, fb: f64| {
                    println!(
                        "rust {name:10} {shape:?} threads={threads} fwd {f:8.2} us  fwd+bwd {fb:8.2} us"
                    )
                };
                for (name, forward, backward) in losses {
                    let f = best(reps, &mut || {
                        std::hint::black_box(forward(x.view(), t.view(), &options).unwrap());
                    });
                    let fb = best(reps, &mut || {
                        std::hint::black_box(forward(x.view(), t.view(), &options).unwrap());
                        std::hint::black_box(
                            backward(one.view(), x.view(), t.view(), &options).unwrap(),
                        );
                    });
                    report(name, f, fb);
                }
                let smooth = SmoothL1Options::default();
                let f = best(reps, &mut || {
                    std::hint::black_box(smooth_l1_loss(x.view(), t.view(), &smooth).unwrap());
                });
                let fb = best(reps, &mut || {
                    std::hint::black_box(smooth_l1_loss(x.view(), t.view(), &smooth).unwrap());
                    let g = smooth_l1_loss_backward(one.view(), x.view(), t.view(), &smooth);
                    std::hint::black_box(g.unwrap());
                });
                report("smooth_l1", f, fb);
                let huber = HuberOptions::default();
                let f = best(reps, &mut || {
                    std::hint::black_box(huber_loss(x.view(), t.view(), &huber).unwrap());
                });
                let fb = best(reps, &mut || {
                    std::hint::black_box(huber_loss(x.view(), t.view(), &huber).unwrap());
                    let g = huber_loss_backward(one.view(), x.view(), t.view(), &huber);
                    std::hint::black_box(g.unwrap());
                });
                report("huber", f, fb);
            }
        });
    }
}

mod smooth_huber;

// Weights of both signs: terms `w * (x - t)^2` of 1e8 cancel down to a mean of 1.8e5.
// A float32 squared difference is off by up to 4 at 1e8, which the cancellation leaves
// past float32's tolerance (0.23 here); the terms are formed in f64. libtorch's
// float32 value (177505.86) is within tolerance here by luck of its order.
//   x, t, w = (torch.tensor(v, dtype=torch.float32).double().reshape(2, 4, 3) for v in (X, T, W))
//   F.mse_loss(x, t, weight=w)                   # 177505.8733328671
//   F.mse_loss(x, t, weight=w, reduction='sum')  # 2223687.979884371
#[test]
#[allow(clippy::excessive_precision)]
fn a_weighted_float32_sum_whose_terms_cancel_stays_within_tolerance_of_the_exact_one() {
    let x: [f32; 24] = [
        10000.0,
        0.0,
        0.96984714,
        -6.2338123,
        5.3432593,
        -2.121968,
        8.6214374e-07,
        -2.1169121,
        -7.3495426,
        2.9609492,
        10000.0,
        5.838069,
        -5.871716,
        -3.401971,
        8.193753,
        -7.3095055,
        -10000.0,
        -8.428907,
        -1.9892837,
        9.184279,
        5.303918e-07,
        -3.3679562,
        -3.937493,
        10000.0,
    ];
    let t: [f32; 24] = [
        -6.9360366,
        -5.780946,
        -7.3984714,
        7.8781123,
        2.6344087,
        7.8165693,
        4.5764575,
        -5.917054e-07,
        -1.9758887,
        3000.0,
        -5.14339,
        -1.4746475,
        -9.523815,
        -1.2002593,
        7.797903,
        3.8238149,
        8.3485463e-07,
        1.517735e-07,
        -2.8715016e-07,
        -6.9102236e-07,
        7.751675,
        -5.5071735e-07,
        2.0479853,
        8.352734,
    ];
    let w: [f32; 24] = [
        -0.50702924,
        1.3630202,
        0.5996983,
        1.7456402,
        1.4487538,
        1.3973502,
        1.2540416,
        1.3387232,
        -0.6775791,
        0.0,
        0.55676055,
        1.991359,
        0.6386757,
        -0.802874,
        -0.35696694,
        1.511291,
        0.7254437,
        0.35877237,
        0.0,
        -0.8518448,
        0.0,
        0.8015153,
        0.7467296,
        -0.75407547,
    ];
    let shaped = |v: &[f32]| {
        Array1::from(v.to_vec())
            .into_shape_with_order(IxDyn(&[2, 4, 3]))
            .unwrap()
    };
    let (x, t, w) = (shaped(&x), shaped(&t), shaped(&w));
    for (reduction, exact) in [
        (Reduction::Mean, 177_505.873_332_867_1),
        (Reduction::Sum, 2_223_687.979_884_371),
    ] {
        let options = PointwiseOptions::default()
            .reduction(reduction)
            .weight(w.view());
        let got = f64::from(mse_loss(x.view(), t.view(), &options).unwrap()[[]]);
        assert!(
            (got - exact).abs() <= 1e-5 + 1.3e-6 * exact,
            "{reduction:?}: {got}"
        );
    }
}

// A target broadcast over the input's batch: its gradient sums `-2 (x - t) w` over
// three samples, terms of 2e4 that cancel down to 49.2; float32 terms (both libtorch's
// and, before, these) each carry up to 1e-3 into the sum, 6.6 times float32's
// tolerance. The terms and the sum are in f64, rounded once.
//   x, t, w = (torch.tensor(v, dtype=torch.float32).double() for v in (X, T, W))
//   x = x.reshape(3, 1, 3, 4); t = t.reshape(1, 3, 4).requires_grad_(); w = w.reshape(3, 1, 3, 4)
//   torch.autograd.grad(F.mse_loss(x, t, weight=w, reduction='sum'), t)[0].flatten()[4]  # 49.202637286776735
#[test]
#[allow(clippy::excessive_precision, clippy::inconsistent_digit_grouping)]
fn a_float32_gradient_summed_over_a_broadcast_is_the_f64_one_rounded() {
    let x: [f32; 36] = [
        10000.0,
        3.066099,
        1.9933796,
        5.2201244e-08,
        -7.8680927e-07,
        3.2111516,
        -3000.0,
        -4.8927455,
        8.505704,
        1.2088389e-08,
        2.9077926,
        6.226947,
        5.1337935e-07,
        -7.6953025,
        0.0058544376,
        6.7750635,
        3000.0,
        7.3287475e-07,
        1.9334725,
        -1.585499,
        3000.0,
        -1.1707026,
        -7.203444,
        7.217354,
        5.9367213,
        1.5650932,
        -7397.4136,
        -3.3698723,
        -7.5315194,
        4.7946157,
        1.4280657e-07,
        -4.8309264,
        -5.4407234,
        -2.037984,
        -1.4525809,
        -4.6825976,
    ];
    let t: [f32; 12] = [
        3.2681394,
        3.3546257,
        2.8375223,
        7.7820864,
        -9830.511,
        -3000.0,
        -2.8454378,
        9.7816725,
        1.256882e-07,
        -2.3171146,
        7.919245,
        -0.85270894,
    ];
    let w: [f32; 36] = [
        0.80667937,
        1.3028321,
        1.1318221,
        0.7536959,
        0.27990398,
        0.379221,
        -0.9556154,
        1.0836645,
        -0.89879483,
        -0.9293101,
        0.7270233,
        1.0900925,
        -0.33501625,
        1.860415,
        0.59611887,
        0.6471485,
        -0.9403244,
        -0.9820565,
        1.5129193,
        1.5367045,
        1.0142453,
        0.17162423,
        1.7223134,
        0.25983992,
        0.0,
        1.6143163,
        0.0,
        -0.024087,
        0.9456034,
        0.7364119,
        -0.65999955,
        1.2191477,
        1.5627828,
        0.81787276,
        1.4153364,
        0.7292116,
    ];
    let x = Array1::from(x.to_vec())
        .into_shape_with_order(IxDyn(&[3, 1, 3, 4]))
        .unwrap();
    let t = Array1::from(t.to_vec())
        .into_shape_with_order(IxDyn(&[1, 3, 4]))
        .unwrap();
    let w = Array1::from(w.to_vec())
        .into_shape_with_order(IxDyn(&[3, 1, 3, 4]))
        .unwrap();
    let (x64, t64, w64) = (x.mapv(f64::from), t.mapv(f64::from), w.mapv(f64::from));
    let o32 = PointwiseOptions::default()
        .reduction(Reduction::Sum)
        .weight(w.view());
    let o64 = PointwiseOptions::default()
        .reduction(Reduction::Sum)
        .weight(w64.view());
    let got = mse_loss_target_backward(arr0(1.0f32).view(), x.view(), t.view(), &o32).unwrap();
    let exact = mse_loss_target_backward(arr0(1.0).view(), x64.view(), t64.view(), &o64).unwrap();
    assert!((exact[[0, 1, 0]] - 49.202_637_286_776_735).abs() < 1e-9);
    assert_eq!(got, exact.mapv(|v| v as f32));
}

/// A weighted mean's weight gradient is `(g / W) * (e - S / W)`: with one element the
/// loss is `e` whatever the weight, and the gradient exactly 0, which libtorch gets
/// (torch 2.13: `grad(lambda w: F.mse_loss(X, T, weight=w), W, 1.7232089641624646)`
/// with X = [0.], T = [1e4], W = [0.4352933141891003], float64 -> [0.]). The two terms
/// of the difference are 4e8 each, so formed in f64 they left 1.2e-7, past float64's
/// tolerance (1e-7); in double-double they cancel exactly. Two elements of equal loss
/// cancel to within double-double's rounding; unequal ones keep their digits.
#[test]
fn a_weighted_means_weight_gradient_cancels_to_exactly_zero_where_the_loss_ignores_the_weight() {
    let g = arr0(1.7232089641624646f64);
    let opts = |w| weighted(Reduction::Mean, w);
    let x = ArrayD::from_shape_vec(IxDyn(&[1]), vec![0.0f64]).unwrap();
    let t = ArrayD::from_shape_vec(IxDyn(&[1]), vec![1e4f64]).unwrap();
    let w = ArrayD::from_shape_vec(IxDyn(&[1]), vec![0.4352933141891003f64]).unwrap();
    let mse = mse_loss_weight_backward(g.view(), x.view(), t.view(), &opts(&w)).unwrap();
    assert_eq!(mse[[0]], 0.0);
    let l1 = l1_loss_weight_backward(g.view(), x.view(), t.view(), &opts(&w)).unwrap();
    assert_eq!(l1[[0]], 0.0);
    // |x - t| = 1e4 + 1/3 for both: the same loss, so no weight moves the mean.
    let x = ArrayD::from_shape_vec(IxDyn(&[2]), vec![-1e4 - 1.0 / 3.0, 1e4 + 1.0 / 3.0]).unwrap();
    let t = ArrayD::from_shape_vec(IxDyn(&[2]), vec![0.0f64, 0.0]).unwrap();
    let w = ArrayD::from_shape_vec(IxDyn(&[2]), vec![0.3f64, 0.9]).unwrap();
    let grad = mse_loss_weight_backward(g.view(), x.view(), t.view(), &opts(&w)).unwrap();
    // Double-double's quotient S / W is within 1e-32 of e, not exact.
    assert!(grad.iter().all(|v| v.abs() < 1e-20), "{grad}");
    // e = [1, 4], W = 1.2, S = 3.9: (g / W) * (e - S / W) = g * [-1.875, 0.625].
    let x = ArrayD::from_shape_vec(IxDyn(&[2]), vec![1.0f64, 2.0]).unwrap();
    let grad = mse_loss_weight_backward(g.view(), x.view(), t.view(), &opts(&w)).unwrap();
    let expected = [-1.875, 0.625].map(|v| v * 1.7232089641624646);
    for (a, e) in grad.iter().zip(expected) {
        assert!((a - e).abs() <= 1e-15 * e.abs(), "{a} vs {e}");
    }
}

/// With an infinite difference the weighted mean's weight gradient is the plain
/// formula's: `inf - inf` where the infinity is the element's own, `-inf` elsewhere
/// (torch 2.13: `grad(lambda w: F.mse_loss(zeros(5, 1), T, weight=w), W)` with T of
/// shape (2, 5, 1), zero but T[0, 1, 0] = -inf, float64 -> [-inf, nan, -inf, -inf,
/// -inf], l1_loss the same). Double-double's parts are NaN beside an infinity, so the
/// fallback's sums are formed in plain f64.
#[test]
fn a_weighted_means_weight_gradient_with_an_infinite_difference_is_the_plain_formulas() {
    let x = ArrayD::<f64>::zeros(IxDyn(&[5, 1]));
    let mut t = ArrayD::<f64>::zeros(IxDyn(&[2, 5, 1]));
    t[[0, 1, 0]] = f64::NEG_INFINITY;
    let w = ArrayD::from_shape_vec(
        IxDyn(&[5, 1]),
        vec![
            1.9251301594781187,
            0.036689034543083233,
            0.7159772212033503,
            1.4383345508641445,
            0.5899194526600976,
        ],
    )
    .unwrap();
    let opts = weighted(Reduction::Mean, &w);
    let g = arr0(1.0f64);
    for grad in [
        mse_loss_weight_backward(g.view(), x.view(), t.view(), &opts).unwrap(),
        l1_loss_weight_backward(g.view(), x.view(), t.view(), &opts).unwrap(),
    ] {
        let v: Vec<f64> = grad.iter().copied().collect();
        assert!(v[1].is_nan(), "{v:?}");
        for k in [0, 2, 3, 4] {
            assert_eq!(v[k], f64::NEG_INFINITY, "{v:?}");
        }
    }
}
