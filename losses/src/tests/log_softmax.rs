// log_softmax and softmax forward values: along each dim, 0-D and empty inputs,
// infinities, and transposed, strided and broadcast views against contiguous copies.

use ndarray::{ArrayD, IxDyn, arr0, array, s};

use super::*;

const LOG_SOFTMAX_Z_DIM1: [f64; 12] = [
    -2.143317747704983,
    -3.1733177477049828,
    -0.17331774770498276,
    -3.139549339148087,
    -0.349549339148087,
    -1.379549339148087,
    -2.8099911578087893,
    -0.11999115780878927,
    -2.939991157808789,
    -0.2155108970051079,
    -2.395510897005108,
    -2.275510897005108,
];

const SOFTMAX_Z_DIM1: [f64; 12] = [
    0.11726514076072363,
    0.041864471483699185,
    0.8408703877555771,
    0.043302308160466235,
    0.7050057366236954,
    0.2516919552158383,
    0.06020552473878167,
    0.8869282790719194,
    0.05286619618929902,
    0.8061294858131309,
    0.09112611097071512,
    0.10274440321615412,
];

// torch 2.13.0:
//   F.log_softmax(Z, 1) -> LOG_SOFTMAX_Z_DIM1 (and F.log_softmax(Z, -1) -> the same values)
//   F.log_softmax(Z, 0)
//     -> [-1.2118302309670297, -3.0008152264653636, -0.21384266166461446, -2.7218302309670297,
//         -0.6908152264653634, -1.9338426616646147, -2.8018302309670298, -0.8708152264653635,
//         -3.9038426616646142, -0.5518302309670297, -3.490815226465364, -3.5838426616646144]
#[test]
fn log_softmax_2d_normalises_along_either_dim() {
    let d = data();
    assert_close(
        &log_softmax(d.z.view(), 1).unwrap(),
        &[4, 3],
        &LOG_SOFTMAX_Z_DIM1,
    );
    assert_close(
        &log_softmax(d.z.view(), -1).unwrap(),
        &[4, 3],
        &LOG_SOFTMAX_Z_DIM1,
    );
    assert_close(
        &log_softmax(d.z.view(), 0).unwrap(),
        &[4, 3],
        &[
            -1.2118302309670297,
            -3.0008152264653636,
            -0.21384266166461446,
            -2.7218302309670297,
            -0.6908152264653634,
            -1.9338426616646147,
            -2.8018302309670298,
            -0.8708152264653635,
            -3.9038426616646142,
            -0.5518302309670297,
            -3.490815226465364,
            -3.5838426616646144,
        ],
    );
}

// torch 2.13.0:
//   F.softmax(Z, 1) -> SOFTMAX_Z_DIM1 (and F.softmax(Z, -1) -> the same values)
//   F.softmax(Z, 0)
//     -> [0.2976520086727132, 0.049746497171700974, 0.8074754218672779, 0.06575429867545374,
//         0.5011673376071479, 0.14459151332698136, 0.06069886795250045, 0.41861014803554675,
//         0.020164277883957464, 0.5758948246993326, 0.03047601718560441, 0.02776878692178332]
#[test]
fn softmax_2d_normalises_along_either_dim() {
    let d = data();
    assert_close(&softmax(d.z.view(), 1).unwrap(), &[4, 3], &SOFTMAX_Z_DIM1);
    assert_close(&softmax(d.z.view(), -1).unwrap(), &[4, 3], &SOFTMAX_Z_DIM1);
    assert_close(
        &softmax(d.z.view(), 0).unwrap(),
        &[4, 3],
        &[
            0.2976520086727132,
            0.049746497171700974,
            0.8074754218672779,
            0.06575429867545374,
            0.5011673376071479,
            0.14459151332698136,
            0.06069886795250045,
            0.41861014803554675,
            0.020164277883957464,
            0.5758948246993326,
            0.03047601718560441,
            0.02776878692178332,
        ],
    );
}

// torch 2.13.0:
//   F.log_softmax(Z3, 1)
#[test]
fn log_softmax_3d_normalises_along_the_class_dim() {
    let d = data();
    assert_close(
        &log_softmax(d.z3.view(), 1).unwrap(),
        &[2, 3, 2],
        &[
            -1.5078787822025868,
            -1.1320029903358761,
            -3.317878782202586,
            -4.752002990335876,
            -0.29787878220258673,
            -0.4020029903358762,
            -2.8589187627114585,
            -0.500623065597582,
            -0.4589187627114587,
            -2.600623065597582,
            -1.1689187627114586,
            -1.140623065597582,
        ],
    );
}

// torch 2.13.0:
//   F.log_softmax(torch.tensor(1.5, dtype=D), 0) -> 0.0 (shape [])
//   F.softmax(torch.tensor(1.5, dtype=D), -1)    -> 1.0 (shape [])
#[test]
fn zero_dim_input_gives_zero_log_prob_and_unit_prob() {
    let x = arr0(1.5f64);
    assert_close(&log_softmax(x.view(), 0).unwrap(), &[], &[0.0]);
    assert_close(&softmax(x.view(), -1).unwrap(), &[], &[1.0]);
}

// torch 2.13.0:
//   F.log_softmax(torch.zeros(0, 3, dtype=D), 1) -> shape [0, 3]
//   F.log_softmax(torch.zeros(2, 0, dtype=D), 1) -> shape [2, 0]
//   F.softmax(torch.zeros(2, 0, dtype=D), 1)     -> shape [2, 0]
//   F.log_softmax(torch.zeros(2, 0, dtype=D), 0) -> shape [2, 0]
#[test]
fn zero_sized_dims_give_empty_outputs() {
    let rows = ArrayD::<f64>::zeros(IxDyn(&[0, 3]));
    assert_close(&log_softmax(rows.view(), 1).unwrap(), &[0, 3], &[]);
    let cols = ArrayD::<f64>::zeros(IxDyn(&[2, 0]));
    assert_close(&log_softmax(cols.view(), 1).unwrap(), &[2, 0], &[]);
    assert_close(&softmax(cols.view(), 1).unwrap(), &[2, 0], &[]);
    assert_close(&log_softmax(cols.view(), 0).unwrap(), &[2, 0], &[]);
}

// torch 2.13.0 (A = torch.tensor([[float('inf'), 1.0, 2.0], [0.0, 1.0, 2.0]], dtype=D)):
//   F.log_softmax(A, 1) -> [nan, nan, nan, -2.4076059644443806, -1.4076059644443804, -0.4076059644443804]
//   F.softmax(A, 1)     -> [nan, nan, nan, 0.09003057317038045, 0.2447284710547976, 0.6652409557748218]
#[test]
fn row_with_positive_infinity_is_all_nan() {
    let a = array![[f64::INFINITY, 1.0, 2.0], [0.0, 1.0, 2.0]];
    assert_close(
        &log_softmax(a.view(), 1).unwrap(),
        &[2, 3],
        &[
            f64::NAN,
            f64::NAN,
            f64::NAN,
            -2.4076059644443806,
            -1.4076059644443804,
            -0.4076059644443804,
        ],
    );
    assert_close(
        &softmax(a.view(), 1).unwrap(),
        &[2, 3],
        &[
            f64::NAN,
            f64::NAN,
            f64::NAN,
            0.09003057317038045,
            0.2447284710547976,
            0.6652409557748218,
        ],
    );
}

// torch 2.13.0 (A = torch.tensor([[-inf, -inf, -inf], [0.0, 1.0, 2.0]], dtype=D)):
//   F.log_softmax(A, 1) -> [nan, nan, nan, -2.4076059644443806, -1.4076059644443804, -0.4076059644443804]
//   F.softmax(A, 1)     -> [nan, nan, nan, 0.09003057317038045, 0.2447284710547976, 0.6652409557748218]
#[test]
fn row_of_negative_infinities_is_all_nan() {
    let ninf = f64::NEG_INFINITY;
    let a = array![[ninf, ninf, ninf], [0.0, 1.0, 2.0]];
    assert_close(
        &log_softmax(a.view(), 1).unwrap(),
        &[2, 3],
        &[
            f64::NAN,
            f64::NAN,
            f64::NAN,
            -2.4076059644443806,
            -1.4076059644443804,
            -0.4076059644443804,
        ],
    );
    assert_close(
        &softmax(a.view(), 1).unwrap(),
        &[2, 3],
        &[
            f64::NAN,
            f64::NAN,
            f64::NAN,
            0.09003057317038045,
            0.2447284710547976,
            0.6652409557748218,
        ],
    );
}

// torch 2.13.0 (A = torch.tensor([[float('-inf'), 0.5, 1.0]], dtype=D)):
//   F.log_softmax(A, 1) -> [-inf, -0.9740769841801067, -0.4740769841801067]
//   F.softmax(A, 1)     -> [0.0, 0.37754066879814546, 0.6224593312018546]
#[test]
fn one_negative_infinity_gets_zero_probability() {
    let a = array![[f64::NEG_INFINITY, 0.5, 1.0]];
    assert_close(
        &log_softmax(a.view(), 1).unwrap(),
        &[1, 3],
        &[f64::NEG_INFINITY, -0.9740769841801067, -0.4740769841801067],
    );
    assert_close(
        &softmax(a.view(), 1).unwrap(),
        &[1, 3],
        &[0.0, 0.37754066879814546, 0.6224593312018546],
    );
}

// torch 2.13.0:
//   F.log_softmax(Z.t(), 1)
//     -> [-1.2118302309670297, -2.7218302309670297, -2.8018302309670298, -0.5518302309670297,
//         -3.0008152264653636, -0.6908152264653634, -0.8708152264653635, -3.490815226465364,
//         -0.21384266166461446, -1.9338426616646147, -3.9038426616646142, -3.5838426616646144]
//   F.softmax(Z.t(), 1)
//     -> [0.29765200867271324, 0.06575429867545374, 0.06069886795250045, 0.5758948246993326,
//         0.049746497171700974, 0.5011673376071479, 0.4186101480355468, 0.030476017185604415,
//         0.8074754218672779, 0.14459151332698136, 0.020164277883957464, 0.02776878692178332]
#[test]
fn transposed_view_matches_contiguous_copy() {
    let d = data();
    let view = d.z.t();
    assert!(!view.is_standard_layout());
    let copy = contiguous(view.view());
    let logp = log_softmax(view.view(), 1).unwrap();
    assert_close(
        &logp,
        &[3, 4],
        &[
            -1.2118302309670297,
            -2.7218302309670297,
            -2.8018302309670298,
            -0.5518302309670297,
            -3.0008152264653636,
            -0.6908152264653634,
            -0.8708152264653635,
            -3.490815226465364,
            -0.21384266166461446,
            -1.9338426616646147,
            -3.9038426616646142,
            -3.5838426616646144,
        ],
    );
    assert_eq!(logp, log_softmax(copy.view(), 1).unwrap());
    let p = softmax(view.view(), 1).unwrap();
    assert_close(
        &p,
        &[3, 4],
        &[
            0.29765200867271324,
            0.06575429867545374,
            0.06069886795250045,
            0.5758948246993326,
            0.049746497171700974,
            0.5011673376071479,
            0.4186101480355468,
            0.030476017185604415,
            0.8074754218672779,
            0.14459151332698136,
            0.020164277883957464,
            0.02776878692178332,
        ],
    );
    assert_eq!(p, softmax(copy.view(), 1).unwrap());
}

// torch 2.13.0:
//   F.log_softmax(Z6[:, ::2], 1)
//     -> [-1.8790781678649087, -0.30907816786490844, -2.1790781678649087, -1.832424633961686,
//         -0.21242463396168618, -3.462424633961686, -3.6358596949113293, -0.03585969491132932,
//         -4.725859694911329, -2.26866064772871, -0.13866064772871006, -3.64866064772871]
//   F.softmax(Z6[:, ::2], 1)
//     -> [0.1527308330733833, 0.7341233829259564, 0.1131457840006603, 0.1600250947336093,
//         0.8086212566056165, 0.031353648660774384, 0.02636126200035471, 0.9647756469202015,
//         0.008863091079443813, 0.10345064419155668, 0.8705233924296318, 0.026025963378811537]
#[test]
fn strided_slice_matches_contiguous_copy() {
    let d = data();
    let view = d.z6.slice(s![.., ..;2]);
    assert!(!view.is_standard_layout());
    let copy = contiguous(view.view());
    let logp = log_softmax(view.view(), 1).unwrap();
    assert_close(
        &logp,
        &[4, 3],
        &[
            -1.8790781678649087,
            -0.30907816786490844,
            -2.1790781678649087,
            -1.832424633961686,
            -0.21242463396168618,
            -3.462424633961686,
            -3.6358596949113293,
            -0.03585969491132932,
            -4.725859694911329,
            -2.26866064772871,
            -0.13866064772871006,
            -3.64866064772871,
        ],
    );
    assert_eq!(logp, log_softmax(copy.view(), 1).unwrap());
    let p = softmax(view.view(), 1).unwrap();
    assert_close(
        &p,
        &[4, 3],
        &[
            0.1527308330733833,
            0.7341233829259564,
            0.1131457840006603,
            0.1600250947336093,
            0.8086212566056165,
            0.031353648660774384,
            0.02636126200035471,
            0.9647756469202015,
            0.008863091079443813,
            0.10345064419155668,
            0.8705233924296318,
            0.026025963378811537,
        ],
    );
    assert_eq!(p, softmax(copy.view(), 1).unwrap());
}

// torch 2.13.0:
//   F.log_softmax(R.expand(3, 4), 1) -> each row [-2.321560678344187, -3.721560678344187, -0.2215606783441867, -2.571560678344187]
//   F.log_softmax(R.expand(3, 4), 0) -> all -1.0986122886681098
//   F.softmax(R.expand(3, 4), 0)     -> all 0.3333333333333333
#[test]
fn broadcast_view_matches_contiguous_copy() {
    let d = data();
    let view = d.r.broadcast(IxDyn(&[3, 4])).unwrap();
    assert_eq!(view.strides()[0], 0);
    let copy = contiguous(view.view());
    let row = [
        -2.321560678344187,
        -3.721560678344187,
        -0.2215606783441867,
        -2.571560678344187,
    ];
    let rows: Vec<f64> = row.iter().cycle().take(12).copied().collect();
    let along1 = log_softmax(view.view(), 1).unwrap();
    assert_close(&along1, &[3, 4], &rows);
    assert_eq!(along1, log_softmax(copy.view(), 1).unwrap());
    let along0 = log_softmax(view.view(), 0).unwrap();
    assert_close(&along0, &[3, 4], &[-1.0986122886681098; 12]);
    assert_eq!(along0, log_softmax(copy.view(), 0).unwrap());
    let p0 = softmax(view.view(), 0).unwrap();
    assert_close(&p0, &[3, 4], &[0.3333333333333333; 12]);
    assert_eq!(p0, softmax(copy.view(), 0).unwrap());
}
